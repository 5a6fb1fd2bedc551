import { FatalError } from '../errors.ts';
import { mappingProblems } from '../source/attribute-mapping.ts';
import type { AnchorMapping, AttributeMapping, DisabledMapping, NtHashMapping, PasswordLastSetMapping, UserSelection } from '../source/attribute-mapping.ts';
import { filterProblem } from '../source/ldap-filter.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { join, parseEnum } from './config-checker.ts';
import type { Checker, Json } from './config-checker.ts';
import type { MappingOverrides } from './config-types.ts';

/*
 * A source's `mapping` in the config file: the overrides are checked with their key paths
 * (`parseMappingOverrides`), then applied to the preset (`mergeMapping`), which checks that the
 * result holds together.
 */

const MAPPING_KEYS = ['anchor', 'userPrincipalName', 'ntHash', 'disabled', 'passwordLastSet', 'isUser', 'filter'] as const;
/** RFC 4512: a descr (keystring) or a numeric OID. */
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;

function attributeName(value: unknown): string | undefined {
  return typeof value === 'string' && ATTRIBUTE_NAME.test(value) ? value.toLowerCase() : undefined;
}

const ATTRIBUTE_EXPECTED = 'an LDAP attribute name (letters, digits, hyphens)';

function parseAttribute(c: Checker, record: Json, key: string, path: string, required: boolean): string | undefined {
  const value = record[key];
  if (value === undefined) {
    if (required) c.add(join(path, key), `missing: expected ${ATTRIBUTE_EXPECTED}`);
    return undefined;
  }
  const name = attributeName(value);
  if (name === undefined) c.expected(join(path, key), ATTRIBUTE_EXPECTED, value);
  return name;
}

function parseAnchor(c: Checker, value: unknown, path: string): AnchorMapping | undefined {
  if (typeof value === 'string') {
    const attribute = attributeName(value);
    if (attribute === undefined) c.expected(path, `${ATTRIBUTE_EXPECTED}, or {"attribute", "encoding": "text"|"base64"}`, value);
    return attribute === undefined ? undefined : { attribute, encoding: 'text' };
  }
  const o = c.object(value, path, `an attribute name or {"attribute", "encoding": "text"|"base64"}`);
  if (o === undefined) return undefined;
  c.keys(o, path, ['attribute', 'encoding']);
  const attribute = parseAttribute(c, o, 'attribute', path, true);
  const encoding = parseEnum(c, o, 'encoding', path, ['text', 'base64'] as const, 'text');
  return attribute === undefined || encoding === undefined ? undefined : { attribute, encoding };
}

function parseNtHash(c: Checker, value: unknown, path: string): NtHashMapping | undefined {
  const o = c.object(value, path, '{"attribute", "encoding": "hex"|"binary"} or {"from": "hashes-file", "joinAttribute"}');
  if (o === undefined) return undefined;
  const from = parseEnum(c, o, 'from', path, ['attribute', 'hashes-file'] as const, o['joinAttribute'] !== undefined ? 'hashes-file' : 'attribute');
  if (from === 'hashes-file') {
    c.keys(o, path, ['from', 'joinAttribute']);
    const joinAttribute = o['joinAttribute'] === undefined ? 'samaccountname' : parseAttribute(c, o, 'joinAttribute', path, true);
    return joinAttribute === undefined ? undefined : { from, joinAttribute };
  }
  if (from === undefined) return undefined;
  c.keys(o, path, ['from', 'attribute', 'encoding']);
  const attribute = parseAttribute(c, o, 'attribute', path, true);
  const encoding = parseEnum(c, o, 'encoding', path, ['hex', 'binary'] as const, 'hex');
  return attribute === undefined || encoding === undefined ? undefined : { from, attribute, encoding };
}

function parseDisabled(c: Checker, value: unknown, path: string): DisabledMapping | null | undefined {
  if (value === null) return null;
  const o = c.object(value, path, 'null or {"kind": "samba-flags"|"true-value"|"uac-flag", "attribute", "mask"}');
  if (o === undefined) return undefined;
  const kind = parseEnum(c, o, 'kind', path, ['samba-flags', 'true-value', 'uac-flag'] as const, undefined);
  c.keys(o, path, kind === 'uac-flag' ? ['kind', 'attribute', 'mask'] : ['kind', 'attribute']);
  const attribute = parseAttribute(c, o, 'attribute', path, true);
  if (kind === undefined || attribute === undefined) return undefined;
  if (kind !== 'uac-flag') return { kind, attribute };
  const mask = o['mask'] ?? 2;
  if (typeof mask !== 'number' || !Number.isInteger(mask) || mask < 1 || mask > 0xffffffff) {
    c.expected(join(path, 'mask'), 'a whole number from 1 to 4294967295 (ACCOUNTDISABLE is 2)', mask);
    return undefined;
  }
  return { kind, attribute, mask };
}

function parsePasswordLastSet(c: Checker, value: unknown, path: string): PasswordLastSetMapping | null | undefined {
  if (value === null) return null;
  const o = c.object(value, path, 'null or {"attribute", "format": "unix-seconds"|"filetime"|"generalized-time"}');
  if (o === undefined) return undefined;
  c.keys(o, path, ['attribute', 'format']);
  const attribute = parseAttribute(c, o, 'attribute', path, true);
  const format = parseEnum(c, o, 'format', path, ['unix-seconds', 'filetime', 'generalized-time'] as const, undefined);
  return attribute === undefined || format === undefined ? undefined : { attribute, format };
}

function parseIsUser(c: Checker, value: unknown, path: string): UserSelection | undefined {
  const o = c.object(value, path, '{"kind": "has-nt-hash"} or {"kind": "object-class", "objectClass", "excludeObjectClasses"}');
  if (o === undefined) return undefined;
  const kind = parseEnum(c, o, 'kind', path, ['has-nt-hash', 'object-class'] as const, undefined);
  if (kind === 'has-nt-hash') {
    c.keys(o, path, ['kind']);
    return { kind };
  }
  c.keys(o, path, ['kind', 'objectClass', 'excludeObjectClasses']);
  const objectClass = parseAttribute(c, o, 'objectClass', path, true);
  const exclude = o['excludeObjectClasses'] === undefined ? [] : c.strings(o, 'excludeObjectClasses', path, 'an object class name', (s) => ATTRIBUTE_NAME.test(s));
  if (kind === undefined || objectClass === undefined || exclude === undefined) return undefined;
  return { kind, objectClass, excludeObjectClasses: exclude.map((s) => s.toLowerCase()) };
}

/**
 * The `mapping` object of a source, checked key by key, attribute names lowercased. Problems go to
 * `c`; undefined when there are any.
 */
export function parseMappingOverrides(c: Checker, value: unknown, path: string): MappingOverrides | undefined {
  const o = c.object(value, path);
  if (o === undefined) return undefined;
  c.keys(o, path, MAPPING_KEYS);
  const before = c.issues.length;
  const out: { -readonly [K in keyof MappingOverrides]: MappingOverrides[K] } = {};
  if (o['anchor'] !== undefined) {
    const anchor = parseAnchor(c, o['anchor'], join(path, 'anchor'));
    if (anchor !== undefined) out.anchor = anchor;
  }
  if (o['userPrincipalName'] !== undefined) {
    const raw = typeof o['userPrincipalName'] === 'string' ? { userPrincipalName: [o['userPrincipalName']] } : o;
    const names = c.strings(raw, 'userPrincipalName', path, 'an attribute name', (s) => ATTRIBUTE_NAME.test(s));
    if (names !== undefined) out.userPrincipalName = names.map((s) => s.toLowerCase());
  }
  if (o['ntHash'] !== undefined) {
    const ntHash = parseNtHash(c, o['ntHash'], join(path, 'ntHash'));
    if (ntHash !== undefined) out.ntHash = ntHash;
  }
  if (o['disabled'] !== undefined) {
    const disabled = parseDisabled(c, o['disabled'], join(path, 'disabled'));
    if (disabled !== undefined) out.disabled = disabled;
  }
  if (o['passwordLastSet'] !== undefined) {
    const lastSet = parsePasswordLastSet(c, o['passwordLastSet'], join(path, 'passwordLastSet'));
    if (lastSet !== undefined) out.passwordLastSet = lastSet;
  }
  if (o['isUser'] !== undefined) {
    const isUser = parseIsUser(c, o['isUser'], join(path, 'isUser'));
    if (isUser !== undefined) out.isUser = isUser;
  }
  const filter = c.string(o, 'filter', path, 'an LDAP filter in parentheses');
  if (filter !== undefined) {
    const problem = filterProblem(filter);
    if (problem === undefined) out.filter = filter.trim();
    else c.expected(join(path, 'filter'), problem, filter);
  }
  return c.issues.length === before ? out : undefined;
}

function lowerAttributes(overrides: MappingOverrides): MappingOverrides {
  const lower = (s: string) => s.toLowerCase();
  const out: { -readonly [K in keyof MappingOverrides]: MappingOverrides[K] } = { ...overrides };
  if (overrides.anchor !== undefined) out.anchor = { ...overrides.anchor, attribute: lower(overrides.anchor.attribute) };
  if (overrides.userPrincipalName !== undefined) out.userPrincipalName = overrides.userPrincipalName.map(lower);
  if (overrides.ntHash !== undefined) {
    out.ntHash = overrides.ntHash.from === 'attribute'
      ? { ...overrides.ntHash, attribute: lower(overrides.ntHash.attribute) }
      : { ...overrides.ntHash, joinAttribute: lower(overrides.ntHash.joinAttribute) };
  }
  if (overrides.disabled) out.disabled = { ...overrides.disabled, attribute: lower(overrides.disabled.attribute) };
  if (overrides.passwordLastSet) out.passwordLastSet = { ...overrides.passwordLastSet, attribute: lower(overrides.passwordLastSet.attribute) };
  if (overrides.isUser?.kind === 'object-class') {
    out.isUser = { ...overrides.isUser, objectClass: lower(overrides.isUser.objectClass), excludeObjectClasses: overrides.isUser.excludeObjectClasses.map(lower) };
  }
  return out;
}

/**
 * A preset with overrides applied field by field (attribute names lowercased): a field given replaces
 * the preset's whole, `null` unmaps `disabled` or `passwordLastSet`. The result is frozen. A mapping
 * that does not hold together (see `mappingProblems`) is FatalError MAPPING_INVALID.
 */
export function mergeMapping(preset: AttributeMapping, overrides: MappingOverrides): AttributeMapping {
  const o = lowerAttributes(overrides);
  const merged: AttributeMapping = {
    preset: preset.preset,
    anchor: o.anchor ?? preset.anchor,
    userPrincipalName: o.userPrincipalName ?? preset.userPrincipalName,
    ntHash: o.ntHash ?? preset.ntHash,
    disabled: o.disabled === undefined ? preset.disabled : (o.disabled ?? undefined),
    passwordLastSet: o.passwordLastSet === undefined ? preset.passwordLastSet : (o.passwordLastSet ?? undefined),
    isUser: o.isUser ?? preset.isUser,
    filter: o.filter ?? preset.filter,
  };
  const problems = mappingProblems(merged);
  if (problems.length > 0) throw new FatalError('MAPPING_INVALID', problems.join('; '));
  return deepFreeze(structuredClone(merged));
}

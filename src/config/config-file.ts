import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FatalError } from '../errors.ts';
import { mappingProblems } from '../source/attribute-mapping.ts';
import type { AnchorMapping, AttributeMapping, DisabledMapping, NtHashMapping, PasswordLastSetMapping, UserSelection } from '../source/attribute-mapping.ts';
import { PRESET_NAMES, presetByName } from '../source/presets/presets.ts';
import type { BindPasswordSource, LdapSourceConfig, LdifSourceConfig, MappingOverrides, PhsyncConfig, SourceConfig } from './config-types.ts';

/*
 * The config file (`--config FILE`), JSON:
 *
 * {
 *   "sources": [
 *     {
 *       "name": "corp",                                  unique, [a-z0-9-]; keep it from run to run
 *       "url": "ldap://dc1:389",                         or "ldif": "dump.ldif" (one of the two)
 *       "preset": "openldap-samba",                      openldap-samba | freeipa | ad
 *       "baseDns": ["ou=People,dc=corp,dc=com"],         LDAP: required
 *       "filter": "(department=Sales)",                  LDAP: ANDed with the preset's filter
 *       "excludeOus": ["ou=Contractors,ou=People,dc=corp,dc=com"],
 *       "memberOf": ["cn=sync-users,ou=Groups,dc=corp,dc=com"],   LDAP: members of any of them
 *       "bindDn": "cn=phsync,dc=corp,dc=com",
 *       "bindPasswordFile": "bind.pw",                   or "bindPasswordEnv": "PHSYNC_BIND_PW"
 *       "startTls": false, "tlsCa": "ca.pem", "tlsInsecure": false, "pageSize": 500,
 *       "hashesFile": "corp.ntds",                       preset ad: the hash-export file
 *       "mapping": { "userPrincipalName": ["mail"] }     field-by-field overrides of the preset
 *     }
 *   ],
 *   "target": "sqlite:tenant.db",
 *   "state": "phsync-state.db"
 * }
 *
 * Relative paths are resolved against the config file's directory. A bind password in the file is
 * refused: it comes from a file or the environment. Every problem is reported with its key path, the
 * value found (never for password keys) and what is expected, all of them at once.
 */

/** One problem in a config file: `path` is the key path, such as `sources[0].url`. */
export interface ConfigIssue {
  readonly path: string;
  readonly message: string;
}

/** FatalError CONFIG_INVALID with every problem found. */
export class ConfigError extends FatalError {
  override name = 'ConfigError';
  readonly issues: readonly ConfigIssue[];

  constructor(file: string, issues: readonly ConfigIssue[]) {
    const list = issues.map((i) => (i.path === '' ? i.message : `${i.path}: ${i.message}`));
    super('CONFIG_INVALID', `config ${file}: ${issues.length === 1 ? '' : `${issues.length} problems: `}${list.join('; ')}`);
    this.issues = Object.freeze(issues.map((i) => Object.freeze({ ...i })));
  }
}

const TOP_KEYS = ['sources', 'target', 'state'] as const;
const SOURCE_KEYS = [
  'name', 'url', 'ldif', 'preset', 'baseDns', 'filter', 'excludeOus', 'memberOf', 'bindDn', 'bindPasswordFile', 'bindPasswordEnv',
  'startTls', 'tlsCa', 'tlsInsecure', 'pageSize', 'hashesFile', 'mapping',
] as const;
/** Keys that only mean something for an LDAP server. */
const LDAP_ONLY_KEYS = ['baseDns', 'filter', 'memberOf', 'bindDn', 'bindPasswordFile', 'bindPasswordEnv', 'startTls', 'tlsCa', 'tlsInsecure', 'pageSize'] as const;
const MAPPING_KEYS = ['anchor', 'userPrincipalName', 'ntHash', 'disabled', 'passwordLastSet', 'isUser', 'filter'] as const;

const SOURCE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** RFC 4512: a descr (keystring) or a numeric OID. */
const ATTRIBUTE_NAME = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** A key that looks like it holds a password, other than the two that say where one is. */
const PASSWORD_KEY = /pass(?:word|wd)?|secret|credential/i;
/** Keys that say "password" without holding one. */
const NOT_SECRET_KEYS: ReadonlySet<string> = new Set(['passwordLastSet']);

function isSecretKey(key: string): boolean {
  return PASSWORD_KEY.test(key) && !NOT_SECRET_KEYS.has(key);
}
export const DEFAULT_PAGE_SIZE = 500;
const MAX_PAGE_SIZE = 100_000;

type Json = Readonly<Record<string, unknown>>;

class Checker {
  readonly issues: ConfigIssue[] = [];

  add(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  /** "expected X, got Y", with Y withheld for anything under a password key. */
  expected(path: string, expected: string, got: unknown): void {
    this.add(path, `expected ${expected}, got ${show(got, path)}`);
  }

  object(value: unknown, path: string, expected = 'an object'): Json | undefined {
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Json;
    this.expected(path, expected, value);
    return undefined;
  }

  /** Reports keys not in `known`; a password-like key is refused as such, its value never shown. */
  keys(record: Json, path: string, known: readonly string[]): void {
    for (const key of Object.keys(record)) {
      if (known.includes(key)) continue;
      const at = join(path, key);
      if (isSecretKey(key)) {
        this.add(at, 'a password is never read from the config file: put the bind password in a file only phsync can read (bindPasswordFile) or in an environment variable (bindPasswordEnv)');
      } else {
        const near = known.find((k) => k.toLowerCase() === key.toLowerCase());
        this.add(at, `unknown key${near === undefined ? '' : ` (did you mean ${JSON.stringify(near)}?)`}; known keys: ${known.join(', ')}`);
      }
    }
  }

  string(record: Json, key: string, path: string, expected = 'a non-empty string'): string | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    if (typeof value === 'string' && value.trim() !== '') return value;
    this.expected(join(path, key), expected, value);
    return undefined;
  }

  boolean(record: Json, key: string, path: string): boolean | undefined {
    const value = record[key];
    if (value === undefined || typeof value === 'boolean') return value;
    this.expected(join(path, key), 'true or false', value);
    return undefined;
  }

  /** A non-empty array of strings, each passing `check` (`expected` says what that is, with its article). */
  strings(record: Json, key: string, path: string, expected: string, check: (s: string) => boolean): string[] | undefined {
    const value = record[key];
    if (value === undefined) return undefined;
    const at = join(path, key);
    if (!Array.isArray(value) || value.length === 0) {
      this.expected(at, `a non-empty array, each ${expected}`, value);
      return undefined;
    }
    const out: string[] = [];
    value.forEach((item: unknown, i) => {
      if (typeof item === 'string' && check(item)) out.push(item.trim());
      else this.expected(`${at}[${i}]`, expected, item);
    });
    return out.length === value.length ? out : undefined;
  }
}

function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  const type = typeof value;
  return type === 'object' ? 'an object' : type === 'undefined' ? 'nothing' : `a ${type}`;
}

function show(value: unknown, path: string): string {
  if (path.split(/[.[\]]/).some(isSecretKey)) return `${kindOf(value)} (not shown)`;
  if (value === undefined) return 'nothing';
  if (typeof value === 'object' && value !== null) return kindOf(value);
  const text = JSON.stringify(value);
  return text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

function isDn(s: string): boolean {
  return s.trim() !== '' && s.includes('=');
}

/**
 * What is wrong with an LDAP filter (RFC 4515), or undefined: in parentheses, balanced, and every
 * backslash followed by two hex digits. A syntax check only; the server has the last word.
 */
export function filterProblem(filter: string): string | undefined {
  const f = filter.trim();
  if (!f.startsWith('(') || !f.endsWith(')')) return 'an LDAP filter in parentheses, such as (department=Sales)';
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c === '\\') {
      if (!/^[0-9a-fA-F]{2}$/.test(f.slice(i + 1, i + 3))) return 'an LDAP filter whose backslashes escape two hex digits (\\28 for "(", \\2a for "*")';
      i += 2;
    } else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i !== f.length - 1) return 'one LDAP filter: wrap several in (&...) or (|...)';
      if (depth < 0) return 'an LDAP filter with balanced parentheses';
    } else if (c === '\0') return 'an LDAP filter without NUL characters';
  }
  return depth === 0 ? undefined : 'an LDAP filter with balanced parentheses';
}

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

function parseEnum<T extends string>(c: Checker, record: Json, key: string, path: string, allowed: readonly T[], fallback: T | undefined): T | undefined {
  const value = record[key];
  if (value === undefined) {
    if (fallback === undefined) c.add(join(path, key), `missing: expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`);
    return fallback;
  }
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  c.expected(join(path, key), `one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`, value);
  return undefined;
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

function parseMappingOverrides(c: Checker, value: unknown, path: string): MappingOverrides | undefined {
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
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

function resolvePath(baseDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(baseDir, path);
}

function parseUrl(c: Checker, url: string, path: string): boolean {
  // A URL with an @ may carry user:password: it is not quoted back.
  const shownUrl = url.includes('@') ? '(a value with an @, not shown)' : url;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    c.add(path, `expected an ldap:// or ldaps:// URL such as ldap://dc1.corp.com:389, got ${JSON.stringify(shownUrl)}`);
    return false;
  }
  if (parsed.protocol !== 'ldap:' && parsed.protocol !== 'ldaps:') {
    c.add(path, `expected an ldap:// or ldaps:// URL such as ldap://dc1.corp.com:389, got ${JSON.stringify(shownUrl)}`);
    return false;
  }
  if (parsed.hostname === '') {
    c.expected(path, 'a URL with a host name', url);
    return false;
  }
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.username !== '' || parsed.password !== '') {
    // The password check matters: ldap://user:secret@host would put a password in the file.
    c.add(path, 'expected only scheme, host and port: put the base DNs in baseDns, the filter in filter, the bind DN in bindDn');
    return false;
  }
  return true;
}

function parseSource(c: Checker, value: unknown, path: string, baseDir: string): SourceConfig | undefined {
  const o = c.object(value, path);
  if (o === undefined) return undefined;
  const before = c.issues.length;
  c.keys(o, path, SOURCE_KEYS);

  const name = c.string(o, 'name', path);
  if (o['name'] === undefined) c.add(join(path, 'name'), 'missing: expected a name such as "corp" (lowercase letters, digits, hyphens)');
  else if (name !== undefined && !SOURCE_NAME.test(name)) c.expected(join(path, 'name'), 'lowercase letters, digits and hyphens, such as "corp" (at most 63)', name);

  const presetName = c.string(o, 'preset', path);
  let preset: AttributeMapping | undefined;
  if (o['preset'] === undefined) c.add(join(path, 'preset'), `missing: expected one of ${PRESET_NAMES.join(', ')}`);
  else if (presetName !== undefined) {
    if (PRESET_NAMES.includes(presetName)) preset = presetByName(presetName);
    else c.expected(join(path, 'preset'), `one of ${PRESET_NAMES.join(', ')}`, presetName);
  }
  let mapping: AttributeMapping | undefined;
  const overrides = o['mapping'] === undefined ? {} : parseMappingOverrides(c, o['mapping'], join(path, 'mapping'));
  if (preset !== undefined && overrides !== undefined) {
    try {
      mapping = mergeMapping(preset, overrides);
    } catch (err) {
      if (!(err instanceof FatalError)) throw err;
      c.add(join(path, 'mapping'), err.message);
    }
  }

  const excludeOus = c.strings(o, 'excludeOus', path, 'a DN such as "ou=Contractors,dc=corp,dc=com"', isDn) ?? [];
  const hashesFile = c.string(o, 'hashesFile', path, 'a file path');
  if (mapping !== undefined) {
    const wantsFile = mapping.ntHash.from === 'hashes-file';
    if (wantsFile && o['hashesFile'] === undefined) c.add(join(path, 'hashesFile'), `missing: preset ${mapping.preset} reads NT hashes from a hash-export file (secretsdump/pwdump format); give its path`);
    if (mapping.ntHash.from === 'attribute' && o['hashesFile'] !== undefined) c.add(join(path, 'hashesFile'), `not used: this source's NT hashes come from the ${mapping.ntHash.attribute} attribute`);
  }

  const url = c.string(o, 'url', path, 'an ldap:// or ldaps:// URL');
  const ldif = c.string(o, 'ldif', path, 'an LDIF file path');
  if (o['url'] !== undefined && o['ldif'] !== undefined) c.add(path, 'both "url" and "ldif": a source reads an LDAP server or an LDIF file, not both');
  if (o['url'] === undefined && o['ldif'] === undefined) c.add(path, 'missing "url" (ldap://host:389) or "ldif" (a file path): where to read users');

  const base = () => ({
    name: name!,
    preset: presetName!,
    mapping: mapping!,
    excludeOus,
    hashesFile: hashesFile === undefined ? undefined : resolvePath(baseDir, hashesFile),
  });
  // Only called when no issue was found, so name, preset and mapping are known.
  const complete = () => c.issues.length === before && name !== undefined && presetName !== undefined && mapping !== undefined;

  if (o['ldif'] !== undefined && o['url'] === undefined) {
    for (const key of LDAP_ONLY_KEYS) if (o[key] !== undefined) c.add(join(path, key), 'applies to LDAP sources ("url") only; an LDIF source reads the whole file');
    if (!complete() || ldif === undefined) return undefined;
    const source: LdifSourceConfig = { kind: 'ldif', ...base(), path: resolvePath(baseDir, ldif) };
    return source;
  }
  if (o['url'] === undefined) return undefined;

  const urlOk = url !== undefined && parseUrl(c, url, join(path, 'url'));
  const baseDns = c.strings(o, 'baseDns', path, 'a DN such as "ou=People,dc=corp,dc=com"', isDn);
  if (o['baseDns'] === undefined) c.add(join(path, 'baseDns'), 'missing: expected a non-empty array of base DNs to search, such as ["ou=People,dc=corp,dc=com"]');
  const filter = c.string(o, 'filter', path, 'an LDAP filter in parentheses');
  if (filter !== undefined) {
    const problem = filterProblem(filter);
    if (problem !== undefined) c.expected(join(path, 'filter'), problem, filter);
  }
  const memberOf = c.strings(o, 'memberOf', path, 'a group DN such as "cn=sync-users,ou=Groups,dc=corp,dc=com"', isDn) ?? [];

  const bindDn = c.string(o, 'bindDn', path, 'a DN such as "cn=phsync,dc=corp,dc=com"');
  if (bindDn !== undefined && !isDn(bindDn)) c.expected(join(path, 'bindDn'), 'a DN such as "cn=phsync,dc=corp,dc=com"', bindDn);
  const passwordFile = c.string(o, 'bindPasswordFile', path, 'a file path');
  const passwordEnv = c.string(o, 'bindPasswordEnv', path, 'an environment variable name');
  if (passwordEnv !== undefined && !ENV_NAME.test(passwordEnv)) c.expected(join(path, 'bindPasswordEnv'), 'an environment variable name (letters, digits, _), not the password itself', passwordEnv);
  if (o['bindPasswordFile'] !== undefined && o['bindPasswordEnv'] !== undefined) c.add(path, 'both "bindPasswordFile" and "bindPasswordEnv": give one');
  if (o['bindDn'] !== undefined && o['bindPasswordFile'] === undefined && o['bindPasswordEnv'] === undefined) {
    c.add(join(path, 'bindDn'), 'has no password: add "bindPasswordFile" or "bindPasswordEnv" (a bind DN without a password is an unauthenticated bind)');
  }
  if (o['bindDn'] === undefined && (o['bindPasswordFile'] !== undefined || o['bindPasswordEnv'] !== undefined)) c.add(path, 'a bind password without "bindDn"');
  const bindPassword: BindPasswordSource | undefined =
    passwordFile !== undefined ? { from: 'file', path: resolvePath(baseDir, passwordFile) } : passwordEnv !== undefined ? { from: 'env', variable: passwordEnv } : undefined;

  const startTls = c.boolean(o, 'startTls', path) ?? false;
  const tlsInsecure = c.boolean(o, 'tlsInsecure', path) ?? false;
  const tlsCa = c.string(o, 'tlsCa', path, 'a CA certificate file path (PEM)');
  if (urlOk) {
    const ldaps = url.startsWith('ldaps:');
    if (ldaps && startTls) c.add(join(path, 'startTls'), 'not with an ldaps:// URL, which is TLS from the start');
    if (!ldaps && !startTls && (o['tlsCa'] !== undefined || tlsInsecure)) c.add(path, '"tlsCa" and "tlsInsecure" need TLS: use an ldaps:// URL or "startTls": true');
  }
  if (o['tlsCa'] !== undefined && tlsInsecure) c.add(join(path, 'tlsInsecure'), 'turns off the certificate check that "tlsCa" is for; give one of the two');

  let pageSize = DEFAULT_PAGE_SIZE;
  if (o['pageSize'] !== undefined) {
    const p = o['pageSize'];
    if (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= MAX_PAGE_SIZE) pageSize = p;
    else c.expected(join(path, 'pageSize'), `a whole number from 1 to ${MAX_PAGE_SIZE}`, p);
  }

  if (!complete() || url === undefined || baseDns === undefined) return undefined;
  const source: LdapSourceConfig = {
    kind: 'ldap',
    ...base(),
    url,
    baseDns,
    filter: filter?.trim(),
    memberOf,
    bindDn: bindDn?.trim(),
    bindPassword,
    startTls,
    tlsCa: tlsCa === undefined ? undefined : resolvePath(baseDir, tlsCa),
    tlsInsecure,
    pageSize,
  };
  return source;
}

function parseTarget(c: Checker, value: string, path: string, baseDir: string): string | undefined {
  const colon = value.indexOf(':');
  const scheme = colon < 0 ? '' : value.slice(0, colon);
  const rest = value.slice(colon + 1);
  if (rest === '' || (scheme !== 'sqlite' && scheme !== 'ndjson')) {
    c.expected(path, 'sqlite:PATH or ndjson:PATH (ndjson:- for stdout)', value);
    return undefined;
  }
  return scheme === 'ndjson' && rest === '-' ? value : `${scheme}:${resolvePath(baseDir, rest)}`;
}

/**
 * Validates a parsed config file. `file` names it in messages and resolves its relative paths.
 * Every problem is collected; any is ConfigError (FatalError CONFIG_INVALID). The result is frozen.
 */
export function parseConfig(value: unknown, file: string): PhsyncConfig {
  const c = new Checker();
  const path = resolve(file);
  const baseDir = dirname(path);
  const top = c.object(value, '', 'a JSON object with "sources"');
  const sources: SourceConfig[] = [];
  let target: string | undefined;
  let state: string | undefined;
  if (top !== undefined) {
    c.keys(top, '', TOP_KEYS);
    const raw = top['sources'];
    if (raw === undefined) c.add('sources', 'missing: expected a non-empty array of sources');
    else if (!Array.isArray(raw) || raw.length === 0) c.expected('sources', 'a non-empty array of sources', raw);
    else {
      const firstIndex = new Map<string, number>();
      raw.forEach((item: unknown, i) => {
        const source = parseSource(c, item, `sources[${i}]`, baseDir);
        const name = typeof item === 'object' && item !== null ? (item as Json)['name'] : undefined;
        if (typeof name === 'string') {
          const earlier = firstIndex.get(name);
          if (earlier !== undefined) c.add(`sources[${i}].name`, `${JSON.stringify(name)} is already the name of sources[${earlier}]; source names are unique`);
          else firstIndex.set(name, i);
        }
        if (source !== undefined) sources.push(source);
      });
    }
    const t = c.string(top, 'target', '', 'sqlite:PATH or ndjson:PATH');
    if (t !== undefined) target = parseTarget(c, t, 'target', baseDir);
    const s = c.string(top, 'state', '', 'a state store path');
    if (s !== undefined) state = resolvePath(baseDir, s);
  }
  if (c.issues.length > 0) throw new ConfigError(file, c.issues);
  return deepFreeze({ path, sources, target, state });
}

/** Line and column of a character offset, for JSON syntax errors. */
function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset);
  const line = before.split('\n').length;
  return `line ${line}, column ${offset - before.lastIndexOf('\n')}`;
}

/**
 * Reads and validates a config file. FatalError CONFIG_NOT_FOUND when it does not exist,
 * CONFIG_UNREADABLE when it cannot be read, CONFIG_INVALID (ConfigError) when it is not valid JSON
 * or not a valid config; JSON syntax errors give a line and column but never quote the file, which
 * may hold a password by mistake.
 */
export async function loadConfig(path: string): Promise<PhsyncConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new FatalError('CONFIG_NOT_FOUND', `config file not found: ${path}`, { cause: err });
    throw new FatalError('CONFIG_UNREADABLE', `cannot read config file ${path}: ${code ?? String(err)}`, { cause: err });
  }
  let json: unknown;
  try {
    json = JSON.parse(text.startsWith('\uFEFF') ? text.slice(1) : text);
  } catch (err) {
    // V8's message can quote the text around the error: give only the position.
    const position = /at position (\d+)/.exec(err instanceof Error ? err.message : '');
    const where = position === null ? (text.trim() === '' ? 'the file is empty' : 'somewhere') : lineColumn(text, Number(position[1]));
    throw new ConfigError(path, [{ path: '', message: `not valid JSON (${where})` }]);
  }
  return parseConfig(json, path);
}

/** RFC 4515 escaping of an assertion value: \ * ( ) and NUL as \5c \2a \28 \29 \00. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The LDAP filter a source searches with: the mapping's (preset's) filter AND the configured filter AND
 * (memberOf any of the groups), the group DNs escaped per RFC 4515. memberOf is direct membership
 * (AD: for nested groups put `(memberOf:1.2.840.113556.1.4.1941:=DN)` in the filter instead).
 */
export function ldapFilterFor(source: {
  readonly mapping: Pick<AttributeMapping, 'filter'>;
  readonly filter?: string | undefined;
  readonly memberOf?: readonly string[] | undefined;
}): string {
  const parts = [source.mapping.filter.trim()];
  if (source.filter !== undefined && source.filter.trim() !== '') parts.push(source.filter.trim());
  const groups = (source.memberOf ?? []).map((dn) => `(memberOf=${escapeFilterValue(dn.trim())})`);
  if (groups.length === 1) parts.push(groups[0]!);
  else if (groups.length > 1) parts.push(`(|${groups.join('')})`);
  return parts.length === 1 ? parts[0]! : `(&${parts.join('')})`;
}

/** A DN for comparison: lowercase, no spaces around the commas between RDNs (an escaped "\ " kept). */
export function normalizeDn(dn: string): string {
  return dn.trim().toLowerCase().replace(/(?<!\\)\s*,\s*/g, ',');
}

/**
 * A test for "is this DN at or below one of these OUs", with the OUs normalised once. Compared
 * case-insensitively after normalising the spaces around commas (`normalizeDn`); escapes such as
 * \2C versus \, are not unified.
 */
export function ouExclusion(excludeOus: readonly string[]): (dn: string) => boolean {
  const suffixes = excludeOus.map(normalizeDn).filter((ou) => ou !== '');
  if (suffixes.length === 0) return () => false;
  return (dn) => {
    const d = normalizeDn(dn);
    return suffixes.some((ou) => d === ou || (d.endsWith(ou) && d[d.length - ou.length - 1] === ',' && d[d.length - ou.length - 2] !== '\\'));
  };
}

/** Whether `dn` is an excluded OU or below one (see `ouExclusion`, which is faster for many DNs). */
export function isExcluded(dn: string, excludeOus: readonly string[]): boolean {
  return ouExclusion(excludeOus)(dn);
}

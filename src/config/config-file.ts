import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { FatalError } from '../errors.ts';
import type { AttributeMapping } from '../source/attribute-mapping.ts';
import { filterProblem } from '../source/ldap-filter.ts';
import { PRESET_NAMES, presetByName } from '../source/presets/presets.ts';
import { deepFreeze } from '../util/deep-freeze.ts';
import { Checker, join } from './config-checker.ts';
import type { ConfigIssue, Json } from './config-checker.ts';
import type { AdSourceConfig, BindPasswordSource, LdapSourceConfig, LdifSourceConfig, PhsyncConfig, SourceConfig } from './config-types.ts';
import { REPLICATED_NT_HASH, parseAdUrl } from './ad-source-config.ts';
import { mergeMapping, parseMappingOverrides } from './merge-mapping.ts';

/*
 * The config file (`--config FILE`), JSON:
 *
 * {
 *   "sources": [
 *     {
 *       "name": "corp",                                  unique, [a-z0-9-]; keep it from run to run
 *       "url": "ldap://dc1:389",                         or "ldif": "dump.ldif" (one of the two),
 *                                                        or "ad://dc1.corp.com" (replication, preset ad)
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
 *   "state": "phsync-state.db",
 *   "leakedStore": "pwned-ntlm.phsleak"                optional: phsync leaked import's store
 * }
 *
 * Relative paths are resolved against the config file's directory. A bind password in the file is
 * refused: it comes from a file or the environment. Every problem is reported with its key path, the
 * value found (never for password keys) and what is expected, all of them at once.
 */

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

const TOP_KEYS = ['sources', 'target', 'state', 'leakedStore'] as const;
const SOURCE_KEYS = [
  'name', 'url', 'ldif', 'preset', 'baseDns', 'filter', 'excludeOus', 'memberOf', 'bindDn', 'bindPasswordFile', 'bindPasswordEnv',
  'startTls', 'tlsCa', 'tlsInsecure', 'pageSize', 'hashesFile', 'mapping',
] as const;
/** Keys that only mean something for an LDAP server. */
const LDAP_ONLY_KEYS = ['baseDns', 'filter', 'memberOf', 'bindDn', 'bindPasswordFile', 'bindPasswordEnv', 'startTls', 'tlsCa', 'tlsInsecure', 'pageSize'] as const;

const SOURCE_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
export const DEFAULT_PAGE_SIZE = 500;
/** Objects per DRSGetNCChanges call: Samba's and Windows' own replication asks for about this many. */
export const DEFAULT_AD_OBJECTS_PER_CALL = 1000;
const MAX_PAGE_SIZE = 100_000;

function isDn(s: string): boolean {
  return s.trim() !== '' && s.includes('=');
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

const AD_UNSUPPORTED_KEYS: Readonly<Record<string, string>> = {
  filter: 'replication reads every object of the domain; an LDAP filter cannot apply (use baseDns or excludeOus to narrow the scope)',
  memberOf: 'group membership is not replicated with the user here; use baseDns or excludeOus to narrow the scope',
  startTls: 'replication is sealed by NTLM (RPC privacy level), not TLS',
  tlsCa: 'replication is sealed by NTLM (RPC privacy level), not TLS',
  tlsInsecure: 'replication is sealed by NTLM (RPC privacy level), not TLS',
};

/** The ad:// part of a source: where the DC is, who replicates, what is in scope. */
function parseAdSource(c: Checker, o: Json, path: string, baseDir: string, url: string): Omit<AdSourceConfig, 'kind' | 'name' | 'preset' | 'mapping' | 'excludeOus' | 'hashesFile'> | undefined {
  const before = c.issues.length;
  for (const [key, why] of Object.entries(AD_UNSUPPORTED_KEYS)) if (o[key] !== undefined) c.add(join(path, key), `not for an ad:// source: ${why}`);
  const where = parseAdUrl(url);
  if (typeof where === 'string') c.add(join(path, 'url'), where);
  const account = c.string(o, 'bindDn', path, "the replication account, 'DOMAIN\\name' or 'name@realm'");
  if (o['bindDn'] === undefined) c.add(join(path, 'bindDn'), "missing: replication needs an account with the Replicating Directory Changes (All) rights, as 'DOMAIN\\name' or 'name@realm'");
  else if (account !== undefined && !/^[^\\@\s]+\\[^\\@\s]+$|^[^\\@\s]+@[^\\@\s]+$/.test(account.trim())) c.expected(join(path, 'bindDn'), "an account as 'DOMAIN\\name' or 'name@realm' (not an LDAP DN)", account);
  const passwordFile = c.string(o, 'bindPasswordFile', path, 'a file path');
  const passwordEnv = c.string(o, 'bindPasswordEnv', path, 'an environment variable name');
  if (passwordEnv !== undefined && !ENV_NAME.test(passwordEnv)) c.expected(join(path, 'bindPasswordEnv'), 'an environment variable name (letters, digits, _), not the password itself', passwordEnv);
  if (o['bindPasswordFile'] !== undefined && o['bindPasswordEnv'] !== undefined) c.add(path, 'both "bindPasswordFile" and "bindPasswordEnv": give one');
  if (o['bindDn'] !== undefined && o['bindPasswordFile'] === undefined && o['bindPasswordEnv'] === undefined) c.add(join(path, 'bindDn'), 'has no password: add "bindPasswordFile" or "bindPasswordEnv"');
  const baseDns = o['baseDns'] === undefined ? [] : (c.strings(o, 'baseDns', path, 'a DN such as "ou=People,dc=corp,dc=com"', isDn) ?? []);
  let objectsPerCall = DEFAULT_AD_OBJECTS_PER_CALL;
  if (o['pageSize'] !== undefined) {
    const p = o['pageSize'];
    if (typeof p === 'number' && Number.isInteger(p) && p >= 1 && p <= MAX_PAGE_SIZE) objectsPerCall = p;
    else c.expected(join(path, 'pageSize'), `a whole number of objects per replication call, from 1 to ${MAX_PAGE_SIZE}`, p);
  }
  if (c.issues.length !== before || typeof where === 'string' || account === undefined) return undefined;
  const bindPassword: BindPasswordSource = passwordFile !== undefined ? { from: 'file', path: resolvePath(baseDir, passwordFile) } : { from: 'env', variable: passwordEnv! };
  return { url, host: where.host, endpointMapperPort: where.port, account: account.trim(), bindPassword, baseDns, objectsPerCall };
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
  const replicates = typeof o['url'] === 'string' && /^ad:/i.test(o['url']);
  if (replicates && presetName !== undefined && presetName !== 'ad') c.add(join(path, 'preset'), `an ad:// source replicates Active Directory: use preset "ad", not ${JSON.stringify(presetName)}`);
  const overrides = o['mapping'] === undefined ? {} : parseMappingOverrides(c, o['mapping'], join(path, 'mapping'));
  if (replicates && overrides?.ntHash !== undefined) c.add(join(join(path, 'mapping'), 'ntHash'), 'an ad:// source reads NT hashes by replication; they cannot be mapped');
  if (preset !== undefined && overrides !== undefined) {
    try {
      // Replication delivers each user's unicodePwd, decrypted, where the preset would join a hashes file.
      mapping = mergeMapping(preset, replicates ? { ...overrides, ntHash: REPLICATED_NT_HASH } : overrides);
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

  const url = c.string(o, 'url', path, 'an ldap://, ldaps:// or ad:// URL');
  const ldif = c.string(o, 'ldif', path, 'an LDIF file path');
  if (o['url'] !== undefined && o['ldif'] !== undefined) c.add(path, 'both "url" and "ldif": a source reads an LDAP server or an LDIF file, not both');
  if (o['url'] === undefined && o['ldif'] === undefined) c.add(path, 'missing "url" (ldap://host:389, or ad://dc for replication) or "ldif" (a file path): where to read users');

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
  if (replicates) {
    if (url === undefined) return undefined;
    const ad = parseAdSource(c, o, path, baseDir, url);
    if (!complete() || ad === undefined) return undefined;
    const source: AdSourceConfig = { kind: 'ad', ...base(), ...ad };
    return source;
  }

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
  let leakedStore: string | undefined;
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
    const l = c.string(top, 'leakedStore', '', 'a leaked-hash store path');
    if (l !== undefined) leakedStore = resolvePath(baseDir, l);
  }
  if (c.issues.length > 0) throw new ConfigError(file, c.issues);
  return deepFreeze({ path, sources, target, state, leakedStore });
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

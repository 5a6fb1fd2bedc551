import { FatalError, UserDataError } from '../errors.ts';
import { NT_HASH_BYTES } from '../phs/credential.ts';
import { parseHexNtHash } from '../phs/hex-nt-hash.ts';
import type { AttributeMapping, DisabledMapping, NtHashMapping, PasswordLastSetMapping, UserSelection } from './attribute-mapping.ts';
import { textValue } from './directory-entry.ts';
import type { AttributeValue, DirectoryEntry } from './directory-entry.ts';
import type { SourceItem } from './directory-user.ts';
import { isUserPrincipalName } from '../tenant/item-validation.ts';

/**
 * NT hashes by account name (case-insensitive), for sources whose hashes are not in the directory
 * (AD: src/source/hashes-file.ts). `lookup` returns a copy the caller owns (the pipeline zeroes it).
 */
export interface HashLookup {
  lookup(name: string): Uint8Array | undefined;
}

const SAMBA_FLAGS = /^\[([A-Z ]{1,16})\]$/;
const DECIMAL = /^-?[0-9]{1,20}$/;
// RFC 4517 GeneralizedTime: YYYYMMDDHH[MM[SS]][(.|,)fraction](Z|+HHMM|-HHMM).
const GENERALIZED_TIME = /^([0-9]{4})([0-9]{2})([0-9]{2})([0-9]{2})(?:([0-9]{2})([0-9]{2})?)?(?:[.,]([0-9]+))?(Z|[+-][0-9]{2}(?:[0-9]{2})?)$/;
/** 100-ns intervals from 1601-01-01 to 1970-01-01 UTC. */
const FILETIME_UNIX_EPOCH = 116_444_736_000_000_000n;
const FILETIME_MAX = 0x7fff_ffff_ffff_ffffn;

function first(entry: DirectoryEntry, attribute: string): AttributeValue | undefined {
  return entry.attributes.get(attribute)?.[0];
}

/** The bytes of a value: a source gives binary attributes as Buffers, but LDIF writes printable ones as text. */
function bytesOf(value: AttributeValue): Buffer {
  return typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
}

function isUser(entry: DirectoryEntry, selection: UserSelection, ntHash: NtHashMapping): boolean {
  if (selection.kind === 'has-nt-hash') {
    if (ntHash.from !== 'attribute') throw new FatalError('MAPPING_INVALID', 'isUser "has-nt-hash" needs the NT hash in an attribute');
    return (entry.attributes.get(ntHash.attribute)?.length ?? 0) > 0;
  }
  const classes = entry.attributes.get('objectclass');
  if (classes === undefined) return false;
  return hasClass(classes, selection.objectClass) && !selection.excludeObjectClasses.some((c) => hasClass(classes, c));
}

/**
 * Whether one of the values is `name`, ignoring case and surrounding spaces. Runs per user: the
 * lengths are compared first, so only a value that can match is lowercased.
 */
function hasClass(values: readonly AttributeValue[], name: string): boolean {
  for (const value of values) {
    const text = textValue(value).trim();
    if (text.length === name.length && (text === name || text.toLowerCase() === name.toLowerCase())) return true;
  }
  return false;
}

function anchorOf(entry: DirectoryEntry, mapping: AttributeMapping): string | undefined {
  const value = first(entry, mapping.anchor.attribute);
  if (value === undefined) return undefined;
  const anchor = mapping.anchor.encoding === 'base64' ? bytesOf(value).toString('base64') : textValue(value).trim();
  return anchor === '' ? undefined : anchor;
}

function userPrincipalNameOf(entry: DirectoryEntry, mapping: AttributeMapping): string | undefined {
  for (const attribute of mapping.userPrincipalName) {
    const value = first(entry, attribute);
    if (value !== undefined && textValue(value).trim() !== '') return textValue(value).trim();
  }
  return undefined;
}

function ntHashOf(entry: DirectoryEntry, ntHash: NtHashMapping, hashes: HashLookup | undefined): Uint8Array {
  if (ntHash.from === 'hashes-file') {
    if (hashes === undefined) throw new FatalError('HASHES_FILE_REQUIRED', 'this mapping reads NT hashes from a hashes file, and none was given (hashesFile in the config)');
    const value = first(entry, ntHash.joinAttribute);
    const name = value === undefined ? '' : textValue(value).trim();
    if (name === '') throw new UserDataError('MISSING_NT_HASH', `no ${ntHash.joinAttribute} to look up in the hashes file`);
    const hash = hashes.lookup(name);
    if (hash === undefined) throw new UserDataError('MISSING_NT_HASH', `no line for ${ntHash.joinAttribute} ${JSON.stringify(name)} in the hashes file`);
    if (hash.length !== NT_HASH_BYTES) throw new UserDataError('INVALID_NT_HASH', `the hashes file's NT hash for ${JSON.stringify(name)} is not ${NT_HASH_BYTES} bytes`);
    return hash;
  }
  const values = entry.attributes.get(ntHash.attribute) ?? [];
  if (values.length === 0) throw new UserDataError('MISSING_NT_HASH', `no ${ntHash.attribute}`);
  if (values.length !== 1) throw new UserDataError('INVALID_NT_HASH', `${ntHash.attribute} has ${values.length} values; a user has one NT hash`);
  const value = values[0]!;
  // Never echo the value: it may be a real hash with one digit wrong. Its length is all a message says.
  if (ntHash.encoding === 'binary') {
    const bytes = bytesOf(value);
    if (bytes.length !== NT_HASH_BYTES) throw new UserDataError('INVALID_NT_HASH', `${ntHash.attribute} is not ${NT_HASH_BYTES} bytes (${bytes.length} bytes)`);
    return Uint8Array.from(bytes);
  }
  const text = textValue(value);
  const bytes = parseHexNtHash(text);
  if (bytes === undefined) throw new UserDataError('INVALID_NT_HASH', `${ntHash.attribute} is not 32 hex digits (${text.length} characters)`);
  return bytes;
}

function isDisabled(entry: DirectoryEntry, disabled: DisabledMapping | undefined): boolean {
  if (disabled === undefined) return false;
  const value = first(entry, disabled.attribute);
  if (value === undefined) return false;
  const text = textValue(value).trim();
  switch (disabled.kind) {
    case 'samba-flags': {
      const match = SAMBA_FLAGS.exec(text);
      if (match === null) throw new UserDataError('INVALID_ACCOUNT_FLAGS', `${disabled.attribute} ${JSON.stringify(text)} is not [flags]`);
      return match[1]!.includes('D');
    }
    case 'true-value': {
      // 389-ds locks on TRUE in any case; anything but TRUE/FALSE is refused rather than guessed at.
      const upper = text.toUpperCase();
      if (upper !== 'TRUE' && upper !== 'FALSE') throw new UserDataError('INVALID_ACCOUNT_FLAGS', `${disabled.attribute} ${JSON.stringify(text)} is not TRUE or FALSE`);
      return upper === 'TRUE';
    }
    case 'uac-flag': {
      if (!DECIMAL.test(text)) throw new UserDataError('INVALID_ACCOUNT_FLAGS', `${disabled.attribute} ${JSON.stringify(text)} is not a number`);
      const flags = BigInt(text);
      if (flags < -0x8000_0000n || flags > 0xffff_ffffn) throw new UserDataError('INVALID_ACCOUNT_FLAGS', `${disabled.attribute} ${JSON.stringify(text)} is not a 32-bit number`);
      return (BigInt.asUintN(32, flags) & BigInt(disabled.mask)) !== 0n;
    }
  }
}

interface LastSet {
  readonly mustChange: boolean;
  /** ms since 1970, when the value is a time after 1970. */
  readonly changedAt: number | undefined;
}

const NOT_SET: LastSet = { mustChange: false, changedAt: undefined };

function passwordLastSetOf(entry: DirectoryEntry, mapping: PasswordLastSetMapping | undefined): LastSet {
  if (mapping === undefined) return NOT_SET;
  const value = first(entry, mapping.attribute);
  if (value === undefined) return NOT_SET;
  const text = textValue(value).trim();
  const bad = (expected: string) => new UserDataError('INVALID_PASSWORD_LAST_SET', `${mapping.attribute} ${JSON.stringify(text)} is not ${expected}`);
  switch (mapping.format) {
    case 'unix-seconds': {
      if (!/^-?[0-9]{1,12}$/.test(text)) throw bad('a number of seconds');
      const seconds = Number(text);
      return { mustChange: seconds === 0, changedAt: seconds > 0 ? seconds * 1000 : undefined };
    }
    case 'filetime': {
      // 18 digits today: past 2^53, so BigInt.
      if (!/^[0-9]{1,19}$/.test(text) || BigInt(text) > FILETIME_MAX) throw bad('a FILETIME (100-ns intervals since 1601)');
      const ticks = BigInt(text);
      if (ticks === 0n) return { mustChange: true, changedAt: undefined };
      const ms = Number((ticks - FILETIME_UNIX_EPOCH) / 10_000n);
      return { mustChange: false, changedAt: ms > 0 ? ms : undefined };
    }
    case 'generalized-time': {
      const ms = generalizedTime(text);
      if (ms === undefined) throw bad('a GeneralizedTime such as 20240115093000Z');
      return { mustChange: false, changedAt: ms > 0 ? ms : undefined };
    }
  }
}

/** RFC 4517 GeneralizedTime to ms since 1970, or undefined when it is not one. */
function generalizedTime(text: string): number | undefined {
  const m = GENERALIZED_TIME.exec(text);
  if (m === null) return undefined;
  const [year, month, day, hour] = [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])];
  const minute = m[5] === undefined ? 0 : Number(m[5]);
  const second = m[6] === undefined ? 0 : Number(m[6]);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60) return undefined;
  // A fraction applies to the last unit given (seconds, minutes or hours); kept to the millisecond.
  const unitMs = m[6] !== undefined ? 1000 : m[5] !== undefined ? 60_000 : 3_600_000;
  const fraction = m[7] === undefined ? 0 : Math.floor(Number(`0.${m[7]}`) * unitMs);
  let ms = Date.UTC(year, month - 1, day, hour, minute, Math.min(second, 59)) + fraction;
  if (new Date(ms).getUTCDate() !== day) return undefined; // 31 February
  const zone = m[8]!;
  if (zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const offset = Number(zone.slice(1, 3)) * 60 + (zone.length > 3 ? Number(zone.slice(3, 5)) : 0);
    ms -= sign * offset * 60_000;
  }
  return ms;
}

/**
 * Turns a directory entry into a user, into a named per-user error, or into nothing (not a user, as
 * `mapping.isUser` decides). `hashes` is required when the mapping reads NT hashes from a hashes
 * file (FatalError HASHES_FILE_REQUIRED otherwise). Nothing but the mapped fields leaves this
 * function, and no error message carries a hash.
 */
export function mapEntry(entry: DirectoryEntry, mapping: AttributeMapping, source: string, hashes?: HashLookup): SourceItem | undefined {
  if (!isUser(entry, mapping.isUser, mapping.ntHash)) return undefined;
  const anchor = anchorOf(entry, mapping);
  const userPrincipalName = userPrincipalNameOf(entry, mapping);
  const origin = `${entry.dn} (${entry.origin})`;
  try {
    if (anchor === undefined) throw new UserDataError('MISSING_ANCHOR', `no ${mapping.anchor.attribute}`);
    if (userPrincipalName === undefined) throw new UserDataError('MISSING_USER_PRINCIPAL_NAME', `none of ${mapping.userPrincipalName.join(', ')}`);
    // Refused here rather than by the target: the error then names the entry, and nothing is hashed.
    if (!isUserPrincipalName(userPrincipalName as unknown)) {
      throw new UserDataError('INVALID_USER_PRINCIPAL_NAME', `${JSON.stringify(userPrincipalName.length > 80 ? `${userPrincipalName.slice(0, 80)}…` : userPrincipalName)} is not a sign-in name (name@domain: at most 64 characters before the @, no spaces or control characters)`);
    }
    const ntHash = ntHashOf(entry, mapping.ntHash, hashes);
    let disabled: boolean;
    let lastSet: LastSet;
    try {
      disabled = isDisabled(entry, mapping.disabled);
      lastSet = passwordLastSetOf(entry, mapping.passwordLastSet);
    } catch (err) {
      ntHash.fill(0);
      throw err;
    }
    return {
      kind: 'user',
      user: { source, anchor, userPrincipalName, ntHash, disabled, mustChangePassword: lastSet.mustChange, passwordChangedAt: lastSet.changedAt, dn: entry.dn, origin },
    };
  } catch (err) {
    if (!(err instanceof UserDataError)) throw err;
    return { kind: 'invalid', invalid: { source, anchor, userPrincipalName, origin, error: err } };
  }
}

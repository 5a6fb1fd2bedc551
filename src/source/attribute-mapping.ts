/**
 * How a directory's attributes become the engine's user record. Data, not code, so that presets can
 * be overridden field by field from a config file (see src/config/merge-mapping.ts, `mergeMapping`).
 * Every attribute name here is lowercase: sources lowercase the names they read.
 */

/** The anchor: the user's stable id in the source, the key at the target. */
export interface AnchorMapping {
  readonly attribute: string;
  /**
   * `text`: the value as text, trimmed (entryUUID, ipaUniqueID). `base64`: the value's bytes in
   * base64 (objectGUID: 16 bytes, which is also how the reference system writes its source anchor).
   */
  readonly encoding: 'text' | 'base64';
}

/** Where the 16-byte NT hash comes from. */
export type NtHashMapping =
  /**
   * An attribute of the entry: `hex` is 32 hex digits in any case (Samba's sambaNTPassword),
   * `binary` is 16 raw bytes (FreeIPA's ipaNTHash). One value per user.
   */
  | { readonly from: 'attribute'; readonly attribute: string; readonly encoding: 'hex' | 'binary' }
  /**
   * A hash-export file (pwdump/secretsdump format, src/source/hashes-file.ts), joined on the value of
   * `joinAttribute` (Active Directory: samaccountname), compared case-insensitively. AD does not
   * hand NT hashes out over LDAP, so they are exported from a domain controller beforehand.
   */
  | { readonly from: 'hashes-file'; readonly joinAttribute: string };

/** How "this account is disabled" is read; disabled accounts are not synced. */
export type DisabledMapping =
  /** Samba account flags such as `[UD         ]`: disabled when the flags hold a D. */
  | { readonly kind: 'samba-flags'; readonly attribute: string }
  /** A boolean attribute (389-ds/FreeIPA nsAccountLock): disabled when TRUE, any case; FALSE otherwise. */
  | { readonly kind: 'true-value'; readonly attribute: string }
  /** A decimal bit field (AD userAccountControl): disabled when `value & mask` is not 0 (ACCOUNTDISABLE = 2). */
  | { readonly kind: 'uac-flag'; readonly attribute: string; readonly mask: number };

/** When the password was last set, which also says "must change password at next logon". */
export interface PasswordLastSetMapping {
  readonly attribute: string;
  /**
   * `unix-seconds`: seconds since 1970 (sambaPwdLastSet). `filetime`: 100-ns intervals since
   * 1601-01-01 UTC (AD pwdLastSet). For both, 0 means "must change at next logon".
   * `generalized-time`: an LDAP GeneralizedTime such as 20240115093000Z (FreeIPA krbLastPwdChange);
   * it has no "must change" value, so it only gives the change time.
   */
  readonly format: 'unix-seconds' | 'filetime' | 'generalized-time';
}

/** Which entries are users. An entry that is not a user is passed over and counted, never reported. */
export type UserSelection =
  /**
   * The entries that carry the NT hash attribute (LDAP presets): an entry without it is not a user.
   * Only for `ntHash.from === 'attribute'`.
   */
  | { readonly kind: 'has-nt-hash' }
  /**
   * The entries whose objectClass includes `objectClass` and none of `excludeObjectClasses` (all
   * compared case-insensitively). Such an entry is a user whatever else it holds: one without an NT
   * hash fails with MISSING_NT_HASH instead of vanishing (AD: class user, but not computer).
   */
  | { readonly kind: 'object-class'; readonly objectClass: string; readonly excludeObjectClasses: readonly string[] };

export interface AttributeMapping {
  /** The preset this mapping is, or was derived from (for messages). */
  readonly preset: string;
  /** The user's stable id in the source. */
  readonly anchor: AnchorMapping;
  /** User principal name: tried in order, the first attribute with a non-blank value wins. */
  readonly userPrincipalName: readonly string[];
  /** Where the NT hash comes from. */
  readonly ntHash: NtHashMapping;
  /** Disabled accounts; undefined: no account is disabled. */
  readonly disabled: DisabledMapping | undefined;
  /** Password change time and "must change"; undefined: neither is known (the run's start time is sent). */
  readonly passwordLastSet: PasswordLastSetMapping | undefined;
  /** Which entries are users. */
  readonly isUser: UserSelection;
  /**
   * The LDAP filter that selects this kind of directory's users (RFC 4515, in parentheses). An LDAP
   * source ANDs it with the configured filter; an LDIF source relies on `isUser` alone.
   */
  readonly filter: string;
}

/**
 * The attributes a source must ask the directory for (lowercase), and nothing else: the mapped ones,
 * the join attribute for a hashes file (samaccountname) and objectclass when it decides who is a user.
 */
export function requestedAttributes(mapping: AttributeMapping): string[] {
  const names: string[] = [mapping.anchor.attribute, ...mapping.userPrincipalName];
  names.push(mapping.ntHash.from === 'attribute' ? mapping.ntHash.attribute : mapping.ntHash.joinAttribute);
  if (mapping.disabled !== undefined) names.push(mapping.disabled.attribute);
  if (mapping.passwordLastSet !== undefined) names.push(mapping.passwordLastSet.attribute);
  if (mapping.isUser.kind === 'object-class') names.push('objectclass');
  return [...new Set(names)];
}

/** The attributes whose values are bytes, not text (ipaNTHash, objectGUID): a source returns them as Buffers. */
export function binaryAttributes(mapping: AttributeMapping): string[] {
  const names: string[] = [];
  if (mapping.anchor.encoding === 'base64') names.push(mapping.anchor.attribute);
  if (mapping.ntHash.from === 'attribute' && mapping.ntHash.encoding === 'binary') names.push(mapping.ntHash.attribute);
  return [...new Set(names)];
}

/**
 * What is wrong with a mapping as a whole (empty: nothing). Field shapes are the type's business;
 * this checks what the type cannot say, so that presets and merged overrides answer alike.
 */
export function mappingProblems(mapping: AttributeMapping): string[] {
  const problems: string[] = [];
  if (mapping.userPrincipalName.length === 0) problems.push('userPrincipalName lists no attribute');
  if (mapping.ntHash.from === 'hashes-file' && mapping.isUser.kind === 'has-nt-hash') {
    problems.push('isUser "has-nt-hash" cannot be used with NT hashes from a hashes file: users without a line would vanish unreported; select users by objectClass');
  }
  if (mapping.disabled?.kind === 'uac-flag' && !(Number.isInteger(mapping.disabled.mask) && mapping.disabled.mask > 0 && mapping.disabled.mask <= 0xffffffff)) {
    problems.push('disabled.mask must be a whole number from 1 to 4294967295');
  }
  return problems;
}

/** The attribute the NT hash is read from, for messages and access checks; undefined when it comes from a hashes file. */
export function ntHashAttribute(mapping: AttributeMapping): string | undefined {
  return mapping.ntHash.from === 'attribute' ? mapping.ntHash.attribute : undefined;
}

/**
 * How a directory's attributes become the engine's user record. Data, not code, so that presets can
 * be overridden attribute by attribute from a config file. Attribute names are lowercase.
 */
export interface AttributeMapping {
  readonly preset: string;
  /** Stable id of the user in the source. */
  readonly anchor: string;
  /** Tried in order; the first present wins. */
  readonly userPrincipalName: readonly string[];
  /** Entries without it are not users and are passed over. */
  readonly ntHash: string;
  /** How the NT hash is written: 32 hex digits (Samba) or 16 raw bytes (FreeIPA ipaNTHash). */
  readonly ntHashEncoding: 'hex' | 'binary';
  /** Disabled when this attribute holds Samba account flags with a D. */
  readonly sambaAccountFlags: string | undefined;
  /** Unix seconds of the last password change; 0 means "must change at next logon". */
  readonly passwordLastSet: string | undefined;
}

/** The attributes a source must ask the directory for (lowercase), and nothing else. */
export function requestedAttributes(mapping: AttributeMapping): string[] {
  const names = [mapping.anchor, ...mapping.userPrincipalName, mapping.ntHash, mapping.sambaAccountFlags, mapping.passwordLastSet];
  return [...new Set(names.filter((n): n is string => n !== undefined))];
}

/** The attributes whose values are bytes, not text: a source returns them as Buffers. */
export function binaryAttributes(mapping: AttributeMapping): string[] {
  return mapping.ntHashEncoding === 'binary' ? [mapping.ntHash] : [];
}

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

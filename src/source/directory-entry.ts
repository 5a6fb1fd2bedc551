/**
 * A directory entry as any source reads it (LDIF file, LDAP search): attribute names lowercased,
 * values as text, or as bytes where the source gave bytes (base64 in LDIF, binary in LDAP).
 */
export type AttributeValue = string | Buffer;

export interface DirectoryEntry {
  readonly dn: string;
  /** Where it was read, for messages: "line 1234" in a file, the server in LDAP. */
  readonly origin: string;
  readonly attributes: ReadonlyMap<string, readonly AttributeValue[]>;
}

export function textValue(value: AttributeValue): string {
  return typeof value === 'string' ? value : value.toString('utf8');
}

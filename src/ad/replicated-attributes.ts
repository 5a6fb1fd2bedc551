/**
 * The attributes an ad:// source asks the domain controller to replicate, by lowercase LDAP name:
 * their OIDs (replication names attributes by OID through a prefix table, never by name) and how a
 * value is laid out on the wire (MS-DRSR 5.16.2 and the syntaxes of MS-ADTS 3.1.1.2.2.2), so that
 * src/ad/replicated-entry.ts can hand the mapping the same text an LDAP read would give.
 */
export type WireSyntax =
  /** UTF-16LE without a terminating NUL (String(Unicode)). */
  | 'unicode'
  /** 4-byte little-endian signed integer, as decimal text (Integer, Enumeration). */
  | 'int32'
  /** 8-byte little-endian signed integer, as decimal text (LargeInteger, Interval). */
  | 'int64'
  /** 4-byte boolean, as TRUE/FALSE. */
  | 'bool'
  /** Raw bytes (Octet string, SID, GUID). */
  | 'binary'
  /** A 4-byte ATTRTYP naming a class or attribute: resolved through the reply's prefix table. */
  | 'oid'
  /** Secret: encrypted by the DC (MS-DRSR 4.1.10.6.13); only unicodePwd is asked for. */
  | 'secret';

export interface ReplicatedAttribute {
  readonly name: string;
  readonly oid: string;
  readonly syntax: WireSyntax;
}

const KNOWN: readonly ReplicatedAttribute[] = [
  { name: 'objectclass', oid: '2.5.4.0', syntax: 'oid' },
  { name: 'objectguid', oid: '1.2.840.113556.1.4.2', syntax: 'binary' },
  { name: 'objectsid', oid: '1.2.840.113556.1.4.146', syntax: 'binary' },
  { name: 'isdeleted', oid: '1.2.840.113556.1.2.48', syntax: 'bool' },
  { name: 'samaccountname', oid: '1.2.840.113556.1.4.221', syntax: 'unicode' },
  { name: 'samaccounttype', oid: '1.2.840.113556.1.4.302', syntax: 'int32' },
  { name: 'userprincipalname', oid: '1.2.840.113556.1.4.656', syntax: 'unicode' },
  { name: 'useraccountcontrol', oid: '1.2.840.113556.1.4.8', syntax: 'int32' },
  { name: 'pwdlastset', oid: '1.2.840.113556.1.4.96', syntax: 'int64' },
  { name: 'unicodepwd', oid: '1.2.840.113556.1.4.90', syntax: 'secret' },
  // Commonly mapped instead of userPrincipalName, or as the anchor.
  { name: 'mail', oid: '0.9.2342.19200300.100.1.3', syntax: 'unicode' },
  { name: 'employeeid', oid: '1.2.840.113556.1.4.35', syntax: 'unicode' },
  { name: 'displayname', oid: '1.2.840.113556.1.2.13', syntax: 'unicode' },
  { name: 'cn', oid: '2.5.4.3', syntax: 'unicode' },
  { name: 'ms-ds-consistencyguid', oid: '1.2.840.113556.1.4.2202', syntax: 'binary' },
];

export const ATTRIBUTE_BY_NAME: ReadonlyMap<string, ReplicatedAttribute> = new Map(KNOWN.map((a) => [a.name, a]));
export const ATTRIBUTE_BY_OID: ReadonlyMap<string, ReplicatedAttribute> = new Map(KNOWN.map((a) => [a.oid, a]));

/** What replication always needs, whatever the mapping: to tell users, deletions and RIDs apart, and the secret. */
export const ALWAYS_REPLICATED = ['objectclass', 'objectguid', 'objectsid', 'isdeleted', 'unicodepwd'] as const;

/**
 * Class OIDs an objectClass value may name, by lDAPDisplayName in lowercase as LDAP would give it
 * (the mapping's isUser compares case-insensitively). A class not listed keeps its OID as its name.
 */
export const CLASS_NAME_BY_OID: ReadonlyMap<string, string> = new Map([
  ['2.5.6.0', 'top'],
  ['2.5.6.6', 'person'],
  ['2.5.6.7', 'organizationalPerson'],
  ['1.2.840.113556.1.5.9', 'user'],
  ['1.2.840.113556.1.3.30', 'computer'],
  ['2.16.840.1.113730.3.2.2', 'inetOrgPerson'],
  ['1.2.840.113556.1.5.8', 'group'],
  ['1.2.840.113556.1.5.15', 'contact'],
  ['1.2.840.113556.1.5.264', 'msDS-ManagedServiceAccount'],
  ['1.2.840.113556.1.5.282', 'msDS-GroupManagedServiceAccount'],
  ['1.2.840.113556.1.5.76', 'foreignSecurityPrincipal'],
  ['1.2.840.113556.1.5.67', 'domainDNS'],
  ['2.5.6.5', 'organizationalUnit'],
  ['1.2.840.113556.1.3.23', 'container'],
]);

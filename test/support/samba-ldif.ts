/** The NT hash of "secret": the password of every good user these LDIF snippets make. */
export const SECRET_NT = '878D8014606CDA29677A44EFA1353FC7';

export const anchorOf = (uid: string): string => `00000000-0000-4000-8000-${uid.padStart(12, '0')}`;

/**
 * One openldap-samba user as an LDIF record; `lines` overrides attributes (undefined leaves one out),
 * which is how the tests make malformed users.
 */
export function sambaUser(uid: string, lines: Record<string, string | undefined> = {}): string {
  const attrs: Record<string, string | undefined> = {
    objectClass: 'inetOrgPerson',
    uid,
    userPrincipalName: `${uid}@example.com`,
    sambaNTPassword: SECRET_NT,
    sambaAcctFlags: '[U          ]',
    sambaPwdLastSet: '1700000000',
    entryUUID: anchorOf(uid),
    ...lines,
  };
  const body = Object.entries(attrs).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}`).join('\n');
  return `dn: uid=${uid},ou=People,dc=example,dc=com\n${body}\n\n`;
}

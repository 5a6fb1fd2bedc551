import type { AttributeMapping } from '../attribute-mapping.ts';

/**
 * OpenLDAP with the Samba schema (examples/LDAP/samba.schema): the NT hash is sambaNTPassword (32 hex
 * digits), an entry without it is not a user, sambaAcctFlags with a D is disabled, and
 * sambaPwdLastSet (Unix seconds) is 0 when the password must be changed at next logon.
 */
export const openldapSamba: AttributeMapping = Object.freeze({
  preset: 'openldap-samba',
  anchor: Object.freeze({ attribute: 'entryuuid', encoding: 'text' as const }),
  userPrincipalName: Object.freeze(['userprincipalname', 'mail']),
  ntHash: Object.freeze({ from: 'attribute' as const, attribute: 'sambantpassword', encoding: 'hex' as const }),
  disabled: Object.freeze({ kind: 'samba-flags' as const, attribute: 'sambaacctflags' }),
  passwordLastSet: Object.freeze({ attribute: 'sambapwdlastset', format: 'unix-seconds' as const }),
  isUser: Object.freeze({ kind: 'has-nt-hash' as const }),
  filter: '(objectClass=sambaSamAccount)',
});

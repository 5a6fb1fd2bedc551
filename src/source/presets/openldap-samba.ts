import type { AttributeMapping } from '../attribute-mapping.ts';

/** OpenLDAP with the Samba schema (examples/LDAP/samba.schema). */
export const openldapSamba: AttributeMapping = Object.freeze({
  preset: 'openldap-samba',
  anchor: 'entryuuid',
  userPrincipalName: Object.freeze(['userprincipalname', 'mail']),
  ntHash: 'sambantpassword',
  ntHashEncoding: 'hex',
  sambaAccountFlags: 'sambaacctflags',
  passwordLastSet: 'sambapwdlastset',
});

import type { AttributeMapping } from '../attribute-mapping.ts';

/**
 * Active Directory. AD never returns NT hashes over LDAP (unicodePwd is write-only; reading hashes
 * takes DRSUAPI replication rights), so they come from a hash-export file made on a domain controller
 * (secretsdump, pwdump; src/source/hashes-file.ts), joined on sAMAccountName case-insensitively.
 *
 * - users: objectClass user but not computer (computers are a subclass of user); over LDAP the
 *   filter (objectCategory=person)(objectClass=user) selects the same. A user without a line in the
 *   hashes file fails with MISSING_NT_HASH: it is reported, not dropped.
 * - anchor: objectGUID's 16 bytes in base64 (what the reference system uses as source anchor).
 * - user principal name: userPrincipalName.
 * - disabled: userAccountControl & 0x2 (ACCOUNTDISABLE).
 * - pwdLastSet: FILETIME (100-ns intervals since 1601); 0 means "must change password at next logon".
 */
export const ad: AttributeMapping = Object.freeze({
  preset: 'ad',
  anchor: Object.freeze({ attribute: 'objectguid', encoding: 'base64' as const }),
  userPrincipalName: Object.freeze(['userprincipalname']),
  ntHash: Object.freeze({ from: 'hashes-file' as const, joinAttribute: 'samaccountname' }),
  disabled: Object.freeze({ kind: 'uac-flag' as const, attribute: 'useraccountcontrol', mask: 0x2 }),
  passwordLastSet: Object.freeze({ attribute: 'pwdlastset', format: 'filetime' as const }),
  isUser: Object.freeze({ kind: 'object-class' as const, objectClass: 'user', excludeObjectClasses: Object.freeze(['computer']) }),
  filter: '(&(objectCategory=person)(objectClass=user))',
});

import type { SambaUser } from './samba-users.ts';

/** The test domain's fixed names (realm, base DN, accounts), DNs and password values. */

export const SAMBA_REALM = 'TEST.EXAMPLE';
export const SAMBA_DOMAIN = 'TEST';
export const SAMBA_BASE_DN = 'DC=test,DC=example';
export const SAMBA_HOST = '127.0.0.1';
/** "Replicating Directory Changes" and "Replicating Directory Changes All" (extended rights). */
export const DS_REPLICATION_GET_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
export const DS_REPLICATION_GET_CHANGES_ALL = '1131f6ad-9c07-11d1-f79f-00c04fc2dcd2';

export const SYNC_SAM = 'phsync-sync';
export const PLAIN_SAM = 'phsync-plain';
export const USERS_DN = `CN=Users,${SAMBA_BASE_DN}`;
export const ADMIN_DN = `CN=Administrator,${USERS_DN}`;

/** unicodePwd's value: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** RFC 4514 escaping of an attribute value in a DN. */
function escapeDnValue(value: string): string {
  let escaped = value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`);
  if (escaped.startsWith(' ')) escaped = `\\${escaped}`;
  if (escaped.endsWith(' ') && !escaped.endsWith('\\ ')) escaped = `${escaped.slice(0, -1)}\\ `;
  return escaped;
}

export function sambaUserDn(sam: string): string {
  return `CN=${escapeDnValue(sam)},${USERS_DN}`;
}

export function validateUsers(users: readonly SambaUser[], existing: readonly SambaUser[] = []): void {
  const seen = new Set(existing.map((u) => u.sam.toLowerCase()));
  for (const special of ['administrator', 'guest', 'krbtgt', SYNC_SAM, PLAIN_SAM]) seen.add(special);
  for (const u of users) {
    if (u.sam.length === 0 || u.sam.length > 20 || /["/\\[\]:;|=,+*?<>@]/.test(u.sam)) throw new Error(`samba-dc: bad sAMAccountName ${JSON.stringify(u.sam)} (1-20 characters, none of "/\\[]:;|=,+*?<>@)`);
    if (seen.has(u.sam.toLowerCase())) throw new Error(`samba-dc: duplicate or reserved sAMAccountName ${u.sam}`);
    seen.add(u.sam.toLowerCase());
  }
}

import type { Entry } from 'ldapts';

/** Reading the DC's LDAP answers: search entries as records of strings, bind errors as BindResults, filter escaping. */

export type BindResult = 'ok' | 'invalid-credentials' | 'disabled' | 'must-change' | 'expired' | 'locked' | `error: ${string}`;

/** Attributes whose values are binary (base64 in ldapSearch results), in the server's spelling. */
export const BINARY_ATTRIBUTES = [
  'objectGUID', 'objectSid', 'nTSecurityDescriptor', 'sIDHistory', 'tokenGroups', 'tokenGroupsGlobalAndUniversal', 'tokenGroupsNoGCAcceptable',
  'msDS-GenerationId', 'replPropertyMetaData', 'replUpToDateVector', 'repsFrom', 'repsTo', 'userCertificate', 'thumbnailPhoto', 'jpegPhoto',
  'unicodePwd', 'dBCSPwd', 'supplementalCredentials', 'ntPwdHistory', 'lmPwdHistory', 'logonHours', 'invocationId', 'schemaIDGUID',
  'attributeSecurityGUID', 'mS-DS-ConsistencyGuid', 'msDS-AllowedToActOnBehalfOfOtherIdentity', 'securityIdentifier', 'msDS-ManagedPasswordId',
  'dnsRecord', 'schemaInfo', 'prefixMap', 'msDS-ReplAttributeMetaData', 'userParameters',
];
export const BINARY_LOWER = new Set(BINARY_ATTRIBUTES.map((a) => a.toLowerCase()));

export function entryToRecord(entry: Entry): Record<string, string[]> {
  const record: Record<string, string[]> = { dn: [entry.dn] };
  for (const [name, raw] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) continue; // requested, not there (ldapts lists it empty)
    record[name] = values.map((v) => (typeof v === 'string' ? v : BINARY_LOWER.has(name.toLowerCase()) || !isUtf8(v) ? v.toString('base64') : v.toString('utf8')));
  }
  return record;
}

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

/** AD's "data" code in a bind error (80090308: LdapErr: …, data 52e, …). */
export function bindResultOf(err: unknown): BindResult {
  const message = err instanceof Error ? err.message : String(err);
  const data = /data ([0-9a-f]{3})\b/i.exec(message)?.[1]?.toLowerCase();
  switch (data) {
    case '52e':
      return 'invalid-credentials';
    case '533':
      return 'disabled';
    case '773':
      return 'must-change';
    case '532':
    case '701':
      return 'expired';
    case '775':
      return 'locked';
    default:
      return `error: ${message}`;
  }
}

/** RFC 4515 escaping of a value in a search filter. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

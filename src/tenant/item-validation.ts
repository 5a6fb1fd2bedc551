import { parseCredential } from '../phs/credential.ts';
import type { CredentialItem } from '../target/credential-batch.ts';

// A cloud sign-in name: local@domain, no spaces, bounded as Entra bounds userPrincipalName.
const UPN_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,255}$/u;
const MAX_ANCHOR_LENGTH = 256;

/** Why the tenant refuses an item, or undefined when it is acceptable. */
export function invalidReason(item: CredentialItem): string | undefined {
  if (typeof item.sourceAnchor !== 'string' || item.sourceAnchor.length === 0 || item.sourceAnchor.length > MAX_ANCHOR_LENGTH) {
    return 'sourceAnchor must be a non-empty string of at most 256 characters';
  }
  if (typeof item.userPrincipalName !== 'string' || !UPN_PATTERN.test(item.userPrincipalName)) {
    return 'userPrincipalName must look like name@domain';
  }
  if (typeof item.credential !== 'string' || parseCredential(item.credential) === undefined) {
    return 'credential is not a v1;PPH1_MD4 credential';
  }
  if (typeof item.forceChangePasswordNextSignIn !== 'boolean') return 'forceChangePasswordNextSignIn must be a boolean';
  if (typeof item.disabled !== 'boolean') return 'disabled must be a boolean';
  if (typeof item.changedAt !== 'string' || Number.isNaN(Date.parse(item.changedAt))) return 'changedAt must be an ISO 8601 time';
  return undefined;
}

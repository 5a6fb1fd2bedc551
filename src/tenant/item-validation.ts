import { parseCredential } from '../phs/credential.ts';
import type { CredentialItem } from '../target/credential-batch.ts';

// A cloud sign-in name: local@domain, no spaces, bounded as Entra bounds userPrincipalName.
// No spaces and no control characters (a NUL or a line break in a sign-in name is never meant).
const UPN_PATTERN = /^[^\s@\p{Cc}]{1,64}@[^\s@\p{Cc}]{1,255}$/u;
const MAX_ANCHOR_LENGTH = 256;

/** A string that looks like a cloud sign-in name. */
export function isUserPrincipalName(value: unknown): value is string {
  return typeof value === 'string' && UPN_PATTERN.test(value);
}

/**
 * Why the tenant refuses an item, or undefined when it is acceptable. An item without a credential is
 * acceptable only as a disable item (`disabled: true`).
 */
export function invalidReason(item: CredentialItem): string | undefined {
  if (typeof item.sourceAnchor !== 'string' || item.sourceAnchor.length === 0 || item.sourceAnchor.length > MAX_ANCHOR_LENGTH) {
    return 'sourceAnchor must be a non-empty string of at most 256 characters';
  }
  if (!isUserPrincipalName(item.userPrincipalName)) {
    return 'userPrincipalName must look like name@domain';
  }
  // A disable item has no credential: the tenant keeps the one it holds. Only an absent field counts
  // as "no credential"; null or any other value is a malformed credential.
  if (item.credential === undefined) {
    if (item.disabled !== true) return 'credential is required unless the item disables the user';
  } else if (typeof item.credential !== 'string' || parseCredential(item.credential) === undefined) {
    return 'credential is not a v1;PPH1_MD4 credential';
  }
  // The risk is a finding about a password, so it travels with one. A disable item carries none; it
  // leaves the user's risk as it is rather than clearing it by omission.
  if (item.riskLevel !== undefined) {
    if (item.credential === undefined) return 'riskLevel goes only with a credential: a disable item leaves the user\'s risk as it is';
    if (item.riskLevel !== 'none' && item.riskLevel !== 'high') return "riskLevel must be 'none' or 'high'";
  }
  if (item.samePassword !== undefined) {
    if (item.credential === undefined) return 'samePassword goes only with a credential';
    if (item.samePassword !== true) return 'samePassword is true when present';
  }
  if (typeof item.forceChangePasswordNextSignIn !== 'boolean') return 'forceChangePasswordNextSignIn must be a boolean';
  if (typeof item.disabled !== 'boolean') return 'disabled must be a boolean';
  if (typeof item.changedAt !== 'string' || Number.isNaN(Date.parse(item.changedAt))) return 'changedAt must be an ISO 8601 time';
  return undefined;
}

import { timingSafeEqual } from 'node:crypto';
import { deriveHash, parseCredential } from '../phs/credential.ts';
import { ntHash } from '../phs/nt-hash.ts';
import type { TenantStore } from './tenant-store.ts';

export type SignInResult =
  | { readonly ok: true; readonly forceChangePassword: boolean }
  /** 'refused': a remote tenant, which by design never says which of the others it was. */
  | { readonly ok: false; readonly reason: 'unknown-user' | 'disabled' | 'wrong-password' | 'refused' };

// Unknown users cost the same PBKDF2 as known ones, so response time does not tell who exists.
const DECOY_SALT = Buffer.alloc(10);
const DECOY_ITERATIONS = 1000;

/**
 * Signs a user in the way the cloud does: the credential is recomputed from the password with the
 * stored salt and iteration count, and compared in constant time. The tenant never stores or sees
 * the NT hash; it exists here only for the length of this call.
 */
export async function signIn(store: TenantStore, userPrincipalName: string, password: string): Promise<SignInResult> {
  const user = store.findByUserPrincipalName(userPrincipalName);
  const parsed = user === undefined ? undefined : parseCredential(user.credential);
  const nt = await ntHash(password);
  try {
    const computed = deriveHash(nt, parsed?.salt ?? DECOY_SALT, parsed?.iterations ?? DECOY_ITERATIONS);
    if (user === undefined || parsed === undefined) return { ok: false, reason: 'unknown-user' };
    const matches = timingSafeEqual(computed, parsed.hash);
    if (user.disabled) return { ok: false, reason: 'disabled' };
    if (!matches) return { ok: false, reason: 'wrong-password' };
    return { ok: true, forceChangePassword: user.forceChangePassword };
  } finally {
    nt.fill(0);
  }
}

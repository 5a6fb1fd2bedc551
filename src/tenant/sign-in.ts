import { checkPassword } from './password-check.ts';
import type { TenantStore } from './tenant-store.ts';

export type SignInResult =
  | { readonly ok: true; readonly forceChangePassword: boolean }
  /** 'refused': a remote tenant, which by design never says which of the others it was. */
  | { readonly ok: false; readonly reason: 'unknown-user' | 'disabled' | 'wrong-password' | 'refused' };

/**
 * Signs a user in the way the cloud does (see checkPassword). Unknown and disabled users cost the
 * same work as the others. The user's risk is not looked at: it is reported, not enforced.
 */
export async function signIn(store: TenantStore, userPrincipalName: string, password: string): Promise<SignInResult> {
  const user = store.findByUserPrincipalName(userPrincipalName);
  const check = await checkPassword(user?.credential, password);
  if (user === undefined || check === 'no-credential') return { ok: false, reason: 'unknown-user' };
  if (user.disabled) return { ok: false, reason: 'disabled' };
  if (check === 'mismatch') return { ok: false, reason: 'wrong-password' };
  return { ok: true, forceChangePassword: user.forceChangePassword };
}

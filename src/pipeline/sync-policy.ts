import { timingSafeEqual } from 'node:crypto';
import { EMPTY_PASSWORD_NT_HASH } from '../phs/nt-hash.ts';
import type { DirectoryUser } from '../source/directory-user.ts';

export interface SyncPolicy {
  /** Sync users whose password is empty (off by default, as in the reference system). */
  readonly syncEmptyPasswords: boolean;
  /** Sync "must change password at next logon" users, with the force-change flag. */
  readonly forcePasswordChangeOnLogon: boolean;
  /**
   * A user whose NT hash is in the leaked-hash store (`--leaked-store`): synced with riskLevel high
   * (`flag`, the default: the cloud can make the user change it), or not synced (`skip`).
   */
  readonly leakedPasswords?: LeakedPasswordPolicy;
}

export type LeakedPasswordPolicy = 'flag' | 'skip';
export const LEAKED_PASSWORD_POLICIES: readonly LeakedPasswordPolicy[] = ['flag', 'skip'];

export const DEFAULT_POLICY: SyncPolicy = Object.freeze({ syncEmptyPasswords: false, forcePasswordChangeOnLogon: false });

export type SkipReason = 'disabled' | 'empty-password' | 'temporary-password';

/**
 * Why a user is out of scope, or undefined when it is to be synced. The order matters: a disabled
 * user is reported as disabled whatever its password.
 */
export function skipReason(user: DirectoryUser, policy: SyncPolicy): SkipReason | undefined {
  if (user.disabled) return 'disabled';
  if (!policy.syncEmptyPasswords && timingSafeEqual(user.ntHash, EMPTY_PASSWORD_NT_HASH)) return 'empty-password';
  if (user.mustChangePassword && !policy.forcePasswordChangeOnLogon) return 'temporary-password';
  return undefined;
}

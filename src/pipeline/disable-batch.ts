import type { CredentialItem } from '../target/credential-batch.ts';
import type { BatchMember } from './hash-batch.ts';

/** Why a user is disabled at the target: disabled in the directory, or no longer in the run's scope. */
export type DisableReason = 'disabled' | 'out-of-scope';

/** A user to disable at the target: no NT hash, no credential; the reason becomes its status. */
export interface DisableMember extends BatchMember {
  readonly disableReason: DisableReason;
}

/**
 * Disable items, batched apart from credentials: nothing to hash, so they go straight to the target,
 * through the same record-then-acknowledge path as a hash batch (a run killed in between is
 * recovered the same way). The target keeps the credential it has and refuses sign-in.
 */
export class DisableBatch {
  readonly members: DisableMember[] = [];
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
  }

  get full(): boolean {
    return this.members.length >= this.capacity;
  }

  add(member: DisableMember): void {
    this.members.push(member);
  }

  items(): CredentialItem[] {
    return this.members.map((m) => ({
      sourceAnchor: m.anchor,
      userPrincipalName: m.userPrincipalName,
      forceChangePasswordNextSignIn: m.forceChange,
      disabled: true,
      changedAt: m.changedAt,
    }));
  }
}

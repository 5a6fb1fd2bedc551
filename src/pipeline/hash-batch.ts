import { NT_HASH_BYTES, SALT_BYTES, HASH_BYTES, formatCredential } from '../phs/credential.ts';
import type { DirectoryUser } from '../source/directory-user.ts';
import type { PendingUser } from '../state/state-store.ts';
import type { CredentialItem } from '../target/credential-batch.ts';

/**
 * Users per hash task and per target write (`--batch-size`). 1,000 rather than 256: every batch
 * costs a round trip to a worker thread, a state-store transaction and a target write, and at 256
 * those made a 100,000-user sync from slapd ~12% slower (6.5–7.2 s against 7.6–8.2 s with 1,024,
 * alternating) and the native pool's overhead 2–3× larger (native-bench/hash.bench.ts
 * --batch-size). Larger still gained ~3% for 10–20 MiB more memory. Exactly 1,000, the tenant API's
 * items per request (HTTP_TARGET_DEFAULTS), so that a batch is one request: 1,024 went as 1,000 + 24.
 * A killed run hashes at most 2 × workers batches again.
 */
export const DEFAULT_BATCH_SIZE = 1000;

/** A user in a batch: everything needed to build its item and acknowledge it, but not its NT hash. */
export interface BatchMember extends PendingUser {
  readonly disabled: boolean;
  readonly changedAt: string;
  /** The target already holds this password (same fingerprint): only the name or flags changed, or the user is enabled again. */
  readonly samePassword?: boolean;
}

/**
 * Collects users for one hash task. NT hashes are copied into one buffer that is moved to a worker,
 * and each user's own copy is zeroed at once, so a secret lives in exactly one place.
 */
export class HashBatch {
  readonly members: BatchMember[] = [];
  readonly ntHashes: Uint8Array;
  readonly capacity: number;

  constructor(capacity: number) {
    this.capacity = capacity;
    this.ntHashes = new Uint8Array(capacity * NT_HASH_BYTES);
  }

  get full(): boolean {
    return this.members.length >= this.capacity;
  }

  add(user: DirectoryUser, member: BatchMember): void {
    this.ntHashes.set(user.ntHash, this.members.length * NT_HASH_BYTES);
    user.ntHash.fill(0);
    this.members.push(member);
  }

  /** The NT hashes of the members only, in a buffer of their own that can be transferred. */
  takeNtHashes(): Uint8Array {
    const used = this.members.length * NT_HASH_BYTES;
    if (used === this.ntHashes.length) return this.ntHashes;
    const exact = this.ntHashes.slice(0, used);
    this.ntHashes.fill(0);
    return exact;
  }

  /** One item per member; with `leaked` (1 where the member's NT hash is in the leaked list), those carry riskLevel high. */
  items(salts: Uint8Array, hashes: Uint8Array, iterations: number, leaked?: Uint8Array): CredentialItem[] {
    return this.members.map((m, i) => {
      const item: { -readonly [K in keyof CredentialItem]: CredentialItem[K] } = {
        sourceAnchor: m.anchor,
        userPrincipalName: m.userPrincipalName,
        credential: formatCredential(salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES), iterations, hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)),
        forceChangePasswordNextSignIn: m.forceChange,
        disabled: m.disabled,
        changedAt: m.changedAt,
      };
      // Set only when they apply (the per-user path: no object spread for every user).
      if (leaked?.[i] === 1) item.riskLevel = 'high';
      if (m.samePassword === true) item.samePassword = true;
      return item;
    });
  }
}

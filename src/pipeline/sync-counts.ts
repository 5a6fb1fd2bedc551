import type { RunStatus } from '../state/state-types.ts';

/** What a run did, by outcome. Plain data: it goes into the state store, the summary and --json. */
export interface SyncCounts {
  /** Directory entries that are users (they have an NT hash attribute), valid or not. */
  scanned: number;
  /** Entries that are not users. */
  passedOver: number;
  /** Credentials the target applied. */
  synced: number;
  /** NT hashes turned into credentials. */
  hashed: number;
  /** Users hashed whose NT hash is in the leaked-hash store (`--leaked-store`); 0 without one. */
  leaked: number;
  /**
   * Users not sent a credential, by reason: unchanged, disabled, out-of-scope, empty-password,
   * temporary-password, target-newer.
   */
  skipped: Record<string, number>;
  /**
   * Users the target was told are disabled (sign-in refused) in this run: disabled in the directory,
   * or held by the target but no longer in scope. Each is also counted in `skipped` by its reason.
   */
  disabledAtTarget: number;
  /** Users that failed, by error code. */
  failed: Record<string, number>;
  batches: number;
  /** Batches a killed run left in flight: found applied at the target, or dropped and redone. */
  recoveredBatches: number;
  droppedBatches: number;
}

export function emptyCounts(): SyncCounts {
  return { scanned: 0, passedOver: 0, synced: 0, hashed: 0, leaked: 0, skipped: {}, disabledAtTarget: 0, failed: {}, batches: 0, recoveredBatches: 0, droppedBatches: 0 };
}

export function bump(table: Record<string, number>, key: string, by = 1): void {
  table[key] = (table[key] ?? 0) + by;
}

export function total(table: Readonly<Record<string, number>>): number {
  return Object.values(table).reduce((a, b) => a + b, 0);
}

export interface UserError {
  readonly origin: string;
  readonly code: string;
  readonly message: string;
}

export interface SyncSummary {
  readonly runId: number;
  readonly status: RunStatus;
  readonly source: string;
  readonly sourceLocation: string;
  readonly target: string;
  readonly kernel: string;
  readonly workers: number;
  readonly dryRun: boolean;
  readonly counts: SyncCounts;
  readonly elapsedMs: number;
  /** Users scanned per second of the whole run. */
  readonly usersPerSecond: number;
  /** Peak resident memory of the engine process so far, in MiB (the main thread and the hash workers). */
  readonly maxRssMiB: number;
  /** The first errors, for the summary; all of them are in the state store. */
  readonly errors: readonly UserError[];
  /** Why the run stopped early, with the error's stable code. */
  readonly fatal: UserError | undefined;
}

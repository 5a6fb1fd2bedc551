import { randomUUID } from 'node:crypto';
import { FatalError, PhsyncError, errorMessage } from '../errors.ts';
import type { DirectoryUser, InvalidUser, UserSource } from '../source/directory-user.ts';
import type { StateStore } from '../state/state-store.ts';
import type { RunStatus, UserStatus } from '../state/state-types.ts';
import type { CredentialTarget } from '../target/credential-target.ts';
import { HashBatch } from './hash-batch.ts';
import { SeenAnchors } from './seen-anchors.ts';
import { bump, emptyCounts, total } from './sync-counts.ts';
import type { SyncCounts, SyncSummary, UserError } from './sync-counts.ts';
import { skipReason } from './sync-policy.ts';
import type { SyncPolicy } from './sync-policy.ts';

/** The few things the pipeline needs of the hash pool. */
export interface BatchHasher {
  readonly kernel: string;
  readonly workers: number;
  hash(ntHashes: Uint8Array, count: number, signal?: AbortSignal): Promise<{ salts: Uint8Array; hashes: Uint8Array }>;
}

export interface SyncRunOptions {
  readonly source: UserSource;
  readonly target: CredentialTarget;
  readonly state: StateStore;
  readonly hasher: BatchHasher;
  readonly policy: SyncPolicy;
  readonly iterations: number;
  readonly batchSize: number;
  /** Batches hashed or being written at once; bounds memory, and makes a slow pool slow the reader. */
  readonly maxBatchesInFlight: number;
  readonly dryRun: boolean;
  /** A full sync reads every user in scope; a delta cycle only what changed since the watermark. */
  readonly kind?: 'full' | 'delta';
  readonly signal?: AbortSignal;
  readonly onProgress?: (counts: Readonly<SyncCounts>) => void;
}

const MAX_REPORTED_ERRORS = 50;

/**
 * One full password sync: source → scope and change filter → batches → hash pool → target → acks.
 * The orchestrator; every stage it calls lives in its own file.
 */
export async function runSync(options: SyncRunOptions): Promise<SyncSummary> {
  const { source, target, state, hasher, policy } = options;
  const started = performance.now();
  const runStartedAt = new Date().toISOString();
  const counts = emptyCounts();
  const errors: UserError[] = [];
  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  let batch: HashBatch | undefined;

  const runId = options.dryRun ? 0 : state.beginRun(options.kind ?? 'full', source.name, target.id);

  const record = (status: UserStatus): void => {
    if (!options.dryRun) state.recordStatus(status);
  };
  const fail = (origin: string, err: PhsyncError, user?: { source: string; anchor: string | undefined; userPrincipalName: string | undefined }): void => {
    bump(counts.failed, err.code);
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ origin, code: err.code, message: err.message });
    if (user?.anchor !== undefined) {
      record({ source: user.source, anchor: user.anchor, ...(user.userPrincipalName === undefined ? {} : { userPrincipalName: user.userPrincipalName }), status: 'error', reason: err.code, message: err.message });
    }
  };
  const skip = (user: DirectoryUser, reason: string): void => {
    bump(counts.skipped, reason);
    record({ source: user.source, anchor: user.anchor, userPrincipalName: user.userPrincipalName, status: 'skipped', reason });
  };

  if (!options.dryRun) {
    await recoverInFlight(state, target, runId, counts);
  }

  const ship = async (full: HashBatch): Promise<void> => {
    const batchId = randomUUID();
    state.recordBatch(runId, target.id, batchId, full.members);
    const count = full.members.length;
    let hashed: { salts: Uint8Array; hashes: Uint8Array };
    try {
      // No abort signal here: a batch already taken from the source is finished, even on SIGTERM.
      hashed = await hasher.hash(full.takeNtHashes(), count);
    } catch (err) {
      state.dropBatch(batchId);
      const code = err instanceof PhsyncError ? err.code : 'HASH_FAILED';
      for (const m of full.members) fail(m.anchor, new PhsyncError(code, `hashing failed: ${errorMessage(err)}`), m);
      return;
    }
    counts.hashed += count;
    const items = full.items(hashed.salts, hashed.hashes, options.iterations);
    const results = await target.write({ batchId, source: source.name, items });
    const acked = state.ackBatch(batchId, target.id, runId, results);
    counts.synced += acked.applied;
    if (acked.stale > 0) bump(counts.skipped, 'target-newer', acked.stale);
    results.forEach((result, i) => {
      if (result.status !== 'invalid') return;
      const member = full.members[i]!;
      bump(counts.failed, 'TARGET_REJECTED');
      if (errors.length < MAX_REPORTED_ERRORS) errors.push({ origin: member.anchor, code: 'TARGET_REJECTED', message: result.reason });
    });
    counts.batches++;
    options.onProgress?.(counts);
  };

  const dispatch = async (full: HashBatch): Promise<void> => {
    while (inFlight.size >= options.maxBatchesInFlight) await Promise.race(inFlight);
    const task = ship(full).catch((err: unknown) => {
      fatal ??= err;
    });
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  // Users are screened in windows: one state-store transaction per window instead of one per user.
  let window: DirectoryUser[] = [];
  const seen = new SeenAnchors();
  const screenWindow = async (): Promise<void> => {
    const users = window;
    window = [];
    const screened = state.screen(target.id, users);
    for (const [i, user] of users.entries()) {
      const synced = screened[i];
      const sighting = seen.add(user.source, user.anchor, user.dn);
      if (sighting !== 'new') {
        user.ntHash.fill(0);
        // The same entry read again (a reconnect, overlapping base DNs) is no one's error.
        if (sighting === 'duplicate') fail(user.origin, new PhsyncError('DUPLICATE_ANCHOR', `anchor ${user.anchor} was already read in this run under another DN; this entry is ignored`));
        else counts.scanned--;
        continue;
      }
      const reason = skipReason(user, policy);
      if (reason !== undefined) {
        user.ntHash.fill(0);
        skip(user, reason);
        continue;
      }
      const fingerprint = state.fingerprint(user.ntHash);
      if (synced !== undefined && synced.fingerprint.equals(fingerprint) && synced.userPrincipalName === user.userPrincipalName && synced.forceChange === user.mustChangePassword) {
        user.ntHash.fill(0);
        skip(user, 'unchanged');
        continue;
      }
      if (options.dryRun) {
        user.ntHash.fill(0);
        bump(counts.skipped, 'dry-run');
        continue;
      }
      batch ??= new HashBatch(options.batchSize);
      batch.add(user, {
        source: user.source,
        anchor: user.anchor,
        userPrincipalName: user.userPrincipalName,
        fingerprint,
        forceChange: user.mustChangePassword,
        disabled: user.disabled,
        changedAt: user.passwordChangedAt === undefined ? runStartedAt : new Date(user.passwordChangedAt).toISOString(),
      });
      if (batch.full) {
        await dispatch(batch);
        batch = undefined;
      }
    }
  };
  const stopping = (): boolean => fatal !== undefined || options.signal?.aborted === true;

  try {
    for await (const item of source) {
      if (stopping()) break;
      counts.scanned++;
      if (item.kind === 'invalid') {
        const bad: InvalidUser = item.invalid;
        fail(bad.origin, bad.error, bad);
        continue;
      }
      window.push(item.user);
      if (window.length >= options.batchSize) await screenWindow();
    }
    if (!stopping()) await screenWindow();
    if (batch !== undefined && !stopping()) await dispatch(batch);
  } catch (err) {
    fatal ??= err;
  } finally {
    // Users read but not batched when the run stopped are simply read again by the next run.
    for (const user of window) user.ntHash.fill(0);
    batch?.ntHashes.fill(0);
    await Promise.allSettled(inFlight);
  }
  counts.passedOver = source.entriesPassedOver;

  const status: RunStatus = fatal !== undefined ? 'failed' : options.signal?.aborted === true ? 'interrupted' : total(counts.failed) > 0 ? 'partial' : 'succeeded';
  const fatalError: UserError | undefined = fatal === undefined ? undefined : { origin: 'run', code: fatal instanceof PhsyncError ? fatal.code : 'INTERNAL', message: errorMessage(fatal) };
  if (!options.dryRun) state.finishRun(runId, status, counts, fatalError?.message);
  const elapsedMs = performance.now() - started;
  return {
    runId,
    status,
    source: source.name,
    sourceLocation: source.location,
    target: target.id,
    kernel: hasher.kernel,
    workers: hasher.workers,
    dryRun: options.dryRun,
    counts,
    elapsedMs,
    usersPerSecond: counts.scanned / Math.max(elapsedMs / 1000, 1e-3),
    maxRssMiB: Math.round(process.resourceUsage().maxRSS / 1024),
    errors,
    fatal: fatalError,
  };
}

/**
 * Batches a killed run left between "recorded" and "acknowledged": the target is asked whether each
 * one landed. Landed ones are acknowledged with the results the target gave then; the rest are
 * forgotten, and their users, still unacknowledged, are hashed and sent again by this run.
 */
async function recoverInFlight(state: StateStore, target: CredentialTarget, runId: number, counts: SyncCounts): Promise<void> {
  for (const batchId of state.inFlightBatches(target.id)) {
    let results;
    try {
      results = await target.appliedResults(batchId);
    } catch (err) {
      throw new FatalError('TARGET_RECOVERY_FAILED', `cannot ask the target about batch ${batchId} left by an earlier run: ${errorMessage(err)}`, { cause: err });
    }
    if (results === undefined) {
      state.dropBatch(batchId);
      counts.droppedBatches++;
    } else {
      state.ackBatch(batchId, target.id, runId, results);
      counts.recoveredBatches++;
    }
  }
}

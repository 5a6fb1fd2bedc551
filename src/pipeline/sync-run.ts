import { randomUUID } from 'node:crypto';
import { FatalError, PhsyncError, errorMessage } from '../errors.ts';
import { publish } from '../observe/engine-events.ts';
import type { DirectoryUser, InvalidUser, UserSource } from '../source/directory-user.ts';
import type { StateStore } from '../state/state-store.ts';
import type { RunStatus, UserStatus } from '../state/state-types.ts';
import type { CredentialItem } from '../target/credential-batch.ts';
import type { CredentialTarget } from '../target/credential-target.ts';
import { DisableBatch } from './disable-batch.ts';
import type { DisableMember } from './disable-batch.ts';
import { HashBatch } from './hash-batch.ts';
import type { BatchMember } from './hash-batch.ts';
import { SeenAnchors } from './seen-anchors.ts';
import { bump, emptyCounts, total } from './sync-counts.ts';
import type { SyncCounts, SyncSummary, UserError } from './sync-counts.ts';
import { skipReason } from './sync-policy.ts';
import type { SyncPolicy } from './sync-policy.ts';

/** The few things the pipeline needs of the hash pool. */
export interface BatchHasher {
  readonly kernel: string;
  readonly workers: number;
  hash(ntHashes: Uint8Array, count: number, signal?: AbortSignal): Promise<{ salts: Uint8Array; hashes: Uint8Array; leaked?: Uint8Array }>;
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
  /**
   * A full sync reads every user in scope; a delta cycle only what changed since the watermark. Only
   * a full sync that read its source to the end disables at the target the users it did not see.
   */
  readonly kind?: 'full' | 'delta';
  /** At most this many users disabled as out of scope in one full run; more stops that step (default 500). */
  readonly maxOutOfScopeDisables?: number;
  readonly signal?: AbortSignal;
}

const MAX_REPORTED_ERRORS = 50;
/** A run's progress is sampled into the state store at most this often, for `phsync report`. */
const SAMPLE_EVERY_MS = 1000;
export const DEFAULT_MAX_OUT_OF_SCOPE_DISABLES = 500;
/** A disable member's fingerprint: not used, since acknowledging a disable keeps the stored one. */
const NO_FINGERPRINT = Buffer.alloc(0);

/**
 * One full password sync: source → scope and change filter → batches → hash pool → target → acks.
 * The orchestrator; every stage it calls lives in its own file.
 *
 * A user read as disabled that the target holds enabled gets a disable item (no hashing: the target
 * keeps its credential and refuses sign-in); after a full sync that read its source to the end, so
 * does every user the target holds for this source that the run did not see (out of scope).
 */
export async function runSync(options: SyncRunOptions): Promise<SyncSummary> {
  const { source, target, state, hasher, policy } = options;
  const started = performance.now();
  const runStartedMs = Date.now();
  const runStartedAt = new Date(runStartedMs).toISOString();
  // A disable, or a credential that enables a user again, is a change observed in this run: it must
  // not look older than the disable (or credential) it follows, which an earlier run sent.
  const observedAt = (passwordChangedAt: number | undefined): string => new Date(Math.max(runStartedMs, passwordChangedAt ?? 0)).toISOString();
  const counts = emptyCounts();
  const errors: UserError[] = [];
  const inFlight = new Set<Promise<void>>();
  let fatal: unknown;
  let batch: HashBatch | undefined;
  let disables: DisableBatch | undefined;

  const kind = options.kind ?? 'full';
  const runId = options.dryRun ? 0 : state.beginRun(kind, source.name, target.id);
  publish('runStart', { runId, kind, source: source.name, target: target.id, dryRun: options.dryRun, startedAt: runStartedMs, expectedUsers: kind === 'full' ? state.lastFullRunScanned(source.name) : undefined });
  let usersInFlight = 0;
  let lastSampleAt = 0;
  const sample = (): void => {
    if (options.dryRun) return;
    lastSampleAt = Date.now();
    state.recordRunSample(runId, { at: lastSampleAt, scanned: counts.scanned, synced: counts.synced, hashed: counts.hashed, skipped: total(counts.skipped), failed: total(counts.failed) });
  };
  const progress = (): void => {
    publish('runProgress', { runId, source: source.name, counts, usersInFlight });
    if (Date.now() - lastSampleAt >= SAMPLE_EVERY_MS) sample();
  };

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
    // Recovered batches are merged at once (this run screens their users); this run's own
    // acknowledgements go to the log and are merged in bulk (see StateStore.deferAcks).
    state.mergeAcks();
    state.deferAcks(true);
  }

  /**
   * The users of a hashed batch whose NT hash the leaked-hash store holds: recorded, and by policy
   * sent with riskLevel high or left out of the batch. Returns the members and items to send.
   */
  const screenLeaked = (full: HashBatch, items: CredentialItem[], leaked: Uint8Array): { members: BatchMember[]; items: CredentialItem[] } => {
    const found: BatchMember[] = [];
    const cleared: BatchMember[] = [];
    full.members.forEach((m, i) => (leaked[i] === 1 ? found : cleared).push(m));
    counts.leaked += found.length;
    const notSynced = policy.leakedPasswords === 'skip';
    state.leaks.record(runId, found.map((m) => ({ source: m.source, anchor: m.anchor, userPrincipalName: m.userPrincipalName, action: notSynced ? 'not-synced' : 'flagged' })), cleared);
    if (!notSynced || found.length === 0) return { members: full.members, items };
    for (const m of found) {
      bump(counts.skipped, 'leaked-password');
      record({ source: m.source, anchor: m.anchor, userPrincipalName: m.userPrincipalName, status: 'skipped', reason: 'leaked-password' });
    }
    return { members: cleared, items: items.filter((_, i) => leaked[i] !== 1) };
  };

  const ship = async (full: HashBatch | DisableBatch): Promise<void> => {
    const batchId = randomUUID();
    const shipStarted = performance.now();
    let items: CredentialItem[];
    let members: readonly BatchMember[] = full.members;
    if (full instanceof HashBatch) {
      const count = full.members.length;
      let hashed: { salts: Uint8Array; hashes: Uint8Array; leaked?: Uint8Array };
      try {
        // No abort signal here: a batch already taken from the source is finished, even on SIGTERM.
        hashed = await hasher.hash(full.takeNtHashes(), count);
      } catch (err) {
        const code = err instanceof PhsyncError ? err.code : 'HASH_FAILED';
        for (const m of full.members) fail(m.anchor, new PhsyncError(code, `hashing failed: ${errorMessage(err)}`), m);
        return;
      }
      counts.hashed += count;
      publish('batchHashed', { source: source.name, kernel: hasher.kernel, users: count, seconds: (performance.now() - shipStarted) / 1000 });
      items = full.items(hashed.salts, hashed.hashes, options.iterations, hashed.leaked);
      if (hashed.leaked !== undefined) ({ members, items } = screenLeaked(full, items, hashed.leaked));
      if (items.length === 0) return;
    } else {
      items = full.items();
    }
    // Recorded once hashed, just before it leaves: a run killed before this point left nothing at the
    // target, and its users, unacknowledged, are simply hashed again.
    state.recordBatch(runId, target.id, batchId, members);
    const writeStarted = performance.now();
    const results = await target.write({ batchId, source: source.name, items });
    const batchKind = full instanceof HashBatch ? 'credential' : 'disable';
    const hashMs = writeStarted - shipStarted;
    const acked = state.ackBatch(batchId, target.id, runId, results, members, { kind: batchKind, hashMs, writeMs: performance.now() - writeStarted });
    const writeMs = performance.now() - writeStarted;
    publish('batchWritten', { runId, source: source.name, target: target.id, kind: batchKind, users: results.length, hashSeconds: hashMs / 1000, writeSeconds: writeMs / 1000, applied: acked.applied, stale: acked.stale, rejected: acked.invalid });
    results.forEach((result, i) => {
      const member: BatchMember = members[i]!;
      if (result.status === 'applied') {
        if (member.disableReason === undefined) {
          counts.synced++;
        } else {
          counts.disabledAtTarget++;
          bump(counts.skipped, member.disableReason);
        }
      } else if (result.status === 'stale') {
        bump(counts.skipped, 'target-newer');
      } else {
        bump(counts.failed, 'TARGET_REJECTED');
        if (errors.length < MAX_REPORTED_ERRORS) errors.push({ origin: member.anchor, code: 'TARGET_REJECTED', message: result.reason });
      }
    });
    if (full instanceof HashBatch) counts.batches++;
  };

  const dispatch = async (full: HashBatch | DisableBatch): Promise<void> => {
    while (inFlight.size >= options.maxBatchesInFlight) await Promise.race(inFlight);
    const users = full.members.length;
    usersInFlight += users;
    const task = ship(full)
      .catch((err: unknown) => {
        fatal ??= err;
      })
      .finally(() => {
        usersInFlight -= users;
        progress();
      });
    const tracked = task.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  };

  const disable = async (member: DisableMember): Promise<void> => {
    disables ??= new DisableBatch(options.batchSize);
    disables.add(member);
    if (disables.full) {
      const full = disables;
      disables = undefined;
      await dispatch(full);
    }
  };

  // Users are screened in windows: one state-store transaction per window instead of one per user.
  let window: DirectoryUser[] = [];
  const seen = new SeenAnchors();
  // Users read but invalid (a bad hash, no sign-in name…) are still in scope: not disabled for it.
  const seenInvalid = new SeenAnchors();
  const screenWindow = async (): Promise<void> => {
    const users = window;
    window = [];
    const screened = state.screen(target.id, users);
    // At once for the window (one native call; see fingerprint-key.ts), including the few users the
    // loop then skips.
    const fingerprints = state.fingerprint.many(users.map((u) => u.ntHash));
    for (const [i, user] of users.entries()) {
      const synced = screened[i];
      const sighting = seen.add(user.source, user.anchor, user.dn);
      // The same entry read again (a reconnect, overlapping base DNs) is counted once and is no
      // one's error. Counted here, not when read, so that `scanned` only ever grows (a metric).
      if (sighting !== 'again') counts.scanned++;
      if (sighting !== 'new') {
        user.ntHash.fill(0);
        if (sighting === 'duplicate') fail(user.origin, new PhsyncError('DUPLICATE_ANCHOR', `anchor ${user.anchor} was already read in this run under another DN; this entry is ignored`));
        continue;
      }
      const reason = skipReason(user, policy);
      if (reason === 'disabled' && synced !== undefined && !synced.disabled && !options.dryRun) {
        user.ntHash.fill(0);
        await disable({
          source: user.source,
          anchor: user.anchor,
          // As the target knows the user: a disable item changes nothing there but the flag.
          userPrincipalName: synced.userPrincipalName,
          fingerprint: synced.fingerprint,
          forceChange: synced.forceChange,
          disabled: true,
          changedAt: observedAt(user.passwordChangedAt),
          disableReason: 'disabled',
        });
        continue;
      }
      if (reason !== undefined) {
        user.ntHash.fill(0);
        skip(user, reason);
        continue;
      }
      const fingerprint = fingerprints[i]!;
      if (synced !== undefined && !synced.disabled && synced.fingerprint.equals(fingerprint) && synced.userPrincipalName === user.userPrincipalName && synced.forceChange === user.mustChangePassword) {
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
        samePassword: synced !== undefined && synced.fingerprint.equals(fingerprint),
        changedAt:
          synced?.disabled === true
            ? observedAt(user.passwordChangedAt)
            : user.passwordChangedAt === undefined
              ? runStartedAt
              : new Date(user.passwordChangedAt).toISOString(),
      });
      if (batch.full) {
        await dispatch(batch);
        batch = undefined;
      }
    }
  };
  const stopping = (): boolean => fatal !== undefined || options.signal?.aborted === true;

  // Every user the target holds enabled for this source that this run did not read has left the
  // scope (deleted, moved out of the base DNs or filter, no longer a user): disabled at the target.
  const leftScope = (held: { anchor: string; disabled: boolean }): boolean => !held.disabled && !seen.has(source.name, held.anchor) && !seenInvalid.has(source.name, held.anchor);
  const disableOutOfScope = async (): Promise<void> => {
    // Accidental-disable prevention, as the reference system's accidental-delete threshold: a wrong
    // filter or an empty dump would otherwise lock everyone out of the cloud in one cycle. One pass
    // collects at most limit + 1 users, so memory stays bounded by the limit.
    const limit = options.maxOutOfScopeDisables ?? DEFAULT_MAX_OUT_OF_SCOPE_DISABLES;
    const leaving: { anchor: string; userPrincipalName: string }[] = [];
    let total = 0;
    for (const held of state.syncedAnchors(target.id, source.name)) {
      if (!leftScope(held)) continue;
      total++;
      if (leaving.length <= limit) leaving.push(held);
    }
    if (total > limit) {
      bump(counts.failed, 'MASS_DISABLE_PREVENTED');
      errors.push({ origin: source.name, code: 'MASS_DISABLE_PREVENTED', message: `${total} users would be disabled at the target as out of scope, more than the limit of ${limit}: check the scope (base DNs, filter, the source file); if it is right, allow it once with --max-out-of-scope-disables ${total}` });
      return;
    }
    for (const held of leaving) {
      if (stopping()) return;
      if (options.dryRun) {
        bump(counts.skipped, 'out-of-scope');
        continue;
      }
      await disable({
        source: source.name,
        anchor: held.anchor,
        userPrincipalName: held.userPrincipalName,
        fingerprint: NO_FINGERPRINT,
        forceChange: false,
        disabled: true,
        changedAt: runStartedAt,
        disableReason: 'out-of-scope',
      });
    }
  };

  try {
    for await (const item of source) {
      if (stopping()) break;
      if (item.kind === 'invalid') {
        counts.scanned++;
        const bad: InvalidUser = item.invalid;
        if (bad.anchor !== undefined) seenInvalid.add(bad.source, bad.anchor, '');
        fail(bad.origin, bad.error, bad);
        continue;
      }
      window.push(item.user);
      if (window.length >= options.batchSize) {
        await screenWindow();
        progress();
      }
    }
    if (!stopping()) await screenWindow();
    if (batch !== undefined && !stopping()) await dispatch(batch);
    if (kind === 'full' && !stopping()) {
      // Only after every write of this run settled: one that failed makes the run fatal, and a run
      // that did not go through to the end knows nothing of who left the scope.
      await Promise.allSettled(inFlight);
      if (!stopping()) await disableOutOfScope();
    }
    if (disables !== undefined && !stopping()) await dispatch(disables);
  } catch (err) {
    // A source that stops by throwing the abort reason (the LDIF reader does) was interrupted, not broken.
    const aborted = options.signal?.aborted === true && (err === options.signal.reason || (err instanceof Error && err.name === 'AbortError'));
    if (!aborted) fatal ??= err;
  } finally {
    // Users read but not batched when the run stopped are simply read again by the next run.
    for (const user of window) user.ntHash.fill(0);
    batch?.ntHashes.fill(0);
    await Promise.allSettled(inFlight);
    if (!options.dryRun) state.deferAcks(false);
  }
  counts.passedOver = source.entriesPassedOver;

  const status: RunStatus = fatal !== undefined ? 'failed' : options.signal?.aborted === true ? 'interrupted' : total(counts.failed) > 0 ? 'partial' : 'succeeded';
  const fatalError: UserError | undefined = fatal === undefined ? undefined : { origin: 'run', code: fatal instanceof PhsyncError ? fatal.code : 'INTERNAL', message: errorMessage(fatal) };
  if (!options.dryRun) {
    sample();
    state.finishRun(runId, status, counts, fatalError?.message, errors);
  }
  const elapsedMs = performance.now() - started;
  const summary: SyncSummary = {
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
  publish('runFinish', { kind, summary });
  return summary;
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

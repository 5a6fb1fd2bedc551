import type { SourceConfig } from '../config/config-types.ts';
import type { HashPool } from '../hash/hash-pool.ts';
import { DEFAULT_ITERATIONS } from '../phs/credential.ts';
import { planCycle } from '../pipeline/cycle-plan.ts';
import type { CyclePlan, CycleRequest } from '../pipeline/cycle-plan.ts';
import type { SyncSummary } from '../pipeline/sync-counts.ts';
import type { SyncPolicy } from '../pipeline/sync-policy.ts';
import { runSync } from '../pipeline/sync-run.ts';
import { changeMarkerFor, changedSinceClause, nextWatermark, scopeHash } from '../source/change-tracking.ts';
import { createSource } from '../source/create-source.ts';
import { CURSOR_KIND } from '../ad/replication-cursor.ts';
import type { StateStore } from '../state/state-store.ts';
import type { WatermarkStore } from '../state/watermark-store.ts';
import type { CredentialTarget } from '../target/credential-target.ts';
import { DEFAULT_RETRY } from '../util/retry-policy.ts';
import { readBindPassword } from './source-options.ts';

/** What every cycle of an engine shares: opened once per process. */
export interface EngineContext {
  readonly state: StateStore;
  readonly watermarks: WatermarkStore;
  readonly target: CredentialTarget;
  readonly pool: HashPool;
  readonly batchSize: number;
  readonly workers: number;
  readonly policy: SyncPolicy;
  readonly dryRun: boolean;
  readonly signal: AbortSignal;
  readonly ldapRetries: number;
  readonly ldapTimeoutMs: number;
  readonly fullScanEveryMs: number;
  readonly maxOutOfScopeDisables: number;
  readonly warn: (message: string) => void;
}

export interface CycleResult {
  readonly plan: CyclePlan;
  readonly summary: SyncSummary;
}

/**
 * One cycle for one source: full or delta as planned, then the watermark moves on. It moves after a
 * cycle that read its source to the end (users that failed keep their error and are read again when
 * they change or at the next full scan), never after a failed or interrupted one.
 */
export async function runCycle(config: SourceConfig, requested: CycleRequest, ctx: EngineContext): Promise<CycleResult> {
  const marker = changeMarkerFor(config.preset);
  // Replication keeps its own cursor (USN and up-to-dateness vectors), not an LDAP change marker.
  const kind = config.kind === 'ad' ? CURSOR_KIND : marker;
  const hash = scopeHash(config);
  const saved = ctx.watermarks.get(config.name);
  const watermark = saved?.kind === kind ? saved : undefined;
  const startedAt = Date.now();
  const plan = planCycle({ requested, watermark, scopeHash: hash, tracksChanges: config.kind !== 'ldif', now: startedAt, fullScanEveryMs: ctx.fullScanEveryMs });
  const delta = plan.kind === 'delta' ? watermark : undefined;
  const opened = await createSource(config, {
    signal: ctx.signal,
    readBindPassword: (from) => readBindPassword(from, ctx.warn),
    warn: ctx.warn,
    retry: { ...DEFAULT_RETRY, maxRetries: ctx.ldapRetries },
    timeoutMs: ctx.ldapTimeoutMs,
    ...(delta !== undefined && config.kind === 'ldap' ? { changedSince: changedSinceClause(marker, delta.value) } : {}),
    ...(delta !== undefined && config.kind === 'ad' ? { replicationCursor: delta.value } : {}),
  });
  try {
    // Read before the cycle: changes committed while it runs are above it, so the next cycle sees them.
    const usn = config.kind === 'ldap' && marker === 'usnchanged' && opened.highestCommittedUsn !== undefined ? await opened.highestCommittedUsn() : undefined;
    const summary = await runSync({
      source: opened.source,
      target: ctx.target,
      state: ctx.state,
      hasher: ctx.pool,
      policy: ctx.policy,
      iterations: DEFAULT_ITERATIONS,
      batchSize: ctx.batchSize,
      maxBatchesInFlight: ctx.workers * 2,
      dryRun: ctx.dryRun,
      kind: plan.kind,
      maxOutOfScopeDisables: ctx.maxOutOfScopeDisables,
      signal: ctx.signal,
    });
    const readToTheEnd = summary.status === 'succeeded' || summary.status === 'partial';
    const value = config.kind === 'ad' ? opened.replicationCursor?.() : config.kind === 'ldap' ? nextWatermark(marker, startedAt, usn) : undefined;
    if (value !== undefined && !ctx.dryRun && readToTheEnd) {
      ctx.watermarks.save({
        source: config.name,
        kind,
        value,
        scopeHash: hash,
        fullScanAt: plan.kind === 'full' ? Date.now() : (watermark?.fullScanAt ?? 0),
      });
    }
    return { plan, summary };
  } finally {
    opened.close();
  }
}

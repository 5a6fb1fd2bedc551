import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { FatalError, PhsyncError, errorMessage } from '../errors.ts';
import { total } from '../pipeline/sync-counts.ts';
import type { SyncCounts } from '../pipeline/sync-counts.ts';
import { EngineLock } from '../state/engine-lock.ts';
import { StateStore } from '../state/state-store.ts';
import type { RunRecord } from '../state/state-types.ts';
import { EXIT } from './exit-codes.ts';
import { log } from '../observe/logger.ts';

export function statusOptions<T>(y: Argv<T>) {
  return y
    .option('state', { type: 'string', default: './phsync-state.db', describe: 'state store (SQLite)' })
    .option('runs', { type: 'number', default: 10, describe: 'how many of the last runs' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON: { running, lastSuccess, behindSeconds, watermarks, runs, engineRunning }' });
}

type StatusArgs = Awaited<ReturnType<typeof statusOptions>['argv']>;

/**
 * Whether an engine holds the state store's lock: true, false, or undefined when the lock cannot be
 * probed (its file unreadable…). Probing takes the lock and gives it back at once; a running engine
 * is not disturbed (the attempt fails immediately, without waiting). No lock file: no engine ever ran.
 */
export function engineHoldsLock(statePath: string): boolean | undefined {
  if (!existsSync(`${statePath}.lock`)) return false;
  try {
    EngineLock.acquire(statePath).release();
    return false;
  } catch (err) {
    if (err instanceof PhsyncError && err.code === 'STATE_LOCKED') return true;
    log().warn(`cannot tell whether an engine is running: ${errorMessage(err)}`);
    return undefined;
  }
}

/** What `status --json` prints. Times are epoch milliseconds, as in `runs`. */
export interface StatusReport {
  /** The run an engine is running now (marked running, and its engine holds the lock), else null. */
  readonly running: (RunRecord & { readonly elapsedSeconds: number }) | null;
  /** The last run that completed its cycle (succeeded, or partial: read to the end, some users failed). */
  readonly lastSuccess: RunRecord | null;
  /** Now minus the end of `lastSuccess`, in whole seconds; null before any. */
  readonly behindSeconds: number | null;
  /** Per source with a watermark (sources synced by delta cycles): where its last cycle got to. */
  readonly watermarks: { readonly source: string; readonly kind: string; readonly value: string; readonly updatedAt: number; readonly fullScanAt: number }[];
  /** The last runs, newest first. */
  readonly runs: RunRecord[];
  /** An engine holds the state store's lock (it may be between cycles); null if that could not be told. */
  readonly engineRunning: boolean | null;
}

export function statusReport(state: StateStore, engineRunning: boolean | undefined, runs: number, now = Date.now()): StatusReport {
  const marked = state.runningRun();
  const lastSuccess = state.lastCompletedRun() ?? null;
  const finished = lastSuccess?.finishedAt;
  return {
    running: marked !== undefined && engineRunning === true ? { ...marked, elapsedSeconds: Math.max(0, Math.round((now - marked.startedAt) / 1000)) } : null,
    lastSuccess,
    behindSeconds: finished === undefined ? null : Math.max(0, Math.round((now - finished) / 1000)),
    watermarks: state.watermarks().map((w) => ({ source: w.source, kind: w.kind, value: w.value, updatedAt: w.updatedAt, fullScanAt: w.fullScanAt })),
    runs: state.runs(runs),
    engineRunning: engineRunning ?? null,
  };
}

/** 125 → "2 min 5 s"; 3725 → "1 h 2 min" (seconds are dropped past an hour). */
export function formatSeconds(seconds: number): string {
  const d = Math.floor(seconds / 86_400);
  const h = Math.floor((seconds % 86_400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = seconds % 60;
  const parts = [d > 0 ? `${d} d` : '', h > 0 ? `${h} h` : '', m > 0 ? `${m} min` : '', `${s} s`].filter((p) => p !== '');
  return (d > 0 || h > 0 ? parts.slice(0, -1) : parts).join(' ');
}

const iso = (ms: number): string => new Date(ms).toISOString();

export async function statusCommand(args: StatusArgs): Promise<number> {
  if (!existsSync(args.state)) throw new FatalError('STATE_NOT_FOUND', `no state store at ${args.state}: nothing has been synced with it yet`);
  const engineRunning = engineHoldsLock(args.state);
  using state = StateStore.open(args.state);
  const report = statusReport(state, engineRunning, args.runs);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return EXIT.ok;
  }
  const out: string[] = [];
  const marked = state.runningRun();
  if (report.running !== null) {
    const r = report.running;
    out.push(`running: run ${r.id} ${r.kind} of ${r.source} to ${r.target}, started ${iso(r.startedAt)} (${formatSeconds(r.elapsedSeconds)} ago)`);
  } else if (engineRunning === true) {
    out.push('running: no cycle; an engine holds the state store (between cycles)');
  } else {
    out.push(`running: no${engineRunning === undefined ? ' (the engine lock could not be probed)' : ''}`);
  }
  if (marked !== undefined && engineRunning === false) {
    out.push(`  run ${marked.id} is marked running but no engine holds the state store: it was killed, and the next run marks it aborted`);
  }
  const last = report.lastSuccess;
  if (last === null || last.finishedAt === undefined) {
    out.push('last successful cycle: none yet');
  } else {
    const partly = last.status === 'partial' ? ' (partial: some users failed)' : '';
    out.push(`last successful cycle: run ${last.id} ${last.kind} of ${last.source}${partly}, finished ${iso(last.finishedAt)}; behind by ${formatSeconds(report.behindSeconds ?? 0)}`);
  }
  const sources = new Set([...state.runSources(), ...report.watermarks.map((w) => w.source)]);
  for (const source of [...sources].sort()) {
    const w = report.watermarks.find((x) => x.source === source);
    out.push(`watermark ${source}: ${w === undefined ? 'none (no cycle has recorded one: the next cycle reads the source whole)' : `${w.kind} ${w.value}, updated ${iso(w.updatedAt)}, last full scan ${w.fullScanAt > 0 ? iso(w.fullScanAt) : 'never'}`}`);
  }
  for (const run of report.runs) {
    const c = run.counts as Partial<SyncCounts> | undefined;
    const took = run.finishedAt === undefined ? '' : ` in ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s`;
    const numbers = c === undefined ? '' : `: scanned ${c.scanned ?? 0}, synced ${c.synced ?? 0}, skipped ${total(c.skipped ?? {})}, failed ${total(c.failed ?? {})}`;
    out.push(`run ${run.id} ${run.kind} ${run.status} ${iso(run.startedAt)}${took}${numbers}${run.error === undefined ? '' : ` (${run.error})`}`);
  }
  if (report.runs.length === 0) out.push('no runs yet');
  process.stdout.write(`${out.join('\n')}\n`);
  return EXIT.ok;
}

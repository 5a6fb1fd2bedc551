/**
 * `phsync report`: what one run did, read from the state store: its counts, its throughput overall and
 * over time (`run_samples`), its batches (`batch_log`), the users that failed and why (`user_events`)
 * and its first errors (`runs.errors`). Read only, in the caller's read transaction (one snapshot: an
 * engine may be writing the run meanwhile). Nothing here is a hash, a fingerprint or a credential:
 * fingerprints are never selected, and the other tables hold none.
 */
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import type { RunError, RunRecord, RunStatus } from './state-types.ts';

export const DEFAULT_FAILED_LIMIT = 20;
/** Throughput over time: the intervals between samples, or this many buckets at most for a long run. */
export const MAX_THROUGHPUT_BUCKETS = 20;
/** The slowest batches listed. */
export const SLOWEST_BATCHES = 5;
/**
 * Points of the throughput timeline closer than this to the previous one are merged into the next
 * interval: a rate over a few milliseconds (the last sample just before the run's end) says nothing.
 */
const MIN_INTERVAL_MS = 500;

export interface RunReportQuery {
  /** The run (default: the newest, whatever its status). */
  readonly runId?: number;
  /** List at most this many failed users (default 20; 0 lists none but still counts them). */
  readonly failedLimit?: number;
  /** Now, in epoch milliseconds, for a run still running (default Date.now()). */
  readonly now?: number;
}

export interface ReportRun {
  readonly id: number;
  readonly kind: string;
  readonly source: string;
  readonly target: string;
  readonly status: RunStatus;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** Epoch milliseconds; null while running, or for a run killed before it finished (aborted). */
  readonly finishedAt: number | null;
  /**
   * Until the end of the run; for a run still running, until now; for one that never finished, until
   * the last thing it recorded (a sample or a batch).
   */
  readonly elapsedMs: number;
  /** Why the run stopped early, if it did. */
  readonly error: string | null;
}

export interface ReportCounts {
  /**
   * Where the numbers come from: the run's final counts; else (a run still running, or killed) its
   * newest sample, which has totals only (no reasons or codes, no batches); else none.
   */
  readonly from: 'run' | 'sample' | 'none';
  readonly scanned: number;
  /** Entries that are not users. */
  readonly passedOver: number;
  readonly synced: number;
  readonly hashed: number;
  /** Users hashed whose NT hash is in the leaked-hash store (0 without one, or from a sample). */
  readonly leaked: number;
  readonly disabledAtTarget: number;
  readonly skipped: { readonly total: number; readonly byReason: Readonly<Record<string, number>> };
  readonly failed: { readonly total: number; readonly byCode: Readonly<Record<string, number>> };
  readonly batches: number;
  readonly recoveredBatches: number;
  readonly droppedBatches: number;
}

/** One interval of the run: offsets from its start, what it did in it, and the rates. */
export interface ThroughputInterval {
  readonly fromMs: number;
  readonly toMs: number;
  /** Users scanned in the interval. */
  readonly scanned: number;
  /** Credentials the target applied in the interval. */
  readonly synced: number;
  readonly scannedPerSecond: number;
  readonly syncedPerSecond: number;
}

export interface ReportThroughput {
  /** Users scanned per second of the run (one decimal); with totals from a sample, until that sample. */
  readonly usersPerSecond: number;
  /** NT hashes turned into credentials per second of the run (one decimal). */
  readonly hashesPerSecond: number;
  /** Whether `overTime` groups intervals between samples into buckets (a long run). */
  readonly bucketed: boolean;
  /** From the run's start to its last sample (or its end), at most MAX_THROUGHPUT_BUCKETS intervals. */
  readonly overTime: readonly ThroughputInterval[];
}

export interface SlowBatch {
  readonly kind: string;
  readonly users: number;
  readonly hashMs: number;
  readonly writeMs: number;
  /** When the target acknowledged it, in milliseconds after the run's start. */
  readonly finishedAfterMs: number;
  readonly applied: number;
  readonly stale: number;
  readonly rejected: number;
}

export interface ReportBatches {
  /** Batches the target acknowledged. */
  readonly count: number;
  readonly users: number;
  /** Batches by kind: credential, disable. */
  readonly byKind: Readonly<Record<string, number>>;
  readonly applied: number;
  readonly stale: number;
  readonly rejected: number;
  /** Milliseconds: the sum over the batches, and the median batch's. */
  readonly hashMs: { readonly total: number; readonly median: number };
  readonly writeMs: { readonly total: number; readonly median: number };
  /** The slowest batches by hashing plus writing time, slowest first. */
  readonly slowest: readonly SlowBatch[];
}

export interface FailedUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string | null;
  /** The error code. */
  readonly code: string;
  readonly message: string | null;
  /** Epoch milliseconds. */
  readonly at: number;
}

export interface ReportFailedUsers {
  /** Users with an error in this run's history (errors without an anchor are only in `errors`). */
  readonly total: number;
  /** The first of them, in the order they failed: at most the query's limit. */
  readonly users: readonly FailedUser[];
}

/** What `phsync report --format json` prints. */
export interface RunReport {
  readonly run: ReportRun;
  readonly counts: ReportCounts;
  readonly throughput: ReportThroughput;
  readonly batches: ReportBatches;
  readonly failedUsers: ReportFailedUsers;
  /**
   * Users this run found with a password in the leaked-password list and still marked so (a later
   * run that hashed a new password of theirs cleared them), by sign-in name, at most the failed-users limit.
   */
  readonly leakedUsers: readonly { readonly source: string; readonly anchor: string; readonly userPrincipalName: string; readonly action: string }[];
  /** The run's first errors (at most 50), with where they were read: also entries without an anchor. */
  readonly errors: readonly RunError[];
}

type SampleRow = { at: number; scanned: number; synced: number; hashed: number; skipped: number; failed: number };
type BatchRow = { kind: string; users: number; hash_ms: number; write_ms: number; finished_at: number; applied: number; stale: number; rejected: number };

const round1 = (n: number): number => Math.round(n * 10) / 10;
const round3 = (n: number): number => Math.round(n * 1000) / 1000;
const perSecond = (n: number, ms: number): number => (ms > 0 ? round1((n * 1000) / ms) : 0);

function num(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) ? value : 0;
}

/** A table of counts by key from stored JSON: numbers only, sorted by key. */
function table(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  const entries = Object.entries(value as Record<string, unknown>).filter((e): e is [string, number] => typeof e[1] === 'number' && Number.isFinite(e[1]));
  return Object.fromEntries(entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

const sum = (t: Readonly<Record<string, number>>): number => Object.values(t).reduce((a, b) => a + b, 0);

function median(sorted: readonly number[]): number {
  if (sorted.length === 0) return 0;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function reportCounts(counts: Record<string, unknown> | undefined, latest: SampleRow | undefined): ReportCounts {
  if (counts !== undefined) {
    const skipped = table(counts['skipped']);
    const failed = table(counts['failed']);
    return {
      from: 'run',
      scanned: num(counts['scanned']),
      passedOver: num(counts['passedOver']),
      synced: num(counts['synced']),
      hashed: num(counts['hashed']),
      leaked: num(counts['leaked']),
      disabledAtTarget: num(counts['disabledAtTarget']),
      skipped: { total: sum(skipped), byReason: skipped },
      failed: { total: sum(failed), byCode: failed },
      batches: num(counts['batches']),
      recoveredBatches: num(counts['recoveredBatches']),
      droppedBatches: num(counts['droppedBatches']),
    };
  }
  const s = latest;
  return {
    from: s === undefined ? 'none' : 'sample',
    scanned: s?.scanned ?? 0,
    passedOver: 0,
    synced: s?.synced ?? 0,
    hashed: s?.hashed ?? 0,
    leaked: 0,
    disabledAtTarget: 0,
    skipped: { total: s?.skipped ?? 0, byReason: {} },
    failed: { total: s?.failed ?? 0, byCode: {} },
    batches: 0,
    recoveredBatches: 0,
    droppedBatches: 0,
  };
}

type Point = { t: number; scanned: number; synced: number };

/**
 * The run's timeline: its start (nothing done yet), each sample, and its end with the final counts.
 * A point too close to the previous one is dropped, except the last, which replaces it (so the
 * timeline always ends with the newest totals). Times only move forward.
 */
function timeline(run: RunRecord, samples: readonly SampleRow[], counts: ReportCounts): Point[] {
  const points: Point[] = samples.map((s) => ({ t: s.at - run.startedAt, scanned: s.scanned, synced: s.synced }));
  if (run.finishedAt !== undefined && counts.from === 'run') points.push({ t: run.finishedAt - run.startedAt, scanned: counts.scanned, synced: counts.synced });
  const kept: Point[] = [{ t: 0, scanned: 0, synced: 0 }];
  points.forEach((p, i) => {
    const last = kept[kept.length - 1]!;
    if (p.t - last.t >= MIN_INTERVAL_MS) kept.push(p);
    else if (i === points.length - 1 && p.t > 0 && p.t >= last.t) {
      if (kept.length > 1) kept[kept.length - 1] = p;
      else kept.push(p);
    }
  });
  return kept;
}

function interval(from: Point, to: Point): ThroughputInterval {
  const ms = to.t - from.t;
  const scanned = to.scanned - from.scanned;
  const synced = to.synced - from.synced;
  return { fromMs: from.t, toMs: to.t, scanned, synced, scannedPerSecond: perSecond(scanned, ms), syncedPerSecond: perSecond(synced, ms) };
}

/**
 * The intervals between consecutive points; past MAX_THROUGHPUT_BUCKETS of them, buckets of about
 * equal time instead, each ending at the first point at or after its share of the run (so each rate
 * is still a difference of exact totals over the time between two samples).
 */
function throughputOverTime(points: readonly Point[]): { bucketed: boolean; overTime: ThroughputInterval[] } {
  if (points.length < 2) return { bucketed: false, overTime: [] };
  if (points.length - 1 <= MAX_THROUGHPUT_BUCKETS) {
    return { bucketed: false, overTime: points.slice(1).map((p, i) => interval(points[i]!, p)) };
  }
  const end = points[points.length - 1]!.t;
  const edges: number[] = [0];
  let i = 0;
  for (let k = 1; k <= MAX_THROUGHPUT_BUCKETS; k++) {
    const due = (end * k) / MAX_THROUGHPUT_BUCKETS;
    while (i < points.length - 1 && points[i]!.t < due) i++;
    if (i > edges[edges.length - 1]!) edges.push(i);
  }
  return { bucketed: true, overTime: edges.slice(1).map((e, n) => interval(points[edges[n]!]!, points[e]!)) };
}

/** The report of one run, read from the state store in the caller's transaction. */
export function readRunReport(db: SqliteDatabase, run: RunRecord, query: RunReportQuery = {}): RunReport {
  const failedLimit = query.failedLimit ?? DEFAULT_FAILED_LIMIT;
  if (!Number.isInteger(failedLimit) || failedLimit < 0) throw new RangeError(`failed users limit must be a whole number from 0, got ${failedLimit}`);

  const samples = db.prepare<[number], SampleRow>('SELECT at, scanned, synced, hashed, skipped, failed FROM run_samples WHERE run_id = ? ORDER BY at').all(run.id);
  const counts = reportCounts(run.counts, samples[samples.length - 1]);

  // batch_log is indexed by run: a run's rows, not the table.
  type Totals = { count: number; users: number | null; applied: number | null; stale: number | null; rejected: number | null; hash_ms: number | null; write_ms: number | null; last: number | null };
  const totals = db.prepare<[number], Totals>('SELECT count(*) AS count, sum(users) AS users, sum(applied) AS applied, sum(stale) AS stale, sum(rejected) AS rejected, total(hash_ms) AS hash_ms, total(write_ms) AS write_ms, max(finished_at) AS last FROM batch_log WHERE run_id = ?').get(run.id)!;
  const byKind = db.prepare<[number], { kind: string; n: number }>('SELECT kind, count(*) AS n FROM batch_log WHERE run_id = ? GROUP BY kind ORDER BY kind').all(run.id);
  const hashMs = db.prepare<[number], number>('SELECT hash_ms FROM batch_log WHERE run_id = ? ORDER BY hash_ms').pluck().all(run.id);
  const writeMs = db.prepare<[number], number>('SELECT write_ms FROM batch_log WHERE run_id = ? ORDER BY write_ms').pluck().all(run.id);
  const slowest = db.prepare<[number, number], BatchRow>('SELECT kind, users, hash_ms, write_ms, finished_at, applied, stale, rejected FROM batch_log WHERE run_id = ? ORDER BY hash_ms + write_ms DESC, id LIMIT ?').all(run.id, SLOWEST_BATCHES);

  // user_events has no index (see state-schema.ts): this scans it, about 75 ms a million events.
  // One pass counts and lists (the window counts every matching row before the limit applies).
  type FailedRow = { source: string; anchor: string; upn: string | null; reason: string | null; message: string | null; at: number; total: number };
  const failedRows = failedLimit === 0 ? [] : db.prepare<[number, number], FailedRow>(`SELECT source, anchor, upn, reason, message, at, count(*) OVER () AS total FROM user_events WHERE run_id = ? AND status = 'error' ORDER BY id LIMIT ?`).all(run.id, failedLimit);
  const failedTotal = failedLimit === 0 ? db.prepare<[number], number>(`SELECT count(*) FROM user_events WHERE run_id = ? AND status = 'error'`).pluck().get(run.id)! : (failedRows[0]?.total ?? 0);

  const leakedUsers = db.prepare<[number, number], { source: string; anchor: string; userPrincipalName: string; action: string }>('SELECT source, anchor, upn AS userPrincipalName, action FROM leaked_users WHERE run_id = ? ORDER BY upn LIMIT ?').all(run.id, failedLimit);

  const lastActivity = Math.max(run.startedAt, samples[samples.length - 1]?.at ?? 0, totals.last ?? 0);
  const end = run.finishedAt ?? (run.status === 'running' ? Math.max(query.now ?? Date.now(), lastActivity) : lastActivity);
  const elapsedMs = Math.max(0, end - run.startedAt);
  const { bucketed, overTime } = throughputOverTime(timeline(run, samples, counts));
  // Totals from a sample are rated over the time until that sample, not until now.
  const newest = samples[samples.length - 1];
  const rateMs = counts.from === 'sample' && newest !== undefined ? Math.max(0, newest.at - run.startedAt) : elapsedMs;

  return {
    run: {
      id: run.id,
      kind: run.kind,
      source: run.source,
      target: run.target,
      status: run.status,
      startedAt: run.startedAt,
      finishedAt: run.finishedAt ?? null,
      elapsedMs,
      error: run.error ?? null,
    },
    counts,
    throughput: {
      usersPerSecond: perSecond(counts.scanned, rateMs),
      hashesPerSecond: perSecond(counts.hashed, rateMs),
      bucketed,
      overTime,
    },
    batches: {
      count: totals.count,
      users: totals.users ?? 0,
      byKind: Object.fromEntries(byKind.map((k) => [k.kind, k.n])),
      applied: totals.applied ?? 0,
      stale: totals.stale ?? 0,
      rejected: totals.rejected ?? 0,
      hashMs: { total: round3(totals.hash_ms ?? 0), median: round3(median(hashMs)) },
      writeMs: { total: round3(totals.write_ms ?? 0), median: round3(median(writeMs)) },
      slowest: slowest.map((b) => ({
        kind: b.kind,
        users: b.users,
        hashMs: round3(b.hash_ms),
        writeMs: round3(b.write_ms),
        finishedAfterMs: b.finished_at - run.startedAt,
        applied: b.applied,
        stale: b.stale,
        rejected: b.rejected,
      })),
    },
    failedUsers: {
      total: failedTotal,
      users: failedRows.map((r) => ({ source: r.source, anchor: r.anchor, userPrincipalName: r.upn, code: r.reason ?? 'UNKNOWN', message: r.message, at: r.at })),
    },
    leakedUsers,
    errors: run.errors,
  };
}

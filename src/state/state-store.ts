import type Database from 'better-sqlite3';
import type { ItemResult } from '../target/credential-batch.ts';
import { openVersionedDatabase, storeWriteError } from '../sqlite/open-database.ts';
import type { FatalError } from '../errors.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import { fingerprinter, loadOrCreateFingerprintKey } from './fingerprint-key.ts';
import type { Fingerprinter } from './fingerprint-key.ts';
import { STATE_SCHEMA } from './state-schema.ts';
import type { BatchLogEntry, RunError, RunRecord, RunSample, RunStatus, UserStatus } from './state-types.ts';
import { readRunReport } from './run-report.ts';
import type { RunReport, RunReportQuery } from './run-report.ts';
import type { Watermark } from './watermark-store.ts';
import { DEFAULT_HISTORY_RETENTION_MS, isUserEvent, readUserHistory } from './user-history.ts';
import { LeakFindings } from './leak-findings.ts';
import type { UserHistory, UserHistoryQuery } from './user-history.ts';

/** A user on its way to a target: what the state store needs to acknowledge it later. */
export interface PendingUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly fingerprint: Buffer;
  readonly forceChange: boolean;
  /**
   * Set for a disable item (no credential; the target keeps its own and refuses sign-in): why the
   * user is disabled there, 'disabled' or 'out-of-scope', which becomes its status once applied.
   */
  readonly disableReason?: string;
}

export interface UserKey {
  readonly source: string;
  readonly anchor: string;
}

/** What a target acknowledged last for a user. */
export interface SyncedUser {
  readonly fingerprint: Buffer;
  readonly userPrincipalName: string;
  readonly forceChange: boolean;
  /** The target was told the user is disabled (or out of scope): sign-in is refused there. */
  readonly disabled: boolean;
}

export interface AckCounts {
  applied: number;
  stale: number;
  invalid: number;
}

/** A batch's timing for the run's batch log, written with its acknowledgement (see ackBatch). */
export interface BatchTiming {
  readonly kind: BatchLogEntry['kind'];
  readonly hashMs: number;
  /** The write to the target, until its answer. */
  readonly writeMs: number;
}

// Status rows are written in transactions of this many; one transaction per user would bound a run
// by fsyncs instead of by hashing.
const STATUS_FLUSH_SIZE = 2000;
/** Rows of the acknowledgement log written by one INSERT. */
const ACK_ROWS_PER_INSERT = 100;
const ACK_COLUMNS = 8;
/** The acknowledgement log is merged into `synced` when it holds this many users (see deferAcks). */
const ACK_MERGE_ROWS = 1_000_000;

// History is pruned in transactions of at most this many events, so that pruning a huge backlog
// never holds the write lock for long (a chunk is about 25 ms on the project's machine).
const PRUNE_CHUNK_ROWS = 2000;

export interface StateStoreOptions {
  /** How long `user_events` are kept, in milliseconds (default 7 days; Infinity keeps them forever). */
  readonly historyRetentionMs?: number;
}

// A run keeps its first errors, as the summary lists them; all of them are in the users' statuses.
const MAX_RUN_ERRORS = 50;
// Each text of a kept error is cut to this many characters (a message quoting a huge entry).
const MAX_ERROR_TEXT = 1000;
// Run samples: one row at most per second per run.
const SAMPLE_INTERVAL_MS = 1000;

type RunRow = { id: number; kind: string; source: string; target: string; started_at: number; finished_at: number | null; status: RunStatus; counts: string | null; error: string | null; errors: string | null };

const text = (value: unknown): string => {
  const s = typeof value === 'string' ? value : String(value);
  return s.length > MAX_ERROR_TEXT ? `${s.slice(0, MAX_ERROR_TEXT - 1)}…` : s;
};

/** `runs.errors` as stored: a JSON array of {origin, code, message}; anything else reads as none. */
function parseRunErrors(json: string | null): RunError[] {
  if (json === null) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return [];
  }
  if (!Array.isArray(parsed)) return [];
  return parsed.flatMap((e: unknown): RunError[] => {
    if (typeof e !== 'object' || e === null) return [];
    const { origin, code, message } = e as Record<string, unknown>;
    return typeof origin === 'string' && typeof code === 'string' && typeof message === 'string' ? [{ origin, code, message }] : [];
  });
}

/** The integer a count column takes: a finite number, rounded; anything else is 0. */
const count = (n: number): number => (Number.isFinite(n) ? Math.round(n) : 0);
const millis = (n: number): number => (Number.isFinite(n) ? n : 0);

function runRecord(r: RunRow): RunRecord {
  return {
    id: r.id,
    kind: r.kind,
    source: r.source,
    target: r.target,
    startedAt: r.started_at,
    finishedAt: r.finished_at ?? undefined,
    status: r.status,
    counts: r.counts === null ? undefined : (JSON.parse(r.counts) as Record<string, unknown>),
    error: r.error ?? undefined,
    errors: parseRunErrors(r.errors),
  };
}

/**
 * A batch member as kept in `batches.members`: source, anchor, upn, fingerprint hex, force-change,
 * and for a disable item the reason (members recorded before disable items existed have five).
 */
type StoredMember = [string, string, string, string, 0 | 1, string?];

function fromStored([source, anchor, userPrincipalName, fingerprint, forceChange, disableReason]: StoredMember): PendingUser {
  return { source, anchor, userPrincipalName, fingerprint: Buffer.from(fingerprint, 'hex'), forceChange: forceChange === 1, ...(disableReason === undefined ? {} : { disableReason }) };
}

/** Success, or skipped because nothing changed: the user is in sync and needs no status row. */
function inSync(status: UserStatus): boolean {
  return status.status === 'success' || (status.status === 'skipped' && status.reason === 'unchanged');
}

export class StateStore implements Disposable {
  readonly path: string;
  readonly fingerprint: Fingerprinter;
  /** Users whose password a sync found in the leaked-password list. */
  readonly leaks: LeakFindings;
  readonly #db: SqliteDatabase;
  readonly #statuses: UserStatus[] = [];
  readonly #writeStatuses: (statuses: readonly UserStatus[], runId: number) => void;
  readonly #recordBatch: (runId: number, target: string, batchId: string, users: readonly PendingUser[]) => void;
  readonly #ackBatch: (batchId: string, target: string, runId: number, results: readonly ItemResult[], members: readonly PendingUser[] | undefined, log: BatchTiming | undefined) => AckCounts;
  readonly #screen: (target: string, users: readonly UserKey[]) => (SyncedUser | undefined)[];
  readonly #historyRetentionMs: number;
  readonly #finishRun: Database.Statement<[number, RunStatus, string, string | null, string | null, number]>;
  readonly #insertBatchLog: Database.Statement<[number, string, number, number, number, number, number, number, number]>;
  readonly #insertSample: Database.Statement<[number, number, number, number, number, number, number]>;
  readonly #moveSample: Database.Statement<[number, number, number, number, number, number, number, number]>;
  readonly #lastFullRunCounts: Database.Statement<[string], string | null>;
  /** The run's newest sample row: when it was inserted, and its time now (a later sample within the second replaces it). */
  #lastSample: { runId: number; insertedAt: number; at: number } | undefined;
  #runId = 0;
  /** The first write the file system refused; the store writes nothing more. */
  #failed: FatalError | undefined;
  readonly #mergeAcks: () => number;
  #deferAcks = false;
  #appendedHere = false;
  /**
   * Whether `synced` holds no row for a (target, source) pair, as last looked up; forgotten whenever a
   * row is added (a disable only updates rows, so cannot end emptiness).
   */
  readonly #holdsNone = new Map<string, boolean>();
  /** The running run's source, when it had no status rows as the run began (see ackBatch). */
  #noStatusesBeforeRun: string | undefined;
  /** Rows in the acknowledgement log (leftovers of a killed run included). */
  #pendingAcks: number;

  private constructor(path: string, db: SqliteDatabase, fingerprint: Fingerprinter, historyRetentionMs: number) {
    this.path = path;
    this.#db = db;
    this.fingerprint = fingerprint;
    this.#historyRetentionMs = historyRetentionMs;
    this.leaks = new LeakFindings(db, (write) => this.#write(write));

    // Only statuses that need explaining are stored (skipped by policy, errors). A user in sync has
    // no row here: its row in `synced` says so. A full sync of a million users then writes a million
    // acknowledgements, not two million rows, and a rerun that finds nothing changed writes nothing.
    // An unchanged status is not rewritten either (the WHERE clause), so its run and time say since when.
    const upsertStatus = db.prepare(`
      INSERT INTO users (source, anchor, upn, status, reason, error_message, run_id, updated_at)
      VALUES (@source, @anchor, @upn, @status, @reason, @message, @runId, @now)
      ON CONFLICT (source, anchor) DO UPDATE SET
        upn = coalesce(excluded.upn, users.upn), status = excluded.status, reason = excluded.reason,
        error_message = excluded.error_message, run_id = excluded.run_id, updated_at = excluded.updated_at
      WHERE users.status IS NOT excluded.status OR users.reason IS NOT excluded.reason
        OR users.error_message IS NOT excluded.error_message OR users.upn IS NOT coalesce(excluded.upn, users.upn)`);
    const clearStatus = db.prepare('DELETE FROM users WHERE source = ? AND anchor = ?');
    // Every status but "unchanged" is also an event of the user's history (`phsync explain`), in the
    // same transaction: the history never says more or less than the statuses.
    const insertEvent = db.prepare('INSERT INTO user_events (run_id, source, anchor, upn, status, reason, message, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    this.#writeStatuses = db.transaction((statuses: readonly UserStatus[], runId: number) => {
      const now = Date.now();
      for (const s of statuses) {
        const upn = s.userPrincipalName ?? null;
        const reason = s.reason ?? null;
        const message = s.message ?? null;
        if (inSync(s)) clearStatus.run(s.source, s.anchor);
        else upsertStatus.run({ source: s.source, anchor: s.anchor, upn, status: s.status, reason, message, runId, now });
        if (isUserEvent(s)) insertEvent.run(runId, s.source, s.anchor, upn, s.status, reason, message, now);
      }
    });

    const selectSynced = db.prepare<[string, string, string], { fingerprint: Buffer; upn: string; force_change: number; disabled: number }>('SELECT fingerprint, upn, force_change, disabled FROM synced WHERE target = ? AND source = ? AND anchor = ?');
    const holdsAny = db.prepare<[string, string], number>('SELECT 1 FROM synced WHERE target = ? AND source = ? LIMIT 1').pluck();
    // One read transaction per window: a statement outside a transaction pays for starting its own
    // (a few µs of locking each), which at millions of users is much of the engine's own cost.
    // A first sync into a target (the bulk one, of millions) would look up every user in vain.
    const holdsNone = (target: string, source: string): boolean => {
      const pair = `${target}\n${source}`;
      let empty = this.#holdsNone.get(pair);
      if (empty === undefined) {
        empty = holdsAny.get(target, source) === undefined;
        this.#holdsNone.set(pair, empty);
      }
      return empty;
    };
    this.#screen = db.transaction((target: string, users: readonly UserKey[]): (SyncedUser | undefined)[] => {
      // A window's users nearly always share one source: asked once per source change, not per user.
      let source: string | undefined;
      let empty = false;
      return users.map((user) => {
        if (user.source !== source) {
          source = user.source;
          empty = holdsNone(target, source);
        }
        if (empty) return undefined;
        const row = selectSynced.get(target, user.source, user.anchor);
        return row === undefined ? undefined : { fingerprint: row.fingerprint, userPrincipalName: row.upn, forceChange: row.force_change === 1, disabled: row.disabled === 1 };
      });
    });

    const insertBatch = db.prepare('INSERT INTO batches (batch_id, run_id, target, created_at, members) VALUES (?, ?, ?, ?, ?)');
    this.#recordBatch = (runId, target, batchId, users) => {
      const members: StoredMember[] = users.map((u) => {
        const member: StoredMember = [u.source, u.anchor, u.userPrincipalName, u.fingerprint.toString('hex'), u.forceChange ? 1 : 0];
        if (u.disableReason !== undefined) member.push(u.disableReason);
        return member;
      });
      insertBatch.run(batchId, runId, target, Date.now(), JSON.stringify(members));
    };

    const batchMembers = db.prepare<[string], string>('SELECT members FROM batches WHERE batch_id = ?').pluck();
    // A credential is sent only for an enabled user: its acknowledgement enables the user again.
    const upsertSynced = db.prepare(`
      INSERT INTO synced (target, source, anchor, fingerprint, upn, force_change, run_id, synced_at, disabled)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
      ON CONFLICT (target, source, anchor) DO UPDATE SET
        fingerprint = excluded.fingerprint, upn = excluded.upn, force_change = excluded.force_change,
        run_id = excluded.run_id, synced_at = excluded.synced_at, disabled = 0`);
    // A disable item changes nothing the target holds but the flag: the fingerprint stays.
    const disableSynced = db.prepare('UPDATE synced SET disabled = 1, run_id = ?, synced_at = ? WHERE target = ? AND source = ? AND anchor = ?');
    const deleteBatch = db.prepare('DELETE FROM batches WHERE batch_id = ?');
    const appendAck = db.prepare('INSERT INTO acks (target, source, anchor, fingerprint, upn, force_change, run_id, synced_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)');
    // A batch's acknowledgements go in statements of ACK_ROWS_PER_INSERT rows: one statement a user
    // was the main thread's largest single cost in acknowledging (each run() binds, steps and resets).
    const appendAcks = db.prepare(`INSERT INTO acks (target, source, anchor, fingerprint, upn, force_change, run_id, synced_at) VALUES ${Array(ACK_ROWS_PER_INSERT).fill('(?, ?, ?, ?, ?, ?, ?, ?)').join(', ')}`);
    const ackRows: unknown[] = [];
    const flushAcks = (): void => {
      let at = 0;
      for (; at + ACK_ROWS_PER_INSERT * ACK_COLUMNS <= ackRows.length; at += ACK_ROWS_PER_INSERT * ACK_COLUMNS) appendAcks.run(ackRows.slice(at, at + ACK_ROWS_PER_INSERT * ACK_COLUMNS));
      for (; at < ackRows.length; at += ACK_COLUMNS) appendAck.run(ackRows.slice(at, at + ACK_COLUMNS));
      ackRows.length = 0;
    };
    // `WHERE true` keeps SQLite from reading ON CONFLICT as a join's ON. Rows apply in key order (each
    // leaf written once) and, for one key, in arrival order: the last acknowledgement wins.
    const mergeAcks = db.prepare(`
      INSERT INTO synced (target, source, anchor, fingerprint, upn, force_change, run_id, synced_at, disabled)
      SELECT target, source, anchor, fingerprint, upn, force_change, run_id, synced_at, 0 FROM acks WHERE true
      ORDER BY target, source, anchor, rowid
      ON CONFLICT (target, source, anchor) DO UPDATE SET
        fingerprint = excluded.fingerprint, upn = excluded.upn, force_change = excluded.force_change,
        run_id = excluded.run_id, synced_at = excluded.synced_at, disabled = 0`);
    const clearAcks = db.prepare('DELETE FROM acks');
    // The history events of the logged acknowledgements (ackBatch leaves them to the merge), as
    // insertEvent would have written them: a success, at the time it was acknowledged.
    const logAckEvents = db.prepare(`
      INSERT INTO user_events (run_id, source, anchor, upn, status, reason, message, at)
      SELECT run_id, source, anchor, upn, 'success', NULL, NULL, synced_at FROM acks ORDER BY rowid`);
    this.#mergeAcks = db.transaction((): number => {
      logAckEvents.run();
      const merged = mergeAcks.run().changes;
      clearAcks.run();
      this.#holdsNone.clear();
      return merged;
    });
    this.#pendingAcks = db.prepare<[], number>('SELECT count(*) FROM acks').pluck().get() ?? 0;
    const batchRecorded = db.prepare<[string], number>('SELECT 1 FROM batches WHERE batch_id = ?').pluck();
    this.#ackBatch = db.transaction((batchId: string, target: string, runId: number, results: readonly ItemResult[], members: readonly PendingUser[] | undefined, log: BatchTiming | undefined) => {
      let users: readonly PendingUser[];
      if (members !== undefined) {
        // The engine still holds the batch it recorded: no need to read back and parse its JSON.
        users = batchRecorded.get(batchId) === undefined ? [] : members;
      } else {
        const stored = batchMembers.get(batchId);
        users = stored === undefined ? [] : (JSON.parse(stored) as StoredMember[]).map(fromStored);
      }
      if (users.length !== results.length) {
        throw new RangeError(`batch ${batchId}: ${results.length} results for ${users.length} users`);
      }
      const counts: AckCounts = { applied: 0, stale: 0, invalid: 0 };
      const now = Date.now();
      const statuses: UserStatus[] = [];
      ackRows.length = 0; // nothing left over from a call that threw (its transaction was rolled back)
      users.forEach(({ source, anchor, userPrincipalName: upn, fingerprint, forceChange: force, disableReason }, i) => {
        const forceChange = force ? 1 : 0;
        const result = results[i]!;
        counts[result.status]++;
        if (result.status === 'applied' && disableReason !== undefined) {
          disableSynced.run(runId, now, target, source, anchor);
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'skipped', reason: disableReason });
        } else if (result.status === 'applied') {
          if (this.#deferAcks) {
            ackRows.push(target, source, anchor, fingerprint, upn, forceChange, runId, now);
            this.#pendingAcks++;
            this.#appendedHere = true;
            // Its history event is written by the merge, all of them in one statement. A status row
            // it must clear can only be older than this run (a run gives each user one outcome), so
            // none when the source had none as the run began: the bulk first sync then writes one row
            // per user here, not three.
            if (source !== this.#noStatusesBeforeRun) clearStatus.run(source, anchor);
          } else {
            upsertSynced.run(target, source, anchor, fingerprint, upn, forceChange, runId, now);
            this.#holdsNone.clear();
            statuses.push({ source, anchor, userPrincipalName: upn, status: 'success' });
          }
        } else if (result.status === 'stale') {
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'skipped', reason: 'target-newer' });
        } else {
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'error', reason: 'TARGET_REJECTED', message: result.reason });
        }
      });
      flushAcks();
      this.#writeStatuses(statuses, runId);
      deleteBatch.run(batchId);
      // In the same transaction: an acknowledged batch is always in the run's batch log (a kill
      // between two transactions left acknowledged users that `phsync report` never counted).
      if (log !== undefined) this.#insertBatchLog.run(runId, log.kind, count(results.length), millis(log.hashMs), millis(log.writeMs), now, counts.applied, counts.stale, counts.invalid);
      return counts;
    });

    this.#finishRun = db.prepare('UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ?, errors = ? WHERE id = ?');
    this.#insertBatchLog = db.prepare('INSERT INTO batch_log (run_id, kind, users, hash_ms, write_ms, finished_at, applied, stale, rejected) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    this.#insertSample = db.prepare('INSERT OR REPLACE INTO run_samples (run_id, at, scanned, synced, hashed, skipped, failed) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.#moveSample = db.prepare('UPDATE OR REPLACE run_samples SET at = ?, scanned = ?, synced = ?, hashed = ?, skipped = ?, failed = ? WHERE run_id = ? AND at = ?');
    this.#lastFullRunCounts = db.prepare<[string], string | null>(`SELECT counts FROM runs WHERE source = ? AND kind = 'full' AND status IN ('succeeded', 'partial') AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1`).pluck();
  }

  static open(path: string, options: StateStoreOptions = {}): StateStore {
    const retention = options.historyRetentionMs ?? DEFAULT_HISTORY_RETENTION_MS;
    if (Number.isNaN(retention) || retention < 0) throw new RangeError(`historyRetentionMs must be 0 or more milliseconds, got ${retention}`);
    const db = openVersionedDatabase(path, STATE_SCHEMA);
    try {
      return new StateStore(path, db, fingerprinter(loadOrCreateFingerprintKey(path)), retention);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /**
   * Starts a run. Runs still marked running were killed (the caller holds the engine lock). History
   * older than the retention period is pruned first.
   */
  beginRun(kind: string, source: string, target: string): number {
    return this.#write(() => {
      // A killed run's acknowledgements, still in the log.
      this.mergeAcks();
      this.pruneHistory(this.#historyRetentionMs);
      this.#db.prepare(`UPDATE runs SET status = 'aborted' WHERE status = 'running'`).run();
      // After the merge above, which may clear rows; before this run writes any.
      const anyStatus = this.#db.prepare<[string], number>('SELECT 1 FROM users WHERE source = ? LIMIT 1').pluck().get(source);
      this.#noStatusesBeforeRun = anyStatus === undefined ? source : undefined;
      const info = this.#db.prepare(`INSERT INTO runs (kind, source, target, started_at, status) VALUES (?, ?, ?, ?, 'running')`).run(kind, source, target, Date.now());
      this.#runId = Number(info.lastInsertRowid);
      return this.#runId;
    });
  }

  /**
   * Ends a run: its status, its counts (JSON), the fatal error's message if any, and its first errors
   * (at most 50 are kept, each text cut to 1,000 characters; what the summary lists, never a hash).
   */
  finishRun(runId: number, status: RunStatus, counts: unknown, error?: string, errors?: readonly RunError[]): void {
    this.#write(() => {
      this.flushStatuses();
      // Before the run is marked finished: whoever sees it finished sees its users synced.
      this.mergeAcks();
      const kept = errors?.slice(0, MAX_RUN_ERRORS).map((e) => ({ origin: text(e.origin), code: text(e.code), message: text(e.message) }));
      this.#finishRun.run(Date.now(), status, JSON.stringify(counts), error ?? null, kept === undefined ? null : JSON.stringify(kept), runId);
    });
  }

  /** Logs a batch the target acknowledged, for `phsync report` (one autocommit insert; a prepared statement). */
  recordBatchLog(entry: BatchLogEntry): void {
    this.#write(() => {
      this.#insertBatchLog.run(entry.runId, entry.kind, count(entry.users), millis(entry.hashMs), millis(entry.writeMs), count(entry.finishedAt), count(entry.applied), count(entry.stale), count(entry.rejected));
    });
  }

  /**
   * Records a run's totals so far, for `phsync report`'s throughput over time. One row at most per
   * second per run: a sample less than a second after the run's last new row replaces that row, so the
   * newest totals (the last sample before finishRun) are always kept.
   */
  recordRunSample(runId: number, sample: RunSample): void {
    this.#write(() => {
      const at = count(sample.at);
      const values = [count(sample.scanned), count(sample.synced), count(sample.hashed), count(sample.skipped), count(sample.failed)] as const;
      const last = this.#lastSample;
      if (last !== undefined && last.runId === runId && at - last.insertedAt < SAMPLE_INTERVAL_MS) {
        const { changes } = this.#moveSample.run(at, ...values, runId, last.at);
        if (changes > 0) {
          last.at = at;
          return;
        }
        // The row is gone (pruned, or written by another store object): start again with a new one.
      }
      this.#insertSample.run(runId, at, ...values);
      this.#lastSample = { runId, insertedAt: at, at };
    });
  }

  /**
   * How many users the newest finished full run of this source scanned (succeeded or partial: it read
   * the source to the end), to tell the progress of the next one; undefined if there is none.
   */
  lastFullRunScanned(source: string): number | undefined {
    const counts = this.#lastFullRunCounts.get(source);
    if (counts === undefined || counts === null) return undefined;
    try {
      const scanned = (JSON.parse(counts) as { scanned?: unknown } | null)?.scanned;
      return typeof scanned === 'number' && Number.isFinite(scanned) ? scanned : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * `phsync report`: one run (by id, else the newest, even one still running) read in one snapshot;
   * undefined when there is no such run. Read only: no lock, and an engine may be running.
   */
  runReport(query: RunReportQuery = {}): RunReport | undefined {
    return this.#db.transaction((): RunReport | undefined => {
      const row = query.runId === undefined
        ? this.#db.prepare<[], RunRow>('SELECT * FROM runs ORDER BY id DESC LIMIT 1').get()
        : this.#db.prepare<[number], RunRow>('SELECT * FROM runs WHERE id = ?').get(query.runId);
      return row === undefined ? undefined : readRunReport(this.#db, runRecord(row), query);
    })();
  }

  /** For each user of a window, in order: what this target acknowledged last for it, if anything. */
  screen(target: string, users: readonly UserKey[]): (SyncedUser | undefined)[] {
    return this.#screen(target, users);
  }

  /** Batches recorded as sent to this target but never acknowledged: a previous run died with them. */
  inFlightBatches(target: string): string[] {
    return this.#db.prepare<[string], { batch_id: string }>('SELECT batch_id FROM batches WHERE target = ? ORDER BY created_at').all(target).map((r) => r.batch_id);
  }

  recordBatch(runId: number, target: string, batchId: string, users: readonly PendingUser[]): void {
    this.#write(() => {
      this.#recordBatch(runId, target, batchId, users);
    });
  }

  /**
   * Records the target's results for a recorded batch, in one transaction. `members` are the batch's
   * users as recorded (the engine's own copy, which spares reading them back); without them they
   * are read from the record, as on resume. With `log`, the batch's row in the run's batch log is
   * written in the same transaction.
   */
  ackBatch(batchId: string, target: string, runId: number, results: readonly ItemResult[], members?: readonly PendingUser[], log?: BatchTiming): AckCounts {
    return this.#write(() => {
      const counts = this.#ackBatch(batchId, target, runId, results, members, log);
      if (this.#pendingAcks >= ACK_MERGE_ROWS) this.mergeAcks();
      return counts;
    });
  }

  /**
   * While on (a run in progress), acknowledged credentials are appended to a log and merged into
   * what `screen()` and the other readers see only by mergeAcks(): at the end of the run, or every
   * ACK_MERGE_ROWS. A run screens each user once, before its own acknowledgement, so it never needs
   * to read one back; a disable is rare and is written at once. Turning it off merges.
   */
  deferAcks(on: boolean): void {
    this.#write(() => {
      this.#deferAcks = on;
      if (!on) this.mergeAcks();
    });
  }

  /** Moves the acknowledgement log into `synced`, in one transaction; returns the users merged. */
  mergeAcks(): number {
    return this.#write(() => {
      if (this.#pendingAcks === 0) return 0;
      const merged = this.#mergeAcks();
      this.#pendingAcks = 0;
      return merged;
    });
  }

  /** Forgets a batch the target never applied: its users are simply not acknowledged, so they are redone. */
  dropBatch(batchId: string): void {
    this.#write(() => {
      this.#db.prepare('DELETE FROM batches WHERE batch_id = ?').run(batchId);
    });
  }

  recordStatus(status: UserStatus): void {
    this.#statuses.push(status);
    if (this.#statuses.length >= STATUS_FLUSH_SIZE) this.flushStatuses();
  }

  flushStatuses(): void {
    this.#write(() => {
      if (this.#statuses.length === 0) return;
      this.#writeStatuses(this.#statuses, this.#runId);
      this.#statuses.length = 0;
    });
  }

  /** The last status of a user: a stored one, or success when some target holds it in sync. */
  userStatus(source: string, anchor: string): UserStatus | undefined {
    const row = this.#db.prepare<[string, string], { upn: string | null; status: UserStatus['status']; reason: string | null; error_message: string | null }>('SELECT upn, status, reason, error_message FROM users WHERE source = ? AND anchor = ?').get(source, anchor);
    if (row !== undefined) {
      return { source, anchor, ...(row.upn === null ? {} : { userPrincipalName: row.upn }), status: row.status, ...(row.reason === null ? {} : { reason: row.reason }), ...(row.error_message === null ? {} : { message: row.error_message }) };
    }
    const synced = this.#db.prepare<[string, string], { upn: string }>('SELECT upn FROM synced WHERE source = ? AND anchor = ? ORDER BY run_id DESC, synced_at DESC LIMIT 1').get(source, anchor);
    return synced === undefined ? undefined : { source, anchor, userPrincipalName: synced.upn, status: 'success' };
  }

  runs(limit: number): RunRecord[] {
    return this.#db.prepare<[number], RunRow>('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit).map(runRecord);
  }

  /**
   * The newest run still marked running. Whether an engine is really running it is the engine lock's
   * to say: a killed engine leaves its run marked running until the next run marks it aborted.
   */
  runningRun(): RunRecord | undefined {
    const row = this.#db.prepare<[], RunRow>(`SELECT * FROM runs WHERE status = 'running' ORDER BY id DESC LIMIT 1`).get();
    return row === undefined ? undefined : runRecord(row);
  }

  /**
   * The newest run that completed its cycle: succeeded, or partial (every user was read; some failed,
   * and they are listed). Failed, aborted and interrupted runs did not complete one.
   */
  lastCompletedRun(): RunRecord | undefined {
    const row = this.#db.prepare<[], RunRow>(`SELECT * FROM runs WHERE status IN ('succeeded', 'partial') ORDER BY id DESC LIMIT 1`).get();
    return row === undefined ? undefined : runRecord(row);
  }

  /** The sources that runs were recorded for, by name. */
  runSources(): string[] {
    return this.#db.prepare<[], string>('SELECT DISTINCT source FROM runs ORDER BY source').pluck().all();
  }

  /** Every source's watermark (where its last cycle that read to the end got to), sorted by source. */
  watermarks(): Watermark[] {
    type Row = { source: string; kind: string; value: string; scope_hash: string; full_scan_at: number; updated_at: number };
    return this.#db.prepare<[], Row>('SELECT source, kind, value, scope_hash, full_scan_at, updated_at FROM watermarks ORDER BY source').all().map((r) => ({
      source: r.source,
      kind: r.kind,
      value: r.value,
      scopeHash: r.scope_hash,
      fullScanAt: r.full_scan_at,
      updatedAt: r.updated_at,
    }));
  }

  /**
   * Deletes history events older than `olderThanMs` milliseconds (Infinity: none), in transactions of
   * at most `chunkRows` events so that a huge prune never holds the write lock for long. Returns how
   * many were deleted. The batch log and samples of runs that ended that long ago (`phsync report`'s
   * data) go too, in the same bounded chunks; they are not in the count.
   */
  pruneHistory(olderThanMs: number, chunkRows: number = PRUNE_CHUNK_ROWS): number {
    return this.#write(() => {
      if (Number.isNaN(olderThanMs) || olderThanMs < 0) throw new RangeError(`pruneHistory: olderThanMs must be 0 or more, got ${olderThanMs}`);
      if (!Number.isInteger(chunkRows) || chunkRows < 1) throw new RangeError(`pruneHistory: chunkRows must be a whole number from 1, got ${chunkRows}`);
      const cutoff = Date.now() - olderThanMs;
      if (!Number.isFinite(cutoff)) return 0;
      // Events are appended in time order, so the lowest ids are the oldest events: walking from the
      // start of the table finds them without an index, and a glance at the first row says when to stop
      // (so a run start with nothing to prune costs one row read). Each chunk is its own transaction.
      const oldest = this.#db.prepare<[], number>('SELECT at FROM user_events ORDER BY id LIMIT 1').pluck();
      const prune = this.#db.prepare('DELETE FROM user_events WHERE id IN (SELECT id FROM user_events ORDER BY id LIMIT ?) AND at < ?');
      let deleted = 0;
      for (;;) {
        const first = oldest.get();
        if (first === undefined || first >= cutoff) break;
        const { changes } = prune.run(chunkRows, cutoff);
        deleted += changes;
        if (changes === 0) break;
      }
      this.#pruneRunLog('batch_log', 'id', cutoff, chunkRows);
      this.#pruneRunLog('run_samples', 'at', cutoff, chunkRows);
      return deleted;
    });
  }

  /**
   * Deletes a run log's rows of runs that ended before `cutoff` (or never ended and are no longer
   * running: aborted), oldest run first. Runs follow one another under the engine lock, so walking the
   * run ids up from the oldest with rows stops at the first recent run (one indexed read when there is
   * nothing to prune). A row whose run is not recorded goes too.
   */
  #pruneRunLog(table: 'batch_log' | 'run_samples', key: 'id' | 'at', cutoff: number, chunkRows: number): void {
    const oldestRun = this.#db.prepare<[], number | null>(`SELECT min(run_id) FROM ${table}`).pluck();
    const recent = this.#db.prepare<[number, number], number>(`SELECT 1 FROM runs WHERE id = ? AND (status = 'running' OR coalesce(finished_at, started_at) >= ?)`).pluck();
    const prune = this.#db.prepare<[number, number, number]>(`DELETE FROM ${table} WHERE run_id = ? AND ${key} IN (SELECT ${key} FROM ${table} WHERE run_id = ? ORDER BY ${key} LIMIT ?)`);
    for (;;) {
      const runId = oldestRun.get();
      if (runId === undefined || runId === null || recent.get(runId, cutoff) !== undefined) return;
      if (prune.run(runId, runId, chunkRows).changes === 0) return;
    }
  }

  /**
   * Everything known about the users a query names (a UPN, case-insensitive, or an anchor): per
   * (source, anchor), the current status, the targets that hold it, and its events, newest first.
   * Empty when no user matches.
   */
  userHistory(query: UserHistoryQuery): UserHistory[] {
    return readUserHistory(this.#db, query, (source, anchor) => this.userStatus(source, anchor), (source, anchor) => this.leaks.get(source, anchor));
  }

  close(): void {
    if (!this.#db.open) return;
    try {
      // After a failed write (a full disk) the run has already stopped with that error: what is not
      // yet written (statuses, acknowledgements still in the log) is redone by the next run.
      if (this.#failed !== undefined) return;
      this.flushStatuses();
      // Only an engine's own log: a reader (status, explain, report) never writes. A killed engine's
      // leftovers are merged by the next run's beginRun().
      if (this.#appendedHere) this.mergeAcks();
    } finally {
      this.#db.close();
    }
  }

  /**
   * Runs a write; one the file system refuses (disk full, I/O error) becomes a named fatal error
   * (STORE_DISK_FULL, STORE_WRITE_FAILED) instead of a raw SQLite one, and is remembered so that
   * close() does not try again.
   */
  #write<T>(fn: () => T): T {
    try {
      return fn();
    } catch (err) {
      const error = storeWriteError(err, 'state store', this.path);
      if (error === undefined) throw err;
      this.#failed ??= error;
      throw error;
    }
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Every user this target acknowledged for this source, in anchor order. Read in pages, with no
   * statement open between them, so the caller may record and acknowledge batches while iterating.
   */
  *syncedAnchors(target: string, source: string): IterableIterator<{ anchor: string; userPrincipalName: string; disabled: boolean }> {
    const page = this.#db.prepare<[string, string, string], { anchor: string; upn: string; disabled: number }>('SELECT anchor, upn, disabled FROM synced WHERE target = ? AND source = ? AND anchor > ? ORDER BY anchor LIMIT 1000');
    for (let after = ''; ; ) {
      const rows = page.all(target, source, after);
      for (const row of rows) yield { anchor: row.anchor, userPrincipalName: row.upn, disabled: row.disabled === 1 };
      if (rows.length < 1000) return;
      after = rows[rows.length - 1]!.anchor;
    }
  }
}

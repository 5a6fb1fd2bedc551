import type { ItemResult } from '../target/credential-batch.ts';
import { openVersionedDatabase } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import { fingerprinter, loadOrCreateFingerprintKey } from './fingerprint-key.ts';
import type { Fingerprinter } from './fingerprint-key.ts';
import { STATE_SCHEMA } from './state-schema.ts';
import type { RunRecord, RunStatus, UserStatus } from './state-types.ts';

/** A user on its way to a target: what the state store needs to acknowledge it later. */
export interface PendingUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly fingerprint: Buffer;
  readonly forceChange: boolean;
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
}

export interface AckCounts {
  applied: number;
  stale: number;
  invalid: number;
}

// Status rows are written in transactions of this many; one transaction per user would bound a run
// by fsyncs instead of by hashing.
const STATUS_FLUSH_SIZE = 2000;

/** A batch member as kept in `batches.members`: source, anchor, upn, fingerprint hex, force-change. */
type StoredMember = [string, string, string, string, 0 | 1];

/** Success, or skipped because nothing changed: the user is in sync and needs no status row. */
function inSync(status: UserStatus): boolean {
  return status.status === 'success' || (status.status === 'skipped' && status.reason === 'unchanged');
}

export class StateStore implements Disposable {
  readonly path: string;
  readonly fingerprint: Fingerprinter;
  readonly #db: SqliteDatabase;
  readonly #statuses: UserStatus[] = [];
  readonly #writeStatuses: (statuses: readonly UserStatus[], runId: number) => void;
  readonly #recordBatch: (runId: number, target: string, batchId: string, users: readonly PendingUser[]) => void;
  readonly #ackBatch: (batchId: string, target: string, runId: number, results: readonly ItemResult[]) => AckCounts;
  readonly #screen: (target: string, users: readonly UserKey[]) => (SyncedUser | undefined)[];
  #runId = 0;

  private constructor(path: string, db: SqliteDatabase, fingerprint: Fingerprinter) {
    this.path = path;
    this.#db = db;
    this.fingerprint = fingerprint;

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
    this.#writeStatuses = db.transaction((statuses: readonly UserStatus[], runId: number) => {
      const now = Date.now();
      for (const s of statuses) {
        if (inSync(s)) clearStatus.run(s.source, s.anchor);
        else upsertStatus.run({ source: s.source, anchor: s.anchor, upn: s.userPrincipalName ?? null, status: s.status, reason: s.reason ?? null, message: s.message ?? null, runId, now });
      }
    });

    const selectSynced = db.prepare<[string, string, string], { fingerprint: Buffer; upn: string; force_change: number }>('SELECT fingerprint, upn, force_change FROM synced WHERE target = ? AND source = ? AND anchor = ?');
    // One read transaction per window: a statement outside a transaction pays for starting its own
    // (a few µs of locking each), which at millions of users is much of the engine's own cost.
    this.#screen = db.transaction((target: string, users: readonly UserKey[]): (SyncedUser | undefined)[] =>
      users.map(({ source, anchor }) => {
        const row = selectSynced.get(target, source, anchor);
        return row === undefined ? undefined : { fingerprint: row.fingerprint, userPrincipalName: row.upn, forceChange: row.force_change === 1 };
      }),
    );

    const insertBatch = db.prepare('INSERT INTO batches (batch_id, run_id, target, created_at, members) VALUES (?, ?, ?, ?, ?)');
    this.#recordBatch = (runId, target, batchId, users) => {
      const members: StoredMember[] = users.map((u) => [u.source, u.anchor, u.userPrincipalName, u.fingerprint.toString('hex'), u.forceChange ? 1 : 0]);
      insertBatch.run(batchId, runId, target, Date.now(), JSON.stringify(members));
    };

    const batchMembers = db.prepare<[string], string>('SELECT members FROM batches WHERE batch_id = ?').pluck();
    const upsertSynced = db.prepare(`
      INSERT INTO synced (target, source, anchor, fingerprint, upn, force_change, run_id, synced_at)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (target, source, anchor) DO UPDATE SET
        fingerprint = excluded.fingerprint, upn = excluded.upn, force_change = excluded.force_change,
        run_id = excluded.run_id, synced_at = excluded.synced_at`);
    const deleteBatch = db.prepare('DELETE FROM batches WHERE batch_id = ?');
    this.#ackBatch = db.transaction((batchId: string, target: string, runId: number, results: readonly ItemResult[]) => {
      const stored = batchMembers.get(batchId);
      const users = stored === undefined ? [] : (JSON.parse(stored) as StoredMember[]);
      if (users.length !== results.length) {
        throw new RangeError(`batch ${batchId}: ${results.length} results for ${users.length} users`);
      }
      const counts: AckCounts = { applied: 0, stale: 0, invalid: 0 };
      const now = Date.now();
      const statuses: UserStatus[] = [];
      users.forEach(([source, anchor, upn, fingerprint, forceChange], i) => {
        const result = results[i]!;
        counts[result.status]++;
        if (result.status === 'applied') {
          upsertSynced.run(target, source, anchor, Buffer.from(fingerprint, 'hex'), upn, forceChange, runId, now);
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'success' });
        } else if (result.status === 'stale') {
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'skipped', reason: 'target-newer' });
        } else {
          statuses.push({ source, anchor, userPrincipalName: upn, status: 'error', reason: 'TARGET_REJECTED', message: result.reason });
        }
      });
      this.#writeStatuses(statuses, runId);
      deleteBatch.run(batchId);
      return counts;
    });
  }

  static open(path: string): StateStore {
    const db = openVersionedDatabase(path, STATE_SCHEMA);
    try {
      return new StateStore(path, db, fingerprinter(loadOrCreateFingerprintKey(path)));
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Starts a run. Runs still marked running were killed (the caller holds the engine lock). */
  beginRun(kind: string, source: string, target: string): number {
    this.#db.prepare(`UPDATE runs SET status = 'aborted' WHERE status = 'running'`).run();
    const info = this.#db.prepare(`INSERT INTO runs (kind, source, target, started_at, status) VALUES (?, ?, ?, ?, 'running')`).run(kind, source, target, Date.now());
    this.#runId = Number(info.lastInsertRowid);
    return this.#runId;
  }

  finishRun(runId: number, status: RunStatus, counts: unknown, error?: string): void {
    this.flushStatuses();
    this.#db.prepare('UPDATE runs SET finished_at = ?, status = ?, counts = ?, error = ? WHERE id = ?').run(Date.now(), status, JSON.stringify(counts), error ?? null, runId);
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
    this.#recordBatch(runId, target, batchId, users);
  }

  ackBatch(batchId: string, target: string, runId: number, results: readonly ItemResult[]): AckCounts {
    return this.#ackBatch(batchId, target, runId, results);
  }

  /** Forgets a batch the target never applied: its users are simply not acknowledged, so they are redone. */
  dropBatch(batchId: string): void {
    this.#db.prepare('DELETE FROM batches WHERE batch_id = ?').run(batchId);
  }

  recordStatus(status: UserStatus): void {
    this.#statuses.push(status);
    if (this.#statuses.length >= STATUS_FLUSH_SIZE) this.flushStatuses();
  }

  flushStatuses(): void {
    if (this.#statuses.length === 0) return;
    this.#writeStatuses(this.#statuses, this.#runId);
    this.#statuses.length = 0;
  }

  /** The last status of a user: a stored one, or success when some target holds it in sync. */
  userStatus(source: string, anchor: string): UserStatus | undefined {
    const row = this.#db.prepare<[string, string], { upn: string | null; status: UserStatus['status']; reason: string | null; error_message: string | null }>('SELECT upn, status, reason, error_message FROM users WHERE source = ? AND anchor = ?').get(source, anchor);
    if (row !== undefined) {
      return { source, anchor, ...(row.upn === null ? {} : { userPrincipalName: row.upn }), status: row.status, ...(row.reason === null ? {} : { reason: row.reason }), ...(row.error_message === null ? {} : { message: row.error_message }) };
    }
    const synced = this.#db.prepare<[string, string], { upn: string }>('SELECT upn FROM synced WHERE source = ? AND anchor = ? ORDER BY synced_at DESC LIMIT 1').get(source, anchor);
    return synced === undefined ? undefined : { source, anchor, userPrincipalName: synced.upn, status: 'success' };
  }

  runs(limit: number): RunRecord[] {
    type Row = { id: number; kind: string; source: string; target: string; started_at: number; finished_at: number | null; status: RunStatus; counts: string | null; error: string | null };
    return this.#db.prepare<[number], Row>('SELECT * FROM runs ORDER BY id DESC LIMIT ?').all(limit).map((r) => ({
      id: r.id,
      kind: r.kind,
      source: r.source,
      target: r.target,
      startedAt: r.started_at,
      finishedAt: r.finished_at ?? undefined,
      status: r.status,
      counts: r.counts === null ? undefined : (JSON.parse(r.counts) as Record<string, unknown>),
      error: r.error ?? undefined,
    }));
  }

  close(): void {
    if (!this.#db.open) return;
    this.flushStatuses();
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

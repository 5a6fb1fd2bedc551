/**
 * Per-user diagnostics: what the state store knows about one user (its current status, where it is
 * synced) and what the last cycles did to it (`user_events`, kept for the retention period). Read
 * only; the events are written by the state store in the same transaction as the status they record.
 * Nothing here is a hash or a credential: fingerprints are never selected.
 */
import type { LeakFinding } from './leak-findings.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import type { UserStatus, UserStatusKind } from './state-types.ts';

export const DEFAULT_HISTORY_RETENTION_MS = 7 * 24 * 60 * 60 * 1000;
export const DEFAULT_HISTORY_LIMIT = 50;

export interface UserHistoryQuery {
  /** A user principal name (compared case-insensitively, current or past) or a source anchor (exact). */
  readonly user: string;
  /** Only this source's users. */
  readonly source?: string;
  /** At most this many events per user, newest first (default 50). */
  readonly limit?: number;
}

/** One target's acknowledgement of the user. */
export interface SyncedAt {
  readonly target: string;
  readonly runId: number;
  /** Epoch milliseconds. */
  readonly syncedAt: number;
  /** The target was told the user is disabled (sign-in refused there). */
  readonly disabled: boolean;
  /** The sign-in name the target holds. */
  readonly userPrincipalName: string;
}

/** What one cycle did to the user. Raw values, as stored; `referenceStatus` words them for people. */
export interface UserEvent {
  readonly runId: number;
  /** The run's kind (full, delta…); "unknown" if the run is not recorded. */
  readonly runKind: string;
  /** Epoch milliseconds. */
  readonly at: number;
  /** The sign-in name the user had then, when it had one. */
  readonly userPrincipalName?: string;
  readonly status: UserStatusKind;
  /** For skipped: why; for error: the error code. */
  readonly reason?: string;
  readonly message?: string;
}

/** Everything known about one user of one source. */
export interface UserHistory {
  readonly source: string;
  readonly anchor: string;
  /** The current sign-in name: the last status's, else a target's, else the newest event's. */
  readonly userPrincipalName: string | undefined;
  /** As `StateStore.userStatus`: the stored status, or success when some target holds the user in sync. */
  readonly current: UserStatus | undefined;
  /** Newest first. */
  readonly synced: SyncedAt[];
  /** Newest first, at most `limit`. */
  readonly events: UserEvent[];
  /** The last password a sync hashed for the user was in the leaked-password list. */
  readonly leaked?: LeakFinding;
}

const MISSING_ATTRIBUTE_CODES: ReadonlySet<string> = new Set(['MISSING_ANCHOR', 'MISSING_USER_PRINCIPAL_NAME', 'MISSING_NT_HASH']);

/**
 * A status in the reference system's words (Entra Connect's per-object password sync results):
 * Success, Skipped (reason), MissingAttribute (code), Error (code): message.
 */
export function referenceStatus(s: { readonly status: UserStatusKind; readonly reason?: string | undefined; readonly message?: string | undefined }): string {
  if (s.reason === 'target-newer') return 'Skipped (target-newer)';
  switch (s.status) {
    case 'success':
      return 'Success';
    case 'skipped':
      return s.reason === undefined ? 'Skipped' : `Skipped (${s.reason})`;
    case 'error':
      if (s.reason !== undefined && MISSING_ATTRIBUTE_CODES.has(s.reason)) return `MissingAttribute (${s.reason})`;
      return `Error (${s.reason ?? 'UNKNOWN'})${s.message === undefined ? '' : `: ${s.message}`}`;
  }
}

/** A status written to `user_events`: all but "skipped: unchanged", which means the cycle did not touch the user. */
export function isUserEvent(s: UserStatus): boolean {
  return !(s.status === 'skipped' && s.reason === 'unchanged');
}

type Key = { source: string; anchor: string };

/**
 * The distinct values of the leading column(s) of an index, by a loose index scan (one B-tree seek
 * per value instead of reading the whole table): `table` keyed by (`column`, …), optionally under a
 * fixed `prefix` column = value.
 */
function distinctLeading(db: SqliteDatabase, table: string, column: string, prefix?: { column: string; value: string }): string[] {
  const where = prefix === undefined ? '' : `${prefix.column} = @prefix AND `;
  const sql = `
    WITH RECURSIVE v(x) AS (
      SELECT (SELECT min(${column}) FROM ${table} WHERE ${where}${column} IS NOT NULL)
      UNION ALL
      SELECT (SELECT min(${column}) FROM ${table} WHERE ${where}${column} > v.x) FROM v WHERE v.x IS NOT NULL
    )
    SELECT x FROM v WHERE x IS NOT NULL`;
  const statement = db.prepare<unknown[], string>(sql).pluck();
  return prefix === undefined ? statement.all() : statement.all({ prefix: prefix.value });
}

/** Reads the history of every user matching the query, grouped per (source, anchor), most recently active first. */
export function readUserHistory(
  db: SqliteDatabase,
  query: UserHistoryQuery,
  currentStatus: (source: string, anchor: string) => UserStatus | undefined,
  leakOf: (source: string, anchor: string) => LeakFinding | undefined,
): UserHistory[] {
  const limit = query.limit ?? DEFAULT_HISTORY_LIMIT;
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`history limit must be a whole number from 1, got ${limit}`);
  return db.transaction(() => {
    const targets = distinctLeading(db, 'synced', 'target');
    const keys = matchingUsers(db, query, targets);
    const events = db.prepare<[string, string, number], { run_id: number; kind: string | null; at: number; upn: string | null; status: UserStatusKind; reason: string | null; message: string | null }>(`
      SELECT e.run_id, r.kind, e.at, e.upn, e.status, e.reason, e.message
      FROM user_events e LEFT JOIN runs r ON r.id = e.run_id
      WHERE e.source = ? AND e.anchor = ?
      ORDER BY e.at DESC, e.id DESC LIMIT ?`);
    const synced = db.prepare<[string, string, string], { run_id: number; synced_at: number; disabled: number; upn: string }>('SELECT run_id, synced_at, disabled, upn FROM synced WHERE target = ? AND source = ? AND anchor = ?');
    const histories = keys.map(({ source, anchor }): UserHistory => {
      const current = currentStatus(source, anchor);
      const at: SyncedAt[] = [];
      for (const target of targets) {
        const row = synced.get(target, source, anchor);
        if (row !== undefined) at.push({ target, runId: row.run_id, syncedAt: row.synced_at, disabled: row.disabled === 1, userPrincipalName: row.upn });
      }
      at.sort((a, b) => b.syncedAt - a.syncedAt || b.runId - a.runId);
      const list = events.all(source, anchor, limit).map((r): UserEvent => ({
        runId: r.run_id,
        runKind: r.kind ?? 'unknown',
        at: r.at,
        ...(r.upn === null ? {} : { userPrincipalName: r.upn }),
        status: r.status,
        ...(r.reason === null ? {} : { reason: r.reason }),
        ...(r.message === null ? {} : { message: r.message }),
      }));
      const userPrincipalName = current?.userPrincipalName ?? at[0]?.userPrincipalName ?? list.find((e) => e.userPrincipalName !== undefined)?.userPrincipalName;
      const leaked = leakOf(source, anchor);
      return { source, anchor, userPrincipalName, current, synced: at, events: list, ...(leaked === undefined ? {} : { leaked }) };
    });
    const lastActive = (h: UserHistory): number => Math.max(h.events[0]?.at ?? 0, h.synced[0]?.syncedAt ?? 0);
    return histories.sort((a, b) => lastActive(b) - lastActive(a) || a.source.localeCompare(b.source) || a.anchor.localeCompare(b.anchor));
  })();
}

/**
 * The (source, anchor) pairs the query names. As an anchor: one indexed lookup per known source. As a
 * user principal name (case-insensitive, ASCII folding as SQLite's NOCASE): the events' index, plus a
 * scan of `users` and `synced`, which have no index on it (a diagnostic's cost, not the sync's: an
 * index there would be one more random-key B-tree write per acknowledged user).
 */
function matchingUsers(db: SqliteDatabase, query: UserHistoryQuery, targets: readonly string[]): Key[] {
  const found = new Map<string, Key>();
  const add = (k: Key): void => {
    if (query.source !== undefined && k.source !== query.source) return;
    found.set(`${k.source}\u0000${k.anchor}`, { source: k.source, anchor: k.anchor });
  };

  const sources = new Set<string>([...distinctLeading(db, 'users', 'source'), ...distinctLeading(db, 'user_events', 'source')]);
  for (const target of targets) for (const s of distinctLeading(db, 'synced', 'source', { column: 'target', value: target })) sources.add(s);
  const inUsers = db.prepare<[string, string], number>('SELECT 1 FROM users WHERE source = ? AND anchor = ?').pluck();
  const inEvents = db.prepare<[string, string], number>('SELECT 1 FROM user_events WHERE source = ? AND anchor = ? LIMIT 1').pluck();
  const inSynced = db.prepare<[string, string, string], number>('SELECT 1 FROM synced WHERE target = ? AND source = ? AND anchor = ?').pluck();
  for (const source of sources) {
    if (query.source !== undefined && source !== query.source) continue;
    const anchor = query.user;
    if (inUsers.get(source, anchor) !== undefined || inEvents.get(source, anchor) !== undefined || targets.some((t) => inSynced.get(t, source, anchor) !== undefined)) {
      add({ source, anchor });
    }
  }

  const upn = query.user;
  for (const k of db.prepare<[string], Key>('SELECT DISTINCT source, anchor FROM user_events WHERE upn = ? COLLATE NOCASE').all(upn)) add(k);
  for (const k of db.prepare<[string], Key>('SELECT source, anchor FROM users WHERE upn = ? COLLATE NOCASE').all(upn)) add(k);
  for (const k of db.prepare<[string], Key>('SELECT DISTINCT source, anchor FROM synced WHERE upn = ? COLLATE NOCASE').all(upn)) add(k);
  return [...found.values()];
}

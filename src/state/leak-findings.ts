import type { SqliteDatabase } from '../sqlite/open-database.ts';

/** What a sync did with a user whose password is in the leaked-password list. */
export type LeakAction = 'flagged' | 'not-synced';

export interface LeakFinding {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly runId: number;
  /** Epoch milliseconds. */
  readonly foundAt: number;
  readonly action: LeakAction;
}

interface Row {
  source: string;
  anchor: string;
  upn: string;
  run_id: number;
  found_at: number;
  action: LeakAction;
}

const toFinding = (r: Row): LeakFinding => ({ source: r.source, anchor: r.anchor, userPrincipalName: r.upn, runId: r.run_id, foundAt: r.found_at, action: r.action });

/** A user's key in memory: the source's length keeps ("a", "bc") apart from ("ab", "c"). */
const keyOf = (source: string, anchor: string): string => `${source.length}:${source}${anchor}`;

/**
 * The `leaked_users` table: who was last hashed with a password found in the leaked list. A user
 * hashed again with a password not in it is cleared. Clearing would cost a DELETE for every user
 * hashed (most of whom were never marked), so the marked users' keys are also held in memory (the
 * leaked users only: ~100 bytes each), and only marked users are deleted: a sync whose users are
 * clean writes nothing here.
 */
export class LeakFindings {
  readonly #record: (runId: number, found: readonly Omit<LeakFinding, 'runId' | 'foundAt'>[], cleared: readonly { source: string; anchor: string }[]) => void;
  readonly #get: (source: string, anchor: string) => Row | undefined;
  /** The key of every marked user (loaded at open, kept up to date). */
  readonly #marked = new Set<string>();
  /** The state store's guard for writes: a full disk becomes its named error, and stops further writes. */
  readonly #guard: (write: () => void) => void;

  constructor(db: SqliteDatabase, guard: (write: () => void) => void = (write) => write()) {
    this.#guard = guard;
    const upsert = db.prepare('INSERT OR REPLACE INTO leaked_users (source, anchor, upn, run_id, found_at, action) VALUES (?, ?, ?, ?, ?, ?)');
    const remove = db.prepare('DELETE FROM leaked_users WHERE source = ? AND anchor = ?');
    for (const k of db.prepare<[], { source: string; anchor: string }>('SELECT source, anchor FROM leaked_users').iterate()) this.#marked.add(keyOf(k.source, k.anchor));
    this.#record = db.transaction((runId, found, cleared) => {
      const now = Date.now();
      for (const c of cleared) remove.run(c.source, c.anchor);
      for (const f of found) upsert.run(f.source, f.anchor, f.userPrincipalName, runId, now, f.action);
    });
    const get = db.prepare<[string, string], Row>('SELECT * FROM leaked_users WHERE source = ? AND anchor = ?');
    this.#get = (source, anchor) => get.get(source, anchor);
  }

  /** One batch's findings, in one transaction: `found` are marked, `cleared` (hashed, not found) unmarked. */
  record(runId: number, found: readonly Omit<LeakFinding, 'runId' | 'foundAt'>[], cleared: readonly { source: string; anchor: string }[]): void {
    const marked = this.#marked.size === 0 ? [] : cleared.filter((c) => this.#marked.has(keyOf(c.source, c.anchor)));
    if (found.length === 0 && marked.length === 0) return;
    this.#guard(() => this.#record(runId, found, marked));
    // After the commit: a transaction that throws leaves the set as the table is.
    for (const c of marked) this.#marked.delete(keyOf(c.source, c.anchor));
    for (const f of found) this.#marked.add(keyOf(f.source, f.anchor));
  }

  get(source: string, anchor: string): LeakFinding | undefined {
    const row = this.#get(source, anchor);
    return row === undefined ? undefined : toFinding(row);
  }

  /** Users marked. */
  get size(): number {
    return this.#marked.size;
  }
}

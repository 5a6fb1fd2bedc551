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

/**
 * The `leaked_users` table: who was last hashed with a password found in the leaked list. A user
 * hashed again with a password not in it is cleared. The table is small (the leaked users), so the
 * clearing is skipped outright while it is empty: a full sync of a clean directory pays nothing.
 */
export class LeakFindings {
  readonly #record: (runId: number, found: readonly Omit<LeakFinding, 'runId' | 'foundAt'>[], cleared: readonly { source: string; anchor: string }[]) => void;
  readonly #get: (source: string, anchor: string) => Row | undefined;
  #rows: number;

  constructor(db: SqliteDatabase) {
    const upsert = db.prepare('INSERT OR REPLACE INTO leaked_users (source, anchor, upn, run_id, found_at, action) VALUES (?, ?, ?, ?, ?, ?)');
    const remove = db.prepare('DELETE FROM leaked_users WHERE source = ? AND anchor = ?');
    const count = db.prepare<[], number>('SELECT count(*) FROM leaked_users').pluck();
    this.#rows = count.get() ?? 0;
    this.#record = db.transaction((runId, found, cleared) => {
      const now = Date.now();
      for (const f of found) upsert.run(f.source, f.anchor, f.userPrincipalName, runId, now, f.action);
      if (this.#rows > 0 || found.length > 0) for (const c of cleared) remove.run(c.source, c.anchor);
      this.#rows = count.get() ?? 0;
    });
    const get = db.prepare<[string, string], Row>('SELECT * FROM leaked_users WHERE source = ? AND anchor = ?');
    this.#get = (source, anchor) => get.get(source, anchor);
  }

  /** One batch's findings, in one transaction: `found` are marked, `cleared` (hashed, not found) unmarked. */
  record(runId: number, found: readonly Omit<LeakFinding, 'runId' | 'foundAt'>[], cleared: readonly { source: string; anchor: string }[]): void {
    if (found.length === 0 && this.#rows === 0) return;
    this.#record(runId, found, cleared);
  }

  get(source: string, anchor: string): LeakFinding | undefined {
    const row = this.#get(source, anchor);
    return row === undefined ? undefined : toFinding(row);
  }

  get size(): number {
    return this.#rows;
  }
}

import { openDatabase } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';

export interface Watermark {
  readonly source: string;
  readonly kind: string;
  readonly value: string;
  readonly scopeHash: string;
  /** When the last full scan of this source finished (ms since the epoch). */
  readonly fullScanAt: number;
  readonly updatedAt: number;
}

interface Row {
  source: string;
  kind: string;
  value: string;
  scope_hash: string;
  full_scan_at: number;
  updated_at: number;
}

/**
 * Per source, where the last successful cycle got to. Its own connection to the state store (WAL lets
 * it sit beside the engine's), opened after StateStore.open has brought the schema up.
 */
export class WatermarkStore implements Disposable {
  readonly #db: SqliteDatabase;

  constructor(statePath: string) {
    this.#db = openDatabase(statePath, 'state store');
  }

  get(source: string): Watermark | undefined {
    const row = this.#db.prepare<[string], Row>('SELECT * FROM watermarks WHERE source = ?').get(source);
    return row === undefined ? undefined : { source: row.source, kind: row.kind, value: row.value, scopeHash: row.scope_hash, fullScanAt: row.full_scan_at, updatedAt: row.updated_at };
  }

  save(w: Omit<Watermark, 'updatedAt'>): void {
    this.#db
      .prepare(`INSERT INTO watermarks (source, kind, value, scope_hash, full_scan_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (source) DO UPDATE SET kind = excluded.kind, value = excluded.value, scope_hash = excluded.scope_hash,
          full_scan_at = excluded.full_scan_at, updated_at = excluded.updated_at`)
      .run(w.source, w.kind, w.value, w.scopeHash, w.fullScanAt, Date.now());
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

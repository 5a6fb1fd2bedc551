import Database from 'better-sqlite3';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { FatalError, errorMessage } from '../errors.ts';
import { createOwnerOnly } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';

/**
 * One engine per state store. The lock is a tiny SQLite file held in exclusive locking mode: the
 * operating system releases it when the process dies, even by SIGKILL, so there are no stale lock
 * files to clean up and no PIDs to guess about.
 */
export class EngineLock implements Disposable {
  readonly #db: SqliteDatabase;

  private constructor(db: SqliteDatabase) {
    this.#db = db;
  }

  static acquire(statePath: string): EngineLock {
    const path = `${statePath}.lock`;
    mkdirSync(dirname(path), { recursive: true });
    createOwnerOnly(path);
    // Opened by hand, not with openDatabase: a held lock must fail at once, not after a busy timeout.
    const db = new Database(path, { timeout: 0 });
    try {
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec('CREATE TABLE IF NOT EXISTS holder (pid INTEGER NOT NULL, since INTEGER NOT NULL)');
      // The first write takes the exclusive lock; in this locking mode it is kept until close.
      db.exec('BEGIN EXCLUSIVE');
      db.prepare('DELETE FROM holder').run();
      db.prepare('INSERT INTO holder (pid, since) VALUES (?, ?)').run(process.pid, Date.now());
      db.exec('COMMIT');
      return new EngineLock(db);
    } catch (err) {
      db.close();
      const code = (err as { code?: unknown }).code;
      if (code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED') {
        throw new FatalError('STATE_LOCKED', `state store ${statePath} is in use by another phsync engine (lock ${path}); wait for it to finish or stop it`, { cause: err });
      }
      throw new FatalError('STATE_LOCK_FAILED', `cannot take the engine lock ${path}: ${errorMessage(err)}`, { cause: err });
    }
  }

  release(): void {
    if (this.#db.open) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.release();
  }
}

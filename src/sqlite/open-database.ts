import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { FatalError, errorMessage } from '../errors.ts';

export type SqliteDatabase = Database.Database;

/**
 * Opens a SQLite file the way every phsync store wants it: WAL (readers never wait for the writer),
 * synchronous=NORMAL (a power cut may lose the last commits but never corrupts them; acknowledgements
 * lost that way are re-derived on resume), a busy timeout, and a named fatal error instead of a raw
 * SQLITE_* code.
 */
/** SQLite's page cache per connection, in KiB, unless the store asks for another size. */
const CACHE_KIB = 16 * 1024;

/**
 * Creates `path` empty and owner-only (0600) unless it exists. SQLite would create it with the
 * process umask (0644 as a rule), and gives its -wal and -shm files the mode of the database file:
 * stores that hold fingerprints or credentials are readable by their owner only. An existing file's
 * mode is left as the operator set it.
 */
export function createOwnerOnly(path: string): void {
  try {
    closeSync(openSync(path, 'wx', 0o600));
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
  }
}

export function openDatabase(path: string, what: string, options: { readonly readonly?: boolean; readonly cacheKiB?: number } = {}): SqliteDatabase {
  let db: SqliteDatabase | undefined;
  try {
    if (options.readonly !== true && path !== ':memory:') {
      mkdirSync(dirname(path), { recursive: true });
      createOwnerOnly(path);
    }
    db = new Database(path, { readonly: options.readonly === true, fileMustExist: options.readonly === true });
    db.pragma('busy_timeout = 5000');
    // Touch the schema so that a file that is not a database fails here, with a clear message.
    db.prepare('SELECT count(*) FROM sqlite_schema').get();
    if (options.readonly !== true) {
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      // Users are keyed by random ids (UUIDs), so lookups and upserts land on random pages; a page
      // cache that holds the B-tree's upper levels and recent leaves saves a read per lookup. 16 MiB,
      // not more: the engine holds two (state, embedded tenant), each fills to its limit in a full
      // sync of a million users, and a miss costs a read from the OS page cache, not the disk
      // (1M-user sync: peak RSS 532 → 403 MiB against 64 MiB caches; native-bench/e2e.bench.ts).
      db.pragma(`cache_size = -${options.cacheKiB ?? CACHE_KIB}`);
      // Checkpoint every ~40 MB of WAL instead of 4 MB: random-key upserts dirty the same pages again
      // and again, and a larger checkpoint writes each of them once.
      db.pragma('wal_autocheckpoint = 10000');
    }
    return db;
  } catch (err) {
    db?.close();
    const code = (err as { code?: unknown }).code;
    if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') {
      throw new FatalError('STORE_CORRUPT', `${what} ${path} is not a SQLite database or is corrupt; it was left untouched`, { cause: err });
    }
    const writeError = storeWriteError(err, what, path);
    if (writeError !== undefined) throw writeError;
    if (code === 'SQLITE_CANTOPEN') {
      throw new FatalError('STORE_CANNOT_OPEN', `${what} ${path} cannot be opened: ${errorMessage(err)}`, { cause: err });
    }
    throw new FatalError('STORE_OPEN_FAILED', `${what} ${path}: ${errorMessage(err)}`, { cause: err });
  }
}

/**
 * A write that the file system refused (SQLite's SQLITE_FULL, SQLITE_IOERR_*) as a named fatal error
 * that says what to do; undefined for any other error. Nothing half-written stays: SQLite rolls the
 * transaction back, and the next run resumes from the last commit.
 */
export function storeWriteError(err: unknown, what: string, path: string): FatalError | undefined {
  const code = (err as { code?: unknown }).code;
  if (typeof code !== 'string') return undefined;
  if (code === 'SQLITE_FULL' || (code.startsWith('SQLITE_IOERR') && /ENOSPC|no space/i.test(errorMessage(err)))) {
    return new FatalError('STORE_DISK_FULL', `${what} ${path}: the disk is full (${code}); nothing was half-written: free space (or move the store) and run again, the next run resumes where this one stopped`, { cause: err });
  }
  if (code.startsWith('SQLITE_IOERR') || code === 'SQLITE_READONLY') {
    return new FatalError('STORE_WRITE_FAILED', `${what} ${path}: a write failed (${code}: ${errorMessage(err)}); nothing was half-written: fix the file system and run again, the next run resumes where this one stopped`, { cause: err });
  }
  return undefined;
}

export interface VersionedSchema {
  /** What the store is, for messages ("state store"). */
  readonly what: string;
  /** The key/value table that holds `schema_version`. */
  readonly metaTable: string;
  readonly version: number;
  /** The store's tables at `version`, created when missing (a new store). */
  readonly ddl: string;
  /**
   * Steps that bring an existing store from version N-1 to N, keyed by N. Applied in order, in one
   * transaction with the version bump, so a store is never left half-migrated.
   */
  readonly migrations?: Readonly<Record<number, string>>;
  /** Its page cache in KiB, when the default (16 MiB) does not suit how it is written and read. */
  readonly cacheKiB?: number;
}

/**
 * Opens a store and brings its schema up. Schema versions only move forward: the version is checked
 * before any other table is touched, so a store written by a newer phsync is refused, never altered.
 */
export function openVersionedDatabase(path: string, schema: VersionedSchema): SqliteDatabase {
  const db = openDatabase(path, schema.what, schema.cacheKiB === undefined ? {} : { cacheKiB: schema.cacheKiB });
  try {
    db.exec(`CREATE TABLE IF NOT EXISTS ${schema.metaTable} (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT`);
    const row = db.prepare(`SELECT value FROM ${schema.metaTable} WHERE key = 'schema_version'`).get() as { value: string } | undefined;
    const found = row === undefined ? undefined : Number(row.value);
    if (found !== undefined && found > schema.version) {
      throw new FatalError('STORE_SCHEMA_NEWER', `${schema.what} ${path} has schema version ${row!.value}; this phsync understands up to ${schema.version}. Use a newer phsync.`);
    }
    db.transaction(() => {
      if (found === undefined) {
        db.exec(schema.ddl);
        db.prepare(`INSERT INTO ${schema.metaTable} (key, value) VALUES ('schema_version', ?)`).run(String(schema.version));
        return;
      }
      for (let v = found + 1; v <= schema.version; v++) {
        const step = schema.migrations?.[v];
        if (step === undefined) throw new FatalError('STORE_SCHEMA_UNKNOWN', `${schema.what} ${path}: no way from schema version ${v - 1} to ${v}`);
        db.exec(step);
      }
      db.prepare(`UPDATE ${schema.metaTable} SET value = ? WHERE key = 'schema_version'`).run(String(schema.version));
    })();
    return db;
  } catch (err) {
    db.close();
    throw storeWriteError(err, schema.what, path) ?? err;
  }
}

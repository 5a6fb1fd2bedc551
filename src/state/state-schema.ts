/**
 * The engine's state. What the target holds is recorded per target in `synced`, keyed by a
 * fingerprint of the NT hash (never the hash itself). A batch on its way to a target is recorded in
 * `batches` before it is sent, so that a run killed at any instant can ask the target
 * whether the batch landed instead of hashing and sending it again.
 */
import type { VersionedSchema } from '../sqlite/open-database.ts';

/** What a target acknowledged for a user; `synced` holds it, `acks` logs it during a run. */
const SYNCED_COLUMNS = `
  target        TEXT    NOT NULL,
  source        TEXT    NOT NULL,
  anchor        TEXT    NOT NULL,
  fingerprint   BLOB    NOT NULL,
  upn           TEXT    NOT NULL,
  force_change  INTEGER NOT NULL,
  run_id        INTEGER NOT NULL,
  synced_at     INTEGER NOT NULL`.slice(1);

const STATE_DDL = `
CREATE TABLE IF NOT EXISTS runs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  source       TEXT    NOT NULL,
  target       TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  status       TEXT    NOT NULL,
  counts       TEXT,
  error        TEXT,
  -- The run's first errors (at most 50), JSON [{origin, code, message}]: also those of entries
  -- without an anchor, which have no user row. Since schema version 3.
  errors       TEXT
) STRICT;
CREATE TABLE IF NOT EXISTS users (
  source         TEXT    NOT NULL,
  anchor         TEXT    NOT NULL,
  upn            TEXT,
  status         TEXT    NOT NULL,
  reason         TEXT,
  error_message  TEXT,
  run_id         INTEGER NOT NULL,
  updated_at     INTEGER NOT NULL,
  PRIMARY KEY (source, anchor)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS synced (
${SYNCED_COLUMNS},
  -- 1 once the target has been told the user is disabled (or out of scope): sign-in refused there.
  disabled      INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (target, source, anchor)
) STRICT, WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS batches (
  batch_id    TEXT    PRIMARY KEY,
  run_id      INTEGER NOT NULL,
  target      TEXT    NOT NULL,
  created_at  INTEGER NOT NULL,
  -- The batch's users in order, as JSON: one row per batch instead of one per user keeps the
  -- checkpoint off the hot path. Fingerprints in hex; never an NT hash.
  members     TEXT    NOT NULL
) STRICT;
`;

/** What a cycle touched, per user, for `phsync explain`; pruned after the retention period. */
const USER_EVENTS_DDL = `
CREATE TABLE IF NOT EXISTS user_events (
  id        INTEGER PRIMARY KEY,
  run_id    INTEGER NOT NULL,
  source    TEXT    NOT NULL,
  anchor    TEXT    NOT NULL,
  upn       TEXT,
  status    TEXT    NOT NULL,
  reason    TEXT,
  message   TEXT,
  at        INTEGER NOT NULL
) STRICT;
-- No index: events are appended in time order (id), pruned from the oldest id, and read only by
-- \`phsync explain\`, which may scan. An index on (source, anchor) or upn costs a random page write
-- per user in every full sync (measured: +21 µs and +38 µs a user, 15–20% of a full sync's rate).
`;

/** Per source: where the last successful cycle got to, and the scope it ran with. */
const WATERMARKS_DDL = `
CREATE TABLE IF NOT EXISTS watermarks (
  source        TEXT    PRIMARY KEY,
  kind          TEXT    NOT NULL,
  value         TEXT    NOT NULL,
  scope_hash    TEXT    NOT NULL,
  full_scan_at  INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
`;

/**
 * What a run did over time, for `phsync report`; pruned with the user events (rows of runs that ended
 * before the retention period). Nothing here is a hash, a fingerprint or a credential: numbers only.
 *
 * `batch_log`: one row per batch the target acknowledged (about one per 256 users), with how long its
 * hashing and its write took and what the target made of it. `run_samples`: the run's totals so far,
 * at most one row a second per run.
 */
const RUN_LOG_DDL = `
CREATE TABLE IF NOT EXISTS batch_log (
  id           INTEGER PRIMARY KEY,
  run_id       INTEGER NOT NULL,
  kind         TEXT    NOT NULL,
  users        INTEGER NOT NULL,
  hash_ms      REAL    NOT NULL,
  write_ms     REAL    NOT NULL,
  finished_at  INTEGER NOT NULL,
  applied      INTEGER NOT NULL,
  stale        INTEGER NOT NULL,
  rejected     INTEGER NOT NULL
) STRICT;
CREATE INDEX IF NOT EXISTS batch_log_run ON batch_log (run_id);
CREATE TABLE IF NOT EXISTS run_samples (
  run_id   INTEGER NOT NULL,
  at       INTEGER NOT NULL,
  scanned  INTEGER NOT NULL,
  synced   INTEGER NOT NULL,
  hashed   INTEGER NOT NULL,
  skipped  INTEGER NOT NULL,
  failed   INTEGER NOT NULL,
  PRIMARY KEY (run_id, at)
) STRICT, WITHOUT ROWID;
`;

/**
 * Acknowledgements of a run in progress, appended in arrival order and merged into `synced` in key
 * order in one transaction (at the end of the run, and every ACK_MERGE_ROWS). Anchors are random:
 * an upsert into `synced` per user lands on a random leaf, and a full sync into a table of 300,000
 * users measured 30 µs a user that way against 9 µs appended here and merged sorted.
 */
const ACKS_DDL = `
CREATE TABLE IF NOT EXISTS acks (
${SYNCED_COLUMNS}
) STRICT;
`;

/**
 * Users whose NT hash a sync found in a leaked-password list (`--leaked-store`), until a later sync
 * hashes a password of theirs that is not in it. The finding only: no count of how often the list has
 * seen the hash (with the list, that narrows down the password), no hash, no fingerprint.
 */
const LEAKED_DDL = `
CREATE TABLE IF NOT EXISTS leaked_users (
  source    TEXT    NOT NULL,
  anchor    TEXT    NOT NULL,
  upn       TEXT    NOT NULL,
  run_id    INTEGER NOT NULL,
  found_at  INTEGER NOT NULL,
  -- What the run did about it: 'flagged' (synced with riskLevel high) or 'not-synced'.
  action    TEXT    NOT NULL,
  PRIMARY KEY (source, anchor)
) STRICT, WITHOUT ROWID;
`;

export const STATE_SCHEMA: VersionedSchema = Object.freeze({
  what: 'state store',
  metaTable: 'meta',
  // A sync appends to the state store (the acknowledgement log, statuses, history) and merges the log
  // in key order; the one random read is screening a user against `synced`, whose leaves a larger
  // cache would not hold either at a million users. 4 MiB keeps the B-trees' upper levels; 16 MiB
  // of pages written once only added to the engine's peak memory.
  cacheKiB: 4 * 1024,
  version: 5,
  ddl: STATE_DDL + USER_EVENTS_DDL + WATERMARKS_DDL + RUN_LOG_DDL + ACKS_DDL + LEAKED_DDL,
  migrations: Object.freeze({
    2: `ALTER TABLE synced ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0;${USER_EVENTS_DDL}${WATERMARKS_DDL}`,
    3: `ALTER TABLE runs ADD COLUMN errors TEXT;${RUN_LOG_DDL}`,
    4: ACKS_DDL,
    5: LEAKED_DDL,
  }),
});

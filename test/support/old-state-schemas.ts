/** Schemas of earlier phsync versions, frozen: the migration tests build old stores from them. */

/** The state store's tables at schema version 1, as phsync wrote them (git show 2e2b144~1:src/state/state-schema.ts). */
export const STATE_V1_DDL = `
CREATE TABLE IF NOT EXISTS runs (
  id           INTEGER PRIMARY KEY,
  kind         TEXT    NOT NULL,
  source       TEXT    NOT NULL,
  target       TEXT    NOT NULL,
  started_at   INTEGER NOT NULL,
  finished_at  INTEGER,
  status       TEXT    NOT NULL,
  counts       TEXT,
  error        TEXT
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
  target        TEXT    NOT NULL,
  source        TEXT    NOT NULL,
  anchor        TEXT    NOT NULL,
  fingerprint   BLOB    NOT NULL,
  upn           TEXT    NOT NULL,
  force_change  INTEGER NOT NULL,
  run_id        INTEGER NOT NULL,
  synced_at     INTEGER NOT NULL,
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

/**
 * The state store's tables at schema version 2 (git show a101ccc:src/state/state-schema.ts): version
 * 1's, with `synced.disabled`, the per-user history and the watermarks, and the version in `meta`.
 */
export const STATE_V2_DDL = `
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
${STATE_V1_DDL.replace('  synced_at     INTEGER NOT NULL,\n  PRIMARY KEY (target, source, anchor)', '  synced_at     INTEGER NOT NULL,\n  disabled      INTEGER NOT NULL DEFAULT 0,\n  PRIMARY KEY (target, source, anchor)')}
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
CREATE TABLE IF NOT EXISTS watermarks (
  source        TEXT    PRIMARY KEY,
  kind          TEXT    NOT NULL,
  value         TEXT    NOT NULL,
  scope_hash    TEXT    NOT NULL,
  full_scan_at  INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
) STRICT;
INSERT INTO meta (key, value) VALUES ('schema_version', '2');
`;

/** Tenant store schemas of earlier phsync versions, frozen: the migration tests build old stores from them. */

/** Version 1 (git show d6042f6~1:src/tenant/tenant-schema.ts): users in a WITHOUT ROWID table. */
export const TENANT_V1_DDL = `
CREATE TABLE tenant_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
INSERT INTO tenant_meta VALUES ('schema_version', '1');
CREATE TABLE tenant_users (
  source        TEXT    NOT NULL,
  anchor        TEXT    NOT NULL,
  upn           TEXT    NOT NULL,
  upn_key       TEXT    NOT NULL UNIQUE,
  credential    TEXT    NOT NULL,
  force_change  INTEGER NOT NULL,
  disabled      INTEGER NOT NULL,
  changed_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  PRIMARY KEY (source, anchor)
) STRICT, WITHOUT ROWID;
CREATE TABLE tenant_batches (
  batch_id    TEXT    PRIMARY KEY,
  results     TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;
`;

/**
 * Version 2 (git show 4fa181f:src/tenant/tenant-schema.ts), as a new store got it: a rowid table with
 * (source, anchor) a unique index. A v1 store migrated to v2 has the same columns.
 */
export const TENANT_V2_DDL = `
CREATE TABLE tenant_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
INSERT INTO tenant_meta VALUES ('schema_version', '2');
CREATE TABLE tenant_users (
  source        TEXT    NOT NULL,
  anchor        TEXT    NOT NULL,
  upn           TEXT    NOT NULL,
  upn_key       TEXT    NOT NULL UNIQUE,
  credential    TEXT    NOT NULL,
  force_change  INTEGER NOT NULL,
  disabled      INTEGER NOT NULL,
  changed_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL,
  UNIQUE (source, anchor)
) STRICT;
CREATE TABLE tenant_batches (
  batch_id    TEXT    PRIMARY KEY,
  results     TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;
`;

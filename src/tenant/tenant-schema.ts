/**
 * The embedded tenant: the cloud side's store. One row per user (source, anchor); the user principal
 * name is unique per tenant, compared case-insensitively as cloud sign-in names are.
 */
import type { VersionedSchema } from '../sqlite/open-database.ts';

const TENANT_DDL = `
CREATE TABLE IF NOT EXISTS tenant_users (
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
CREATE TABLE IF NOT EXISTS tenant_batches (
  batch_id    TEXT    PRIMARY KEY,
  results     TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;
`;

export const TENANT_SCHEMA: VersionedSchema = Object.freeze({ what: 'tenant store', metaTable: 'tenant_meta', version: 1, ddl: TENANT_DDL });

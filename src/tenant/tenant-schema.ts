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
  UNIQUE (source, anchor)
) STRICT;
CREATE TABLE IF NOT EXISTS tenant_batches (
  batch_id    TEXT    PRIMARY KEY,
  results     TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;
`;

const USER_COLUMNS = 'source, anchor, upn, upn_key, credential, force_change, disabled, changed_at, updated_at';

// Version 2: tenant_users became a rowid table with (source, anchor) a unique index, no longer a
// WITHOUT ROWID table keyed by it. Anchors are random (GUIDs), so every insert into a table keyed by
// them lands on a random leaf; with the wide rows (the credential) in those leaves, a batch of 256
// new users rewrote ~256 full pages. Rows now append, and only the narrow indexes take random
// inserts: measured 57 → 31 µs a user for 200,000 inserts in batches of 256.
const TO_V2 = `
${TENANT_DDL.slice(TENANT_DDL.indexOf('CREATE TABLE IF NOT EXISTS tenant_users'), TENANT_DDL.indexOf('CREATE TABLE IF NOT EXISTS tenant_batches')).replace('CREATE TABLE IF NOT EXISTS tenant_users', 'CREATE TABLE tenant_users_v2')}
INSERT INTO tenant_users_v2 (${USER_COLUMNS}) SELECT ${USER_COLUMNS} FROM tenant_users;
DROP TABLE tenant_users;
ALTER TABLE tenant_users_v2 RENAME TO tenant_users;
`;

export const TENANT_SCHEMA: VersionedSchema = Object.freeze({ what: 'tenant store', metaTable: 'tenant_meta', version: 2, ddl: TENANT_DDL, migrations: Object.freeze({ 2: TO_V2 }) });

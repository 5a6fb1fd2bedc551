/**
 * The embedded tenant: the cloud side's store. One row per user (source, anchor); the user principal
 * name is unique per tenant, compared case-insensitively as cloud sign-in names are.
 */
import type { VersionedSchema } from '../sqlite/open-database.ts';

/**
 * The users table at version 3, under any name (a migration builds it aside, then renames it).
 *
 * The risk lives on the user's row, not in a table of its own: every credential item sets it (a new
 * password clears it), so a separate table would cost a second write per user on the sync's hot path.
 * `credential_set_at` is when the tenant stored the current credential: leaked username/password
 * pairs are checked only against a credential stored before the pair arrived.
 */
function usersTable(name: string, ifNotExists: boolean): string {
  return `
CREATE TABLE ${ifNotExists ? 'IF NOT EXISTS ' : ''}${name} (
  source             TEXT    NOT NULL,
  anchor             TEXT    NOT NULL,
  upn                TEXT    NOT NULL,
  upn_key            TEXT    NOT NULL UNIQUE,
  credential         TEXT    NOT NULL,
  force_change       INTEGER NOT NULL,
  disabled           INTEGER NOT NULL,
  changed_at         INTEGER NOT NULL,
  updated_at         INTEGER NOT NULL,
  credential_set_at  INTEGER NOT NULL,
  risk_level         TEXT    NOT NULL DEFAULT 'none',
  risk_source        TEXT,
  risk_detected_at   INTEGER,
  UNIQUE (source, anchor),
  CHECK ((risk_level = 'none' AND risk_source IS NULL AND risk_detected_at IS NULL)
      OR (risk_level = 'high' AND risk_source IN ('leaked-hash', 'leaked-credentials') AND risk_detected_at IS NOT NULL))
) STRICT;`;
}

// High-risk users are few: a partial index holds only them, so counting them (the metrics gauge)
// reads a handful of entries, and the sync's upserts of no-risk users never touch it.
const HIGH_RISK_INDEX = `CREATE INDEX IF NOT EXISTS tenant_users_high_risk ON tenant_users (risk_level) WHERE risk_level = 'high';`;

const TENANT_DDL = `
${usersTable('tenant_users', true)}
${HIGH_RISK_INDEX}
CREATE TABLE IF NOT EXISTS tenant_batches (
  batch_id    TEXT    PRIMARY KEY,
  results     TEXT    NOT NULL,
  applied_at  INTEGER NOT NULL
) STRICT;
`;

/** The columns versions 1 and 2 had. */
const V2_USER_COLUMNS = 'source, anchor, upn, upn_key, credential, force_change, disabled, changed_at, updated_at';

// Version 2: tenant_users became a rowid table with (source, anchor) a unique index, no longer a
// WITHOUT ROWID table keyed by it. Anchors are random (GUIDs), so every insert into a table keyed by
// them lands on a random leaf; with the wide rows (the credential) in those leaves, a batch of 256
// new users rewrote ~256 full pages. Rows now append, and only the narrow indexes take random
// inserts: measured 57 → 31 µs a user for 200,000 inserts in batches of 256.
// Frozen as version 2 had it: a step must build the table of its own version, or the steps after it
// would find their columns already there.
const TO_V2 = `
CREATE TABLE tenant_users_v2 (
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
INSERT INTO tenant_users_v2 (${V2_USER_COLUMNS}) SELECT ${V2_USER_COLUMNS} FROM tenant_users;
DROP TABLE tenant_users;
ALTER TABLE tenant_users_v2 RENAME TO tenant_users;
`;

// Version 3: the user's risk, and when the current credential was stored. Rebuilt rather than
// altered column by column, so that a migrated store has the table-wide CHECK a new one has. A
// migrated user's credential was stored at the latest when its row was last written (updated_at; a
// disable item writes it too): every pair the tenant receives arrives after the migration, so the
// approximation never holds one back. Nobody is at risk yet: leaked hashes are reported from now on.
const TO_V3 = `
${usersTable('tenant_users_v3', false)}
INSERT INTO tenant_users_v3 (${V2_USER_COLUMNS}, credential_set_at) SELECT ${V2_USER_COLUMNS}, updated_at FROM tenant_users;
DROP TABLE tenant_users;
ALTER TABLE tenant_users_v3 RENAME TO tenant_users;
${HIGH_RISK_INDEX}
`;

export const TENANT_SCHEMA: VersionedSchema = Object.freeze({ what: 'tenant store', metaTable: 'tenant_meta', version: 3, ddl: TENANT_DDL, migrations: Object.freeze({ 2: TO_V2, 3: TO_V3 }) });

/**
 * What must hold after the crash campaign's last run, read from the files themselves (the tenant's
 * SQLite store, the engine's state store), with every process stopped.
 */
import Database from 'better-sqlite3';
import { SeededRandom } from '../../src/fixture/seeded-random.ts';
import { verifyCredential } from '../../src/phs/credential.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { independentlyVerifies } from '../support/independent-credential.ts';
import type { FixturePassword } from '../support/passwords-csv.ts';

export interface Verification {
  readonly inScope: number;
  readonly tenantUsers: number;
  /** In scope, not in the tenant. */
  readonly missing: number;
  /** In the tenant, not in scope (a disabled, empty-password or must-change user, or one unknown). */
  readonly extra: number;
  /** Rows sharing a (source, anchor) or a sign-in name with another row. */
  readonly duplicates: number;
  /** Tenant users held disabled (none should be: every one read is enabled). */
  readonly disabledAtTenant: number;
  /** Credentials checked with the project's verifier: all of them. */
  readonly credentialsChecked: number;
  readonly credentialsFailed: number;
  /** A seeded sample also checked with the independent MD4 + PBKDF2 (slow on purpose). */
  readonly independentlyChecked: number;
  readonly independentlyFailed: number;
  /** Tenant users the state store does not hold as acknowledged, or holds under another sign-in name or disabled. */
  readonly stateDisagrees: number;
  /** Users the state store holds acknowledged for this target that the tenant does not have. */
  readonly stateExtra: number;
  readonly batchesLeftInFlight: number;
  readonly ackLogRows: number;
  /** Runs neither succeeded nor aborted (a run that failed or was interrupted is a finding). */
  readonly badRuns: readonly { id: number; status: string; error: string | null }[];
  /** A few examples of whatever failed, for the report. */
  readonly examples: readonly string[];
}

interface TenantRow {
  source: string;
  anchor: string;
  upn: string;
  upn_key: string;
  credential: string;
  disabled: number;
}

export function inScopeUsers(passwords: readonly FixturePassword[]): FixturePassword[] {
  return passwords.filter((p) => !p.disabled && !p.empty && !p.mustChange);
}

export async function verifyCampaign(options: {
  tenantDb: string;
  stateDb: string;
  target: string;
  passwords: readonly FixturePassword[];
  independentSample: number;
  seed: string;
}): Promise<Verification> {
  const examples: string[] = [];
  const example = (m: string): void => void (examples.length < 10 && examples.push(m));
  const inScope = inScopeUsers(options.passwords);
  const byUpn = new Map(options.passwords.map((p) => [p.userPrincipalName, p]));
  const inScopeUpns = new Set(inScope.map((p) => p.userPrincipalName));

  const tenant = new Database(options.tenantDb, { readonly: true, fileMustExist: true });
  let rows: TenantRow[];
  try {
    rows = tenant.prepare('SELECT source, anchor, upn, upn_key, credential, disabled FROM tenant_users ORDER BY rowid').all() as TenantRow[];
  } finally {
    tenant.close();
  }

  const anchors = new Set<string>();
  const upnKeys = new Set<string>();
  let duplicates = 0;
  let extra = 0;
  let disabledAtTenant = 0;
  const present = new Set<string>();
  for (const r of rows) {
    const key = `${r.source}\u0000${r.anchor}`;
    if (anchors.has(key) || upnKeys.has(r.upn_key)) {
      duplicates++;
      example(`duplicate: ${r.upn} (${r.anchor})`);
    }
    anchors.add(key);
    upnKeys.add(r.upn_key);
    if (!inScopeUpns.has(r.upn)) {
      extra++;
      example(`not in scope, yet in the tenant: ${r.upn}`);
    }
    if (r.disabled !== 0) disabledAtTenant++;
    present.add(r.upn);
  }
  const missing = inScope.filter((p) => !present.has(p.userPrincipalName));
  for (const p of missing.slice(0, 3)) example(`missing from the tenant: ${p.userPrincipalName}`);

  let credentialsFailed = 0;
  for (const r of rows) {
    const p = byUpn.get(r.upn);
    if (p === undefined) continue;
    if (!verifyCredential(r.credential, await ntHash(p.password))) {
      credentialsFailed++;
      example(`credential does not verify: ${r.upn}`);
    }
  }
  const random = SeededRandom.derive(options.seed, 'independent-sample');
  const sample = rows.length <= options.independentSample ? rows : Array.from({ length: options.independentSample }, () => rows[random.int(rows.length)]!);
  let independentlyFailed = 0;
  for (const r of sample) {
    const p = byUpn.get(r.upn);
    if (p === undefined || !independentlyVerifies(r.credential, p.password)) {
      independentlyFailed++;
      example(`independent check fails: ${r.upn}`);
    }
  }

  // The state store: opened as the engine opens it (it migrates nothing here: same version).
  let stateDisagrees = 0;
  let stateExtra = 0;
  let batchesLeftInFlight: number;
  let ackLogRows: number;
  let badRuns: { id: number; status: string; error: string | null }[];
  {
    using state = StateStore.open(options.stateDb);
    batchesLeftInFlight = state.inFlightBatches(options.target).length;
    const screened = state.screen(options.target, rows);
    screened.forEach((s, i) => {
      const r = rows[i]!;
      if (s === undefined || s.userPrincipalName !== r.upn || s.disabled) {
        stateDisagrees++;
        example(`state store disagrees about ${r.upn}: ${s === undefined ? 'not acknowledged' : `holds ${s.userPrincipalName}${s.disabled ? ' disabled' : ''}`}`);
      }
    });
  }
  const raw = new Database(options.stateDb, { readonly: true, fileMustExist: true });
  try {
    const synced = raw.prepare('SELECT source, anchor FROM synced WHERE target = ? AND disabled = 0').all(options.target) as { source: string; anchor: string }[];
    for (const s of synced) {
      if (!anchors.has(`${s.source}\u0000${s.anchor}`)) {
        stateExtra++;
        example(`state store holds ${s.anchor} acknowledged; the tenant does not have it`);
      }
    }
    ackLogRows = (raw.prepare('SELECT count(*) AS n FROM acks').get() as { n: number }).n;
    badRuns = raw.prepare(`SELECT id, status, error FROM runs WHERE status NOT IN ('succeeded', 'aborted') ORDER BY id`).all() as { id: number; status: string; error: string | null }[];
  } finally {
    raw.close();
  }

  return {
    inScope: inScope.length,
    tenantUsers: rows.length,
    missing: missing.length,
    extra,
    duplicates,
    disabledAtTenant,
    credentialsChecked: rows.length,
    credentialsFailed,
    independentlyChecked: sample.length,
    independentlyFailed,
    stateDisagrees,
    stateExtra,
    batchesLeftInFlight,
    ackLogRows,
    badRuns,
    examples,
  };
}

import type { CredentialBatch, CredentialItem, ItemResult } from '../target/credential-batch.ts';
import { openVersionedDatabase } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import { TENANT_SCHEMA } from './tenant-schema.ts';
import { invalidReason } from './item-validation.ts';
import { NO_RISK, riskFromColumns } from './user-risk.ts';
import type { UserRisk } from './user-risk.ts';

export interface TenantUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly credential: string;
  readonly forceChangePassword: boolean;
  readonly disabled: boolean;
  readonly changedAt: number;
  /** When the tenant stored the current credential (ms). */
  readonly credentialSetAt: number;
  readonly risk: UserRisk;
}

/** A user whose current credential was found in a leaked username/password pair. */
export interface LeakedCredentialMark {
  readonly source: string;
  readonly anchor: string;
  /** The credential the pair was checked against: nothing is marked if it has changed since. */
  readonly credential: string;
}

interface UserRow {
  source: string;
  anchor: string;
  upn: string;
  credential: string;
  force_change: number;
  disabled: number;
  changed_at: number;
  credential_set_at: number;
  risk_level: string;
  risk_source: string | null;
  risk_detected_at: number | null;
}

/** Sign-in names compare case-insensitively. */
export function upnKey(userPrincipalName: string): string {
  return userPrincipalName.normalize('NFC').toLowerCase();
}

function toUser(row: UserRow): TenantUser {
  return {
    source: row.source,
    anchor: row.anchor,
    userPrincipalName: row.upn,
    credential: row.credential,
    forceChangePassword: row.force_change === 1,
    disabled: row.disabled === 1,
    changedAt: row.changed_at,
    credentialSetAt: row.credential_set_at,
    risk: riskFromColumns(row.risk_level, row.risk_source, row.risk_detected_at),
  };
}

/**
 * The tenant's credential store. A batch is one transaction and is idempotent by batchId: applying
 * it again returns the results it had the first time and changes nothing.
 */
export class TenantStore implements Disposable {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #applyBatch: (batch: CredentialBatch) => ItemResult[];
  readonly #markLeakedCredentials: (marks: readonly LeakedCredentialMark[], at: number) => boolean[];

  private constructor(path: string, db: SqliteDatabase) {
    this.path = path;
    this.#db = db;
    const findBatch = db.prepare<[string], { results: string }>('SELECT results FROM tenant_batches WHERE batch_id = ?');
    const recordBatch = db.prepare('INSERT INTO tenant_batches (batch_id, results, applied_at) VALUES (?, ?, ?)');
    const findUser = db.prepare<[string, string], Pick<UserRow, 'risk_level' | 'risk_source' | 'risk_detected_at'> & { changed_at: number; credential_set_at: number }>(
      'SELECT changed_at, credential_set_at, risk_level, risk_source, risk_detected_at FROM tenant_users WHERE source = ? AND anchor = ?',
    );
    const findUpnOwner = db.prepare<[string], { source: string; anchor: string }>('SELECT source, anchor FROM tenant_users WHERE upn_key = ?');
    // A credential item is a new password (a fresh salt, at least): it replaces the risk the previous
    // one had with the engine's finding for this one, unless the engine says it is the same password
    // (samePassword: only the sign-in name or flags changed, or the user is enabled again).
    const upsert = db.prepare(`
      INSERT INTO tenant_users (source, anchor, upn, upn_key, credential, force_change, disabled, changed_at, updated_at,
                                credential_set_at, risk_level, risk_source, risk_detected_at)
      VALUES (@source, @anchor, @upn, @upnKey, @credential, @forceChange, @disabled, @changedAt, @now,
              @credentialSetAt, @riskLevel, @riskSource, @riskDetectedAt)
      ON CONFLICT (source, anchor) DO UPDATE SET
        upn = excluded.upn, upn_key = excluded.upn_key, credential = excluded.credential,
        force_change = excluded.force_change, disabled = excluded.disabled,
        changed_at = excluded.changed_at, updated_at = excluded.updated_at,
        credential_set_at = excluded.credential_set_at, risk_level = excluded.risk_level,
        risk_source = excluded.risk_source, risk_detected_at = excluded.risk_detected_at`);
    // A disable item: the credential, sign-in name, force-change flag and risk stay as they are.
    const disable = db.prepare('UPDATE tenant_users SET disabled = 1, changed_at = ?, updated_at = ? WHERE source = ? AND anchor = ?');

    const applyItem = (source: string, item: CredentialItem, now: number): ItemResult => {
      const reason = invalidReason(item);
      if (reason !== undefined) return { status: 'invalid', reason };
      const changedAt = Date.parse(item.changedAt);
      const existing = findUser.get(source, item.sourceAnchor);
      if (existing !== undefined && existing.changed_at > changedAt) return { status: 'stale' };
      if (item.credential === undefined) {
        // Validated: a disable item. For a user this tenant does not hold it is `applied` all the same
        // and stores nothing: the end state it asks for (no sign-in) already holds, and an answer
        // that never changes on a resend keeps the engine from sending it again every cycle.
        if (existing !== undefined) disable.run(changedAt, now, source, item.sourceAnchor);
        return { status: 'applied' };
      }
      const key = upnKey(item.userPrincipalName);
      const owner = findUpnOwner.get(key);
      if (owner !== undefined && (owner.source !== source || owner.anchor !== item.sourceAnchor)) {
        return { status: 'invalid', reason: `userPrincipalName ${item.userPrincipalName} belongs to another user` };
      }
      const found: UserRisk = item.riskLevel === 'high' ? { riskLevel: 'high', source: 'leaked-hash', detectedAt: now } : NO_RISK;
      const kept = item.samePassword === true && existing !== undefined ? riskFromColumns(existing.risk_level, existing.risk_source, existing.risk_detected_at) : undefined;
      // The same password keeps what is known of it (a pair that matched it still does); a finding
      // the engine makes now only adds to a risk the user did not have.
      const risk: UserRisk = kept === undefined || (kept.riskLevel === 'none' && found.riskLevel === 'high') ? found : kept;
      upsert.run({
        source,
        anchor: item.sourceAnchor,
        upn: item.userPrincipalName,
        upnKey: key,
        credential: item.credential,
        forceChange: item.forceChangePasswordNextSignIn ? 1 : 0,
        disabled: item.disabled ? 1 : 0,
        changedAt,
        now,
        credentialSetAt: kept === undefined ? now : existing!.credential_set_at,
        riskLevel: risk.riskLevel,
        riskSource: risk.riskLevel === 'high' ? risk.source : null,
        riskDetectedAt: risk.riskLevel === 'high' ? risk.detectedAt : null,
      });
      return { status: 'applied' };
    };

    this.#applyBatch = db.transaction((batch: CredentialBatch): ItemResult[] => {
      const previous = findBatch.get(batch.batchId);
      if (previous !== undefined) return JSON.parse(previous.results) as ItemResult[];
      const now = Date.now();
      const results = batch.items.map((item) => applyItem(batch.source, item, now));
      recordBatch.run(batch.batchId, JSON.stringify(results), now);
      return results;
    });

    // Only while the user still has the credential the pair was checked against: a batch may have
    // replaced it while the pairs were being hashed. A user already marked for this credential keeps
    // the time it was first found. Evidence of a leaked pair outranks a leaked hash (it ties the
    // password to this user), so it takes the place of a `leaked-hash` finding. updated_at is the
    // sync's: a risk finding is not a write from the directory.
    const markLeaked = db.prepare(`
      UPDATE tenant_users SET
        risk_level = 'high', risk_source = 'leaked-credentials',
        risk_detected_at = CASE WHEN risk_source = 'leaked-credentials' THEN risk_detected_at ELSE @at END
      WHERE source = @source AND anchor = @anchor AND credential = @credential`);
    this.#markLeakedCredentials = db.transaction((marks: readonly LeakedCredentialMark[], at: number): boolean[] =>
      marks.map((mark) => markLeaked.run({ source: mark.source, anchor: mark.anchor, credential: mark.credential, at }).changes === 1),
    );
  }

  static open(path: string): TenantStore {
    return new TenantStore(path, openVersionedDatabase(path, TENANT_SCHEMA));
  }

  applyBatch(batch: CredentialBatch): ItemResult[] {
    return this.#applyBatch(batch);
  }

  /** The results a batch got when it was applied, or undefined when it never was. */
  batchResults(batchId: string): ItemResult[] | undefined {
    const row = this.#db.prepare<[string], { results: string }>('SELECT results FROM tenant_batches WHERE batch_id = ?').get(batchId);
    return row === undefined ? undefined : (JSON.parse(row.results) as ItemResult[]);
  }

  findByUserPrincipalName(userPrincipalName: string): TenantUser | undefined {
    const row = this.#db.prepare<[string], UserRow>('SELECT * FROM tenant_users WHERE upn_key = ?').get(upnKey(userPrincipalName));
    return row === undefined ? undefined : toUser(row);
  }

  findByAnchor(source: string, anchor: string): TenantUser | undefined {
    const row = this.#db.prepare<[string, string], UserRow>('SELECT * FROM tenant_users WHERE source = ? AND anchor = ?').get(source, anchor);
    return row === undefined ? undefined : toUser(row);
  }

  /** Every user, in anchor order: for tests and audits (the tenant's own view). */
  *users(): IterableIterator<TenantUser> {
    for (const row of this.#db.prepare<[], UserRow>('SELECT * FROM tenant_users ORDER BY source, anchor').iterate()) yield toUser(row);
  }

  countUsers(): number {
    return (this.#db.prepare('SELECT count(*) AS n FROM tenant_users').get() as { n: number }).n;
  }

  /** The risk of the user with this sign-in name (any case), with the name as the tenant holds it; undefined for no such user. */
  riskOf(userPrincipalName: string): (UserRisk & { readonly userPrincipalName: string }) | undefined {
    const row = this.#db
      .prepare<[string], Pick<UserRow, 'upn' | 'risk_level' | 'risk_source' | 'risk_detected_at'>>('SELECT upn, risk_level, risk_source, risk_detected_at FROM tenant_users WHERE upn_key = ?')
      .get(upnKey(userPrincipalName));
    return row === undefined ? undefined : { userPrincipalName: row.upn, ...riskFromColumns(row.risk_level, row.risk_source, row.risk_detected_at) };
  }

  /**
   * Marks users high risk (source `leaked-credentials`) whose current password was found in leaked
   * pairs, in one transaction. One answer per mark: false when the user no longer has that credential.
   */
  markLeakedCredentials(marks: readonly LeakedCredentialMark[], at: number = Date.now()): boolean[] {
    return marks.length === 0 ? [] : this.#markLeakedCredentials(marks, at);
  }

  /** Users at high risk, whatever the source (read from a partial index: cheap however large the tenant). */
  countHighRisk(): number {
    return (this.#db.prepare(`SELECT count(*) AS n FROM tenant_users WHERE risk_level = 'high'`).get() as { n: number }).n;
  }

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

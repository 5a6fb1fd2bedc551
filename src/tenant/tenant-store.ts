import type { CredentialBatch, CredentialItem, ItemResult } from '../target/credential-batch.ts';
import { openVersionedDatabase } from '../sqlite/open-database.ts';
import type { SqliteDatabase } from '../sqlite/open-database.ts';
import { TENANT_SCHEMA } from './tenant-schema.ts';
import { invalidReason } from './item-validation.ts';

export interface TenantUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly credential: string;
  readonly forceChangePassword: boolean;
  readonly disabled: boolean;
  readonly changedAt: number;
}

interface UserRow {
  source: string;
  anchor: string;
  upn: string;
  credential: string;
  force_change: number;
  disabled: number;
  changed_at: number;
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

  private constructor(path: string, db: SqliteDatabase) {
    this.path = path;
    this.#db = db;
    const findBatch = db.prepare<[string], { results: string }>('SELECT results FROM tenant_batches WHERE batch_id = ?');
    const recordBatch = db.prepare('INSERT INTO tenant_batches (batch_id, results, applied_at) VALUES (?, ?, ?)');
    const findUser = db.prepare<[string, string], { changed_at: number }>('SELECT changed_at FROM tenant_users WHERE source = ? AND anchor = ?');
    const findUpnOwner = db.prepare<[string], { source: string; anchor: string }>('SELECT source, anchor FROM tenant_users WHERE upn_key = ?');
    const upsert = db.prepare(`
      INSERT INTO tenant_users (source, anchor, upn, upn_key, credential, force_change, disabled, changed_at, updated_at)
      VALUES (@source, @anchor, @upn, @upnKey, @credential, @forceChange, @disabled, @changedAt, @now)
      ON CONFLICT (source, anchor) DO UPDATE SET
        upn = excluded.upn, upn_key = excluded.upn_key, credential = excluded.credential,
        force_change = excluded.force_change, disabled = excluded.disabled,
        changed_at = excluded.changed_at, updated_at = excluded.updated_at`);
    // A disable item: the credential, sign-in name and force-change flag stay as they are.
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

  close(): void {
    if (this.#db.open) this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

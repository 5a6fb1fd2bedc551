import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TENANT_SCHEMA } from '../../src/tenant/tenant-schema.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { credentialItem } from '../support/credential-item.ts';
import { TENANT_V1_DDL, TENANT_V2_DDL } from '../support/old-tenant-schemas.ts';
import { tempDir } from '../support/temp-dir.ts';

const item = credentialItem;

describe('tenant store', () => {
  it('applies a batch once, replays the same results for the same batchId, and signs users in', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const batch = { batchId: 'b1', source: 's', items: [await item('a1', 'ann@example.com', 'Pa$$w0rd'), await item('a2', 'bob@example.com', 'Zoë-2026')] };
    assert.deepEqual(store.applyBatch(batch), [{ status: 'applied' }, { status: 'applied' }]);
    const before = store.findByAnchor('s', 'a1');
    // Same batchId with different content: nothing changes, the first results come back.
    const replay = { ...batch, items: [await item('a1', 'ann@example.com', 'other'), await item('a3', 'cy@example.com', 'x')] };
    assert.deepEqual(store.applyBatch(replay), [{ status: 'applied' }, { status: 'applied' }]);
    assert.equal(store.countUsers(), 2);
    assert.deepEqual(store.findByAnchor('s', 'a1'), before);
    assert.deepEqual(store.batchResults('b1'), [{ status: 'applied' }, { status: 'applied' }]);
    assert.equal(store.batchResults('nope'), undefined);

    assert.deepEqual(await signIn(store, 'ann@example.com', 'Pa$$w0rd'), { ok: true, forceChangePassword: false });
    assert.deepEqual(await signIn(store, 'ANN@Example.com', 'Pa$$w0rd'), { ok: true, forceChangePassword: false });
    assert.deepEqual(await signIn(store, 'ann@example.com', 'pa$$w0rd'), { ok: false, reason: 'wrong-password' });
    assert.deepEqual(await signIn(store, 'bob@example.com', 'Zoë-2026'), { ok: true, forceChangePassword: false });
    assert.deepEqual(await signIn(store, 'nobody@example.com', 'Pa$$w0rd'), { ok: false, reason: 'unknown-user' });
  });

  it('never lets an older change overwrite a newer one', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    store.applyBatch({ batchId: 'new', source: 's', items: [await item('a1', 'ann@example.com', 'newer', { changedAt: '2026-03-01T00:00:00Z' })] });
    const results = store.applyBatch({ batchId: 'old', source: 's', items: [await item('a1', 'ann@example.com', 'older', { changedAt: '2026-02-01T00:00:00Z' })] });
    assert.deepEqual(results, [{ status: 'stale' }]);
    assert.equal((await signIn(store, 'ann@example.com', 'newer')).ok, true);
    assert.equal((await signIn(store, 'ann@example.com', 'older')).ok, false);
  });

  it('rejects invalid items with a reason and applies the rest of the batch', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const good = await item('a1', 'ann@example.com', 'pw');
    const results = store.applyBatch({
      batchId: 'b',
      source: 's',
      items: [good, { ...good, sourceAnchor: 'a2', userPrincipalName: 'no-at-sign' }, { ...good, sourceAnchor: 'a3', userPrincipalName: 'c@example.com', credential: 'v1;PPH1_MD4,zz' }, { ...good, sourceAnchor: 'a4' }],
    });
    assert.equal(results[0]?.status, 'applied');
    assert.match(results[1]?.status === 'invalid' ? results[1].reason : '', /userPrincipalName/);
    assert.match(results[2]?.status === 'invalid' ? results[2].reason : '', /credential/);
    // a4 claims ann's sign-in name: refused, ann keeps it.
    assert.match(results[3]?.status === 'invalid' ? results[3].reason : '', /belongs to another user/);
    assert.equal(store.countUsers(), 1);
  });

  it('refuses disabled users at sign-in', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    store.applyBatch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'pw', { disabled: true, forceChangePasswordNextSignIn: true })] });
    assert.deepEqual(await signIn(store, 'ann@example.com', 'pw'), { ok: false, reason: 'disabled' });
  });

  it('migrates a version-1 store (users in a WITHOUT ROWID table) keeping every user, who still signs in', async () => {
    using dir = tempDir();
    const path = dir.file('v1.db');
    const v1 = new Database(path);
    v1.exec(TENANT_V1_DDL);
    const ann = await item('a1', 'Ann@example.com', 'Pa$$w0rd');
    v1.prepare('INSERT INTO tenant_users VALUES (?, ?, ?, ?, ?, 1, 0, ?, ?)').run('s', 'a1', ann.userPrincipalName, 'ann@example.com', ann.credential!, Date.parse(ann.changedAt), Date.now());
    v1.prepare('INSERT INTO tenant_batches VALUES (?, ?, ?)').run('old-batch', JSON.stringify([{ status: 'applied' }]), Date.now());
    v1.close();

    {
      using store = TenantStore.open(path);
      assert.equal(store.countUsers(), 1);
      assert.deepEqual(store.batchResults('old-batch'), [{ status: 'applied' }]);
      assert.deepEqual(await signIn(store, 'ann@example.com', 'Pa$$w0rd'), { ok: true, forceChangePassword: true });
      // The constraints hold after the rebuild: an upsert by (source, anchor), a UPN owned by another.
      const newer = { ...(await item('a1', 'ann@example.com', 'N3w-pass')), changedAt: new Date(Date.now() + 1000).toISOString() };
      assert.deepEqual(store.applyBatch({ batchId: 'b2', source: 's', items: [newer, await item('a2', 'ANN@example.com', 'x')] }), [{ status: 'applied' }, { status: 'invalid', reason: 'userPrincipalName ANN@example.com belongs to another user' }]);
      assert.equal(store.countUsers(), 1);
      assert.deepEqual(await signIn(store, 'ann@example.com', 'N3w-pass'), { ok: true, forceChangePassword: false });
    }
    const db = new Database(path, { readonly: true });
    try {
      assert.equal(db.prepare(`SELECT value FROM tenant_meta WHERE key = 'schema_version'`).pluck().get(), String(TENANT_SCHEMA.version));
      assert.doesNotMatch(db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'tenant_users'`).pluck().get() as string, /WITHOUT ROWID/);
    } finally {
      db.close();
    }
  });

  it('migrates a version-2 store to version 3: every user kept, no one at risk, the credential stored when the row was last written', async () => {
    using dir = tempDir();
    const path = dir.file('v2.db');
    const v2 = new Database(path);
    v2.pragma('journal_mode = WAL');
    v2.exec(TENANT_V2_DDL);
    const ann = await item('a1', 'Ann@example.com', 'Pa$$w0rd');
    const bob = await item('a2', 'bob@example.com', 'Zoë-2026');
    const insert = v2.prepare('INSERT INTO tenant_users VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
    insert.run('s', 'a1', ann.userPrincipalName, 'ann@example.com', ann.credential!, 0, 0, Date.parse(ann.changedAt), 1_700_000_000_000);
    insert.run('s', 'a2', bob.userPrincipalName, 'bob@example.com', bob.credential!, 1, 1, Date.parse(bob.changedAt), 1_700_000_500_000);
    v2.prepare('INSERT INTO tenant_batches VALUES (?, ?, ?)').run('old-batch', JSON.stringify([{ status: 'applied' }]), 1_700_000_000_000);
    v2.close();

    {
      using store = TenantStore.open(path);
      assert.equal(store.countUsers(), 2);
      assert.deepEqual(store.batchResults('old-batch'), [{ status: 'applied' }]);
      assert.deepEqual(
        [...store.users()].map((u) => [u.userPrincipalName, u.credentialSetAt, u.risk, u.disabled, u.forceChangePassword]),
        [['Ann@example.com', 1_700_000_000_000, { riskLevel: 'none' }, false, false], ['bob@example.com', 1_700_000_500_000, { riskLevel: 'none' }, true, true]],
      );
      assert.equal(store.countHighRisk(), 0);
      assert.deepEqual(await signIn(store, 'ann@example.com', 'Pa$$w0rd'), { ok: true, forceChangePassword: false });
      assert.deepEqual(await signIn(store, 'bob@example.com', 'Zoë-2026'), { ok: false, reason: 'disabled' });
      // The new columns work on a migrated row.
      const risky = { ...(await item('a1', 'Ann@example.com', 'N3w-pass')), changedAt: '2026-06-01T00:00:00Z', riskLevel: 'high' as const };
      assert.deepEqual(store.applyBatch({ batchId: 'b3', source: 's', items: [risky] }), [{ status: 'applied' }]);
      assert.equal(store.riskOf('ANN@example.com')?.riskLevel, 'high');
      assert.equal(store.countHighRisk(), 1);
    }

    // The migrated table is the one a new store gets: same columns, constraints and indexes.
    const fresh = dir.file('fresh.db');
    TenantStore.open(fresh).close();
    const shape = (file: string) => {
      const db = new Database(file, { readonly: true });
      try {
        const indexes = db.prepare<[], { name: string; unique: number; partial: number }>('PRAGMA index_list(tenant_users)').all();
        return {
          version: db.prepare(`SELECT value FROM tenant_meta WHERE key = 'schema_version'`).pluck().get(),
          columns: db.prepare('PRAGMA table_info(tenant_users)').all(),
          indexes: indexes.map((i) => ({ unique: i.unique, partial: i.partial, columns: db.prepare(`PRAGMA index_info(${JSON.stringify(i.name)})`).all() })).sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
          // The table's CHECK, as written (the name differs: a migrated table was built aside and renamed).
          check: /CHECK \(.*\)\s*\) STRICT$/su.exec(db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'tenant_users'`).pluck().get() as string)?.[0],
          highRiskIndex: db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'tenant_users_high_risk'`).pluck().get(),
          integrity: db.pragma('integrity_check', { simple: true }),
        };
      } finally {
        db.close();
      }
    };
    const migrated = shape(path);
    assert.equal(migrated.version, '3');
    assert.equal(migrated.integrity, 'ok');
    assert.ok(migrated.check !== undefined && migrated.highRiskIndex !== undefined);
    assert.deepEqual(migrated, shape(fresh));
  });

  it('refuses a file that is not a database, and a store of a newer schema, without touching them', async () => {
    using dir = tempDir();
    const notDb = dir.file('junk.db');
    const junk = 'this is not sqlite'.repeat(100);
    writeFileSync(notDb, junk);
    assert.throws(() => TenantStore.open(notDb), { code: 'STORE_CORRUPT' });
    assert.equal(readFileSync(notDb, 'utf8'), junk);
    const newer = dir.file('newer.db');
    TenantStore.open(newer).close();
    // Simulate a store written by a future phsync.
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(newer);
    db.prepare(`UPDATE tenant_meta SET value = '99' WHERE key = 'schema_version'`).run();
    db.close();
    assert.throws(() => TenantStore.open(newer), { code: 'STORE_SCHEMA_NEWER' });
  });
});

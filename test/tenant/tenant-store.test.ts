import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { readFileSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { credentialItem } from '../support/credential-item.ts';
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
    v1.exec(`
      CREATE TABLE tenant_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT;
      INSERT INTO tenant_meta VALUES ('schema_version', '1');
      CREATE TABLE tenant_users (source TEXT NOT NULL, anchor TEXT NOT NULL, upn TEXT NOT NULL, upn_key TEXT NOT NULL UNIQUE,
        credential TEXT NOT NULL, force_change INTEGER NOT NULL, disabled INTEGER NOT NULL, changed_at INTEGER NOT NULL,
        updated_at INTEGER NOT NULL, PRIMARY KEY (source, anchor)) STRICT, WITHOUT ROWID;
      CREATE TABLE tenant_batches (batch_id TEXT PRIMARY KEY, results TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT;`);
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
      assert.equal(db.prepare(`SELECT value FROM tenant_meta WHERE key = 'schema_version'`).pluck().get(), '2');
      assert.doesNotMatch(db.prepare(`SELECT sql FROM sqlite_schema WHERE name = 'tenant_users'`).pluck().get() as string, /WITHOUT ROWID/);
    } finally {
      db.close();
    }
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

import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { it } from 'node:test';
import { StateStore } from '../../src/state/state-store.ts';
import { STATE_SCHEMA } from '../../src/state/state-schema.ts';
import { STATE_V1_DDL } from '../support/old-state-schemas.ts';
import { tempDir } from '../support/temp-dir.ts';


const FINGERPRINT = Buffer.alloc(16, 0xab);

it('migrates a version-1 state store to the current version in place, keeping every row', () => {
  using dir = tempDir();
  const path = dir.file('state.db');
  {
    const v1 = new Database(path);
    v1.pragma('journal_mode = WAL');
    v1.exec('CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) STRICT');
    v1.exec(STATE_V1_DDL);
    v1.prepare(`INSERT INTO meta (key, value) VALUES ('schema_version', '1')`).run();
    v1.prepare(`INSERT INTO runs (id, kind, source, target, started_at, finished_at, status, counts) VALUES (1, 'full', 'default', 'sqlite:t.db', 1000, 2000, 'partial', '{"scanned":3}')`).run();
    v1.prepare('INSERT INTO synced VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('sqlite:t.db', 'default', 'anchor-1', FINGERPRINT, 'one@example.com', 0, 1, 1500);
    v1.prepare('INSERT INTO users VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('default', 'anchor-2', 'two@example.com', 'error', 'INVALID_NT_HASH', 'not 32 hex digits', 1, 1600);
    v1.prepare('INSERT INTO batches VALUES (?, ?, ?, ?, ?)').run('batch-1', 1, 'sqlite:t.db', 1700, '[]');
    v1.close();
  }

  {
    using store = StateStore.open(path);
    // The old rows, through the store's own API.
    assert.deepEqual(store.userStatus('default', 'anchor-1'), { source: 'default', anchor: 'anchor-1', userPrincipalName: 'one@example.com', status: 'success' });
    assert.deepEqual(store.userStatus('default', 'anchor-2'), { source: 'default', anchor: 'anchor-2', userPrincipalName: 'two@example.com', status: 'error', reason: 'INVALID_NT_HASH', message: 'not 32 hex digits' });
    assert.deepEqual(store.inFlightBatches('sqlite:t.db'), ['batch-1']);
    assert.deepEqual(store.runs(5).map((r) => [r.id, r.status, r.counts]), [[1, 'partial', { scanned: 3 }]]);
    assert.equal(store.screen('sqlite:t.db', [{ source: 'default', anchor: 'anchor-1' }])[0]?.fingerprint.equals(FINGERPRINT), true);
    assert.deepEqual(store.watermarks(), []);
    // The new tables work: a run writes history.
    const run = store.beginRun('full', 'default', 'sqlite:t.db');
    store.recordStatus({ source: 'default', anchor: 'anchor-2', userPrincipalName: 'two@example.com', status: 'skipped', reason: 'disabled' });
    store.flushStatuses();
    assert.deepEqual(store.userHistory({ user: 'TWO@example.com' })[0]?.events.map((e) => [e.runId, e.status, e.reason]), [[run, 'skipped', 'disabled']]);
  }

  const db = new Database(path, { readonly: true });
  try {
    assert.equal(db.prepare(`SELECT value FROM meta WHERE key = 'schema_version'`).pluck().get(), String(STATE_SCHEMA.version));
    const tables = db.prepare<[], string>(`SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).pluck().all();
    assert.deepEqual(tables, ['acks', 'batch_log', 'batches', 'leaked_users', 'meta', 'run_samples', 'runs', 'synced', 'user_events', 'users', 'watermarks']);
    const indexes = db.prepare<[], string>(`SELECT name FROM sqlite_schema WHERE type = 'index' AND name LIKE 'user_events%' ORDER BY name`).pluck().all();
    assert.deepEqual(indexes, [], 'events are not indexed (see state-schema.ts)');
    const disabled = (db.prepare('PRAGMA table_info(synced)').all() as { name: string; notnull: number; dflt_value: string | null }[]).find((c) => c.name === 'disabled');
    assert.deepEqual(disabled && { notnull: disabled.notnull, dflt_value: disabled.dflt_value }, { notnull: 1, dflt_value: '0' });
    const synced = db.prepare('SELECT * FROM synced').all();
    assert.deepEqual(synced, [{ target: 'sqlite:t.db', source: 'default', anchor: 'anchor-1', fingerprint: FINGERPRINT, upn: 'one@example.com', force_change: 0, run_id: 1, synced_at: 1500, disabled: 0 }]);
    assert.deepEqual(db.prepare('SELECT source, anchor, upn, status, reason, error_message, run_id FROM users').all(), [{ source: 'default', anchor: 'anchor-2', upn: 'two@example.com', status: 'skipped', reason: 'disabled', error_message: null, run_id: 2 }], 'the new run rewrote the status it changed');
    assert.deepEqual(db.prepare('SELECT batch_id, run_id, target, created_at, members FROM batches').all(), [{ batch_id: 'batch-1', run_id: 1, target: 'sqlite:t.db', created_at: 1700, members: '[]' }]);
    assert.deepEqual(db.prepare(`SELECT id, status FROM runs ORDER BY id`).all(), [{ id: 1, status: 'partial' }, { id: 2, status: 'running' }]);
    assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
  } finally {
    db.close();
  }

  // Opening again does not migrate again.
  using again = StateStore.open(path);
  assert.equal(again.runs(5).length, 2);
});

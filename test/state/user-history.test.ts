import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { describe, it } from 'node:test';
import { StateStore } from '../../src/state/state-store.ts';
import type { PendingUser } from '../../src/state/state-store.ts';
import { DEFAULT_HISTORY_RETENTION_MS, referenceStatus } from '../../src/state/user-history.ts';
import { tempDir } from '../support/temp-dir.ts';

const DAY = 24 * 60 * 60 * 1000;

function pending(store: StateStore, source: string, anchor: string, upn: string, hashByte = 1): PendingUser {
  return { source, anchor, userPrincipalName: upn, fingerprint: store.fingerprint(new Uint8Array(16).fill(hashByte)), forceChange: false };
}

type EventRow = { run_id: number; source: string; anchor: string; upn: string | null; status: string; reason: string | null; message: string | null; at: number };

/** The raw `user_events` rows, oldest first, through a connection of their own. */
function events(path: string): EventRow[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[], EventRow>('SELECT run_id, source, anchor, upn, status, reason, message, at FROM user_events ORDER BY id').all();
  } finally {
    db.close();
  }
}

function sql(path: string, text: string): void {
  const db = new Database(path);
  try {
    db.exec(text);
  } finally {
    db.close();
  }
}

describe('user history', () => {
  it('records every status a run writes but "unchanged", with the raw values, in the status write', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    using store = StateStore.open(path);
    const run = store.beginRun('full', 's', 't');
    store.recordBatch(run, 't', 'b1', [pending(store, 's', 'a', 'a@example.com'), pending(store, 's', 'b', 'b@example.com'), pending(store, 's', 'c', 'c@example.com')]);
    const before = Date.now();
    store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'stale' }, { status: 'invalid', reason: 'nope' }]);
    assert.deepEqual(events(path).map((e) => [e.anchor, e.status, e.reason, e.message, e.run_id]), [
      ['a', 'success', null, null, run],
      ['b', 'skipped', 'target-newer', null, run],
      ['c', 'error', 'TARGET_REJECTED', 'nope', run],
    ], 'acknowledged in the acknowledgement transaction');
    assert.ok(events(path).every((e) => e.at >= before && e.at <= Date.now()));

    store.recordStatus({ source: 's', anchor: 'd', userPrincipalName: 'd@example.com', status: 'skipped', reason: 'disabled' });
    store.recordStatus({ source: 's', anchor: 'a', userPrincipalName: 'a@example.com', status: 'skipped', reason: 'unchanged' });
    store.recordStatus({ source: 's', anchor: 'e', status: 'error', reason: 'MISSING_USER_PRINCIPAL_NAME', message: 'no userPrincipalName or mail' });
    assert.equal(events(path).length, 3, 'recorded statuses are written with their events when flushed, not before');
    store.flushStatuses();
    assert.deepEqual(events(path).slice(3).map((e) => [e.anchor, e.upn, e.status, e.reason, e.message]), [
      ['d', 'd@example.com', 'skipped', 'disabled', null],
      ['e', null, 'error', 'MISSING_USER_PRINCIPAL_NAME', 'no userPrincipalName or mail'],
    ], '"unchanged" means the cycle did not touch the user: no event');

    // A second run that skips a user again records it again: each cycle that touched it says so.
    const second = store.beginRun('full', 's', 't');
    store.recordStatus({ source: 's', anchor: 'd', userPrincipalName: 'd@example.com', status: 'skipped', reason: 'disabled' });
    store.flushStatuses();
    assert.deepEqual(events(path).slice(5).map((e) => [e.anchor, e.run_id]), [['d', second]]);
  });

  it('writes no status without its event and no event without its status (one transaction)', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    using store = StateStore.open(path);
    const run = store.beginRun('full', 's', 't');
    sql(path, `CREATE TRIGGER refuse BEFORE INSERT ON user_events WHEN NEW.anchor = 'boom' BEGIN SELECT RAISE(ABORT, 'refused'); END;`);
    store.recordBatch(run, 't', 'b1', [pending(store, 's', 'a', 'a@example.com'), pending(store, 's', 'boom', 'boom@example.com')]);
    assert.throws(() => store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'applied' }]), /refused/);
    assert.deepEqual(store.screen('t', [{ source: 's', anchor: 'a' }]), [undefined], 'the acknowledgement was rolled back with the event');
    assert.deepEqual(store.inFlightBatches('t'), ['b1']);
    assert.equal(events(path).length, 0);
    sql(path, 'DROP TRIGGER refuse');
    store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'applied' }]);
    assert.equal(events(path).length, 2);
  });

  it('words statuses as the reference system does, keeping the raw values', () => {
    assert.equal(referenceStatus({ status: 'success' }), 'Success');
    assert.equal(referenceStatus({ status: 'skipped', reason: 'disabled' }), 'Skipped (disabled)');
    assert.equal(referenceStatus({ status: 'skipped', reason: 'target-newer' }), 'Skipped (target-newer)');
    assert.equal(referenceStatus({ status: 'skipped' }), 'Skipped');
    assert.equal(referenceStatus({ status: 'error', reason: 'MISSING_ANCHOR', message: 'no entryUUID' }), 'MissingAttribute (MISSING_ANCHOR)');
    assert.equal(referenceStatus({ status: 'error', reason: 'MISSING_USER_PRINCIPAL_NAME' }), 'MissingAttribute (MISSING_USER_PRINCIPAL_NAME)');
    assert.equal(referenceStatus({ status: 'error', reason: 'MISSING_NT_HASH' }), 'MissingAttribute (MISSING_NT_HASH)');
    assert.equal(referenceStatus({ status: 'error', reason: 'INVALID_NT_HASH', message: 'not 32 hex digits (3 characters)' }), 'Error (INVALID_NT_HASH): not 32 hex digits (3 characters)');
    assert.equal(referenceStatus({ status: 'error', reason: 'TARGET_REJECTED' }), 'Error (TARGET_REJECTED)');
  });

  it('prunes events older than the retention in bounded chunks, and at the start of every run', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    {
      using store = StateStore.open(path);
      store.beginRun('full', 's', 't');
      for (let i = 0; i < 10; i++) store.recordStatus({ source: 's', anchor: `old${i}`, status: 'skipped', reason: 'disabled' });
      for (let i = 0; i < 3; i++) store.recordStatus({ source: 's', anchor: `new${i}`, status: 'skipped', reason: 'disabled' });
      store.flushStatuses();
      sql(path, `UPDATE user_events SET at = at - ${8 * DAY} WHERE anchor LIKE 'old%'`);
      assert.equal(store.pruneHistory(9 * DAY), 0);
      assert.equal(store.pruneHistory(7 * DAY, 3), 10, 'ten events in chunks of three');
      assert.deepEqual(events(path).map((e) => e.anchor), ['new0', 'new1', 'new2']);
      assert.equal(store.pruneHistory(Infinity), 0);
      assert.throws(() => store.pruneHistory(-1), RangeError);
      assert.throws(() => store.pruneHistory(DAY, 0), RangeError);
      assert.equal(DEFAULT_HISTORY_RETENTION_MS, 7 * DAY);

      // beginRun prunes with the default retention (7 days): 8-day-old events go, newer ones stay.
      sql(path, `UPDATE user_events SET at = at - ${8 * DAY} WHERE anchor = 'new0'; UPDATE user_events SET at = at - ${6 * DAY} WHERE anchor = 'new1'`);
      store.beginRun('full', 's', 't');
      assert.deepEqual(events(path).map((e) => e.anchor), ['new1', 'new2']);
    }
    {
      // Kept forever when asked.
      sql(path, `UPDATE user_events SET at = at - ${365 * DAY}`);
      using store = StateStore.open(path, { historyRetentionMs: Infinity });
      store.beginRun('full', 's', 't');
      assert.equal(events(path).length, 2);
    }
    {
      // A shorter retention, from the open option.
      sql(path, `UPDATE user_events SET at = ${Date.now() - 2000} WHERE anchor = 'new1'; UPDATE user_events SET at = ${Date.now()} WHERE anchor = 'new2'`);
      using store = StateStore.open(path, { historyRetentionMs: 1000 });
      store.beginRun('full', 's', 't');
      assert.deepEqual(events(path).map((e) => e.anchor), ['new2']);
    }
    assert.throws(() => StateStore.open(path, { historyRetentionMs: -5 }), RangeError);
  });

  it('finds a user by UPN in any case or by anchor, per source, with its current status, targets and events newest first', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    using store = StateStore.open(path);
    // Run 1 (full): "Pat" in two sources; b's copy fails. Another user syncs.
    const r1 = store.beginRun('full', 'a', 't1');
    store.recordBatch(r1, 't1', 'b1', [pending(store, 'a', 'pat-a', 'Pat@Example.com'), pending(store, 'a', 'other', 'other@example.com')]);
    store.ackBatch('b1', 't1', r1, [{ status: 'applied' }, { status: 'applied' }]);
    store.recordStatus({ source: 'b', anchor: 'pat-b', userPrincipalName: 'pat@example.com', status: 'error', reason: 'INVALID_NT_HASH', message: 'sambaNTPassword is not 32 hex digits (3 characters)' });
    store.finishRun(r1, 'partial', {});
    // Run 2 (delta): pat-a is synced to a second target and renamed; pat-b is now disabled.
    const r2 = store.beginRun('delta', 'a', 't2');
    store.recordBatch(r2, 't2', 'b2', [pending(store, 'a', 'pat-a', 'pat.new@example.com', 2)]);
    store.ackBatch('b2', 't2', r2, [{ status: 'applied' }]);
    store.recordStatus({ source: 'b', anchor: 'pat-b', userPrincipalName: 'pat@example.com', status: 'skipped', reason: 'disabled' });
    store.recordStatus({ source: 'a', anchor: 'other', userPrincipalName: 'other@example.com', status: 'skipped', reason: 'unchanged' });
    store.finishRun(r2, 'succeeded', {});
    sql(path, `UPDATE synced SET disabled = 1 WHERE target = 't1' AND anchor = 'pat-a'`);

    const byUpn = store.userHistory({ user: 'PAT@example.COM' });
    assert.deepEqual(byUpn.map((h) => [h.source, h.anchor]).sort(), [['a', 'pat-a'], ['b', 'pat-b']], 'the old UPN still finds the renamed user');
    const patB = byUpn.find((h) => h.source === 'b')!;
    assert.equal(patB.userPrincipalName, 'pat@example.com');
    assert.deepEqual(patB.current, { source: 'b', anchor: 'pat-b', userPrincipalName: 'pat@example.com', status: 'skipped', reason: 'disabled' });
    assert.deepEqual(patB.synced, []);
    assert.deepEqual(patB.events.map((e) => [e.runId, e.runKind, e.status, e.reason, e.message]), [
      [r2, 'delta', 'skipped', 'disabled', undefined],
      [r1, 'full', 'error', 'INVALID_NT_HASH', 'sambaNTPassword is not 32 hex digits (3 characters)'],
    ]);

    const [patA, ...none] = store.userHistory({ user: 'pat-a' });
    assert.deepEqual(none, []);
    assert.equal(patA!.userPrincipalName, 'pat.new@example.com');
    assert.deepEqual(patA!.current, store.userStatus('a', 'pat-a'));
    assert.deepEqual(patA!.synced.map((s) => [s.target, s.runId, s.disabled, s.userPrincipalName]), [['t2', r2, false, 'pat.new@example.com'], ['t1', r1, true, 'Pat@Example.com']]);
    assert.ok(patA!.synced.every((s) => typeof s.syncedAt === 'number' && !('fingerprint' in s)), 'no fingerprint is handed out');
    assert.deepEqual(patA!.events.map((e) => [e.runId, e.status, e.userPrincipalName]), [[r2, 'success', 'pat.new@example.com'], [r1, 'success', 'Pat@Example.com']]);
    assert.deepEqual(store.userHistory({ user: 'pat.new@EXAMPLE.com' }).map((h) => h.anchor), ['pat-a']);

    assert.deepEqual(store.userHistory({ user: 'pat@example.com', source: 'b' }).map((h) => h.anchor), ['pat-b']);
    assert.deepEqual(store.userHistory({ user: 'pat-a', source: 'b' }), []);
    assert.equal(store.userHistory({ user: 'pat-b', limit: 1 })[0]!.events.length, 1);
    assert.deepEqual(store.userHistory({ user: 'PAT-A' }), [], 'anchors are compared exactly');
    assert.deepEqual(store.userHistory({ user: 'nobody@example.com' }), []);
    assert.throws(() => store.userHistory({ user: 'pat-a', limit: 0 }), RangeError);

    // A user in sync whose history expired is still found, by its acknowledgement.
    const other = store.userHistory({ user: 'OTHER@example.com' });
    assert.deepEqual(other.map((h) => [h.anchor, h.current?.status, h.synced.length, h.events.length]), [['other', 'success', 1, 1]]);
    sql(path, 'DELETE FROM user_events');
    assert.deepEqual(store.userHistory({ user: 'other@example.com' }).map((h) => [h.anchor, h.events.length]), [['other', 0]]);
  });
});

import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { describe, it } from 'node:test';
import { StateStore } from '../../src/state/state-store.ts';
import type { PendingUser } from '../../src/state/state-store.ts';
import { tempDir } from '../support/temp-dir.ts';

function pending(store: StateStore, anchor: string, hashByte: number): PendingUser {
  return { source: 's', anchor, userPrincipalName: `${anchor}@example.com`, fingerprint: store.fingerprint(new Uint8Array(16).fill(hashByte)), forceChange: false };
}

describe('state store', () => {
  it('keeps the fingerprint key in its own owner-only file and fingerprints deterministically per key', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    const a = StateStore.open(path);
    const fp = a.fingerprint(new Uint8Array(16).fill(7));
    a.close();
    assert.equal(statSync(`${path}.key`).mode & 0o777, 0o600);
    using b = StateStore.open(path);
    assert.deepEqual(b.fingerprint(new Uint8Array(16).fill(7)), fp);
    assert.notDeepEqual(b.fingerprint(new Uint8Array(16).fill(8)), fp);
    using other = StateStore.open(dir.file('other.db'));
    assert.notDeepEqual(other.fingerprint(new Uint8Array(16).fill(7)), fp, 'a different store has a different key');
  });

  it('acknowledges a batch per result: applied users are synced, invalid ones get an error status', () => {
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const run = store.beginRun('full', 's', 't');
    const users = [pending(store, 'a', 1), pending(store, 'b', 2), pending(store, 'c', 3)];
    store.recordBatch(run, 't', 'batch-1', users);
    assert.deepEqual(store.inFlightBatches('t'), ['batch-1']);
    assert.deepEqual(store.inFlightBatches('other'), []);
    const counts = store.ackBatch('batch-1', 't', run, [{ status: 'applied' }, { status: 'stale' }, { status: 'invalid', reason: 'nope' }]);
    assert.deepEqual(counts, { applied: 1, stale: 1, invalid: 1 });
    assert.deepEqual(store.inFlightBatches('t'), []);
    const [a, b] = store.screen('t', [{ source: 's', anchor: 'a' }, { source: 's', anchor: 'b' }]);
    assert.deepEqual(a, { fingerprint: users[0]!.fingerprint, userPrincipalName: 'a@example.com', forceChange: false, disabled: false });
    assert.equal(b, undefined);
    store.beginRun('full', 's', 'other');
    assert.deepEqual(store.screen('other', [{ source: 's', anchor: 'a' }]), [undefined], 'acknowledgements are per target');
    assert.equal(store.userStatus('s', 'a')?.status, 'success');
    assert.equal(store.userStatus('s', 'b')?.reason, 'target-newer');
    assert.deepEqual(store.userStatus('s', 'c'), { source: 's', anchor: 'c', userPrincipalName: 'c@example.com', status: 'error', reason: 'TARGET_REJECTED', message: 'nope' });
    assert.throws(() => store.ackBatch('missing', 't', run, [{ status: 'applied' }]), /0 users/);
    // c succeeds later: its error is gone, and its status is success.
    store.recordBatch(run, 't', 'batch-2', [users[2]!]);
    store.ackBatch('batch-2', 't', run, [{ status: 'applied' }]);
    assert.deepEqual(store.userStatus('s', 'c'), { source: 's', anchor: 'c', userPrincipalName: 'c@example.com', status: 'success' });
    assert.equal(store.userStatus('s', 'nobody'), undefined);
  });

  it('defers a run\'s acknowledgements to a log merged in bulk, the last one winning, and a killed run\'s log at the next run', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    const store = StateStore.open(path);
    const run = store.beginRun('full', 's', 't');
    store.deferAcks(true);
    const first = pending(store, 'a', 1);
    store.recordBatch(run, 't', 'b1', [first, pending(store, 'b', 2)]);
    store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'applied' }]);
    assert.deepEqual(store.screen('t', [{ source: 's', anchor: 'a' }]), [undefined], 'not merged yet');
    assert.deepEqual(store.userHistory({ user: 'a' })[0]?.events ?? [], [], 'the history event is written by the merge');
    // The same user acknowledged again in the log (a new password): the later one is kept.
    const second = { ...pending(store, 'a', 9), userPrincipalName: 'a.new@example.com' };
    store.recordBatch(run, 't', 'b2', [second]);
    store.ackBatch('b2', 't', run, [{ status: 'applied' }]);
    assert.equal(store.mergeAcks(), 3);
    const [a, b] = store.screen('t', [{ source: 's', anchor: 'a' }, { source: 's', anchor: 'b' }]);
    assert.deepEqual(a, { fingerprint: second.fingerprint, userPrincipalName: 'a.new@example.com', forceChange: false, disabled: false });
    assert.equal(b?.userPrincipalName, 'b@example.com');
    assert.equal(store.mergeAcks(), 0, 'the log is empty after a merge');
    const events = store.userHistory({ user: 'a' })[0]?.events ?? [];
    assert.deepEqual(events.map((e) => [e.status, e.runId]), [['success', run], ['success', run]], 'one success event per acknowledgement, after the merge');

    // Killed with acknowledgements in the log (no close, no finishRun): the next engine's run merges them.
    store.recordBatch(run, 't', 'b3', [pending(store, 'c', 3)]);
    store.ackBatch('b3', 't', run, [{ status: 'applied' }]);
    const reader = StateStore.open(path);
    reader.close();
    using next = StateStore.open(path);
    assert.deepEqual(next.screen('t', [{ source: 's', anchor: 'c' }]), [undefined], 'a reader does not merge another engine\'s log');
    next.beginRun('delta', 's', 't');
    assert.equal(next.screen('t', [{ source: 's', anchor: 'c' }])[0]?.userPrincipalName, 'c@example.com');
    store.close();
  });

  it('clears, with a logged acknowledgement, a status an earlier run left, and with none to clear writes only the log', () => {
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    // Run 1: x is skipped (a stored status); y fails.
    const first = store.beginRun('full', 's', 't');
    store.recordStatus({ source: 's', anchor: 'x', userPrincipalName: 'x@example.com', status: 'skipped', reason: 'disabled' });
    store.recordStatus({ source: 's', anchor: 'y', userPrincipalName: 'y@example.com', status: 'error', reason: 'MISSING_NT_HASH', message: 'no hash' });
    store.finishRun(first, 'partial', {});
    assert.equal(store.userStatus('s', 'x')?.status, 'skipped');
    // Run 2: both synced, acknowledgements logged: the old statuses go, in the same transaction.
    const second = store.beginRun('full', 's', 't');
    store.deferAcks(true);
    store.recordBatch(second, 't', 'b1', [pending(store, 'x', 1), pending(store, 'y', 2)]);
    store.ackBatch('b1', 't', second, [{ status: 'applied' }, { status: 'applied' }]);
    store.deferAcks(false);
    store.finishRun(second, 'succeeded', {});
    for (const anchor of ['x', 'y']) {
      assert.equal(store.userStatus('s', anchor)?.status, 'success', anchor);
      assert.deepEqual(store.userHistory({ user: anchor })[0]?.events.map((e) => [e.runId, e.status]), [[second, 'success'], [first, anchor === 'x' ? 'skipped' : 'error']], anchor);
    }
    // Another source, with no statuses when its run began: a success there is logged the same way.
    const third = store.beginRun('full', 'other', 't');
    store.deferAcks(true);
    store.recordBatch(third, 't', 'b2', [{ ...pending(store, 'z', 3), source: 'other' }]);
    store.ackBatch('b2', 't', third, [{ status: 'applied' }]);
    store.recordStatus({ source: 'other', anchor: 'w', userPrincipalName: 'w@example.com', status: 'skipped', reason: 'disabled' });
    store.deferAcks(false);
    store.finishRun(third, 'succeeded', {});
    assert.equal(store.userStatus('other', 'z')?.status, 'success');
    assert.equal(store.userStatus('other', 'w')?.status, 'skipped');
    assert.deepEqual(store.userHistory({ user: 'z', source: 'other' })[0]?.events.map((e) => e.status), ['success']);
  });

  it('acknowledges from the engine\'s own copy of the members exactly as from the record, and only a recorded batch', () => {
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const run = store.beginRun('full', 's', 't');
    const fromRecord = [pending(store, 'a', 1), { ...pending(store, 'b', 2), forceChange: true }];
    const fromMemory = [pending(store, 'c', 3), { ...pending(store, 'd', 4), forceChange: true }];
    store.recordBatch(run, 't', 'b1', fromRecord);
    store.recordBatch(run, 't', 'b2', fromMemory);
    store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'applied' }]);
    store.ackBatch('b2', 't', run, [{ status: 'applied' }, { status: 'applied' }], fromMemory);
    const screened = store.screen('t', ['a', 'b', 'c', 'd'].map((anchor) => ({ source: 's', anchor })));
    assert.deepEqual(screened.map((u) => [u?.userPrincipalName, u?.forceChange]), [['a@example.com', false], ['b@example.com', true], ['c@example.com', false], ['d@example.com', true]]);
    assert.deepEqual(screened[2]?.fingerprint, fromMemory[0]!.fingerprint);
    assert.deepEqual(store.inFlightBatches('t'), []);
    // A batch never recorded (or already acknowledged) is refused even with members in hand.
    assert.throws(() => store.ackBatch('b2', 't', run, [{ status: 'applied' }, { status: 'applied' }], fromMemory), /0 users/);
  });

  it('marks runs left running by a dead engine as aborted', () => {
    using dir = tempDir();
    const path = dir.file('state.db');
    const first = StateStore.open(path);
    const killed = first.beginRun('full', 's', 't');
    first.close();
    using second = StateStore.open(path);
    const next = second.beginRun('full', 's', 't');
    second.finishRun(next, 'succeeded', { scanned: 1 });
    const runs = second.runs(5);
    assert.deepEqual(runs.map((r) => [r.id, r.status]), [[next, 'succeeded'], [killed, 'aborted']]);
    assert.deepEqual(runs[0]?.counts, { scanned: 1 });
  });

  it('writes a batch\'s log row in the same transaction as its acknowledgement: never one without the other', () => {
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const run = store.beginRun('full', 's', 't');
    store.recordBatch(run, 't', 'b1', [pending(store, 'a', 1), pending(store, 'b', 2)]);
    store.ackBatch('b1', 't', run, [{ status: 'applied' }, { status: 'invalid', reason: 'no' }], undefined, { kind: 'credential', hashMs: 12, writeMs: 3 });
    const report = store.runReport({ runId: run });
    assert.deepEqual([report?.batches.count, report?.batches.users, report?.batches.applied, report?.batches.rejected], [1, 2, 1, 1]);
    assert.deepEqual(store.inFlightBatches('t'), [], 'acknowledged: no longer in flight');
  });
});

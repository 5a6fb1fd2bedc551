import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ProgressDisplay, formatProgress } from '../../src/cli/progress-display.ts';
import { publish } from '../../src/observe/engine-events.ts';
import type { RunStartEvent } from '../../src/observe/engine-events.ts';
import { emptyCounts } from '../../src/pipeline/sync-counts.ts';
import type { SyncCounts, SyncSummary } from '../../src/pipeline/sync-counts.ts';

const ERASE = '\r\x1b[K';

describe('formatProgress', () => {
  const state = { source: 'ldap', scanned: 12_345, synced: 12_000, failed: 3, expected: 100_000, elapsedMs: 1_500, usersPerSecond: 8_123.4 };

  it('with an expected total: percentage and ETA', () => {
    // (100,000 - 12,345) / 8,123.4 = 10.8 s: 0:11.
    assert.equal(formatProgress(state, 200), 'ldap: 12,345 of ~100,000 users (12%) · 8,123 users/s · ETA 0:11 · synced 12,000 · 3 failed');
  });

  it('without an expected total, or an expected total of 0: no percentage, no ETA', () => {
    assert.equal(formatProgress({ ...state, expected: undefined }, 200), 'ldap: 12,345 users · 8,123 users/s · synced 12,000 · 3 failed');
    assert.equal(formatProgress({ ...state, expected: 0 }, 200), 'ldap: 12,345 users · 8,123 users/s · synced 12,000 · 3 failed');
  });

  it('failures only when there are some', () => {
    assert.equal(formatProgress({ ...state, failed: 0 }, 200), 'ldap: 12,345 of ~100,000 users (12%) · 8,123 users/s · ETA 0:11 · synced 12,000');
  });

  it('no ETA once the run scanned more than expected, nor while the rate is 0', () => {
    assert.equal(formatProgress({ ...state, scanned: 120_000, failed: 0 }, 200), 'ldap: 120,000 of ~100,000 users (120%) · 8,123 users/s · synced 12,000');
    assert.equal(formatProgress({ ...state, usersPerSecond: 0, failed: 0 }, 200), 'ldap: 12,345 of ~100,000 users (12%) · 0 users/s · synced 12,000');
  });

  it('an ETA of an hour or more has hours', () => {
    assert.equal(formatProgress({ ...state, scanned: 0, expected: 1_000_000, usersPerSecond: 100, failed: 0 }, 200), 'ldap: 0 of ~1,000,000 users (0%) · 100 users/s · ETA 2:46:40 · synced 12,000');
    assert.equal(formatProgress({ ...state, scanned: 0, expected: 7_250, usersPerSecond: 100, failed: 0 }, 200), 'ldap: 0 of ~7,250 users (0%) · 100 users/s · ETA 1:13 · synced 12,000');
  });

  it('truncated to the width, ending in …', () => {
    const line = formatProgress(state, 40);
    assert.equal(line, 'ldap: 12,345 of ~100,000 users (12%) · …');
    assert.equal(line.length, 40);
    assert.equal(formatProgress(state, 89).length, 89);
    assert.ok(formatProgress(state, 89).endsWith('3 fail…'));
    assert.equal(formatProgress(state, 90), 'ldap: 12,345 of ~100,000 users (12%) · 8,123 users/s · ETA 0:11 · synced 12,000 · 3 failed');
    assert.equal(formatProgress(state, 1), '…');
  });
});

/** A terminal that records what is written, and a clock the test moves. */
function terminal(columns = 100) {
  const writes: string[] = [];
  const clock = { now: 0 };
  const stream = { isTTY: true, columns, write: (chunk: string) => writes.push(chunk) };
  return { writes, clock, stream, now: () => clock.now };
}

function runStart(overrides: Partial<RunStartEvent> = {}): void {
  publish('runStart', { runId: 7, kind: 'full', source: 'ldap', target: 'tenant', dryRun: false, startedAt: Date.now(), expectedUsers: 1_000, ...overrides });
}

function runProgress(counts: Partial<SyncCounts>, source = 'ldap', runId = 7): void {
  publish('runProgress', { runId, source, counts: { ...emptyCounts(), ...counts }, usersInFlight: 0 });
}

function runFinish(): void {
  publish('runFinish', { kind: 'full', summary: { runId: 7, source: 'ldap' } as SyncSummary });
}

describe('ProgressDisplay', () => {
  let display: ProgressDisplay | undefined;
  afterEach(() => {
    display?.close();
    display = undefined;
  });

  it('draws the line at the start and on progress, at most every intervalMs, and erases it at the end', () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now, intervalMs: 250 });
    assert.ok(display);
    assert.deepEqual(t.writes, [], 'nothing before a run');

    runStart();
    assert.deepEqual(t.writes, [`${ERASE}ldap: 0 of ~1,000 users (0%) · 0 users/s · synced 0`]);

    t.clock.now = 1_000;
    runProgress({ scanned: 500, synced: 400, failed: { E_A: 2, E_B: 1 } });
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 500 of ~1,000 users (50%) · 500 users/s · ETA 0:01 · synced 400 · 3 failed`);

    t.clock.now = 1_100;
    runProgress({ scanned: 600, synced: 500 });
    assert.equal(t.writes.length, 2, 'not redrawn within intervalMs');

    t.clock.now = 1_250;
    runProgress({ scanned: 625, synced: 600 });
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 625 of ~1,000 users (62%) · 500 users/s · ETA 0:01 · synced 600`);

    runFinish();
    assert.deepEqual(t.writes.slice(3), [ERASE]);
    t.clock.now = 5_000;
    runProgress({ scanned: 700 });
    assert.equal(t.writes.length, 4, 'nothing between runs');
  });

  it('the rate is over the last ~5 s, not since the start', () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now });
    runStart({ expectedUsers: undefined });
    // 1,000 users/s for 10 s, then 100 users/s.
    let scanned = 0;
    for (let second = 1; second <= 20; second++) {
      scanned += second <= 10 ? 1_000 : 100;
      t.clock.now = second * 1_000;
      runProgress({ scanned, synced: scanned });
    }
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 11,000 users · 100 users/s · synced 11,000`);
  });

  it('clear() erases and redraw() draws again, for log lines', () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now });
    display?.clear();
    display?.redraw();
    assert.deepEqual(t.writes, [], 'nothing to clear or draw outside a run');

    runStart({ expectedUsers: undefined });
    t.clock.now = 2_000;
    runProgress({ scanned: 1_000, synced: 900 });
    const line = `${ERASE}ldap: 1,000 users · 500 users/s · synced 900`;
    assert.equal(t.writes.at(-1), line);
    t.writes.length = 0;

    display?.clear();
    display?.clear();
    assert.deepEqual(t.writes, [ERASE], 'erased once');
    t.clock.now = 2_010;
    display?.redraw();
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 1,000 users · 498 users/s · synced 900`);
  });

  it('truncates to the stream width minus one column', () => {
    const t = terminal(30);
    display = ProgressDisplay.start(t.stream, { now: t.now });
    runStart({ source: 'a-source-with-a-long-name' });
    assert.deepEqual(t.writes, [`${ERASE}a-source-with-a-long-name: 0…`]);
  });

  it('ignores the progress of a run it did not see start, and of another run', () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now });
    runProgress({ scanned: 10, synced: 10 }, 'files', 3);
    assert.deepEqual(t.writes, []);
    runStart();
    t.clock.now = 1_000;
    runProgress({ scanned: 20, synced: 20 }, 'other', 4);
    assert.equal(t.writes.length, 1, 'another run is ignored');
  });

  it('redraws on its timer while no progress comes', async () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now, intervalMs: 10 });
    runStart({ expectedUsers: undefined });
    t.clock.now = 1_000;
    runProgress({ scanned: 1_000 });
    assert.equal(t.writes.length, 2);
    t.clock.now = 3_000;
    await sleep(50);
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 1,000 users · 333 users/s · synced 0`, 'the rate falls while the run waits');
    t.clock.now = 9_000;
    await sleep(50);
    assert.equal(t.writes.at(-1), `${ERASE}ldap: 1,000 users · 0 users/s · synced 0`, 'nothing scanned in the last 5 s');
    const drawn = t.writes.length;
    runFinish();
    await sleep(50);
    assert.deepEqual(t.writes.slice(drawn), [ERASE], 'the timer stops at the end of the run');
  });

  it('close() unsubscribes, erases the line and is idempotent', () => {
    const t = terminal();
    display = ProgressDisplay.start(t.stream, { now: t.now });
    runStart();
    assert.equal(t.writes.length, 1);
    display?.close();
    assert.deepEqual(t.writes.slice(1), [ERASE]);
    display?.close();
    display?.redraw();
    t.clock.now = 10_000;
    runStart();
    runProgress({ scanned: 100 });
    runFinish();
    assert.equal(t.writes.length, 2, 'nothing after close');
  });

  it('is a Disposable', () => {
    const t = terminal();
    {
      using shown = ProgressDisplay.start(t.stream, { now: t.now });
      assert.ok(shown);
      runStart();
    }
    runProgress({ scanned: 100 });
    assert.deepEqual(t.writes, [`${ERASE}ldap: 0 of ~1,000 users (0%) · 0 users/s · synced 0`, ERASE]);
  });

  it('on a stream that is not a TTY: undefined, and nothing is ever written', () => {
    const writes: string[] = [];
    for (const stream of [{ write: (chunk: string) => writes.push(chunk) }, { isTTY: false, columns: 80, write: (chunk: string) => writes.push(chunk) }]) {
      assert.equal(ProgressDisplay.start(stream), undefined);
    }
    runStart();
    runProgress({ scanned: 100 });
    runFinish();
    assert.deepEqual(writes, []);
  });
});

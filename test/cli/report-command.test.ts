import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it, mock } from 'node:test';
import type { RunReport } from '../../src/state/run-report.ts';
import { EngineLock } from '../../src/state/engine-lock.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const T0 = Date.UTC(2025, 2, 3, 8, 0, 0);
const TARGET = 'sqlite:/srv/tenant.db';

/**
 * Two runs: run 1, a full sync of 4 s (two users fail, one of them rejected by the target with a pipe
 * in its message; an entry without an anchor fails too), and run 2, a delta still marked running.
 * Returns the fingerprints the store holds, which no output may contain.
 */
function populate(path: string): Buffer[] {
  mock.timers.enable({ apis: ['Date'], now: T0 });
  try {
    using store = StateStore.open(path);
    const run = store.beginRun('full', 'corp', TARGET);
    mock.timers.setTime(T0 + 300);
    store.recordStatus({ source: 'corp', anchor: 'a-1', userPrincipalName: 'ann@example.com', status: 'error', reason: 'INVALID_NT_HASH', message: 'not 32 hex digits (3 characters)' });
    store.recordStatus({ source: 'corp', anchor: 'a-2', userPrincipalName: 'bob@example.com', status: 'skipped', reason: 'disabled' });
    store.flushStatuses();
    mock.timers.setTime(T0 + 400);
    const users = ['a-3', 'a-4'].map((anchor, i) => ({ source: 'corp', anchor, userPrincipalName: `${anchor}@example.com`, fingerprint: store.fingerprint(new Uint8Array(16).fill(i + 1)), forceChange: false }));
    store.recordBatch(run, TARGET, 'b-1', users);
    store.ackBatch('b-1', TARGET, run, [{ status: 'invalid', reason: 'policy | weak' }, { status: 'applied' }]);
    store.recordBatchLog({ runId: run, kind: 'credential', users: 2, hashMs: 40, writeMs: 12.5, finishedAt: T0 + 400, applied: 1, stale: 0, rejected: 1 });
    store.recordBatchLog({ runId: run, kind: 'credential', users: 256, hashMs: 250, writeMs: 50, finishedAt: T0 + 2500, applied: 256, stale: 0, rejected: 0 });
    store.recordBatchLog({ runId: run, kind: 'disable', users: 1, hashMs: 0, writeMs: 7, finishedAt: T0 + 3000, applied: 1, stale: 0, rejected: 0 });
    store.recordRunSample(run, { at: T0 + 1000, scanned: 100, synced: 60, hashed: 80, skipped: 1, failed: 1 });
    store.recordRunSample(run, { at: T0 + 2000, scanned: 250, synced: 200, hashed: 220, skipped: 1, failed: 2 });
    mock.timers.setTime(T0 + 4000);
    const counts = { scanned: 262, passedOver: 1, synced: 257, hashed: 258, skipped: { disabled: 1 }, disabledAtTarget: 1, failed: { INVALID_NT_HASH: 1, LDIF_SYNTAX: 1, TARGET_REJECTED: 1 }, batches: 3, recoveredBatches: 0, droppedBatches: 0 };
    store.finishRun(run, 'partial', counts, undefined, [
      { origin: 'corp.ldif line 7', code: 'LDIF_SYNTAX', message: 'no colon in "x|y"' },
      { origin: 'uid=ann,ou=People,dc=example,dc=com', code: 'INVALID_NT_HASH', message: 'not 32 hex digits (3 characters)' },
      { origin: 'a-3', code: 'TARGET_REJECTED', message: 'policy | weak' },
    ]);
    mock.timers.setTime(T0 + 60_000);
    const delta = store.beginRun('delta', 'corp', TARGET);
    store.recordRunSample(delta, { at: T0 + 61_000, scanned: 5, synced: 1, hashed: 1, skipped: 4, failed: 0 });
    return users.map((u) => u.fingerprint);
  } finally {
    mock.timers.reset();
  }
}

/** Every table of a Markdown document: its rows, split on unescaped pipes. */
function markdownTables(md: string): string[][][] {
  const tables: string[][][] = [];
  let current: string[][] | undefined;
  for (const line of md.split('\n')) {
    if (!line.startsWith('|')) {
      current = undefined;
      continue;
    }
    if (current === undefined) tables.push((current = []));
    const cells = line.slice(1, -1).split(/(?<!\\)\|/).map((c) => c.trim());
    current.push(cells);
  }
  return tables;
}

describe('phsync report, through the CLI', () => {
  const dir = tempDir();
  const state = dir.file('state.db');
  let fingerprints: Buffer[] = [];
  let expected: RunReport;
  before(() => {
    fingerprints = populate(state);
    using store = StateStore.open(state);
    expected = store.runReport({ runId: 1 })!;
  });
  after(() => dir[Symbol.dispose]());
  const report = (...args: string[]) => runCli(['report', '--state', state, ...args]);
  const assertNoFingerprint = (text: string): void => {
    for (const fp of fingerprints) assert.ok(!text.includes(fp.toString('hex')) && !text.includes(fp.toString('base64')), 'a fingerprint was printed');
  };

  it('prints the report as JSON, as built from the store, with the exact counts, batches and failed users', async () => {
    const result = await report('--run', '1', '--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    assert.equal(result.stderr, '');
    const json = JSON.parse(result.stdout) as RunReport;
    assert.deepEqual(json, expected);
    assert.equal(result.stdout, `${JSON.stringify(expected, null, 2)}\n`, 'two-space indent');
    assert.deepEqual(json.run, { id: 1, kind: 'full', source: 'corp', target: TARGET, status: 'partial', startedAt: T0, finishedAt: T0 + 4000, elapsedMs: 4000, error: null });
    assert.deepEqual([json.counts.scanned, json.counts.synced, json.counts.skipped, json.counts.failed], [262, 257, { total: 1, byReason: { disabled: 1 } }, { total: 3, byCode: { INVALID_NT_HASH: 1, LDIF_SYNTAX: 1, TARGET_REJECTED: 1 } }]);
    assert.deepEqual([json.throughput.usersPerSecond, json.throughput.hashesPerSecond], [65.5, 64.5]);
    assert.deepEqual(json.throughput.overTime.map((i) => [i.fromMs, i.toMs, i.scannedPerSecond, i.syncedPerSecond]), [[0, 1000, 100, 60], [1000, 2000, 150, 140], [2000, 4000, 6, 28.5]]);
    assert.deepEqual(json.batches.slowest.map((b) => [b.kind, b.users, b.hashMs + b.writeMs, b.finishedAfterMs]), [['credential', 256, 300, 2500], ['credential', 2, 52.5, 400], ['disable', 1, 7, 3000]]);
    assert.deepEqual([json.batches.count, json.batches.users, json.batches.hashMs, json.batches.writeMs], [3, 259, { total: 290, median: 40 }, { total: 69.5, median: 12.5 }]);
    assert.deepEqual(json.failedUsers, {
      total: 2,
      users: [
        { source: 'corp', anchor: 'a-1', userPrincipalName: 'ann@example.com', code: 'INVALID_NT_HASH', message: 'not 32 hex digits (3 characters)', at: T0 + 300 },
        { source: 'corp', anchor: 'a-3', userPrincipalName: 'a-3@example.com', code: 'TARGET_REJECTED', message: 'policy | weak', at: T0 + 400 },
      ],
    });
    assert.deepEqual(json.errors.map((e) => e.code), ['LDIF_SYNTAX', 'INVALID_NT_HASH', 'TARGET_REJECTED']);
    assertNoFingerprint(result.stdout);
  });

  it('reports the newest run by default: the delta still running, from its sample', async () => {
    const result = await report('--format', 'json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as RunReport;
    assert.deepEqual([json.run.id, json.run.kind, json.run.status, json.run.finishedAt, json.counts.from, json.counts.scanned, json.counts.skipped.total], [2, 'delta', 'running', null, 'sample', 5, 4]);
    assert.ok(json.run.elapsedMs >= Date.now() - (T0 + 60_000) - 60_000, 'a running run: elapsed until now');
  });

  it('prints aligned text for a terminal, times in ISO 8601', async () => {
    const result = await report('--run', '1', '--failed', '1');
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.split('\n');
    for (const line of [
      `phsync report: run 1 (full) of corp to ${TARGET}: partial`,
      '  started       2025-03-03T08:00:00.000Z',
      '  finished      2025-03-03T08:00:04.000Z',
      '  elapsed       4.00 s',
      '  scanned       262 (and 1 entries that are not users)',
      '  skipped       1 (disabled 1)',
      '  failed        3 (INVALID_NT_HASH 1, LDIF_SYNTAX 1, TARGET_REJECTED 1)',
      '  overall       65.5 users/s, 64.5 hashes/s',
      '     from     to  scanned  users/s  synced  synced/s',
      '    0.0 s  1.0 s      100    100.0      60      60.0',
      '    2.0 s  4.0 s       12      6.0      57      28.5',
      '  count         3 (credential 2, disable 1), 259 users: applied 258, stale 0, rejected 1',
      '  hashing       290.0 ms in all, median 40.0 ms a batch',
      '    kind        users  hash ms  write ms  finished',
      '    credential    256    250.0      50.0    +2.5 s',
      '    disable         1      0.0       7.0    +3.0 s',
      'failed users  2 (the first 1)',
      '  source  anchor  user principal name  code             message',
      '  corp    a-1     ann@example.com      INVALID_NT_HASH  not 32 hex digits (3 characters)',
      'errors        the run\'s first 3',
      '  LDIF_SYNTAX: corp.ldif line 7: no colon in "x|y"',
    ]) {
      assert.ok(lines.includes(line), `missing line ${JSON.stringify(line)} in:\n${result.stdout}`);
    }
    assert.ok(!result.stdout.includes('a-3@example.com'), '--failed 1 lists one user');
    assertNoFingerprint(result.stdout);
  });

  it('prints a Markdown document whose tables are well formed, with pipes in values escaped', async () => {
    const result = await report('--run', '1', '--format', 'md');
    assert.equal(result.code, 0, result.stderr);
    const md = result.stdout;
    assert.ok(md.startsWith('# phsync report: run 1\n'));
    for (const heading of ['## Counts', '## Throughput', '## Batches', '## Failed users (2)', '## Errors']) assert.ok(md.split('\n').includes(heading), heading);
    const tables = markdownTables(md);
    assert.equal(tables.length, 7, 'run, counts, throughput, batches, slowest batches, failed users, errors');
    for (const table of tables) {
      const width = table[0]!.length;
      assert.ok(table.every((row) => row.length === width), `a row of another width in ${JSON.stringify(table)}`);
      assert.ok(table[1]!.every((cell) => /^-+:?$/.test(cell)), 'the second row separates the header');
    }
    const failed = tables[5]!;
    assert.deepEqual(failed[0], ['source', 'anchor', 'user principal name', 'code', 'message']);
    assert.deepEqual(failed.slice(2), [
      ['corp', 'a-1', 'ann@example.com', 'INVALID\\_NT\\_HASH', 'not 32 hex digits (3 characters)'],
      ['corp', 'a-3', 'a-3@example.com', 'TARGET\\_REJECTED', 'policy \\| weak'],
    ]);
    assert.deepEqual(tables[6]!.slice(2)[0], ['LDIF\\_SYNTAX', 'corp.ldif line 7', 'no colon in "x\\|y"']);
    assert.ok(md.includes('| scanned | 262 |') && md.includes('| failed: TARGET\\_REJECTED | 1 |'));
    assert.ok(md.includes('| 0.0 | 1.0 | 100 | 100.0 | 60 | 60.0 |'));
    assert.ok(md.includes('| credential | 256 | 250.0 | 50.0 | +2.5 |'));
    assertNoFingerprint(md);
  });

  it('needs no engine lock: it reports while an engine holds the state store', async () => {
    const lock = EngineLock.acquire(state);
    try {
      const result = await report('--run', '1', '--format', 'json');
      assert.equal(result.code, 0, result.stderr);
      assert.equal((JSON.parse(result.stdout) as RunReport).counts.scanned, 262);
    } finally {
      lock.release();
    }
  });

  it('fails with RUN_NOT_FOUND for an unknown run, and for a store without runs', async () => {
    const unknown = await report('--run', '99');
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stdout, '');
    assert.equal(unknown.stderr, `phsync: no run 99 in the state store ${state} (phsync status lists the last runs) [RUN_NOT_FOUND]\n`);
    const emptyPath = dir.file('empty.db');
    StateStore.open(emptyPath).close();
    const empty = await runCli(['report', '--state', emptyPath]);
    assert.equal(empty.code, 1);
    assert.equal(empty.stderr, `phsync: no runs in the state store ${emptyPath} yet [RUN_NOT_FOUND]\n`);
  });

  it('fails with STATE_NOT_FOUND when there is no state store, and creates none', async () => {
    const missing = dir.file('missing.db');
    const result = await runCli(['report', '--state', missing, '--format', 'md']);
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.equal(result.stderr, `phsync: no state store at ${missing}: nothing has been synced with it yet [STATE_NOT_FOUND]\n`);
    assert.equal(existsSync(missing), false);
  });

  it('refuses a bad --run or --failed, and an unknown format', async () => {
    const bad = await report('--run', '1.5');
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--run must be a whole number from 1 .* \[OPTION_INVALID\]/);
    const negative = await report('--failed', '-1');
    assert.equal(negative.code, 1);
    assert.match(negative.stderr, /--failed must be a whole number from 0 .* \[OPTION_INVALID\]/);
    const format = await report('--format', 'html');
    assert.equal(format.code, 1);
    assert.match(format.stderr, /Invalid values:[\s\S]*format/);
  });
});

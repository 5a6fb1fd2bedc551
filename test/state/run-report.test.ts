import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { describe, it } from 'node:test';
import type { TestContext } from 'node:test';
import type { RunReport } from '../../src/state/run-report.ts';
import { STATE_SCHEMA } from '../../src/state/state-schema.ts';
import { StateStore } from '../../src/state/state-store.ts';
import type { PendingUser } from '../../src/state/state-store.ts';
import type { BatchLogEntry, RunError } from '../../src/state/state-types.ts';
import { STATE_V2_DDL } from '../support/old-state-schemas.ts';
import { tempDir } from '../support/temp-dir.ts';

const T0 = Date.UTC(2025, 0, 15, 12, 0, 0);
const DAY = 24 * 60 * 60 * 1000;
const TARGET = 'sqlite:/srv/tenant.db';

/** Date.now() under the test's control (better-sqlite3 does not read it). */
function clock(t: TestContext, now = T0): { at(ms: number): void } {
  t.mock.timers.enable({ apis: ['Date'], now });
  return { at: (ms) => t.mock.timers.setTime(ms) };
}

function rows<T>(path: string, query: string): T[] {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare<[], T>(query).all();
  } finally {
    db.close();
  }
}

function sql(path: string, statements: string): void {
  const db = new Database(path);
  try {
    db.exec(statements);
  } finally {
    db.close();
  }
}

function pending(store: StateStore, anchor: string, hashByte: number): PendingUser {
  return { source: 'ldap', anchor, userPrincipalName: `${anchor}@example.com`, fingerprint: store.fingerprint(new Uint8Array(16).fill(hashByte)), forceChange: false };
}

const batch = (runId: number, kind: BatchLogEntry['kind'], users: number, hashMs: number, writeMs: number, finishedAfter: number, applied: number, stale = 0, rejected = 0): BatchLogEntry =>
  ({ runId, kind, users, hashMs, writeMs, finishedAt: T0 + finishedAfter, applied, stale, rejected });

const FINAL_COUNTS = {
  scanned: 1005,
  passedOver: 2,
  synced: 990,
  hashed: 995,
  skipped: { unchanged: 2, disabled: 9 },
  disabledAtTarget: 9,
  failed: { TARGET_REJECTED: 1, INVALID_NT_HASH: 1, MISSING_USER_PRINCIPAL_NAME: 1, LDIF_SYNTAX: 1 },
  batches: 6,
  recoveredBatches: 0,
  droppedBatches: 0,
};

const ERRORS: RunError[] = [
  { origin: 'people.ldif line 12', code: 'LDIF_SYNTAX', message: 'no colon in "garbage"' },
  { origin: 'uid=u1,ou=People,dc=example,dc=com', code: 'INVALID_NT_HASH', message: 'sambaNTPassword is not 32 hex digits (3 characters)' },
  { origin: 'uid=u2,ou=People,dc=example,dc=com', code: 'MISSING_USER_PRINCIPAL_NAME', message: 'no userPrincipalName or mail' },
  { origin: 'u3', code: 'TARGET_REJECTED', message: 'rejected | by policy' },
];

/**
 * A full run of 10 s through the store's public API: three users fail (two read, one rejected by the
 * target), six batches, samples every second or so, and its first errors (one without an anchor).
 */
function populateFinishedRun(store: StateStore, c: { at(ms: number): void }): { runId: number; fingerprints: Buffer[] } {
  c.at(T0);
  const runId = store.beginRun('full', 'ldap', TARGET);
  c.at(T0 + 500);
  store.recordStatus({ source: 'ldap', anchor: 'u1', userPrincipalName: 'u1@example.com', status: 'error', reason: 'INVALID_NT_HASH', message: 'sambaNTPassword is not 32 hex digits (3 characters)' });
  store.recordStatus({ source: 'ldap', anchor: 'u2', status: 'error', reason: 'MISSING_USER_PRINCIPAL_NAME', message: 'no userPrincipalName or mail' });
  store.recordStatus({ source: 'ldap', anchor: 'u4', userPrincipalName: 'u4@example.com', status: 'skipped', reason: 'disabled' });
  store.recordStatus({ source: 'ldap', anchor: 'u6', userPrincipalName: 'u6@example.com', status: 'skipped', reason: 'unchanged' });
  store.flushStatuses();
  c.at(T0 + 600);
  const users = [pending(store, 'u3', 3), pending(store, 'u5', 5)];
  store.recordBatch(runId, TARGET, 'batch-1', users);
  store.ackBatch('batch-1', TARGET, runId, [{ status: 'invalid', reason: 'rejected | by policy' }, { status: 'applied' }]);

  store.recordBatchLog(batch(runId, 'credential', 256, 100, 20, 2000, 255, 0, 1));
  store.recordBatchLog(batch(runId, 'credential', 256, 120.5, 30, 4000, 256));
  store.recordBatchLog(batch(runId, 'credential', 256, 80, 90, 6000, 254, 2));
  store.recordBatchLog(batch(runId, 'disable', 10, 0, 5, 6500, 10));
  store.recordBatchLog(batch(runId, 'credential', 222, 90, 30, 9000, 222));
  store.recordBatchLog(batch(runId, 'disable', 3, 0, 4, 9500, 3));

  const sample = (after: number, scanned: number, synced: number): void => store.recordRunSample(runId, { at: T0 + after, scanned, synced, hashed: synced + 5, skipped: 1, failed: 0 });
  sample(1000, 200, 150);
  sample(1400, 260, 200); // less than a second after the last new row: replaces it
  sample(2000, 500, 400);
  sample(4000, 900, 760);
  sample(9000, 1000, 980);
  sample(9800, 1005, 990); // replaces the 9 s row

  c.at(T0 + 10_000);
  store.finishRun(runId, 'partial', FINAL_COUNTS, undefined, ERRORS);
  return { runId, fingerprints: users.map((u) => u.fingerprint) };
}

const EXPECTED_REPORT = (runId: number): RunReport => ({
  run: { id: runId, kind: 'full', source: 'ldap', target: TARGET, status: 'partial', startedAt: T0, finishedAt: T0 + 10_000, elapsedMs: 10_000, error: null },
  counts: {
    from: 'run',
    scanned: 1005,
    passedOver: 2,
    synced: 990,
    hashed: 995,
    leaked: 0,
    disabledAtTarget: 9,
    skipped: { total: 11, byReason: { disabled: 9, unchanged: 2 } },
    failed: { total: 4, byCode: { INVALID_NT_HASH: 1, LDIF_SYNTAX: 1, MISSING_USER_PRINCIPAL_NAME: 1, TARGET_REJECTED: 1 } },
    batches: 6,
    recoveredBatches: 0,
    droppedBatches: 0,
  },
  throughput: {
    usersPerSecond: 100.5,
    hashesPerSecond: 99.5,
    bucketed: false,
    overTime: [
      { fromMs: 0, toMs: 1400, scanned: 260, synced: 200, scannedPerSecond: 185.7, syncedPerSecond: 142.9 },
      { fromMs: 1400, toMs: 2000, scanned: 240, synced: 200, scannedPerSecond: 400, syncedPerSecond: 333.3 },
      { fromMs: 2000, toMs: 4000, scanned: 400, synced: 360, scannedPerSecond: 200, syncedPerSecond: 180 },
      // The 9.8 s sample is 200 ms before the end: the end (the final counts) takes its place.
      { fromMs: 4000, toMs: 10_000, scanned: 105, synced: 230, scannedPerSecond: 17.5, syncedPerSecond: 38.3 },
    ],
  },
  batches: {
    count: 6,
    users: 1003,
    byKind: { credential: 4, disable: 2 },
    applied: 1000,
    stale: 2,
    rejected: 1,
    hashMs: { total: 390.5, median: 85 },
    writeMs: { total: 179, median: 25 },
    slowest: [
      { kind: 'credential', users: 256, hashMs: 80, writeMs: 90, finishedAfterMs: 6000, applied: 254, stale: 2, rejected: 0 },
      { kind: 'credential', users: 256, hashMs: 120.5, writeMs: 30, finishedAfterMs: 4000, applied: 256, stale: 0, rejected: 0 },
      // Two of 120 ms: the earlier first.
      { kind: 'credential', users: 256, hashMs: 100, writeMs: 20, finishedAfterMs: 2000, applied: 255, stale: 0, rejected: 1 },
      { kind: 'credential', users: 222, hashMs: 90, writeMs: 30, finishedAfterMs: 9000, applied: 222, stale: 0, rejected: 0 },
      { kind: 'disable', users: 10, hashMs: 0, writeMs: 5, finishedAfterMs: 6500, applied: 10, stale: 0, rejected: 0 },
    ],
  },
  failedUsers: {
    total: 3,
    users: [
      { source: 'ldap', anchor: 'u1', userPrincipalName: 'u1@example.com', code: 'INVALID_NT_HASH', message: 'sambaNTPassword is not 32 hex digits (3 characters)', at: T0 + 500 },
      { source: 'ldap', anchor: 'u2', userPrincipalName: null, code: 'MISSING_USER_PRINCIPAL_NAME', message: 'no userPrincipalName or mail', at: T0 + 500 },
      { source: 'ldap', anchor: 'u3', userPrincipalName: 'u3@example.com', code: 'TARGET_REJECTED', message: 'rejected | by policy', at: T0 + 600 },
    ],
  },
  leakedUsers: [],
  errors: ERRORS,
});


describe('run report', () => {
  it('reports a finished run: counts by reason and code, throughput over time, batches, failed users and errors', (t) => {
    const c = clock(t);
    using dir = tempDir();
    const path = dir.file('state.db');
    using store = StateStore.open(path);
    const { runId, fingerprints } = populateFinishedRun(store, c);

    const report = store.runReport();
    assert.deepEqual(report, EXPECTED_REPORT(runId));
    assert.deepEqual(store.runReport({ runId }), report, 'by id: the same run');
    assert.deepEqual(store.runReport({ runId: runId + 1 }), undefined);

    // --failed N lists the first N, and still counts them all; 0 lists none.
    assert.deepEqual(store.runReport({ failedLimit: 2 })?.failedUsers, { total: 3, users: EXPECTED_REPORT(runId).failedUsers.users.slice(0, 2) });
    assert.deepEqual(store.runReport({ failedLimit: 0 })?.failedUsers, { total: 3, users: [] });
    assert.throws(() => store.runReport({ failedLimit: -1 }), RangeError);

    // One sample row a second: the 1.4 s sample replaced the 1 s row, the 9.8 s one the 9 s row.
    assert.deepEqual(rows(path, 'SELECT at - ' + T0 + ' AS at, scanned, synced FROM run_samples ORDER BY at'), [
      { at: 1400, scanned: 260, synced: 200 },
      { at: 2000, scanned: 500, synced: 400 },
      { at: 4000, scanned: 900, synced: 760 },
      { at: 9800, scanned: 1005, synced: 990 },
    ]);
    assert.deepEqual(rows(path, 'SELECT kind, users, hash_ms, write_ms FROM batch_log ORDER BY id').length, 6);

    // The run record holds the errors too; nothing a report holds is a fingerprint.
    assert.deepEqual(store.runs(1)[0]?.errors, ERRORS);
    const json = JSON.stringify(report);
    for (const fp of fingerprints) assert.ok(!json.includes(fp.toString('hex')) && !json.includes(fp.toString('base64')), 'a fingerprint in the report');
  });

  it('reports the newest run by default, even one still running (its newest sample), and one killed (until its last record)', (t) => {
    const c = clock(t);
    using dir = tempDir();
    const path = dir.file('state.db');
    using store = StateStore.open(path);
    const { runId: first } = populateFinishedRun(store, c);

    c.at(T0 + 60_000);
    const killed = store.beginRun('delta', 'ldap', TARGET);
    store.recordRunSample(killed, { at: T0 + 61_000, scanned: 10, synced: 4, hashed: 4, skipped: 6, failed: 0 });
    store.recordBatchLog(batch(killed, 'credential', 4, 3, 2, 62_500, 4));

    c.at(T0 + 120_000);
    const running = store.beginRun('delta', 'ldap', TARGET);
    assert.equal(store.runs(3).find((r) => r.id === killed)?.status, 'aborted');
    store.recordRunSample(running, { at: T0 + 121_000, scanned: 300, synced: 200, hashed: 210, skipped: 90, failed: 1 });
    store.recordRunSample(running, { at: T0 + 123_000, scanned: 700, synced: 500, hashed: 520, skipped: 190, failed: 2 });

    const now = T0 + 124_000;
    const report = store.runReport({ now })!;
    assert.deepEqual(report.run, { id: running, kind: 'delta', source: 'ldap', target: TARGET, status: 'running', startedAt: T0 + 120_000, finishedAt: null, elapsedMs: 4000, error: null });
    assert.deepEqual(report.counts, {
      from: 'sample',
      scanned: 700,
      passedOver: 0,
      synced: 500,
      hashed: 520,
      leaked: 0,
      disabledAtTarget: 0,
      skipped: { total: 190, byReason: {} },
      failed: { total: 2, byCode: {} },
      batches: 0,
      recoveredBatches: 0,
      droppedBatches: 0,
    });
    assert.deepEqual(report.throughput, {
      // Totals at 3 s: rated until then, not until now.
      usersPerSecond: 233.3,
      hashesPerSecond: 173.3,
      bucketed: false,
      overTime: [
        { fromMs: 0, toMs: 1000, scanned: 300, synced: 200, scannedPerSecond: 300, syncedPerSecond: 200 },
        { fromMs: 1000, toMs: 3000, scanned: 400, synced: 300, scannedPerSecond: 200, syncedPerSecond: 150 },
      ],
    });
    assert.deepEqual(report.batches, { count: 0, users: 0, byKind: {}, applied: 0, stale: 0, rejected: 0, hashMs: { total: 0, median: 0 }, writeMs: { total: 0, median: 0 }, slowest: [] });
    assert.deepEqual(report.failedUsers, { total: 0, users: [] });
    assert.deepEqual(report.errors, []);

    // The killed run: no final counts, elapsed until its last batch (2.5 s), not until now.
    const dead = store.runReport({ runId: killed, now })!;
    assert.deepEqual([dead.run.status, dead.run.finishedAt, dead.run.elapsedMs, dead.counts.from, dead.counts.scanned], ['aborted', null, 2500, 'sample', 10]);
    assert.deepEqual(dead.throughput.overTime, [{ fromMs: 0, toMs: 1000, scanned: 10, synced: 4, scannedPerSecond: 10, syncedPerSecond: 4 }]);
    assert.equal(dead.throughput.usersPerSecond, 10);
    assert.deepEqual(dead.batches.slowest, [{ kind: 'credential', users: 4, hashMs: 3, writeMs: 2, finishedAfterMs: 2500, applied: 4, stale: 0, rejected: 0 }]);

    // The first run is unchanged by the later ones.
    assert.deepEqual(store.runReport({ runId: first }), EXPECTED_REPORT(first));
  });

  it('buckets a long run into at most 20 intervals of about equal time, each from exact totals', (t) => {
    const c = clock(t);
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const runId = store.beginRun('full', 'ldap', TARGET);
    // An hour, a sample a second: 100 users/s for the first half hour, then 50/s.
    const scannedAt = (s: number): number => (s <= 1800 ? 100 * s : 180_000 + 50 * (s - 1800));
    for (let s = 1; s <= 3600; s++) store.recordRunSample(runId, { at: T0 + s * 1000, scanned: scannedAt(s), synced: scannedAt(s), hashed: scannedAt(s), skipped: 0, failed: 0 });
    c.at(T0 + 3_600_000);
    store.finishRun(runId, 'succeeded', { ...FINAL_COUNTS, scanned: 270_000, synced: 270_000, hashed: 270_000, skipped: {}, failed: {} });

    const { throughput } = store.runReport()!;
    assert.equal(throughput.bucketed, true);
    assert.equal(throughput.usersPerSecond, 75);
    assert.equal(throughput.overTime.length, 20);
    assert.deepEqual(throughput.overTime.map((i) => [i.fromMs, i.toMs]), Array.from({ length: 20 }, (_, k) => [k * 180_000, (k + 1) * 180_000]));
    assert.deepEqual(throughput.overTime.map((i) => i.scannedPerSecond), [...Array<number>(10).fill(100), ...Array<number>(10).fill(50)]);
    assert.deepEqual(throughput.overTime.map((i) => i.scanned), [...Array<number>(10).fill(18_000), ...Array<number>(10).fill(9000)]);
  });

  it('keeps a run\'s first 50 errors, each text cut to 1,000 characters', (t) => {
    clock(t);
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const runId = store.beginRun('full', 'ldap', TARGET);
    const errors = Array.from({ length: 60 }, (_, i) => ({ origin: `line ${i}`, code: 'LDIF_SYNTAX', message: i === 0 ? 'x'.repeat(5000) : `bad ${i}`, extra: 'not kept' }));
    store.finishRun(runId, 'partial', { scanned: 60 }, 'stopped: target unreachable', errors);
    const kept = store.runs(1)[0]!;
    assert.equal(kept.error, 'stopped: target unreachable');
    assert.equal(kept.errors.length, 50);
    assert.deepEqual(kept.errors[49], { origin: 'line 49', code: 'LDIF_SYNTAX', message: 'bad 49' });
    assert.equal(kept.errors[0]!.message, `${'x'.repeat(999)}…`);
    assert.deepEqual(store.runReport()!.errors, kept.errors);
    assert.equal(store.runReport()!.run.error, 'stopped: target unreachable');

    // Without errors (as before version 3): none.
    const next = store.beginRun('full', 'ldap', TARGET);
    store.finishRun(next, 'succeeded', { scanned: 0 });
    assert.deepEqual(store.runs(1)[0]!.errors, []);
  });

  it('lastFullRunScanned: the newest finished full run of the source that succeeded or was partial', () => {
    using dir = tempDir();
    using store = StateStore.open(dir.file('state.db'));
    const run = (kind: string, source: string, status: 'succeeded' | 'partial' | 'failed' | 'interrupted', scanned: number): void => {
      store.finishRun(store.beginRun(kind, source, TARGET), status, { ...FINAL_COUNTS, scanned });
    };
    assert.equal(store.lastFullRunScanned('a'), undefined);
    run('full', 'a', 'succeeded', 10);
    run('full', 'a', 'partial', 20);
    run('full', 'a', 'failed', 30);
    run('full', 'a', 'interrupted', 35);
    run('delta', 'a', 'succeeded', 40);
    run('full', 'b', 'succeeded', 50);
    store.beginRun('full', 'a', TARGET); // running: not finished
    assert.equal(store.lastFullRunScanned('a'), 20);
    assert.equal(store.lastFullRunScanned('b'), 50);
    assert.equal(store.lastFullRunScanned('c'), undefined);
    // A finished full run without a scanned count says nothing.
    store.finishRun(store.beginRun('full', 'c', TARGET), 'succeeded', { synced: 3 });
    assert.equal(store.lastFullRunScanned('c'), undefined);
  });

  it('prunes the batch log and samples of runs that ended before the retention, in bounded chunks, with the history', (t) => {
    const c = clock(t);
    using dir = tempDir();
    const path = dir.file('state.db');
    // Kept forever unless pruned by hand: beginRun does not prune here.
    using store = StateStore.open(path, { historyRetentionMs: Infinity });
    const logRun = (runId: number, n: number): void => {
      for (let i = 0; i < n; i++) {
        store.recordBatchLog(batch(runId, 'credential', 1, 1, 1, i, 1));
        store.recordRunSample(runId, { at: Date.now() + i * 1000, scanned: i, synced: i, hashed: i, skipped: 0, failed: 0 });
      }
    };
    const old = store.beginRun('full', 'ldap', TARGET);
    logRun(old, 5);
    store.finishRun(old, 'succeeded', {});
    c.at(T0 + 2 * DAY);
    const killed = store.beginRun('full', 'ldap', TARGET); // never finished: aborted by the next run
    logRun(killed, 3);
    c.at(T0 + 8 * DAY);
    const recent = store.beginRun('full', 'ldap', TARGET);
    logRun(recent, 4);
    store.finishRun(recent, 'succeeded', {});
    const perRun = (table: string): unknown[] => rows(path, `SELECT run_id, count(*) AS n FROM ${table} GROUP BY run_id ORDER BY run_id`);

    // 7 days: the run that ended at T0 goes; the one killed at T0 + 2 days is 6 days old and stays.
    store.pruneHistory(7 * DAY, 2);
    assert.deepEqual(perRun('batch_log'), [{ run_id: killed, n: 3 }, { run_id: recent, n: 4 }]);
    assert.deepEqual(perRun('run_samples'), [{ run_id: killed, n: 3 }, { run_id: recent, n: 4 }]);
    // A run still running is never pruned, however old.
    c.at(T0 + 30 * DAY);
    const running = store.beginRun('full', 'ldap', TARGET);
    logRun(running, 2);
    sql(path, `UPDATE runs SET started_at = ${T0} WHERE id = ${running}`);
    store.pruneHistory(DAY);
    assert.deepEqual(perRun('batch_log'), [{ run_id: running, n: 2 }]);
    assert.deepEqual(perRun('run_samples'), [{ run_id: running, n: 2 }]);
    // The runs themselves stay; their reports just have no batches or samples.
    assert.equal(store.runReport({ runId: old })?.batches.count, 0);
  });

  it('migrates a version-2 store to version 3: its runs are kept and reported, new runs log batches and samples', (t) => {
    const c = clock(t);
    using dir = tempDir();
    const path = dir.file('state.db');
    {
      const v2 = new Database(path);
      v2.pragma('journal_mode = WAL');
      v2.exec(STATE_V2_DDL);
      v2.prepare(`INSERT INTO runs (id, kind, source, target, started_at, finished_at, status, counts, error) VALUES (1, 'full', 'ldap', ?, ?, ?, 'partial', ?, NULL)`)
        .run(TARGET, T0 - 5000, T0, JSON.stringify({ ...FINAL_COUNTS, scanned: 400, synced: 380, hashed: 390 }));
      v2.prepare(`INSERT INTO user_events (run_id, source, anchor, upn, status, reason, message, at) VALUES (1, 'ldap', 'old', 'old@example.com', 'error', 'INVALID_NT_HASH', 'not 32 hex digits', ?)`).run(T0 - 1000);
      v2.close();
    }
    {
      using store = StateStore.open(path);
      const old = store.runReport()!;
      assert.deepEqual(old.run, { id: 1, kind: 'full', source: 'ldap', target: TARGET, status: 'partial', startedAt: T0 - 5000, finishedAt: T0, elapsedMs: 5000, error: null });
      assert.deepEqual([old.counts.scanned, old.throughput.usersPerSecond, old.throughput.hashesPerSecond], [400, 80, 78]);
      assert.deepEqual(old.throughput.overTime, [{ fromMs: 0, toMs: 5000, scanned: 400, synced: 380, scannedPerSecond: 80, syncedPerSecond: 76 }], 'no samples: start to end');
      assert.deepEqual(old.failedUsers, { total: 1, users: [{ source: 'ldap', anchor: 'old', userPrincipalName: 'old@example.com', code: 'INVALID_NT_HASH', message: 'not 32 hex digits', at: T0 - 1000 }] });
      assert.deepEqual(old.errors, []);
      assert.equal(old.batches.count, 0);
      assert.equal(store.lastFullRunScanned('ldap'), 400);
      assert.deepEqual(store.runs(1)[0]?.errors, []);

      const { runId } = populateFinishedRun(store, c);
      assert.equal(runId, 2);
      assert.deepEqual(store.runReport(), EXPECTED_REPORT(2));
      assert.equal(store.lastFullRunScanned('ldap'), 1005);
    }
    assert.deepEqual(rows(path, `SELECT value FROM meta WHERE key = 'schema_version'`), [{ value: String(STATE_SCHEMA.version) }]);
    assert.deepEqual(rows<{ name: string }>(path, `SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name`).map((r) => r.name), ['acks', 'batch_log', 'batches', 'leaked_users', 'meta', 'run_samples', 'runs', 'synced', 'user_events', 'users', 'watermarks']);
    assert.deepEqual(rows<{ name: string }>(path, `SELECT name FROM sqlite_schema WHERE type = 'index' AND sql IS NOT NULL ORDER BY name`).map((r) => r.name), ['batch_log_run']);
    assert.ok(rows<{ name: string }>(path, 'PRAGMA table_info(runs)').some((col) => col.name === 'errors'));
    // Opening again does not migrate again; a new store has the same tables.
    using again = StateStore.open(path);
    assert.equal(again.runs(5).length, 2);
    StateStore.open(dir.file('fresh.db')).close();
    const schema = (p: string): unknown[] => rows(p, `SELECT type, name, tbl_name FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%' ORDER BY name`);
    assert.deepEqual(schema(dir.file('fresh.db')), schema(path));
    assert.deepEqual(rows(dir.file('fresh.db'), 'PRAGMA table_info(runs)'), rows(path, 'PRAGMA table_info(runs)'));
  });
});

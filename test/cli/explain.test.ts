import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { EngineLock } from '../../src/state/engine-lock.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { WatermarkStore } from '../../src/state/watermark-store.ts';
import { runCli } from '../support/run-cli.ts';
import { SECRET_NT, anchorOf, sambaUser } from '../support/samba-ldif.ts';
import { tempDir } from '../support/temp-dir.ts';

// "secret", then another password for user 2 in the second run.
const CHANGED_NT = '3DBDE697D71690A769204BEB12283678';

const anchor = anchorOf;

const user = sambaUser;

function directory(user2Hash: string): string {
  return [
    'version: 1\n\n',
    user('000001', {}),
    user('000002', { sambaNTPassword: user2Hash }),
    user('000003', { sambaNTPassword: 'XYZ' }),
    user('000004', { sambaAcctFlags: '[UD         ]' }),
    user('000005', { userPrincipalName: undefined }),
  ].join('');
}

type ExplainJson = {
  user: string;
  matches: {
    source: string;
    anchor: string;
    userPrincipalName: string | null;
    current: { status: string; reason?: string; display: string } | null;
    synced: { target: string; runId: number; syncedAt: string; disabled: boolean }[];
    events: { at: string; runId: number; runKind: string; status: string; reason?: string; message?: string; display: string }[];
  }[];
};

type StatusJson = {
  running: { id: number; kind: string; elapsedSeconds: number } | null;
  lastSuccess: { id: number; kind: string; status: string; finishedAt: number } | null;
  behindSeconds: number | null;
  watermarks: { source: string; kind: string; value: string; updatedAt: number }[];
  runs: { id: number; status: string }[];
  engineRunning: boolean | null;
};

/** No NT hash, in either case, in anything explain or status prints. */
function assertNoHash(text: string): void {
  for (const nt of [SECRET_NT, CHANGED_NT]) {
    assert.ok(!text.includes(nt) && !text.includes(nt.toLowerCase()), 'an NT hash was printed');
  }
}

describe('phsync explain and status, through the CLI, after two syncs of a small LDIF', () => {
  // Shared by the tests below, which run in order: removed after the last one.
  const dir = tempDir();
  after(() => dir[Symbol.dispose]());
  const ldif = dir.file('people.ldif');
  const state = dir.file('state.db');
  const target = `sqlite:${dir.file('tenant.db')}`;
  const explain = (...args: string[]) => runCli(['explain', '--state', state, ...args]);

  it('syncs twice, user 2 changing its password in between', async () => {
    writeFileSync(ldif, directory(SECRET_NT));
    const first = await runCli(['sync', '--source', ldif, '--target', target, '--state', state]);
    assert.equal(first.code, 2, first.stderr);
    writeFileSync(ldif, directory(CHANGED_NT));
    const second = await runCli(['sync', '--source', ldif, '--target', target, '--state', state, '--json']);
    assert.equal(second.code, 2, second.stderr);
    const summary = JSON.parse(second.stdout) as { runId: number; counts: { synced: number; skipped: Record<string, number> } };
    assert.equal(summary.runId, 2);
    assert.equal(summary.counts.synced, 1, 'only user 2 changed');
    assert.equal(summary.counts.skipped['unchanged'], 1);
  });

  it('explains a changed user by its UPN in any case: synced, with a Success in each run, newest first', async () => {
    const result = await explain('--user', '000002@EXAMPLE.com');
    assert.equal(result.code, 0, result.stderr);
    assertNoHash(result.stdout + result.stderr);
    const out = result.stdout;
    assert.match(out, /^source +default$/m);
    assert.match(out, new RegExp(`^anchor +${anchor('000002')}$`, 'm'));
    assert.match(out, /^upn +000002@example\.com$/m);
    assert.match(out, /^status +Success$/m);
    assert.match(out, new RegExp(`^synced +to sqlite:.*tenant\\.db as 000002@example\\.com, \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z \\(run 2\\), enabled there$`, 'm'));
    const history = out.split('\n').filter((l) => /^ {2}\d{4}-/.test(l));
    assert.equal(history.length, 2, out);
    assert.match(history[0]!, /^ {2}\S+Z {2}run 2 full {2}Success$/);
    assert.match(history[1]!, /^ {2}\S+Z {2}run 1 full {2}Success$/);
  });

  it('explains an unchanged user by its anchor: the second run did not touch it', async () => {
    const result = await explain('--user', anchor('000001'), '--json');
    assert.equal(result.code, 0, result.stderr);
    const json = JSON.parse(result.stdout) as ExplainJson;
    assert.equal(json.matches.length, 1);
    const [m] = json.matches;
    assert.equal(m!.userPrincipalName, '000001@example.com');
    assert.deepEqual(m!.current, { status: 'success', display: 'Success' });
    assert.deepEqual(m!.synced.map((s) => [s.runId, s.disabled, s.target.startsWith('sqlite:')]), [[1, false, true]]);
    assert.deepEqual(m!.events.map((e) => [e.runId, e.runKind, e.status, e.display]), [[1, 'full', 'success', 'Success']]);
    assert.ok(!Number.isNaN(Date.parse(m!.events[0]!.at)));
  });

  it('explains malformed and skipped users in the reference vocabulary', async () => {
    const bad = await explain('--user', '000003@example.com');
    assert.equal(bad.code, 0, bad.stderr);
    assertNoHash(bad.stdout);
    assert.doesNotMatch(bad.stdout, /XYZ/, 'a bad hash value is never echoed');
    assert.match(bad.stdout, /^status +Error \(INVALID_NT_HASH\): /m);
    assert.match(bad.stdout, /^synced +no: no target holds this user$/m);
    const lines = bad.stdout.split('\n').filter((l) => /^ {2}\d{4}-/.test(l));
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /run 2 full {2}Error \(INVALID_NT_HASH\): \S/);
    assert.match(lines[1]!, /run 1 full {2}Error \(INVALID_NT_HASH\): \S/);

    const missing = await explain('--user', anchor('000005'), '--json');
    assert.equal(missing.code, 0, missing.stderr);
    const json = JSON.parse(missing.stdout) as ExplainJson;
    assert.equal(json.matches[0]!.userPrincipalName, null);
    assert.deepEqual(json.matches[0]!.events.map((e) => [e.runId, e.status, e.reason, e.display]), [
      [2, 'error', 'MISSING_USER_PRINCIPAL_NAME', 'MissingAttribute (MISSING_USER_PRINCIPAL_NAME)'],
      [1, 'error', 'MISSING_USER_PRINCIPAL_NAME', 'MissingAttribute (MISSING_USER_PRINCIPAL_NAME)'],
    ]);

    const disabled = await explain('--user', '000004@example.com');
    assert.equal(disabled.code, 0, disabled.stderr);
    assert.match(disabled.stdout, /^status +Skipped \(disabled\)$/m);
    assert.match(disabled.stdout, /run 2 full {2}Skipped \(disabled\)$/m);
  });

  it('exits 1 with a clear message for a user it does not know', async () => {
    const result = await explain('--user', 'nobody@example.com');
    assert.equal(result.code, 1);
    assert.equal(result.stdout, '');
    assert.match(result.stderr, /no user "nobody@example\.com" in the state store .*state\.db/);
    const otherSource = await explain('--user', '000001@example.com', '--source', 'elsewhere');
    assert.equal(otherSource.code, 1);
    assert.match(otherSource.stderr, /no user "000001@example\.com" from source elsewhere in the state store/);
    const noStore = await runCli(['explain', '--state', dir.file('missing.db'), '--user', 'x']);
    assert.equal(noStore.code, 1);
    assert.match(noStore.stderr, /no state store at/);
  });

  it('status --json: no cycle running, the last successful cycle, how far behind, watermarks, runs', async () => {
    const before = Date.now();
    const result = await runCli(['status', '--state', state, '--json']);
    assert.equal(result.code, 0, result.stderr);
    const status = JSON.parse(result.stdout) as StatusJson;
    assert.deepEqual(Object.keys(status).sort(), ['behindSeconds', 'engineRunning', 'lastSuccess', 'running', 'runs', 'watermarks']);
    assert.equal(status.running, null);
    assert.equal(status.engineRunning, false);
    assert.equal(status.lastSuccess?.id, 2);
    assert.equal(status.lastSuccess?.kind, 'full');
    assert.equal(status.lastSuccess?.status, 'partial', 'read to the end; some users failed');
    assert.ok(status.behindSeconds !== null && status.behindSeconds >= 0);
    assert.ok(Math.abs(status.behindSeconds - (before - status.lastSuccess.finishedAt) / 1000) < 30);
    assert.deepEqual(status.watermarks, []);
    assert.deepEqual(status.runs.map((r) => [r.id, r.status]), [[2, 'partial'], [1, 'partial']]);
    const text = await runCli(['status', '--state', state]);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, /^running: no$/m);
    assert.match(text.stdout, /^last successful cycle: run 2 full of default \(partial: some users failed\), finished \S+Z; behind by \d+ s$/m);
    assert.match(text.stdout, /^watermark default: none/m);
    assert.match(text.stdout, /^run 2 full partial .*scanned 5, synced 1/m);
  });

  it('status shows the cycle an engine is running, and a watermark', async () => {
    {
      using watermarks = new WatermarkStore(state);
      watermarks.save({ source: 'default', kind: 'entrycsn', value: '20261127120000.000000Z#000000#000#000000', scopeHash: 'scope', fullScanAt: Date.now() - 60_000 });
    }
    // An engine (this process) holds the lock and is running run 3.
    const lock = EngineLock.acquire(state);
    let runId: number;
    try {
      {
        using store = StateStore.open(state);
        runId = store.beginRun('delta', 'default', target);
      }
      const result = await runCli(['status', '--state', state, '--json']);
      assert.equal(result.code, 0, result.stderr);
      const status = JSON.parse(result.stdout) as StatusJson;
      assert.equal(status.engineRunning, true);
      assert.equal(status.running?.id, runId);
      assert.equal(status.running?.kind, 'delta');
      assert.ok(status.running.elapsedSeconds >= 0);
      assert.equal(status.lastSuccess?.id, 2);
      assert.deepEqual(status.watermarks.map((w) => [w.source, w.kind, w.value]), [['default', 'entrycsn', '20261127120000.000000Z#000000#000#000000']]);
      assert.ok(status.watermarks[0]!.updatedAt >= Date.now() - 60_000);
      const text = await runCli(['status', '--state', state]);
      assert.match(text.stdout, new RegExp(`^running: run ${runId} delta of default to sqlite:\\S+, started \\S+Z \\(\\d+ s ago\\)$`, 'm'));
      assert.match(text.stdout, /^watermark default: entrycsn 20261127120000\.000000Z#000000#000#000000, updated \S+Z, last full scan \S+Z$/m);
      // The probe did not take the lock from this engine.
      assert.throws(() => EngineLock.acquire(state), { code: 'STATE_LOCKED' });
    } finally {
      lock.release();
    }
    // The engine is gone but its run is still marked running: it was killed.
    const after = await runCli(['status', '--state', state]);
    assert.match(after.stdout, /^running: no$/m);
    assert.match(after.stdout, new RegExp(`run ${runId} is marked running but no engine holds the state store`));
    const json = JSON.parse((await runCli(['status', '--state', state, '--json'])).stdout) as StatusJson;
    assert.equal(json.running, null);
    assert.equal(json.engineRunning, false);
  });
});

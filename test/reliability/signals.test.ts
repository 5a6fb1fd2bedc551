import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { generateFixture } from '../../src/fixture/generate-fixture.ts';
import { HashPool } from '../../src/hash/hash-pool.ts';
import { runSync } from '../../src/pipeline/sync-run.ts';
import { LdifSource } from '../../src/source/ldif-source.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { StateStore } from '../../src/state/state-store.ts';
import type { CredentialBatch, ItemResult } from '../../src/target/credential-batch.ts';
import type { CredentialTarget } from '../../src/target/credential-target.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import type { CliResult } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const INTERRUPTED = 130;
const USERS = 8000;

interface Counts {
  synced: number;
  hashed: number;
  skipped: Record<string, number>;
  failed: Record<string, number>;
}

/** The last run recorded in a state store, and the batches it left in flight (none when it stopped cleanly). */
function lastRun(statePath: string): { status: string; inFlight: number } {
  using state = StateStore.open(statePath);
  const run = state.runs(1)[0];
  assert.ok(run !== undefined, 'a run was recorded');
  return { status: run.status, inFlight: state.inFlightBatches(run.target).length };
}

function distinctUsers(tenantPath: string): { rows: number; anchors: number } {
  using store = TenantStore.open(tenantPath);
  const users = [...store.users()];
  return { rows: users.length, anchors: new Set(users.map((u) => `${u.source}\0${u.anchor}`)).size };
}

function counts(result: CliResult): Counts {
  return (JSON.parse(result.stdout) as { counts: Counts }).counts;
}

describe('SIGTERM in each phase of a sync', { timeout: 90_000 }, () => {
  const dir = tempDir();
  after(() => dir[Symbol.dispose]());
  const ldif = dir.file('directory.ldif');
  const csv = dir.file('passwords.csv');
  let inScope = 0;
  before(async () => {
    await generateFixture({ users: USERS, out: ldif, passwords: csv, seed: 'signals' });
    inScope = readPasswordsCsv(csv).filter((p) => !p.disabled && !p.empty && !p.mustChange).length;
  });
  // The node kernel on one worker: slow enough that a signal lands while batches are in flight.
  const args = (name: string, kernel = 'node'): string[] => ['sync', '--source', ldif, '--target', `sqlite:${dir.file(`${name}-tenant.db`)}`, '--state', dir.file(`${name}-state.db`), '--kernel', kernel, '--workers', '1', '--batch-size', '100', '--no-progress', '--json'];

  /** The rerun after a stop: exit 0, every in-scope user exactly once, only the users the tenant lacked hashed. */
  async function rerunCompletes(name: string): Promise<void> {
    const tenant = dir.file(`${name}-tenant.db`);
    const had = tenantCount(tenant);
    const rerun = await runCli(args(name));
    assert.equal(rerun.code, 0, rerun.stderr);
    const c = counts(rerun);
    assert.deepEqual(c.failed, {});
    assert.equal(c.hashed, inScope - had, 'the rerun hashed exactly the users the tenant did not have: the state store agreed with it');
    assert.deepEqual(distinctUsers(tenant), { rows: inScope, anchors: inScope });
  }

  it('during start-up (the lock taken, kernels being measured): exit 130, no run begun, nothing written', async () => {
    const { child, done } = startCli(args('startup', 'auto'));
    // The state store exists from just after the signal handler and the engine lock, before the
    // kernels are measured and the first run begins.
    while (child.exitCode === null && !existsSync(dir.file('startup-state.db'))) await sleep(2);
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(tenantCount(dir.file('startup-tenant.db')), 0, 'nothing reached the tenant');
    assert.equal(result.code, INTERRUPTED, `exit code ${result.code}: ${result.stderr}`);
  });

  it('while hashing and writing mid-run: exit 130 after the batches in flight, run interrupted, none left in flight; the rerun completes', async () => {
    const tenant = dir.file('midrun-tenant.db');
    const { child, done } = startCli(args('midrun'));
    while (child.exitCode === null && tenantCount(tenant) < 500) await sleep(5);
    assert.equal(child.exitCode, null, 'still running when signalled');
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, INTERRUPTED, result.stderr);
    assert.match(result.stderr, /SIGTERM received, finishing the batches in flight/);
    const c = counts(result);
    const landed = tenantCount(tenant);
    assert.ok(landed < inScope, `stopped part way: ${landed} of ${inScope}`);
    assert.equal(c.synced, landed, 'every batch sent was finished and acknowledged, none half-done');
    assert.deepEqual(lastRun(dir.file('midrun-state.db')), { status: 'interrupted', inFlight: 0 });
    await rerunCompletes('midrun');
  });

  it('a second signal stops at once (exit 130); the next run recovers what was in flight', async () => {
    const tenant = dir.file('twice-tenant.db');
    const { child, done } = startCli(args('twice'));
    while (child.exitCode === null && tenantCount(tenant) < 500) await sleep(5);
    assert.equal(child.exitCode, null, 'still running when signalled');
    child.kill('SIGTERM');
    await sleep(5);
    child.kill('SIGTERM');
    const result = await done;
    assert.equal(result.code, INTERRUPTED, result.stderr);
    assert.ok(tenantCount(tenant) < inScope);
    // The run is left "running" (it stopped at once); the next one marks it aborted and resumes.
    assert.ok(['running', 'interrupted'].includes(lastRun(dir.file('twice-state.db')).status));
    await rerunCompletes('twice');
    using state = StateStore.open(dir.file('twice-state.db'));
    assert.ok(state.runs(2).every((r) => r.status !== 'running'), 'no run left marked running');
  });

  it('while reading from a stalled directory: the read is abandoned, exit 130, and the rerun completes', async () => {
    await using slapd = await startSlapd({ users: 1500, seed: 'signals-ldap' });
    using ldapDir = tempDir();
    const tenant = ldapDir.file('tenant.db');
    const ldapArgs = ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${tenant}`, '--state', ldapDir.file('state.db'), '--page-size', '50', '--kernel', 'node', '--workers', '1', '--batch-size', '50', '--ldap-timeout', '30', '--no-progress', '--json'];
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const { child, done } = startCli(ldapArgs, { env });
    while (child.exitCode === null && tenantCount(tenant) < 200) await sleep(5);
    assert.equal(child.exitCode, null, 'still running');
    // slapd stops answering: the engine waits on a page (the timeout is 30 s, far off).
    await slapd.pause();
    let last = -1;
    while (tenantCount(tenant) !== last) {
      last = tenantCount(tenant);
      await sleep(300);
    }
    const signalled = Date.now();
    child.kill('SIGTERM');
    await sleep(300);
    // The connection it waits on goes away while it stops.
    await slapd.kill();
    const result = await done;
    assert.ok(Date.now() - signalled < 15_000, 'it did not wait for the LDAP timeout');
    assert.equal(result.code, INTERRUPTED, result.stderr);
    assert.doesNotMatch(result.stderr, /LDAP_CONNECTION_LOST|reconnecting/, 'a lost connection after the signal is no failure and no retry');
    assert.deepEqual(lastRun(ldapDir.file('state.db')), { status: 'interrupted', inFlight: 0 });
    await slapd.restart();
    const rerun = await runCli(ldapArgs, { env });
    assert.equal(rerun.code, 0, rerun.stderr);
    const expected = readPasswordsCsv(slapd.passwordsCsv!).filter((p) => !p.disabled && !p.empty && !p.mustChange).length;
    assert.deepEqual(distinctUsers(tenant), { rows: expected, anchors: expected });
  });

  it('at the end, while out-of-scope users are being disabled: the step stops, the run is interrupted, the rerun finishes it', async () => {
    using d = tempDir();
    using store = TenantStore.open(d.file('tenant.db'));
    using state = StateStore.open(d.file('state.db'));
    const pool = await HashPool.create({ workers: 1, kernel: 'node' });
    const controller = new AbortController();
    let disableBatches = 0;
    let abortOnDisable = false;
    // The embedded tenant's store behind a target that raises SIGTERM's abort as the first disable batch arrives.
    const target: CredentialTarget = {
      id: 'test:tenant',
      async write(batch: CredentialBatch): Promise<ItemResult[]> {
        if (batch.items.some((i) => i.credential === undefined)) {
          disableBatches++;
          if (abortOnDisable) controller.abort(new Error('SIGTERM'));
          await sleep(20);
        }
        return store.applyBatch(batch);
      },
      async appliedResults(batchId: string) {
        return store.batchResults(batchId);
      },
      async close() {},
    };
    const run = (path: string, signal?: AbortSignal) =>
      runSync({ source: new LdifSource({ path, name: 'default', mapping: openldapSamba }), target, state, hasher: pool, policy: { syncEmptyPasswords: false, forcePasswordChangeOnLogon: false }, iterations: 1000, batchSize: 10, maxBatchesInFlight: 2, dryRun: false, maxOutOfScopeDisables: 1000, ...(signal === undefined ? {} : { signal }) });
    try {
      const first = await run(SAMPLE);
      assert.equal(first.status, 'succeeded');
      const enabled = store.countUsers();
      // Every user of the sample leaves the scope: an empty directory file.
      const empty = d.file('empty.ldif');
      writeFileSync(empty, 'dn: dc=example,dc=com\nobjectClass: top\ndc: example\n\n');
      abortOnDisable = true;
      const stopped = await run(empty, controller.signal);
      assert.equal(stopped.status, 'interrupted');
      assert.ok(stopped.counts.disabledAtTarget > 0 && stopped.counts.disabledAtTarget < enabled, `stopped part way through the disables (${stopped.counts.disabledAtTarget} of ${enabled})`);
      assert.equal(state.inFlightBatches(target.id).length, 0, 'the disable batches sent were acknowledged, none left half-done');
      assert.equal(state.runs(1)[0]?.status, 'interrupted');
      const disabledAtTenant = [...store.users()].filter((u) => u.disabled).length;
      assert.equal(disabledAtTenant, stopped.counts.disabledAtTarget, 'the tenant and the counts agree');
      abortOnDisable = false;
      const rerun = await run(empty);
      assert.equal(rerun.status, 'succeeded');
      assert.equal(rerun.counts.disabledAtTarget, enabled - disabledAtTenant, 'the rerun disables only the rest');
      assert.equal([...store.users()].filter((u) => u.disabled).length, enabled);
      assert.ok(disableBatches > 2);
    } finally {
      await pool.close();
    }
  });
});

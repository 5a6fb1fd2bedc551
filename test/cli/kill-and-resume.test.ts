import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { it } from 'node:test';
import { generateFixture } from '../../src/fixture/generate-fixture.ts';
import { verifyCredential } from '../../src/phs/credential.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { independentlyVerifies } from '../support/independent-credential.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

const USERS = 20_000;
// Tenant sizes at which the engine is killed: early, middle, late.
const KILL_AT = [1_500, 8_000, 15_000];


it(`SIGKILL in the middle of a ${USERS}-user sync, then a rerun: every user exactly once, nothing rehashed that the tenant had`, { timeout: 180_000 }, async () => {
  using dir = tempDir();
  const ldif = dir.file('directory.ldif');
  const csv = dir.file('passwords.csv');
  await generateFixture({ users: USERS, out: ldif, passwords: csv, seed: 'kill-and-resume' });
  const passwords = readPasswordsCsv(csv);
  const inScope = passwords.filter((p) => !p.disabled && !p.empty && !p.mustChange);
  const tenantPath = dir.file('tenant.db');
  const args = ['sync', '--source', ldif, '--target', `sqlite:${tenantPath}`, '--state', dir.file('state.db'), '--batch-size', '100', '--workers', '2'];

  for (const threshold of KILL_AT) {
    const { child, done } = startCli(args);
    while (child.exitCode === null && tenantCount(tenantPath) < threshold) await sleep(5);
    child.kill('SIGKILL');
    const result = await done;
    assert.equal(result.signal, 'SIGKILL', `the engine must still be running at ${threshold} users to be killed (it exited with ${result.code}: ${result.stderr})`);
    const count = tenantCount(tenantPath);
    assert.ok(count >= threshold && count < inScope.length, `killed mid-run: ${count} of ${inScope.length} in the tenant`);
  }

  const before = tenantCount(tenantPath);
  const final = await runCli([...args, '--json']);
  assert.equal(final.code, 0, final.stderr);
  const summary = JSON.parse(final.stdout) as { counts: { hashed: number; synced: number; recoveredBatches: number; droppedBatches: number; skipped: Record<string, number> } };
  // Users the tenant already held (including those of a batch that landed just before the kill)
  // are not hashed again; everyone else is hashed exactly once.
  assert.equal(summary.counts.hashed, inScope.length - before, JSON.stringify(summary.counts));
  assert.equal(summary.counts.synced, inScope.length - before);
  assert.ok(summary.counts.recoveredBatches + summary.counts.droppedBatches <= 4, 'at most the batches in flight at the kill');

  using tenant = TenantStore.open(tenantPath);
  const users = [...tenant.users()];
  assert.equal(users.length, inScope.length);
  assert.equal(new Set(users.map((u) => u.anchor)).size, users.length);
  const byUpn = new Map(passwords.map((p) => [p.userPrincipalName, p]));
  assert.deepEqual(new Set(users.map((u) => u.userPrincipalName)), new Set(inScope.map((p) => p.userPrincipalName)));
  for (const [i, u] of users.entries()) {
    const password = byUpn.get(u.userPrincipalName)!.password;
    assert.equal(verifyCredential(u.credential, await ntHash(password)), true, u.userPrincipalName);
    // A cross-check of every 100th with the independent implementation (it is slow on purpose).
    if (i % 100 === 0) assert.equal(independentlyVerifies(u.credential, password), true, u.userPrincipalName);
  }

  using state = StateStore.open(dir.file('state.db'));
  const runs = state.runs(10);
  assert.deepEqual(runs.map((r) => r.status), ['succeeded', 'aborted', 'aborted', 'aborted']);
  const target = `sqlite:${tenantPath}`;
  assert.deepEqual(state.inFlightBatches(target), []);
  const screened = state.screen(target, users);
  assert.ok(screened.every((s) => typeof s === 'object'), 'the state store knows every user in the tenant is synced');
});

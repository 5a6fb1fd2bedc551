import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import type { FixturePassword } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

const inScope = (p: FixturePassword): boolean => !p.disabled && !p.empty && !p.mustChange;

/** Changes entries the way an administrator would: the real ldapmodify, bound as the directory's root. */
async function ldapmodify(slapd: Slapd, ldif: string): Promise<void> {
  const child = spawn('ldapmodify', ['-x', '-H', slapd.url, '-D', slapd.rootDn, '-w', slapd.rootPassword], { stdio: ['pipe', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdin.end(ldif);
  const [code] = (await once(child, 'exit')) as [number];
  assert.equal(code, 0, `ldapmodify: ${stderr}`);
}

async function userDn(slapd: Slapd, upn: string): Promise<string> {
  const { Client } = await import('ldapts');
  const client = new Client({ url: slapd.url });
  try {
    await client.bind(slapd.rootDn, slapd.rootPassword);
    const { searchEntries } = await client.search(slapd.baseDn, { filter: `(|(userPrincipalName=${upn})(mail=${upn}))`, attributes: ['1.1'] });
    assert.equal(searchEntries.length, 1);
    return searchEntries[0]!.dn;
  } finally {
    await client.unbind();
  }
}


describe('continuous sync against a real slapd', { timeout: 300_000 }, () => {
  it('a delta cycle reads only the changed user, rehashes and ships it alone; the new password works and the old does not', async () => {
    await using slapd = await startSlapd({ users: 300, seed: 'delta-one' });
    using dir = tempDir();
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const args = ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--json'];
    const full = await runCli(args, { env });
    assert.equal(full.code, 0, full.stderr);
    assert.equal((JSON.parse(full.stdout) as { counts: { scanned: number } }).counts.scanned, 300);

    const user = readPasswordsCsv(slapd.passwordsCsv!).filter(inScope)[7]!;
    const newPassword = 'Changed-0n-premises!';
    await ldapmodify(slapd, `dn: ${await userDn(slapd, user.userPrincipalName)}\nchangetype: modify\nreplace: sambaNTPassword\nsambaNTPassword: ${Buffer.from(await ntHash(newPassword)).toString('hex').toUpperCase()}\n-\nreplace: sambaPwdLastSet\nsambaPwdLastSet: ${Math.floor(Date.now() / 1000)}\n`);

    const delta = await runCli([...args, '--delta'], { env });
    assert.equal(delta.code, 0, delta.stderr);
    const summary = JSON.parse(delta.stdout) as { counts: { scanned: number; hashed: number; synced: number } };
    assert.deepEqual([summary.counts.scanned, summary.counts.hashed, summary.counts.synced], [1, 1, 1], 'only the changed entry is read, hashed and sent');
    using tenant = TenantStore.open(dir.file('t.db'));
    assert.deepEqual(await signIn(tenant, user.userPrincipalName, newPassword), { ok: true, forceChangePassword: false });
    assert.equal((await signIn(tenant, user.userPrincipalName, user.password)).ok, false);

    // Nothing changed since: the next delta reads the one entry again (the overlap) and hashes nothing.
    const idle = await runCli([...args, '--delta'], { env });
    assert.equal((JSON.parse(idle.stdout) as { counts: { hashed: number } }).counts.hashed, 0);

    // An administrator disables another user: refused at the tenant after the next delta cycle.
    const other = readPasswordsCsv(slapd.passwordsCsv!).filter(inScope)[20]!;
    assert.equal((await signIn(tenant, other.userPrincipalName, other.password)).ok, true);
    await ldapmodify(slapd, `dn: ${await userDn(slapd, other.userPrincipalName)}\nchangetype: modify\nreplace: sambaAcctFlags\nsambaAcctFlags: [UD         ]\n`);
    const disabling = await runCli([...args, '--delta'], { env });
    assert.equal(disabling.code, 0, disabling.stderr);
    const disabled = JSON.parse(disabling.stdout) as { counts: { hashed: number; disabledAtTarget: number } };
    assert.deepEqual([disabled.counts.disabledAtTarget, disabled.counts.hashed], [1, 0], 'disabled at the target without hashing');
    assert.deepEqual(await signIn(tenant, other.userPrincipalName, other.password), { ok: false, reason: 'disabled' });
  });

  it('a delta cycle with no change over 100,000 users reads only changed entries and hashes nothing', { timeout: 240_000 }, async () => {
    await using slapd = await startSlapd({ users: 100_000, seed: 'delta-100k' });
    using dir = tempDir();
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const args = ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', 'ndjson:/dev/null', '--state', dir.file('s.db'), '--page-size', '1000', '--json'];
    const full = await runCli(args, { env });
    assert.equal(full.code, 0, full.stderr);
    assert.equal((JSON.parse(full.stdout) as { counts: { scanned: number } }).counts.scanned, 100_000);
    const delta = await runCli([...args, '--delta'], { env });
    assert.equal(delta.code, 0, delta.stderr);
    const counts = (JSON.parse(delta.stdout) as { counts: { scanned: number; hashed: number } }).counts;
    assert.deepEqual([counts.scanned, counts.hashed], [0, 0]);
  });

  it('the daemon keeps the tenant current within an interval, and a SIGTERM mid-cycle then a restart loses nothing', async () => {
    await using slapd = await startSlapd({ users: 4000, seed: 'daemon' });
    using dir = tempDir();
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const tenantPath = dir.file('t.db');
    const args = ['run', '--interval', '2s', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${tenantPath}`, '--state', dir.file('s.db'), '--workers', '1', '--batch-size', '100'];
    const expected = readPasswordsCsv(slapd.passwordsCsv!).filter(inScope);

    // Small batches, so that a stop finishing the batches in flight still leaves most of the cycle
    // undone (with the default of 1,024 the 3,797 users are four batches, and it often finished).
    const first = startCli(args, { env });
    while (first.child.exitCode === null && tenantCount(tenantPath) < 500) await sleep(10);
    first.child.kill('SIGTERM');
    const stopped = await first.done;
    assert.equal(stopped.code, 0, stopped.stderr);
    const afterStop = tenantCount(tenantPath);
    assert.ok(afterStop > 0 && afterStop < expected.length, `stopped mid-cycle (${afterStop} of ${expected.length})`);

    const second = startCli(args, { env });
    try {
      while (tenantCount(tenantPath) < expected.length) {
        assert.equal(second.child.exitCode, null, 'the daemon keeps running');
        await sleep(50);
      }
      // A password change reaches the tenant within about one interval.
      const user = expected[11]!;
      const newPassword = 'Daemon-sees-this-1';
      await ldapmodify(slapd, `dn: ${await userDn(slapd, user.userPrincipalName)}\nchangetype: modify\nreplace: sambaNTPassword\nsambaNTPassword: ${Buffer.from(await ntHash(newPassword)).toString('hex').toUpperCase()}\n`);
      const changedAt = Date.now();
      for (;;) {
        using tenant = TenantStore.open(tenantPath);
        if ((await signIn(tenant, user.userPrincipalName, newPassword)).ok) break;
        assert.ok(Date.now() - changedAt < 15_000, 'the change reached the tenant in time');
        await sleep(100);
      }
    } finally {
      second.child.kill('SIGTERM');
      const ended = await second.done;
      assert.equal(ended.code, 0, ended.stderr);
      assert.match(ended.stderr, /delta \(changes since the last cycle\)/);
    }
    using tenant = TenantStore.open(tenantPath);
    assert.equal(tenant.countUsers(), expected.length, 'every in-scope user exactly once');
  });
});

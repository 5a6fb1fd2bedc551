import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, readFileSync } from 'node:fs';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { sambaUnavailableReason, startSambaDc } from '../support/samba-dc.ts';
import type { SambaDc } from '../support/samba-dc.ts';
import { tempDir } from '../support/temp-dir.ts';

interface Summary {
  readonly status: string;
  readonly counts: { readonly scanned: number; readonly hashed: number; readonly synced: number; readonly skipped: Readonly<Record<string, number>>; readonly failed: Readonly<Record<string, number>>; readonly disabledAtTarget: number };
}

// Skipped only without root (Samba must bind ports 88, 135, 389…); missing packages fail below.
describe('Active Directory by replication (MS-DRSR) from a real Samba DC', { timeout: 600_000, skip: process.getuid?.() === 0 ? false : 'needs root: Samba binds ports 88, 135, 389' }, () => {
  let dc: SambaDc;
  before(async () => {
    // Failed, not skipped: a CI without Samba must not pass by testing nothing.
    const missing = sambaUnavailableReason();
    if (missing !== undefined) throw new Error(missing);
    dc = await startSambaDc({ users: 60, seed: 'ad-replication-sync' });
  });
  after(async () => {
    await dc?.stop();
  });

  function args(dir: { file(name: string): string }, account = `TEST\\${dc.syncUser}`): string[] {
    return ['sync', '--source', `ad://${dc.host}`, '--preset', 'ad', '--bind-dn', account, '--target', `sqlite:${dir.file('tenant.db')}`, '--state', dir.file('state.db'), '--json', '--ldap-retries', '0'];
  }

  it('syncs every user with the NT hash the DC holds; a changed password reaches the tenant in the next delta cycle, alone', async () => {
    using dir = tempDir();
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: dc.syncPassword };
    const full = await runCli(args(dir), { env });
    assert.equal(full.code, 2, `partial: the built-in accounts without a sign-in name fail by name\n${full.stderr}`);
    const counts = (JSON.parse(full.stdout) as Summary).counts;
    const inScope = dc.users.filter((u) => u.disabled !== true && u.mustChange !== true);
    assert.ok(dc.users.length - inScope.length >= 2, 'the generated domain has disabled and must-change users');
    // The generated users, the two service accounts; Administrator, Guest, krbtgt and the DNS account fail (no userPrincipalName).
    assert.equal(counts.synced, inScope.length + 2);
    assert.deepEqual(counts.skipped, { disabled: dc.users.filter((u) => u.disabled === true).length, 'temporary-password': dc.users.filter((u) => u.disabled !== true && u.mustChange === true).length });
    assert.deepEqual(counts.failed, { MISSING_USER_PRINCIPAL_NAME: 4 });
    using tenant = TenantStore.open(dir.file('tenant.db'));
    for (const user of dc.users) {
      const result = await signIn(tenant, user.upn, user.password);
      assert.equal(result.ok, inScope.includes(user), `${user.upn} (disabled ${user.disabled === true}, must change ${user.mustChange === true})`);
    }
    assert.equal((await signIn(tenant, inScope[0]!.upn, `${inScope[0]!.password}x`)).ok, false);
    // The replicated NT hashes reach the tenant only as PBKDF2 credentials: not the state store, not the tenant, not the output.
    const written = Buffer.concat([dir.file('state.db'), dir.file('state.db-wal'), dir.file('tenant.db'), dir.file('tenant.db-wal')].filter((f) => existsSync(f)).map((f) => readFileSync(f)));
    for (const user of dc.users) {
      const hash = Buffer.from(await ntHash(user.password));
      assert.equal(written.indexOf(hash), -1, `${user.upn}'s NT hash is in a file phsync wrote`);
      assert.equal(written.indexOf(hash.toString('hex')), -1);
      assert.ok(!full.stdout.includes(hash.toString('hex')) && !full.stderr.includes(hash.toString('hex')));
    }

    const changed = inScope[3]!;
    const newPassword = 'Repl1cated-Change!';
    // As an administrator would: samba-tool against the running DC.
    await dc.sambaTool(['user', 'setpassword', changed.sam, `--newpassword=${newPassword}`, ...dc.adminArgs]);
    const delta = await runCli(args(dir), { env });
    assert.equal(delta.code, 0, delta.stderr);
    const d = (JSON.parse(delta.stdout) as Summary).counts;
    assert.deepEqual([d.scanned, d.hashed, d.synced], [1, 1, 1], `only the changed user is read, hashed and sent: ${delta.stdout}`);
    assert.deepEqual(await signIn(tenant, changed.upn, newPassword), { ok: true, forceChangePassword: false });
    assert.equal((await signIn(tenant, changed.upn, changed.password)).ok, false);

    const idle = await runCli(args(dir), { env });
    assert.equal(idle.code, 0, idle.stderr);
    assert.deepEqual([(JSON.parse(idle.stdout) as Summary).counts.scanned, (JSON.parse(idle.stdout) as Summary).counts.hashed], [0, 0], 'nothing changed: nothing read');

    const disabled = inScope[9]!;
    await dc.disableUser(disabled.sam);
    const disabling = await runCli(args(dir), { env });
    assert.equal(disabling.code, 0, disabling.stderr);
    assert.equal((JSON.parse(disabling.stdout) as Summary).counts.disabledAtTarget, 1);
    assert.deepEqual(await signIn(tenant, disabled.upn, disabled.password), { ok: false, reason: 'disabled' });

    // A deleted user replicates as a tombstone: passed over by the delta (the next full scan disables it at the target).
    await dc.sambaTool(['user', 'delete', inScope[11]!.sam, ...dc.adminArgs]);
    const deleting = await runCli(args(dir), { env });
    assert.equal(deleting.code, 0, deleting.stderr);
    assert.equal((JSON.parse(deleting.stdout) as Summary).counts.hashed, 0);
    const rescan = await runCli([...args(dir), '--full'], { env });
    assert.equal(rescan.code, 2, rescan.stderr);
    assert.deepEqual(await signIn(tenant, inScope[11]!.upn, inScope[11]!.password), { ok: false, reason: 'disabled' });
    assert.equal((await signIn(tenant, inScope[12]!.upn, inScope[12]!.password)).ok, true);
  });

  it('as a daemon (phsync run): a full cycle, then delta cycles that carry a password change to the tenant', async () => {
    using dir = tempDir();
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: dc.syncPassword };
    const daemon = startCli(['run', '--interval', '2s', ...args(dir).slice(1).filter((a) => a !== '--json')], { env });
    try {
      const user = dc.users.find((u) => u.disabled !== true && u.mustChange !== true && u.sam.endsWith('21'))!;
      for (;;) {
        assert.equal(daemon.child.exitCode, null, 'the daemon keeps running');
        using tenant = TenantStore.open(dir.file('tenant.db'));
        if ((await signIn(tenant, user.upn, user.password)).ok) break;
        await sleep(100);
      }
      const newPassword = 'Daemon-Replicated-1!';
      await dc.sambaTool(['user', 'setpassword', user.sam, `--newpassword=${newPassword}`, ...dc.adminArgs]);
      const changedAt = Date.now();
      for (;;) {
        using tenant = TenantStore.open(dir.file('tenant.db'));
        if ((await signIn(tenant, user.upn, newPassword)).ok) break;
        assert.ok(Date.now() - changedAt < 20_000, 'the change reached the tenant within a few intervals');
        await sleep(100);
      }
    } finally {
      daemon.child.kill('SIGTERM');
      const ended = await daemon.done;
      assert.equal(ended.code, 0, ended.stderr);
      assert.match(ended.stderr, /delta \(changes since the last cycle\): succeeded, scanned 1, synced 1/);
    }
  });

  it('names a refused password, and an account without the replication rights', async () => {
    using dir = tempDir();
    const wrong = await runCli(args(dir), { env: { ...process.env, PHSYNC_BIND_PASSWORD: `${dc.syncPassword}-wrong` } });
    assert.notEqual(wrong.code, 0);
    assert.match(wrong.stderr, /AD_AUTH_REFUSED/);
    assert.doesNotMatch(wrong.stderr, new RegExp(dc.syncPassword.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
    const plain = await runCli(args(dir, `${dc.plainUser}@test.example`), { env: { ...process.env, PHSYNC_BIND_PASSWORD: dc.plainPassword } });
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /AD_REPLICATION_DENIED/);
    assert.match(plain.stderr, /Replicating Directory Changes All/);
  });

  it('names a DC that cannot be reached', async () => {
    using dir = tempDir();
    const result = await runCli([...args(dir).map((a) => (a === `ad://${dc.host}` ? 'ad://127.0.0.1:1' : a))], { env: { ...process.env, PHSYNC_BIND_PASSWORD: 'x' } });
    assert.notEqual(result.code, 0);
    assert.match(result.stderr, /RPC_CONNECT_FAILED/);
  });
});

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { writeFileSync } from 'node:fs';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { readLdifFile } from '../../src/source/ldif-reader.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import type { FixturePassword } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

function inScope(p: FixturePassword): boolean {
  return !p.disabled && !p.empty && !p.mustChange;
}

function env(password: string): NodeJS.ProcessEnv {
  return { ...process.env, PHSYNC_BIND_PASSWORD: password };
}


describe('LDAP source against a real slapd', { timeout: 240_000 }, () => {
  it('syncs every in-scope user from slapd, and each signs in with the fixture password', async () => {
    await using slapd = await startSlapd({ users: 600, seed: 'ldap-full' });
    using dir = tempDir();
    const tenant = dir.file('tenant.db');
    const result = await runCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${tenant}`, '--state', dir.file('state.db'), '--page-size', '100', '--json'], { env: env(slapd.syncPassword) });
    assert.equal(result.code, 0, result.stderr);
    const passwords = readPasswordsCsv(slapd.passwordsCsv!);
    const expected = passwords.filter(inScope);
    const summary = JSON.parse(result.stdout) as { counts: { scanned: number; synced: number } };
    assert.equal(summary.counts.scanned, passwords.length);
    assert.equal(summary.counts.synced, expected.length);
    using store = TenantStore.open(tenant);
    assert.equal(store.countUsers(), expected.length);
    for (const p of expected) assert.deepEqual(await signIn(store, p.userPrincipalName, p.password), { ok: true, forceChangePassword: false }, p.userPrincipalName);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(slapd.syncPassword), 'the bind password is never printed');
  });

  it('reads several base DNs with a filter and an excluded OU, and only those users', async () => {
    await using slapd = await startSlapd({ users: 400, seed: 'ldap-scope' });
    using dir = tempDir();
    const bases = [`ou=Sales,ou=People,${slapd.baseDn}`, `ou=Engineering,ou=People,${slapd.baseDn}`];
    const excluded = `ou=Interns,ou=Engineering,ou=People,${slapd.baseDn}`;
    let interns = 0;
    const expected = new Set<string>();
    const byUpn = new Map(readPasswordsCsv(slapd.passwordsCsv!).map((p) => [p.userPrincipalName, p]));
    for await (const r of readLdifFile(`${slapd.dir}/directory.ldif`)) {
      if (r.kind !== 'entry' || !r.attributes.has('sambantpassword')) continue;
      const uid = String(r.attributes.get('uid')?.[0]);
      const upn = String(r.attributes.get('userprincipalname')?.[0] ?? r.attributes.get('mail')?.[0]);
      const underBase = bases.some((b) => r.dn.toLowerCase().endsWith(b.toLowerCase()));
      const intern = r.dn.toLowerCase().endsWith(excluded.toLowerCase());
      if (intern) interns++;
      if (underBase && !intern && /^[a-m]/.test(uid) && inScope(byUpn.get(upn)!)) expected.add(upn);
    }
    assert.ok(expected.size > 10 && interns > 0, `the scope holds users (${expected.size}) and there are interns to leave out (${interns})`);
    const result = await runCli(['sync', '--source', slapd.url, ...bases.flatMap((b) => ['--base-dn', b]), '--filter', '(|(uid=a*)(uid=b*)(uid=c*)(uid=d*)(uid=e*)(uid=f*)(uid=g*)(uid=h*)(uid=i*)(uid=j*)(uid=k*)(uid=l*)(uid=m*))', '--exclude-ou', excluded, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db')], { env: env(slapd.syncPassword) });
    assert.equal(result.code, 0, result.stderr);
    using store = TenantStore.open(dir.file('t.db'));
    assert.deepEqual(new Set([...store.users()].map((u) => u.userPrincipalName)), expected);
  });

  it('names what is wrong: wrong password, no read access to the hash, size limit, no such base, unreachable server', async () => {
    await using slapd = await startSlapd({ users: 700, seed: 'ldap-errors' });
    using dir = tempDir();
    const common = ['--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--ldap-retries', '1'];
    const wrong = await runCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, ...common], { env: env('not-the-password') });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /LDAP_BIND_REFUSED/);
    assert.doesNotMatch(wrong.stderr, /not-the-password/);

    const noAcl = await runCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.otherDn, ...common], { env: env(slapd.otherPassword) });
    assert.equal(noAcl.code, 1);
    assert.match(noAcl.stderr, /cannot read it.*\[LDAP_HASH_NOT_READABLE\]/s);
    assert.equal(tenantCount(dir.file('t.db')), 0, 'nobody was synced');

    const limited = await runCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.limitedDn, ...common], { env: env(slapd.limitedPassword) });
    assert.equal(limited.code, 1);
    assert.match(limited.stderr, /size limit.*limits dn\.exact.*\[LDAP_SIZE_LIMIT\]/s);

    const noBase = await runCli(['sync', '--source', slapd.url, '--base-dn', `ou=Nowhere,${slapd.baseDn}`, '--bind-dn', slapd.syncDn, ...common], { env: env(slapd.syncPassword) });
    assert.equal(noBase.code, 1);
    assert.match(noBase.stderr, /LDAP_NO_SUCH_BASE/);

    await slapd.stop();
    const unreachable = await runCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, ...common], { env: env(slapd.syncPassword) });
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the server.*\[LDAP_UNREACHABLE\]/s);
  });

  it('survives slapd killed and restarted in the middle of a sync', async () => {
    await using slapd = await startSlapd({ users: 6000, seed: 'ldap-restart' });
    using dir = tempDir();
    const tenant = dir.file('t.db');
    const { child, done } = startCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${tenant}`, '--state', dir.file('s.db'), '--page-size', '200', '--workers', '1', '--json'], { env: env(slapd.syncPassword) });
    while (child.exitCode === null && tenantCount(tenant) < 1000) await sleep(10);
    assert.equal(child.exitCode, null, 'the sync was still running when slapd was killed');
    await slapd.kill();
    await sleep(700);
    await slapd.restart();
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /reconnecting/);
    const expected = readPasswordsCsv(slapd.passwordsCsv!).filter(inScope);
    assert.equal(tenantCount(tenant), expected.length);
    const summary = JSON.parse(result.stdout) as { counts: { synced: number; failed: Record<string, number> } };
    assert.deepEqual(summary.counts.failed, {}, 'no user reported twice or lost');
    assert.equal(summary.counts.synced, expected.length);
  });

  it('a config file with an LDAP source and an LDIF source syncs both into one tenant, each in its own run', async () => {
    await using slapd = await startSlapd({ users: 120, seed: 'ldap-config' });
    using dir = tempDir();
    const ldif = dir.file('branch.ldif');
    writeFileSync(ldif, `dn: uid=zed,ou=People,dc=branch,dc=example\nuid: zed\nmail: zed@branch.example\nentryUUID: 11111111-2222-4333-8444-555555555555\nsambaNTPassword: ${Buffer.from(await ntHash('Branch-Pass-1')).toString('hex')}\nsambaAcctFlags: [U          ]\nsambaPwdLastSet: 1700000000\n\n`);
    const config = {
      target: 'sqlite:tenant.db',
      state: 'state.db',
      sources: [
        { name: 'corp', url: slapd.url, preset: 'openldap-samba', baseDns: [slapd.baseDn], bindDn: slapd.syncDn, bindPasswordEnv: 'CORP_LDAP_PASSWORD', pageSize: 50 },
        { name: 'branch', ldif: 'branch.ldif', preset: 'openldap-samba' },
      ],
    };
    writeFileSync(dir.file('phsync.json'), JSON.stringify(config));
    const result = await runCli(['sync', '--config', dir.file('phsync.json'), '--json'], { env: { ...process.env, CORP_LDAP_PASSWORD: slapd.syncPassword } });
    assert.equal(result.code, 0, result.stderr);
    const { runs } = JSON.parse(result.stdout) as { runs: { source: string; status: string; counts: { synced: number } }[] };
    const expected = readPasswordsCsv(slapd.passwordsCsv!).filter(inScope);
    assert.deepEqual(runs.map((r) => [r.source, r.status, r.counts.synced]), [['corp', 'succeeded', expected.length], ['branch', 'succeeded', 1]]);
    using store = TenantStore.open(dir.file('tenant.db'));
    assert.equal(store.countUsers(), expected.length + 1);
    assert.deepEqual(await signIn(store, 'zed@branch.example', 'Branch-Pass-1'), { ok: true, forceChangePassword: false });
    assert.equal(store.findByUserPrincipalName('zed@branch.example')?.source, 'branch');
  });

  it('LDAPS and StartTLS verify the server with the given CA, refuse without it, and warn when told not to verify', async () => {
    await using slapd = await startSlapd({ users: 50, seed: 'ldap-tls', tls: true });
    using dir = tempDir();
    const common = (name: string): string[] => ['--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file(`${name}.db`)}`, '--state', dir.file(`${name}-state.db`), '--ldap-retries', '0'];
    const ldaps = await runCli(['sync', '--source', slapd.ldapsUrl!, '--tls-ca', slapd.caFile!, ...common('ldaps')], { env: env(slapd.syncPassword) });
    assert.equal(ldaps.code, 0, ldaps.stderr);
    const startTls = await runCli(['sync', '--source', slapd.url, '--starttls', '--tls-ca', slapd.caFile!, ...common('starttls')], { env: env(slapd.syncPassword) });
    assert.equal(startTls.code, 0, startTls.stderr);
    const untrusted = await runCli(['sync', '--source', slapd.ldapsUrl!, ...common('untrusted')], { env: env(slapd.syncPassword) });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /LDAP_TLS_FAILED/);
    const insecure = await runCli(['sync', '--source', slapd.ldapsUrl!, '--tls-insecure', ...common('insecure')], { env: env(slapd.syncPassword) });
    assert.equal(insecure.code, 0, insecure.stderr);
    assert.match(insecure.stderr, /warning: .*certificate.*not verified/i);
  });
});

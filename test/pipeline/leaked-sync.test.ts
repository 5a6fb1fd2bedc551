import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateFixture } from '../../src/fixture/generate-fixture.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { checkLeakedPairs } from '../../src/tenant/leaked-credentials.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import type { FixturePassword } from '../support/passwords-csv.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

/**
 * The leaked-password check end to end, through the real CLI: a Have I Been Pwned style NTLM list made
 * here from some fixture users' passwords and random hashes, imported into a store, then a sync that
 * looks every NT hash up in the hash workers, and an audit. What is asserted is derived from the
 * fixture's own passwords file, never from the engine's output.
 */

const USERS = 300;
const LEAKED_PICKS = 9;

const hex = async (password: string): Promise<string> => Buffer.from(await ntHash(password)).toString('hex').toUpperCase();

describe('sync and audit with a leaked-hash store', () => {
  let dir: ReturnType<typeof tempDir>;
  let passwords: FixturePassword[];
  let leakedInScope: FixturePassword[];
  let leakedOther: FixturePassword[];
  let ldif: string;
  let store: string;

  before(async () => {
    dir = tempDir();
    ldif = dir.file('dir.ldif');
    await generateFixture({ users: USERS, out: ldif, passwords: dir.file('pw.csv'), seed: 'leaked-sync-test' });
    passwords = readPasswordsCsv(dir.file('pw.csv'));
    const inScope = passwords.filter((p) => !p.disabled && !p.empty && !p.mustChange);
    // Every 31st user in scope, so that the leaked ones are spread over several batches.
    leakedInScope = inScope.filter((_, i) => i % 31 === 5).slice(0, LEAKED_PICKS);
    assert.equal(leakedInScope.length, LEAKED_PICKS);
    // A disabled user's password leaked too: the sync does not hash it (disabled), the audit reports it.
    leakedOther = [passwords.find((p) => p.disabled && !p.empty)!];
    const lines = [...(await Promise.all([...leakedInScope, ...leakedOther].map(async (p, i) => `${await hex(p.password)}:${i + 2}`)))];
    for (let i = 0; i < 5000; i++) lines.push(`${randomBytes(16).toString('hex').toUpperCase()}:${1 + (i % 50)}`);
    lines.sort();
    writeFileSync(dir.file('pwned.txt'), `${lines.join('\r\n')}\r\n`);
    store = dir.file('pwned.phsleak');
    const imported = await runCli(['leaked', 'import', '--hibp', dir.file('pwned.txt'), '--store', store]);
    assert.equal(imported.code, 0, imported.stderr);
  });

  after(() => dir[Symbol.dispose]());

  const leakedNames = (): string[] => leakedInScope.map((p) => p.userPrincipalName).sort();

  it('flags exactly the users whose password is in the list: riskLevel high at the tenant, state, report, explain', async () => {
    const run = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('flag-t.db')}`, '--state', dir.file('flag-s.db'), '--leaked-store', store, '--batch-size', '16', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const summary = JSON.parse(run.stdout) as { counts: { leaked: number; synced: number } };
    assert.equal(summary.counts.leaked, LEAKED_PICKS);
    const inScope = passwords.filter((p) => !p.disabled && !p.empty && !p.mustChange);
    assert.equal(summary.counts.synced, inScope.length, 'flagged users are synced all the same');

    {
      using tenant = TenantStore.open(dir.file('flag-t.db'));
      const high = [...tenant.users()].filter((u) => tenant.riskOf(u.userPrincipalName)?.riskLevel === 'high').map((u) => u.userPrincipalName).sort();
      assert.deepEqual(high, leakedNames());
    }
    {
      using state = StateStore.open(dir.file('flag-s.db'));
      assert.equal(state.leaks.size, LEAKED_PICKS);
      const one = state.leaks.get('default', state.userHistory({ user: leakedInScope[0]!.userPrincipalName })[0]!.anchor);
      assert.equal(one?.action, 'flagged');
      assert.equal(one?.userPrincipalName, leakedInScope[0]!.userPrincipalName);
    }

    const report = await runCli(['report', '--state', dir.file('flag-s.db'), '--format', 'json']);
    assert.equal(report.code, 0, report.stderr);
    const parsed = JSON.parse(report.stdout) as { counts: { leaked: number }; leakedUsers: { userPrincipalName: string; action: string }[] };
    assert.equal(parsed.counts.leaked, LEAKED_PICKS);
    assert.deepEqual(parsed.leakedUsers.map((u) => u.userPrincipalName), leakedNames());
    assert.ok(parsed.leakedUsers.every((u) => u.action === 'flagged'));

    const explain = await runCli(['explain', '--state', dir.file('flag-s.db'), '--user', leakedInScope[1]!.userPrincipalName]);
    assert.equal(explain.code, 0, explain.stderr);
    assert.match(explain.stdout, /leaked +password found in the leaked-password list by run 1 .*synced with riskLevel high/);
    const clean = await runCli(['explain', '--state', dir.file('flag-s.db'), '--user', passwords.find((p) => !p.disabled && !p.empty && !p.mustChange && !leakedInScope.includes(p))!.userPrincipalName]);
    assert.doesNotMatch(clean.stdout, /leaked/);
  });

  it('flags the same users whichever way the workers read the store (--leaked-lookup mmap, pread)', async () => {
    for (const mode of ['mmap', 'pread']) {
      const run = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file(`${mode}-t.db`)}`, '--state', dir.file(`${mode}-s.db`), '--leaked-store', store, '--leaked-lookup', mode, '--json']);
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, new RegExp(`looked up by ${mode}`));
      assert.equal((JSON.parse(run.stdout) as { counts: { leaked: number } }).counts.leaked, LEAKED_PICKS, mode);
      using tenant = TenantStore.open(dir.file(`${mode}-t.db`));
      const high = [...tenant.users()].filter((u) => tenant.riskOf(u.userPrincipalName)?.riskLevel === 'high').map((u) => u.userPrincipalName).sort();
      assert.deepEqual(high, leakedNames(), mode);
    }
  });

  it('a user who changes a leaked password to a clean one is cleared, at the tenant and in the state', async () => {
    const changed = dir.file('changed.ldif');
    const victim = leakedInScope[0]!;
    // A new NT hash for the victim: the LDIF entry rewritten with the hash of another password.
    const text = readFileSync(ldif, 'utf8');
    const oldHash = await hex(victim.password);
    const newHash = await hex(`${victim.password}-changed-${Date.now()}`);
    assert.ok(text.includes(`sambaNTPassword: ${oldHash}`));
    writeFileSync(changed, text.replace(`sambaNTPassword: ${oldHash}`, `sambaNTPassword: ${newHash}`));
    const args = ['--target', `sqlite:${dir.file('chg-t.db')}`, '--state', dir.file('chg-s.db'), '--leaked-store', store];
    assert.equal((await runCli(['sync', '--source', ldif, ...args])).code, 0);
    const second = await runCli(['sync', '--source', changed, ...args, '--json']);
    assert.equal(second.code, 0, second.stderr);
    const counts = (JSON.parse(second.stdout) as { counts: { leaked: number; hashed: number } }).counts;
    assert.deepEqual([counts.hashed, counts.leaked], [1, 0], 'only the victim is hashed again, and is not leaked now');
    using state = StateStore.open(dir.file('chg-s.db'));
    assert.equal(state.leaks.size, LEAKED_PICKS - 1);
    using tenant = TenantStore.open(dir.file('chg-t.db'));
    assert.equal(tenant.riskOf(victim.userPrincipalName)?.riskLevel, 'none');
    assert.equal(tenant.riskOf(leakedInScope[1]!.userPrincipalName)?.riskLevel, 'high');
  });

  it('a rename keeps the risk a leaked username/password pair gave at the tenant: the engine says the password is the same', async () => {
    const user = passwords.find((p) => !p.disabled && !p.empty && !p.mustChange && !leakedInScope.includes(p))!;
    const args = ['--target', `sqlite:${dir.file('ren-t.db')}`, '--state', dir.file('ren-s.db'), '--leaked-store', store];
    assert.equal((await runCli(['sync', '--source', ldif, ...args])).code, 0);
    {
      using tenant = TenantStore.open(dir.file('ren-t.db'));
      const outcome = await checkLeakedPairs(tenant, [{ userPrincipalName: user.userPrincipalName, password: user.password }], Date.now());
      assert.equal(outcome[0]?.result, 'match');
    }
    const renamed = user.userPrincipalName.replace('@', '.renamed@');
    const text = readFileSync(ldif, 'utf8');
    assert.equal(text.split(`userPrincipalName: ${user.userPrincipalName}\n`).length, 2, 'the name appears once');
    writeFileSync(dir.file('renamed.ldif'), text.replace(`userPrincipalName: ${user.userPrincipalName}\n`, `userPrincipalName: ${renamed}\n`));
    const second = await runCli(['sync', '--source', dir.file('renamed.ldif'), ...args, '--json']);
    assert.equal(second.code, 0, second.stderr);
    assert.equal((JSON.parse(second.stdout) as { counts: { hashed: number } }).counts.hashed, 1);
    using tenant = TenantStore.open(dir.file('ren-t.db'));
    const risk = tenant.riskOf(renamed);
    assert.equal(risk?.riskLevel === 'high' ? risk.source : undefined, 'leaked-credentials');
  });

  it('--leaked-policy skip does not sync them, and says why', async () => {
    const run = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('skip-t.db')}`, '--state', dir.file('skip-s.db'), '--leaked-store', store, '--leaked-policy', 'skip', '--batch-size', '16', '--json']);
    assert.equal(run.code, 0, run.stderr);
    const counts = (JSON.parse(run.stdout) as { counts: { leaked: number; synced: number; skipped: Record<string, number> } }).counts;
    const inScope = passwords.filter((p) => !p.disabled && !p.empty && !p.mustChange);
    assert.equal(counts.leaked, LEAKED_PICKS);
    assert.equal(counts.skipped['leaked-password'], LEAKED_PICKS);
    assert.equal(counts.synced, inScope.length - LEAKED_PICKS);
    using tenant = TenantStore.open(dir.file('skip-t.db'));
    for (const p of leakedInScope) assert.equal(tenant.findByUserPrincipalName(p.userPrincipalName), undefined, p.userPrincipalName);
    assert.equal(tenant.countUsers(), inScope.length - LEAKED_PICKS);
    const explain = await runCli(['explain', '--state', dir.file('skip-s.db'), '--user', leakedInScope[2]!.userPrincipalName]);
    assert.match(explain.stdout, /Skipped \(leaked-password\)/);
    assert.match(explain.stdout, /not synced \(--leaked-policy skip\)/);
  });

  it('a missing or corrupt store stops the sync before it reads a user, with a named error', async () => {
    const missing = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('m-t.db')}`, '--state', dir.file('m-s.db'), '--leaked-store', dir.file('nope.phsleak')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /LEAKED_STORE_UNREADABLE/);
    writeFileSync(dir.file('junk.phsleak'), randomBytes(4096));
    const junk = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('j-t.db')}`, '--state', dir.file('j-s.db'), '--leaked-store', dir.file('junk.phsleak')]);
    assert.equal(junk.code, 1);
    assert.match(junk.stderr, /LEAKED_STORE_INVALID/);
  });

  it('phsync audit reports leaked, empty, shared, disabled-with-password and must-change users, naming no hash', async () => {
    // Three extra users sharing one password (the generator gives everyone their own).
    const withShared = dir.file('shared.ldif');
    const shared = await hex('Shared-Summer-2026!');
    let extra = '';
    for (let i = 0; i < 3; i++) {
      extra += `\ndn: uid=shared${i},ou=People,dc=example,dc=com\nobjectClass: inetOrgPerson\nobjectClass: sambaSamAccount\nuid: shared${i}\ncn: Shared ${i}\nsn: Shared\nuserPrincipalName: shared${i}@example.com\nsambaSID: S-1-5-21-1-2-3-${9000 + i}\nsambaNTPassword: ${shared}\nsambaAcctFlags: [U          ]\nentryUUID: 00000000-0000-4000-8000-00000000000${i}\n`;
    }
    writeFileSync(withShared, readFileSync(ldif, 'utf8'));
    appendFileSync(withShared, extra);
    const audit = await runCli(['audit', '--source', withShared, '--leaked-store', store, '--json']);
    assert.equal(audit.code, 0, audit.stderr);
    type U = { userPrincipalName: string };
    const a = JSON.parse(audit.stdout) as { users: number; leaked: U[]; emptyPassword: U[]; sharedPassword: U[][]; disabledWithPassword: U[]; mustChangePassword: U[] };
    const names = (list: readonly { userPrincipalName: string }[]): string[] => list.map((u) => u.userPrincipalName).sort();
    assert.equal(a.users, USERS + 3);
    assert.deepEqual(names(a.leaked), names([...leakedInScope, ...leakedOther]));
    assert.deepEqual(names(a.emptyPassword), names(passwords.filter((p) => p.empty)));
    assert.deepEqual(a.sharedPassword.map(names), [['shared0@example.com', 'shared1@example.com', 'shared2@example.com']]);
    assert.deepEqual(names(a.disabledWithPassword), names(passwords.filter((p) => p.disabled && !p.empty)));
    assert.deepEqual(names(a.mustChangePassword), names(passwords.filter((p) => p.mustChange)));
    assert.doesNotMatch(audit.stdout, new RegExp(shared, 'i'), 'no NT hash in the report');

    const text = await runCli(['audit', '--source', withShared, '--leaked-store', store, '--show', '2']);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`leaked password \\(in the leaked-hash store\\): ${LEAKED_PICKS + 1}\\n`));
    assert.match(text.stdout, /shared password: 1 groups, 3 users\n {2}group 1 \(3 users\): shared0@example.com, shared1@example.com, … and 1 more/);
    assert.match(text.stdout, /… and \d+ more \(--show N, or --json for all\)/);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { independentlyVerifies } from '../support/independent-credential.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const PASSWORDS = readPasswordsCsv(fileURLToPath(new URL('../../fixtures/sample-passwords.csv', import.meta.url)));
const inScope = PASSWORDS.filter((p) => !p.disabled && !p.empty && !p.mustChange);

describe('phsync sync then signin, through the CLI, on the bundled sample', () => {
  it('syncs the sample by default from the working directory and every in-scope user signs in', async () => {
    using dir = tempDir();
    const sync = await runCli(['sync'], { cwd: dir.path });
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stderr, /users scanned 1000/);
    assert.match(sync.stderr, new RegExp(`synced +${inScope.length}\\b`));
    assert.match(sync.stderr, /users\/s/);

    using tenant = TenantStore.open(dir.file('phsync-tenant.db'));
    assert.equal(tenant.countUsers(), inScope.length);
    tenant.close();

    // A handful through the real CLI (each is a process), including non-ASCII and quoted passwords.
    const picks = [inScope[0]!, inScope.find((p) => /[^\x00-\x7f]/.test(p.password))!, inScope.find((p) => /[", ]/.test(p.password))!];
    for (const user of picks) {
      const ok = await runCli(['signin', '--user', user.userPrincipalName], { cwd: dir.path, stdin: `${user.password}\n` });
      assert.equal(ok.code, 0, `${user.userPrincipalName}: ${ok.stderr}`);
      const wrong = await runCli(['signin', '--user', user.userPrincipalName], { cwd: dir.path, stdin: `${user.password}!\n` });
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /wrong-password/);
    }
    const disabled = PASSWORDS.find((p) => p.disabled && !p.empty)!;
    const refused = await runCli(['signin', '--user', disabled.userPrincipalName], { cwd: dir.path, stdin: `${disabled.password}\n` });
    assert.equal(refused.code, 1, 'a disabled user is not synced, so cannot sign in');

    const status = await runCli(['status'], { cwd: dir.path });
    assert.equal(status.code, 0);
    assert.match(status.stdout, new RegExp(`run 1 full succeeded .*scanned 1000, synced ${inScope.length}`));

    // A second run finds nothing changed and hashes nothing.
    const again = await runCli(['sync', '--json'], { cwd: dir.path });
    assert.equal(again.code, 0, again.stderr);
    const summary = JSON.parse(again.stdout) as { counts: { hashed: number; synced: number; skipped: Record<string, number> } };
    assert.equal(summary.counts.hashed, 0);
    assert.equal(summary.counts.synced, 0);
    assert.equal(summary.counts.skipped['unchanged'], inScope.length);
  });

  it('syncs must-change users with the force-change flag when asked, and they sign in being told to change', async () => {
    using dir = tempDir();
    const sync = await runCli(['sync', '--source', SAMPLE, '--force-password-change-on-logon', '--sync-empty-passwords', '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db')]);
    assert.equal(sync.code, 0, sync.stderr);
    const mustChange = PASSWORDS.find((p) => p.mustChange && !p.disabled)!;
    const ok = await runCli(['signin', '--tenant', dir.file('t.db'), '--user', mustChange.userPrincipalName], { stdin: mustChange.password });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /must be changed/);
    const empty = PASSWORDS.find((p) => p.empty && !p.disabled && !p.mustChange)!;
    const emptyOk = await runCli(['signin', '--tenant', dir.file('t.db'), '--user', empty.userPrincipalName], { stdin: '' });
    assert.equal(emptyOk.code, 0, emptyOk.stderr);
  });

  it('writes NDJSON whose every credential verifies under an independent implementation', async () => {
    using dir = tempDir();
    const out = dir.file('out.ndjson');
    const sync = await runCli(['sync', '--source', SAMPLE, '--target', `ndjson:${out}`, '--state', dir.file('s.db'), '--kernel', 'hash-wasm', '--batch-size', '64']);
    assert.equal(sync.code, 0, sync.stderr);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, inScope.length);
    const byUpn = new Map(PASSWORDS.map((p) => [p.userPrincipalName, p]));
    const salts = new Set<string>();
    for (const line of lines) {
      assert.deepEqual(Object.keys(line), ['sourceAnchor', 'userPrincipalName', 'credential', 'forceChangePasswordNextSignIn', 'changedAt']);
      const user = byUpn.get(line['userPrincipalName'] as string);
      assert.ok(user, `unknown user ${String(line['userPrincipalName'])}`);
      assert.equal(independentlyVerifies(line['credential'] as string, user.password), true, user.userPrincipalName);
      salts.add((line['credential'] as string).split(',')[1]!);
    }
    assert.equal(salts.size, lines.length, 'every user has a salt of its own');
  });

  it('ndjson:- writes to stdout, and --dry-run writes and records nothing', async () => {
    using dir = tempDir();
    const stdout = await runCli(['sync', '--source', SAMPLE, '--target', 'ndjson:-', '--state', dir.file('s.db')]);
    assert.equal(stdout.code, 0, stdout.stderr);
    assert.equal(stdout.stdout.trimEnd().split('\n').length, inScope.length);
    const dry = await runCli(['sync', '--source', SAMPLE, '--dry-run', '--target', `sqlite:${dir.file('dry.db')}`, '--state', dir.file('dry-state.db'), '--json']);
    assert.equal(dry.code, 0, dry.stderr);
    const summary = JSON.parse(dry.stdout) as { counts: { hashed: number; skipped: Record<string, number> } };
    assert.equal(summary.counts.hashed, 0);
    assert.equal(summary.counts.skipped['dry-run'], inScope.length);
  });

  it('fails with exit 1 and a one-line cause on fatal errors', async () => {
    using dir = tempDir();
    const missing = await runCli(['sync', '--source', dir.file('nope.ldif'), '--state', dir.file('s.db'), '--target', `sqlite:${dir.file('t.db')}`]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /nope\.ldif/);
    const badTarget = await runCli(['sync', '--target', 'ftp://x', '--state', dir.file('s.db')], { cwd: dir.path });
    assert.equal(badTarget.code, 1);
    assert.match(badTarget.stderr, /--target "ftp:\/\/x" is not a target/);
    const badOption = await runCli(['sync', '--batch-size', '0', '--state', dir.file('s.db')], { cwd: dir.path });
    assert.equal(badOption.code, 1);
    assert.match(badOption.stderr, /--batch-size must be a whole number/);
    const csv = dir.file('users.csv');
    const notLdif = await runCli(['sync', '--source', fileURLToPath(new URL('../../fixtures/sample-passwords.csv', import.meta.url)), '--state', dir.file('s2.db'), '--target', `sqlite:${dir.file('t2.db')}`]);
    assert.equal(notLdif.code, 1, csv);
    assert.match(notLdif.stderr, /not LDIF/);
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { Attribute, Change, Client } from 'ldapts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';

/**
 * The whole system as two processes over real sockets, as the README shows it: slapd → engine → HTTP
 * → tenant, then sign-in over HTTP; a password changed in the directory reaches the cloud at the next sync.
 */
it('slapd → phsync sync → HTTP → phsync tenant serve → signin, and a changed password wins at the next sync', { timeout: 120_000 }, async () => {
  await using slapd = await startSlapd({ users: 150, seed: 'e2e-http' });
  using dir = tempDir();
  const token = 'e2e-token-5f1c0b9a7d';
  writeFileSync(dir.file('token'), `${token}\n`, { mode: 0o600 });
  const tenant = startCli(['tenant', 'serve', '--db', dir.file('tenant.db'), '--listen', '127.0.0.1:0', '--token-file', dir.file('token')]);
  try {
    let stderr = '';
    while (!/listening on (\S+)/.test(stderr)) {
      const [chunk] = (await once(tenant.child.stderr!, 'data')) as [string];
      stderr += chunk;
    }
    const url = /listening on (\S+)/.exec(stderr)![1]!;
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const syncArgs = ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', url, '--target-token-file', dir.file('token'), '--state', dir.file('state.db'), '--json'];
    const first = await runCli(syncArgs, { env });
    assert.equal(first.code, 0, first.stderr);
    const users = readPasswordsCsv(slapd.passwordsCsv!).filter((p) => !p.disabled && !p.empty && !p.mustChange && /^[a-z]/.test(p.userPrincipalName));
    assert.equal((JSON.parse(first.stdout) as { counts: { synced: number } }).counts.synced, readPasswordsCsv(slapd.passwordsCsv!).filter((p) => !p.disabled && !p.empty && !p.mustChange).length);
    assert.doesNotMatch(first.stdout + first.stderr, new RegExp(token), 'the token is never printed');

    const user = users[0]!;
    const signIn = (password: string) => runCli(['signin', '--tenant', url, '--user', user.userPrincipalName], { stdin: `${password}\n` });
    assert.equal((await signIn(user.password)).code, 0);
    assert.equal((await signIn(`${user.password}x`)).code, 1);

    // The user changes the password on-premises.
    const uid = user.userPrincipalName.split('@')[0]!;
    const client = new Client({ url: slapd.url });
    try {
      await client.bind(slapd.rootDn, slapd.rootPassword);
      const { searchEntries } = await client.search(slapd.baseDn, { filter: `(uid=${uid})`, attributes: ['1.1'] });
      assert.equal(searchEntries.length, 1, `one entry for uid=${uid}`);
      const newPassword = 'Brand-new-passw0rd!';
      await client.modify(searchEntries[0]!.dn, [
        new Change({ operation: 'replace', modification: new Attribute({ type: 'sambaNTPassword', values: [Buffer.from(await ntHash(newPassword)).toString('hex').toUpperCase()] }) }),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'sambaPwdLastSet', values: [String(Math.floor(Date.now() / 1000))] }) }),
      ]);
      const second = await runCli(syncArgs, { env });
      assert.equal(second.code, 0, second.stderr);
      const counts = (JSON.parse(second.stdout) as { counts: { synced: number; hashed: number } }).counts;
      assert.deepEqual([counts.synced, counts.hashed], [1, 1], 'only the changed user is hashed and sent');
      assert.equal((await signIn(user.password)).code, 1, 'the old password no longer works');
      assert.equal((await signIn(newPassword)).code, 0, 'the new one does');
    } finally {
      await client.unbind();
    }
  } finally {
    tenant.child.kill('SIGTERM');
    const ended = await tenant.done;
    assert.equal(ended.code, 0, ended.stderr);
  }
});

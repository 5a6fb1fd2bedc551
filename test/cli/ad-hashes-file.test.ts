import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

// An ldifde-style dump of Active Directory users and a secretsdump-style hash export, through the CLI.
it('preset ad joins a hash export on sAMAccountName, reports users without a hash, and they sign in', async () => {
  using dir = tempDir();
  const users = [
    { sam: 'alice', upn: 'alice@emea.example', password: 'Wint3r-is-here', uac: 512, inExport: true },
    { sam: 'Bob', upn: 'bob@emea.example', password: 'Pässwörd€', uac: 66048, inExport: true },
    { sam: 'carol', upn: 'carol@emea.example', password: 'disabled-one', uac: 514, inExport: true },
    { sam: 'dave', upn: 'dave@emea.example', password: 'no-hash', uac: 512, inExport: false },
  ];
  let ldif = '';
  let hashes = '# secretsdump output\n';
  for (const [i, u] of users.entries()) {
    ldif += `dn: CN=${u.sam},OU=Staff,DC=emea,DC=example\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\n`;
    ldif += `sAMAccountName: ${u.sam}\nuserPrincipalName: ${u.upn}\nuserAccountControl: ${u.uac}\npwdLastSet: 134000000000000000\nobjectGUID:: ${randomBytes(16).toString('base64')}\n\n`;
    // The export spells names its own way: the join ignores case.
    if (u.inExport) hashes += `EMEA\\${u.sam.toUpperCase()}:${1100 + i}:aad3b435b51404eeaad3b435b51404ee:${Buffer.from(await ntHash(u.password)).toString('hex')}:::\n`;
  }
  writeFileSync(dir.file('ad.ldif'), ldif);
  writeFileSync(dir.file('ad.ntds'), hashes, { mode: 0o600 });
  const result = await runCli(['sync', '--source', dir.file('ad.ldif'), '--preset', 'ad', '--hashes', dir.file('ad.ntds'), '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--json']);
  assert.equal(result.code, 2, result.stderr);
  const summary = JSON.parse(result.stdout) as { counts: { synced: number; skipped: Record<string, number>; failed: Record<string, number> } };
  assert.equal(summary.counts.synced, 2);
  assert.deepEqual(summary.counts.skipped, { disabled: 1 });
  assert.deepEqual(summary.counts.failed, { MISSING_NT_HASH: 1 });
  using tenant = TenantStore.open(dir.file('t.db'));
  assert.deepEqual(await signIn(tenant, 'alice@emea.example', 'Wint3r-is-here'), { ok: true, forceChangePassword: false });
  assert.deepEqual(await signIn(tenant, 'bob@emea.example', 'Pässwörd€'), { ok: true, forceChangePassword: false });
  assert.equal((await signIn(tenant, 'dave@emea.example', 'no-hash')).ok, false);
});

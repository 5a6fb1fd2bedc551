import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { StateStore } from '../../src/state/state-store.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { runCli } from '../support/run-cli.ts';
import { SECRET_NT, sambaUser } from '../support/samba-ldif.ts';
import { tempDir } from '../support/temp-dir.ts';


const user = sambaUser;

it('reports malformed users with named errors and line numbers while the others sync (exit 2)', async () => {
  using dir = tempDir();
  const ldif = dir.file('broken.ldif');
  const text = [
    'version: 1\n\n',
    user('000001', {}),
    user('000002', { sambaNTPassword: 'XYZ' }),
    user('000003', { entryUUID: undefined }),
    user('000004', { userPrincipalName: undefined }),
    user('000005', {}),
    user('000006', { entryUUID: '00000000-0000-4000-8000-000000000001' }),
    // A line with no colon in the middle of a record.
    'dn: uid=000007,ou=People,dc=example,dc=com\nuid: 000007\nthis line is broken\nsambaNTPassword: ' + SECRET_NT + '\n\n',
    user('000008', { sambaAcctFlags: 'garbage' }),
    'dn: cn=group,dc=example,dc=com\nobjectClass: groupOfNames\ncn: group\n\n',
    user('000009', {}),
  ].join('');
  writeFileSync(ldif, text);
  const brokenLine = text.split('\n').indexOf('this line is broken') + 1;
  const result = await runCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--json']);
  assert.equal(result.code, 2, result.stderr);
  const summary = JSON.parse(result.stdout) as { status: string; counts: { scanned: number; synced: number; passedOver: number; failed: Record<string, number> }; errors: { code: string; origin: string; message: string }[] };
  assert.equal(summary.status, 'partial');
  assert.equal(summary.counts.synced, 3, 'users 1, 5 and 9 sync');
  assert.equal(summary.counts.passedOver, 1, 'the group is not a user');
  assert.deepEqual(summary.counts.failed, { INVALID_NT_HASH: 1, MISSING_ANCHOR: 1, MISSING_USER_PRINCIPAL_NAME: 1, DUPLICATE_ANCHOR: 1, LDIF_SYNTAX: 1, INVALID_ACCOUNT_FLAGS: 1 });
  const syntax = summary.errors.find((e) => e.code === 'LDIF_SYNTAX');
  assert.match(syntax?.message ?? '', new RegExp(`line ${brokenLine}\\b`));
  const badHash = summary.errors.find((e) => e.code === 'INVALID_NT_HASH');
  assert.match(badHash?.origin ?? '', /uid=000002.*line \d+/);
  assert.doesNotMatch(JSON.stringify(summary), /XYZ/, 'a bad hash value is never echoed');

  using tenant = TenantStore.open(dir.file('t.db'));
  assert.deepEqual([...tenant.users()].map((u) => u.userPrincipalName), ['000001@example.com', '000005@example.com', '000009@example.com']);
  using state = StateStore.open(dir.file('s.db'));
  assert.equal(state.userStatus('default', '00000000-0000-4000-8000-000000000002')?.reason, 'INVALID_NT_HASH');
  assert.equal(state.userStatus('default', '00000000-0000-4000-8000-000000000001')?.status, 'success');
});

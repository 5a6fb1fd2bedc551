import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PhsyncError } from '../../src/errors.ts';
import { parseAccountName } from '../../src/ad/ntlm/account-name.ts';

describe('parseAccountName', () => {
  it('reads DOMAIN\\user', () => {
    assert.deepEqual(parseAccountName('TEST\\sync'), { user: 'sync', domain: 'TEST' });
    assert.deepEqual(parseAccountName('test\\svc sync'), { user: 'svc sync', domain: 'test' });
  });

  it('reads user@dns.domain and keeps the DNS domain as given', () => {
    assert.deepEqual(parseAccountName('sync@test.example'), { user: 'sync', domain: 'test.example' });
    assert.deepEqual(parseAccountName('Sync.Svc@Test.Example'), { user: 'Sync.Svc', domain: 'Test.Example' });
  });

  for (const bad of [
    '',
    'sync',
    '\\sync',
    'TEST\\',
    '@test.example',
    'sync@',
    'TEST\\sub\\sync',
    'TEST\\\\sync',
    'TEST\\sync@test.example',
    'sync@test@example',
    'CN=sync,CN=Users,DC=test,DC=example',
    'CN=sync\\, svc,DC=test',
    'TEST\\ sync',
    'TEST\\sync ',
    'TE ST\\sync',
    'sync@test example',
    'TEST\\sy:nc',
    'TEST\\sync\n',
  ]) {
    it(`refuses ${JSON.stringify(bad)} with BIND_DN_INVALID naming both forms`, () => {
      assert.throws(
        () => parseAccountName(bad),
        (err: unknown) =>
          err instanceof PhsyncError &&
          err.code === 'BIND_DN_INVALID' &&
          err.message.includes('DOMAIN\\user') &&
          err.message.includes('user@dns.domain'),
      );
    });
  }

  it('says why an LDAP DN is refused', () => {
    assert.throws(() => parseAccountName('CN=sync,DC=test'), /LDAP DN is not accepted/);
  });
});

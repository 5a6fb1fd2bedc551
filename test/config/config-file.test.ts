import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { ConfigError, loadConfig, parseConfig } from '../../src/config/config-file.ts';
import { mergeMapping } from '../../src/config/merge-mapping.ts';
import { FatalError } from '../../src/errors.ts';
import { escapeFilterValue, filterProblem, isExcluded, ldapFilterFor, ouExclusion } from '../../src/source/ldap-filter.ts';
import { ad } from '../../src/source/presets/ad.ts';
import { freeipa } from '../../src/source/presets/freeipa.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { tempDir } from '../support/temp-dir.ts';

const FILE = '/etc/phsync/phsync.json';

function ldap(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'corp', url: 'ldap://dc1.corp.example:389', preset: 'openldap-samba', baseDns: ['ou=People,dc=corp,dc=example'], ...over };
}

/** The issues parseConfig finds, as "path: message" lines. */
function issues(config: unknown): string[] {
  try {
    parseConfig(config, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('the config was accepted');
}

function oneIssue(config: unknown): string {
  const found = issues(config);
  assert.equal(found.length, 1, found.join('\n'));
  return found[0]!;
}

function isFrozenDeep(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return true;
  return Object.isFrozen(value) && Object.values(value).every(isFrozenDeep);
}

describe('config file', () => {
  it('loads a full LDAP source: paths resolved against the file, defaults filled, everything frozen', async () => {
    using dir = tempDir('phsync-config-');
    const file = dir.file('phsync.json');
    writeFileSync(file, JSON.stringify({
      sources: [
        ldap({
          filter: '(department=Sales)',
          excludeOus: ['ou=Contractors,ou=People,dc=corp,dc=example'],
          memberOf: ['cn=sync-users,ou=Groups,dc=corp,dc=example'],
          bindDn: 'cn=phsync,dc=corp,dc=example',
          bindPasswordFile: 'secrets/bind.pw',
          startTls: true,
          tlsCa: '/etc/ssl/corp-ca.pem',
        }),
        { name: 'dc-2', url: 'ldaps://dc2.corp.example', preset: 'ad', baseDns: ['DC=corp,DC=example'], hashesFile: 'corp.ntds', bindDn: 'CN=phsync,DC=corp,DC=example', bindPasswordEnv: 'PHSYNC_BIND_PW', pageSize: 1000 },
        { name: 'dump', ldif: 'dump.ldif', preset: 'freeipa', excludeOus: ['cn=staged users,cn=accounts,cn=provisioning,dc=ipa,dc=example'] },
      ],
      target: 'sqlite:tenant.db',
      state: 'state/phsync-state.db',
    }, null, 2));
    const config = await loadConfig(file);
    assert.equal(config.path, file);
    assert.equal(config.target, `sqlite:${dir.file('tenant.db')}`);
    assert.equal(config.state, dir.file('state/phsync-state.db'));
    const [corp, dc2, dump] = config.sources;
    assert.ok(corp?.kind === 'ldap' && dc2?.kind === 'ldap' && dump?.kind === 'ldif');
    assert.deepEqual({ ...corp, mapping: corp.mapping.preset }, {
      kind: 'ldap',
      name: 'corp',
      preset: 'openldap-samba',
      mapping: 'openldap-samba',
      excludeOus: ['ou=Contractors,ou=People,dc=corp,dc=example'],
      hashesFile: undefined,
      url: 'ldap://dc1.corp.example:389',
      baseDns: ['ou=People,dc=corp,dc=example'],
      filter: '(department=Sales)',
      memberOf: ['cn=sync-users,ou=Groups,dc=corp,dc=example'],
      bindDn: 'cn=phsync,dc=corp,dc=example',
      bindPassword: { from: 'file', path: dir.file('secrets/bind.pw') },
      startTls: true,
      tlsCa: '/etc/ssl/corp-ca.pem',
      tlsInsecure: false,
      pageSize: 500,
    });
    assert.deepEqual(corp.mapping, openldapSamba);
    assert.deepEqual(dc2.mapping, ad);
    assert.equal(dc2.hashesFile, dir.file('corp.ntds'));
    assert.deepEqual(dc2.bindPassword, { from: 'env', variable: 'PHSYNC_BIND_PW' });
    assert.equal(dc2.pageSize, 1000);
    assert.equal(dump.path, dir.file('dump.ldif'));
    assert.deepEqual(dump.mapping, freeipa);
    assert.ok(isFrozenDeep(config), 'frozen all the way down');
  });

  it('refuses a bind password in the file, and never shows it', () => {
    for (const key of ['bindPassword', 'password', 'bindCredentials']) {
      const message = oneIssue({ sources: [ldap({ bindDn: 'cn=phsync,dc=corp,dc=example', bindPasswordEnv: 'PW', [key]: 'hunter2!' })] });
      assert.match(message, new RegExp(`^sources\\[0\\]\\.${key}: a password is never read from the config file: .*bindPasswordFile.*bindPasswordEnv`));
      assert.doesNotMatch(message, /hunter2/);
    }
    const inEnv = oneIssue({ sources: [ldap({ bindDn: 'cn=phsync,dc=corp,dc=example', bindPasswordEnv: 'hunter2!' })] });
    assert.match(inEnv, /^sources\[0\]\.bindPasswordEnv: expected an environment variable name .*, got a string \(not shown\)$/);
    const inUrl = oneIssue({ sources: [ldap({ url: 'ldap://phsync:hunter2@dc1' })] });
    assert.match(inUrl, /^sources\[0\]\.url: expected only scheme, host and port/);
    assert.doesNotMatch(inUrl, /hunter2/);
  });

  it('names the key path, the bad value and what is expected', () => {
    assert.equal(oneIssue({ sources: [ldap({ url: 'http://dc1' })] }), 'sources[0].url: expected an ldap:// or ldaps:// URL such as ldap://dc1.corp.com:389, got "http://dc1"');
    assert.equal(oneIssue({ sources: [ldap({ pageSize: 0 })] }), 'sources[0].pageSize: expected a whole number from 1 to 100000, got 0');
    assert.equal(oneIssue({ sources: [ldap({ startTls: 'yes' })] }), 'sources[0].startTls: expected true or false, got "yes"');
    assert.equal(oneIssue({ sources: [ldap({ baseDns: 'dc=corp' })] }), 'sources[0].baseDns: expected a non-empty array, each a DN such as "ou=People,dc=corp,dc=com", got "dc=corp"');
    assert.equal(oneIssue({ sources: [ldap({ memberOf: ['cn=a,dc=x', 'admins'] })] }), 'sources[0].memberOf[1]: expected a group DN such as "cn=sync-users,ou=Groups,dc=corp,dc=com", got "admins"');
    assert.equal(oneIssue({ sources: [ldap({ preset: 'samba' })] }), 'sources[0].preset: expected one of openldap-samba, freeipa, ad, got "samba"');
    assert.equal(oneIssue({ sources: [ldap({ name: 'Corp_1' })] }), 'sources[0].name: expected lowercase letters, digits and hyphens, such as "corp" (at most 63), got "Corp_1"');
    assert.equal(oneIssue({ sources: [ldap({ filter: 'department=Sales' })] }), 'sources[0].filter: expected an LDAP filter in parentheses, such as (department=Sales), got "department=Sales"');
    assert.equal(oneIssue({ sources: [ldap({ mapping: { anchor: { attribute: 'uid', encoding: 'hex' } } })] }), 'sources[0].mapping.anchor.encoding: expected one of "text", "base64", got "hex"');
    assert.equal(oneIssue({ sources: [ldap({ mapping: { disabled: { kind: 'uac-flag', attribute: 'userAccountControl', mask: -2 } } })] }), 'sources[0].mapping.disabled.mask: expected a whole number from 1 to 4294967295 (ACCOUNTDISABLE is 2), got -2');
    assert.equal(oneIssue({ sources: [ldap({ mapping: { passwordLastSet: { attribute: 'pwdLastSet', format: 'ticks' } } })] }), 'sources[0].mapping.passwordLastSet.format: expected one of "unix-seconds", "filetime", "generalized-time", got "ticks"');
    assert.equal(oneIssue({ sources: [ldap({ mapping: { userPrincipalName: ['mail', 'e mail'] } })] }), 'sources[0].mapping.userPrincipalName[1]: expected an attribute name, got "e mail"');
    assert.equal(oneIssue({ sources: [ldap({ basedns: [] })] }).split(';')[0], 'sources[0].basedns: unknown key (did you mean "baseDns"?)');
    assert.equal(oneIssue({ sources: [] }), 'sources: expected a non-empty array of sources, got an array');
    assert.equal(oneIssue({ sources: [ldap()], target: 'postgres://x' }), 'target: expected sqlite:PATH or ndjson:PATH (ndjson:- for stdout), got "postgres://x"');
    assert.equal(oneIssue([]), ': expected a JSON object with "sources", got an array');
  });

  it('reports every problem at once', () => {
    const found = issues({ sources: [ldap({ url: 'http://x', pageSize: 'big' }), ldap({ preset: 'nope' })], state: 3 });
    assert.deepEqual(found.map((f) => f.split(':')[0]), ['sources[0].url', 'sources[0].pageSize', 'sources[1].preset', 'sources[1].name', 'state']);
    assert.match(found[3]!, /"corp" is already the name of sources\[0\]; source names are unique/);
  });

  it('checks what only makes sense together', () => {
    assert.match(oneIssue({ sources: [ldap({ preset: 'ad' })] }), /^sources\[0\]\.hashesFile: missing: preset ad reads NT hashes from a hash-export file/);
    assert.match(oneIssue({ sources: [ldap({ hashesFile: 'x.ntds' })] }), /^sources\[0\]\.hashesFile: not used: this source's NT hashes come from the sambantpassword attribute/);
    assert.match(oneIssue({ sources: [{ name: 'a', preset: 'freeipa' }] }), /^sources\[0\]: missing "url" .* or "ldif"/);
    assert.match(oneIssue({ sources: [ldap({ ldif: 'x.ldif' })] }), /^sources\[0\]: both "url" and "ldif"/);
    assert.match(oneIssue({ sources: [{ name: 'a', preset: 'freeipa', ldif: 'x.ldif', memberOf: ['cn=g,dc=x'] }] }), /^sources\[0\]\.memberOf: applies to LDAP sources \("url"\) only/);
    assert.match(oneIssue({ sources: [ldap({ bindDn: 'cn=phsync,dc=corp,dc=example' })] }), /^sources\[0\]\.bindDn: has no password/);
    assert.match(oneIssue({ sources: [ldap({ bindPasswordEnv: 'PW' })] }), /^sources\[0\]: a bind password without "bindDn"/);
    assert.match(oneIssue({ sources: [ldap({ bindDn: 'cn=p,dc=x', bindPasswordEnv: 'PW', bindPasswordFile: 'pw' })] }), /^sources\[0\]: both "bindPasswordFile" and "bindPasswordEnv"/);
    assert.match(oneIssue({ sources: [ldap({ url: 'ldaps://dc1', startTls: true })] }), /^sources\[0\]\.startTls: not with an ldaps:\/\/ URL/);
    assert.match(oneIssue({ sources: [ldap({ tlsCa: 'ca.pem' })] }), /^sources\[0\]: "tlsCa" and "tlsInsecure" need TLS/);
    assert.match(oneIssue({ sources: [ldap({ url: 'ldaps://dc1', tlsCa: 'ca.pem', tlsInsecure: true })] }), /^sources\[0\]\.tlsInsecure: turns off the certificate check/);
    assert.match(oneIssue({ sources: [ldap({ mapping: { ntHash: { from: 'hashes-file' } }, hashesFile: 'x' })] }), /^sources\[0\]\.mapping: isUser "has-nt-hash" cannot be used with NT hashes from a hashes file/);
  });

  it('applies mapping overrides field by field', () => {
    const config = parseConfig({ sources: [ldap({ mapping: { anchor: 'uid', userPrincipalName: 'mail', passwordLastSet: null } })] }, FILE);
    const mapping = config.sources[0]!.mapping;
    assert.deepEqual(mapping, { ...openldapSamba, anchor: { attribute: 'uid', encoding: 'text' }, userPrincipalName: ['mail'], passwordLastSet: undefined });
    const adSource = parseConfig({ sources: [ldap({ preset: 'ad', hashesFile: 'h', mapping: { anchor: { attribute: 'mS-DS-ConsistencyGuid', encoding: 'base64' }, ntHash: { joinAttribute: 'userPrincipalName' } } })] }, FILE);
    assert.deepEqual(adSource.sources[0]!.mapping.anchor, { attribute: 'ms-ds-consistencyguid', encoding: 'base64' });
    assert.deepEqual(adSource.sources[0]!.mapping.ntHash, { from: 'hashes-file', joinAttribute: 'userprincipalname' });
  });

  it('does not quote the file in a JSON syntax error, and names a missing file', async () => {
    using dir = tempDir('phsync-config-');
    const file = dir.file('bad.json');
    writeFileSync(file, '{\n  "sources": [\n    { "bindPassword": "hunter2" x }\n  ]\n}\n');
    await assert.rejects(loadConfig(file), (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /not valid JSON \(line 3, column \d+\)/);
      assert.doesNotMatch(err.message, /hunter2/);
      return true;
    });
    await assert.rejects(loadConfig(dir.file('missing.json')), (err: unknown) => err instanceof FatalError && err.code === 'CONFIG_NOT_FOUND');
  });
});

describe('mergeMapping', () => {
  it('replaces one field and keeps the rest of the preset', () => {
    const merged = mergeMapping(openldapSamba, { userPrincipalName: ['Mail'] });
    assert.deepEqual(merged, { ...openldapSamba, userPrincipalName: ['mail'] });
    assert.ok(isFrozenDeep(merged));
    assert.deepEqual(openldapSamba.userPrincipalName, ['userprincipalname', 'mail'], 'the preset is untouched');
  });

  it('unmaps with null, and refuses a mapping that does not hold together', () => {
    assert.equal(mergeMapping(freeipa, { disabled: null }).disabled, undefined);
    assert.deepEqual(mergeMapping(ad, { disabled: { kind: 'uac-flag', attribute: 'userAccountControl', mask: 0x10 } }).disabled, { kind: 'uac-flag', attribute: 'useraccountcontrol', mask: 0x10 });
    assert.throws(() => mergeMapping(ad, { isUser: { kind: 'has-nt-hash' } }), (err: unknown) => err instanceof FatalError && err.code === 'MAPPING_INVALID');
  });
});

describe('ldapFilterFor', () => {
  it('is the preset filter alone when nothing is added', () => {
    assert.equal(ldapFilterFor({ mapping: openldapSamba }), '(objectClass=sambaSamAccount)');
  });

  it('ANDs the preset filter, the configured filter and the memberOf groups', () => {
    assert.equal(ldapFilterFor({ mapping: ad, filter: '(department=Sales)', memberOf: [] }), '(&(&(objectCategory=person)(objectClass=user))(department=Sales))');
    assert.equal(ldapFilterFor({ mapping: openldapSamba, memberOf: ['cn=sync-users,ou=Groups,dc=corp,dc=com'] }), '(&(objectClass=sambaSamAccount)(memberOf=cn=sync-users,ou=Groups,dc=corp,dc=com))');
    assert.equal(
      ldapFilterFor({ mapping: freeipa, filter: '(l=Paris)', memberOf: ['cn=a,dc=x', 'cn=b,dc=x'] }),
      '(&(&(objectClass=posixAccount)(objectClass=ipaNTUserAttrs))(l=Paris)(|(memberOf=cn=a,dc=x)(memberOf=cn=b,dc=x)))',
    );
  });

  it('escapes group DNs per RFC 4515', () => {
    assert.equal(escapeFilterValue('a\\b*c(d)e\0f'), 'a\\5cb\\2ac\\28d\\29e\\00f');
    assert.equal(
      ldapFilterFor({ mapping: openldapSamba, memberOf: ['cn=R&D (Paris)*,ou=Groups\\, EU,dc=corp,dc=com'] }),
      '(&(objectClass=sambaSamAccount)(memberOf=cn=R&D \\28Paris\\29\\2a,ou=Groups\\5c, EU,dc=corp,dc=com))',
    );
    assert.equal(filterProblem(ldapFilterFor({ mapping: openldapSamba, memberOf: ['cn=(x)*\\'] })), undefined, 'the result is a well-formed filter');
  });

  it('checks filter syntax', () => {
    assert.equal(filterProblem('(&(a=1)(|(b=2)(c=\\2a)))'), undefined);
    assert.match(filterProblem('(a=1)(b=2)') ?? '', /wrap several/);
    assert.match(filterProblem('(&(a=1)') ?? '', /balanced/);
    assert.match(filterProblem('(a=\\zz)') ?? '', /two hex digits/);
  });
});

describe('isExcluded', () => {
  const excludeOus = ['ou=Contractors,ou=People,dc=corp,dc=com', 'OU=Service Accounts, DC=corp, DC=com'];

  it('excludes entries at or below an excluded OU, case-insensitively, whatever the spaces after commas', () => {
    assert.equal(isExcluded('uid=jdoe,ou=Contractors,ou=People,dc=corp,dc=com', excludeOus), true);
    assert.equal(isExcluded('UID=jdoe, OU=contractors, OU=People, DC=Corp, DC=Com', excludeOus), true);
    assert.equal(isExcluded('cn=x,ou=Team,ou=Contractors,ou=People,dc=corp,dc=com', excludeOus), true);
    assert.equal(isExcluded('ou=Contractors,ou=People,dc=corp,dc=com', excludeOus), true);
    assert.equal(isExcluded('CN=svc-backup,OU=Service Accounts,DC=corp,DC=com', excludeOus), true);
  });

  it('keeps everything else', () => {
    assert.equal(isExcluded('uid=jdoe,ou=People,dc=corp,dc=com', excludeOus), false);
    assert.equal(isExcluded('uid=jdoe,ou=NotContractors,ou=People,dc=corp,dc=com', excludeOus), false, 'a suffix only at an RDN boundary');
    assert.equal(isExcluded('cn=x\\,ou=Contractors,ou=People,dc=corp,dc=com', excludeOus), false, 'an escaped comma is not a boundary');
    assert.equal(isExcluded('uid=jdoe,ou=Contractors,ou=People,dc=corp,dc=com', []), false);
    const test = ouExclusion(excludeOus);
    assert.deepEqual(['uid=a,ou=contractors,ou=people,dc=corp,dc=com', 'uid=b,ou=people,dc=corp,dc=com'].map(test), [true, false]);
  });
});

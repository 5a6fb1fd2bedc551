import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, DEFAULT_AD_OBJECTS_PER_CALL, parseConfig } from '../../src/config/config-file.ts';
import type { AdSourceConfig } from '../../src/config/config-types.ts';
import { parseAdUrl } from '../../src/config/ad-source-config.ts';

const FILE = '/etc/phsync/phsync.json';

function ad(over: Record<string, unknown> = {}): Record<string, unknown> {
  return { name: 'corp', url: 'ad://dc1.corp.example', preset: 'ad', bindDn: 'CORP\\phsync-repl', bindPasswordEnv: 'REPL_PW', ...over };
}

function issues(source: Record<string, unknown>): string[] {
  try {
    parseConfig({ sources: [source] }, FILE);
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err.issues.map((i) => `${i.path}: ${i.message}`);
  }
  assert.fail('the config was accepted');
}

describe('ad:// sources in the config file', () => {
  it('becomes a replication source whose NT hash is the replicated unicodePwd, with no hashes file', () => {
    const config = parseConfig({ sources: [ad({ baseDns: ['OU=Staff,DC=corp,DC=example'], excludeOus: ['OU=Robots,OU=Staff,DC=corp,DC=example'] })] }, FILE);
    const source = config.sources[0] as AdSourceConfig;
    assert.equal(source.kind, 'ad');
    assert.equal(source.host, 'dc1.corp.example');
    assert.equal(source.endpointMapperPort, 135);
    assert.equal(source.account, 'CORP\\phsync-repl');
    assert.deepEqual(source.bindPassword, { from: 'env', variable: 'REPL_PW' });
    assert.deepEqual(source.baseDns, ['OU=Staff,DC=corp,DC=example']);
    assert.equal(source.objectsPerCall, DEFAULT_AD_OBJECTS_PER_CALL);
    assert.deepEqual(source.mapping.ntHash, { from: 'attribute', attribute: 'unicodepwd', encoding: 'binary' });
    assert.equal(source.hashesFile, undefined);
    // The rest of the ad preset stays: anchor, UPN, disabled and must-change rules as for LDAP.
    assert.equal(source.mapping.anchor.attribute, 'objectguid');
    assert.equal(source.mapping.disabled?.attribute, 'useraccountcontrol');
  });

  it('takes name@realm accounts, a password file, a port and a chunk size', () => {
    const source = parseConfig({ sources: [ad({ url: 'ad://10.0.0.5:1135', bindDn: 'repl@corp.example', bindPasswordEnv: undefined, bindPasswordFile: 'repl.pw', pageSize: 250 })] }, FILE).sources[0] as AdSourceConfig;
    assert.equal(source.endpointMapperPort, 1135);
    assert.equal(source.account, 'repl@corp.example');
    assert.deepEqual(source.bindPassword, { from: 'file', path: '/etc/phsync/repl.pw' });
    assert.equal(source.objectsPerCall, 250);
  });

  it('refuses what replication cannot do, each with its reason', () => {
    const found = issues(ad({ filter: '(department=Sales)', memberOf: ['CN=g,DC=corp,DC=example'], startTls: true, hashesFile: 'x.ntds' }));
    assert.ok(found.some((i) => i.startsWith('sources[0].filter: not for an ad:// source')), found.join('\n'));
    assert.ok(found.some((i) => i.startsWith('sources[0].memberOf: not for an ad:// source')), found.join('\n'));
    assert.ok(found.some((i) => i.startsWith('sources[0].startTls: not for an ad:// source')), found.join('\n'));
    assert.ok(found.some((i) => i.startsWith('sources[0].hashesFile: not used')), found.join('\n'));
  });

  it('needs the replication account and its password source, never an LDAP DN', () => {
    assert.ok(issues(ad({ bindDn: undefined, bindPasswordEnv: undefined })).some((i) => i.includes('bindDn: missing: replication needs an account')));
    assert.ok(issues(ad({ bindPasswordEnv: undefined })).some((i) => i.includes('has no password')));
    assert.ok(issues(ad({ bindDn: 'CN=repl,CN=Users,DC=corp,DC=example' })).some((i) => i.includes("not an LDAP DN")));
  });

  it('wants preset ad, and no NT hash mapping', () => {
    assert.ok(issues(ad({ preset: 'freeipa' })).some((i) => i.includes('use preset "ad"')));
    assert.ok(issues(ad({ mapping: { ntHash: { attribute: 'x', encoding: 'hex' } } })).some((i) => i.includes('reads NT hashes by replication')));
  });

  it('parses ad:// URLs and refuses credentials or paths in them', () => {
    assert.deepEqual(parseAdUrl('ad://dc1'), { host: 'dc1', port: 135 });
    assert.deepEqual(parseAdUrl('ad://[::1]:2000'), { host: '::1', port: 2000 });
    assert.match(String(parseAdUrl('ad://user:secret@dc1')), /only ad:\/\/HOST/);
    assert.doesNotMatch(String(parseAdUrl('ad://user:secret@dc1')), /secret/);
    assert.match(String(parseAdUrl('ad:///')), /expected ad:\/\/HOST/);
    assert.match(String(parseAdUrl('ad://dc1/DC=corp')), /only ad:\/\/HOST/);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { parseConfig } from '../../src/config/config-file.ts';

// The README's production-style config must stay a valid config: parse it as the engine would.
it('the config file shown in the README is valid', () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const section = readme.slice(readme.indexOf('#### A config file'));
  const json = /```json\n([\s\S]*?)\n```/.exec(section)?.[1];
  assert.ok(json, 'the README has a JSON config example');
  const config = parseConfig(JSON.parse(json), '/etc/phsync/phsync.json');
  assert.deepEqual(config.sources.map((s) => [s.name, s.kind, s.preset]), [['openldap-corp', 'ldap', 'openldap-samba'], ['ipa', 'ldap', 'freeipa'], ['ad-emea', 'ldap', 'ad']]);
  assert.equal(config.state, '/var/lib/phsync/state.db');
});

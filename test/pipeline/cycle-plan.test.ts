import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planCycle } from '../../src/pipeline/cycle-plan.ts';
import { changedSinceClause, nextWatermark, scopeHash } from '../../src/source/change-tracking.ts';
import { presetByName } from '../../src/source/presets/presets.ts';
import type { LdapSourceConfig } from '../../src/config/config-types.ts';

const HOUR = 3_600_000;
const watermark = { source: 's', kind: 'entrycsn', value: '2026-11-27T10:00:00.000Z', scopeHash: 'h1', fullScanAt: 0, updatedAt: 0 };

describe('cycle planning', () => {
  const plan = (over: Partial<Parameters<typeof planCycle>[0]>) =>
    planCycle({ requested: 'auto', watermark, scopeHash: 'h1', tracksChanges: true, now: 10 * HOUR, fullScanEveryMs: 24 * HOUR, ...over });
  it('plans a delta when an earlier cycle of the same scope left a watermark', () => assert.equal(plan({}).kind, 'delta'));
  it('plans a full sync for a first cycle, a changed scope, a due full scan, --full, and LDIF files', () => {
    assert.deepEqual(plan({ watermark: undefined }), { kind: 'full', reason: 'first sync of this source' });
    assert.deepEqual(plan({ scopeHash: 'h2' }), { kind: 'full', reason: 'the scope or mapping changed' });
    assert.deepEqual(plan({ now: 25 * HOUR }), { kind: 'full', reason: 'periodic full scan' });
    assert.deepEqual(plan({ requested: 'full' }), { kind: 'full', reason: 'asked for' });
    assert.equal(plan({ tracksChanges: false }).kind, 'full');
    assert.deepEqual(plan({ requested: 'delta', now: 25 * HOUR }), { kind: 'delta', reason: 'asked for' }, '--delta is honoured when a full scan is due');
  });
});

describe('change markers', () => {
  it('build delta filters from saved watermarks', () => {
    assert.equal(changedSinceClause('entrycsn', '2026-11-27T10:00:00.000Z'), '(entryCSN>=20261127100000.000000Z#000000#000#000000)');
    assert.equal(changedSinceClause('modifytimestamp', '2026-11-27T10:00:00.000Z'), '(modifyTimestamp>=20261127100000Z)');
    assert.equal(changedSinceClause('usnchanged', '41234'), '(uSNChanged>=41235)');
  });
  it('save time watermarks with a five-minute overlap and USNs as read', () => {
    assert.equal(nextWatermark('entrycsn', Date.parse('2026-11-27T10:00:00Z'), undefined), '2026-11-27T09:55:00.000Z');
    assert.equal(nextWatermark('usnchanged', 0, '99'), '99');
    assert.throws(() => nextWatermark('usnchanged', 0, undefined));
  });
  it('change the scope hash with the scope, not with the credentials', () => {
    const base: LdapSourceConfig = { kind: 'ldap', name: 'corp', preset: 'openldap-samba', mapping: presetByName('openldap-samba'), excludeOus: [], hashesFile: undefined, url: 'ldap://dc1', baseDns: ['dc=x'], filter: undefined, memberOf: [], bindDn: 'cn=a', bindPassword: { from: 'env', variable: 'A' }, startTls: false, tlsCa: undefined, tlsInsecure: false, pageSize: 500 };
    assert.equal(scopeHash(base), scopeHash({ ...base, bindDn: 'cn=b', bindPassword: { from: 'file', path: '/p' }, pageSize: 1000 }));
    assert.notEqual(scopeHash(base), scopeHash({ ...base, filter: '(uid=a*)' }));
    assert.notEqual(scopeHash(base), scopeHash({ ...base, baseDns: ['dc=y'] }));
    assert.notEqual(scopeHash(base), scopeHash({ ...base, mapping: presetByName('freeipa') }));
  });
});

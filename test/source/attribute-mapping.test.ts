import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import { binaryAttributes, mappingProblems, ntHashAttribute, requestedAttributes } from '../../src/source/attribute-mapping.ts';
import { PRESET_NAMES, presetByName } from '../../src/source/presets/presets.ts';

describe('presets', () => {
  it('lists openldap-samba, freeipa and ad, each whole and frozen', () => {
    assert.deepEqual(PRESET_NAMES, ['openldap-samba', 'freeipa', 'ad']);
    for (const name of PRESET_NAMES) {
      const preset = presetByName(name);
      assert.equal(preset.preset, name);
      assert.deepEqual(mappingProblems(preset), [], name);
      assert.ok(Object.isFrozen(preset) && Object.isFrozen(preset.anchor) && Object.isFrozen(preset.userPrincipalName), name);
      assert.match(preset.filter, /^\(.*\)$/);
    }
  });

  it('refuses an unknown preset, naming the known ones', () => {
    assert.throws(() => presetByName('openldap'), (err: unknown) => err instanceof FatalError && err.code === 'PRESET_UNKNOWN' && /openldap-samba, freeipa, ad/.test(err.message));
  });
});

describe('requestedAttributes and binaryAttributes', () => {
  it('asks an OpenLDAP/Samba directory for the mapped attributes', () => {
    const samba = presetByName('openldap-samba');
    assert.deepEqual(requestedAttributes(samba), ['entryuuid', 'userprincipalname', 'mail', 'sambantpassword', 'sambaacctflags', 'sambapwdlastset']);
    assert.deepEqual(binaryAttributes(samba), []);
  });

  it('asks FreeIPA for ipaNTHash as bytes', () => {
    const ipa = presetByName('freeipa');
    assert.deepEqual(requestedAttributes(ipa), ['ipauniqueid', 'krbcanonicalname', 'krbprincipalname', 'mail', 'ipanthash', 'nsaccountlock', 'krblastpwdchange']);
    assert.deepEqual(binaryAttributes(ipa), ['ipanthash']);
  });

  it('asks AD for sAMAccountName (the join) and objectClass, and objectGUID as bytes', () => {
    const ad = presetByName('ad');
    assert.deepEqual(requestedAttributes(ad), ['objectguid', 'userprincipalname', 'samaccountname', 'useraccountcontrol', 'pwdlastset', 'objectclass']);
    assert.deepEqual(binaryAttributes(ad), ['objectguid']);
  });

  it('names the NT hash attribute, when there is one', () => {
    assert.deepEqual(PRESET_NAMES.map((n) => ntHashAttribute(presetByName(n))), ['sambantpassword', 'ipanthash', undefined]);
  });

  it('finds a mapping that would drop users silently', () => {
    const ad = presetByName('ad');
    assert.equal(mappingProblems({ ...ad, isUser: { kind: 'has-nt-hash' } }).length, 1);
    assert.equal(mappingProblems({ ...ad, userPrincipalName: [] }).length, 1);
  });
});

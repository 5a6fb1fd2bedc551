import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import type { AttributeMapping } from '../../src/source/attribute-mapping.ts';
import type { AttributeValue, DirectoryEntry } from '../../src/source/directory-entry.ts';
import type { DirectoryUser, InvalidUser, SourceItem } from '../../src/source/directory-user.ts';
import { readLdif } from '../../src/source/ldif-reader.ts';
import { mapEntry, type HashLookup } from '../../src/source/map-entry.ts';
import { ad } from '../../src/source/presets/ad.ts';
import { freeipa } from '../../src/source/presets/freeipa.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';

// NT hash of "secret".
const SECRET_NT = '878D8014606CDA29677A44EFA1353FC7';
const SECRET_BYTES = Buffer.from(SECRET_NT, 'hex');
const GUID = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
const JAN_15_2024 = Date.UTC(2024, 0, 15, 9, 30, 0);
const FILETIME_JAN_15_2024 = String((BigInt(JAN_15_2024) + 11_644_473_600_000n) * 10_000n);

async function* once(text: string): AsyncGenerator<string> {
  yield text;
}

function entry(dn: string, attrs: Record<string, AttributeValue | AttributeValue[] | undefined>): DirectoryEntry {
  const attributes = new Map<string, AttributeValue[]>();
  for (const [name, value] of Object.entries(attrs)) {
    if (value !== undefined) attributes.set(name.toLowerCase(), Array.isArray(value) ? value : [value]);
  }
  return { dn, origin: 'test', attributes };
}

function asUser(item: SourceItem | undefined): DirectoryUser {
  assert.ok(item, 'an item');
  assert.equal(item.kind, 'user', item.kind === 'invalid' ? `${item.invalid.error.code}: ${item.invalid.error.message}` : '');
  return item.user;
}

function asInvalid(item: SourceItem | undefined, code: string): InvalidUser {
  assert.ok(item, 'an item');
  assert.equal(item.kind, 'invalid', 'a failed user');
  assert.equal(item.invalid.error.code, code, item.invalid.error.message);
  assert.equal(item.invalid.error.name, 'UserDataError');
  for (const form of [SECRET_NT, SECRET_NT.toLowerCase(), SECRET_BYTES.toString('base64')]) {
    assert.ok(!item.invalid.error.message.includes(form), 'no hash in a message');
  }
  return item.invalid;
}

function lookupOf(map: Record<string, Buffer>): HashLookup {
  const lower = new Map(Object.entries(map).map(([k, v]) => [k.toLowerCase(), v]));
  return { lookup: (name) => { const h = lower.get(name.toLowerCase()); return h === undefined ? undefined : Uint8Array.from(h); } };
}

describe('openldap-samba preset', () => {
  const samba = (over: Record<string, AttributeValue | undefined> = {}) =>
    entry('uid=jdoe,ou=People,dc=example,dc=com', {
      objectClass: ['inetOrgPerson', 'sambaSamAccount'],
      uid: 'jdoe',
      entryUUID: '1b2c3d4e-0000-4000-8000-000000000001',
      mail: 'jdoe@example.com',
      sambaNTPassword: SECRET_NT.toLowerCase(),
      sambaAcctFlags: '[U          ]',
      sambaPwdLastSet: '1705311000',
      ...over,
    });

  it('maps a Samba account', () => {
    const user = asUser(mapEntry(samba(), openldapSamba, 'corp'));
    assert.deepEqual({ ...user, ntHash: Buffer.from(user.ntHash).toString('hex').toUpperCase() }, {
      source: 'corp',
      anchor: '1b2c3d4e-0000-4000-8000-000000000001',
      userPrincipalName: 'jdoe@example.com',
      ntHash: SECRET_NT,
      disabled: false,
      mustChangePassword: false,
      passwordChangedAt: 1705311000 * 1000,
      dn: 'uid=jdoe,ou=People,dc=example,dc=com',
      origin: 'uid=jdoe,ou=People,dc=example,dc=com (test)',
    });
  });

  it('prefers userPrincipalName over mail, reads D as disabled and 0 as must change', () => {
    const user = asUser(mapEntry(samba({ userPrincipalName: 'john.doe@corp.example', sambaAcctFlags: '[UD         ]', sambaPwdLastSet: '0' }), openldapSamba, 'corp'));
    assert.equal(user.userPrincipalName, 'john.doe@corp.example');
    assert.equal(user.disabled, true);
    assert.equal(user.mustChangePassword, true);
    assert.equal(user.passwordChangedAt, undefined);
  });

  it('passes over an entry without sambaNTPassword', () => {
    assert.equal(mapEntry(samba({ sambaNTPassword: undefined }), openldapSamba, 'corp'), undefined);
  });

  it('names what is wrong, never the hash', () => {
    asInvalid(mapEntry(samba({ sambaNTPassword: SECRET_NT.slice(1) }), openldapSamba, 'corp'), 'INVALID_NT_HASH');
    assert.match(asInvalid(mapEntry(samba({ sambaNTPassword: `${SECRET_NT}0` }), openldapSamba, 'corp'), 'INVALID_NT_HASH').error.message, /33 characters/);
    const twoHashes = entry('uid=x,dc=example,dc=com', { entryUUID: 'u', mail: 'x@example.com', sambaNTPassword: [SECRET_NT, SECRET_NT] });
    asInvalid(mapEntry(twoHashes, openldapSamba, 'corp'), 'INVALID_NT_HASH');
    const noAnchor = asInvalid(mapEntry(samba({ entryUUID: undefined }), openldapSamba, 'corp'), 'MISSING_ANCHOR');
    assert.equal(noAnchor.userPrincipalName, 'jdoe@example.com');
    const noName = asInvalid(mapEntry(samba({ mail: '  ' }), openldapSamba, 'corp'), 'MISSING_USER_PRINCIPAL_NAME');
    assert.equal(noName.anchor, '1b2c3d4e-0000-4000-8000-000000000001');
    assert.match(asInvalid(mapEntry(samba({ sambaAcctFlags: 'garbage' }), openldapSamba, 'corp'), 'INVALID_ACCOUNT_FLAGS').error.message, /sambaacctflags "garbage"/);
    asInvalid(mapEntry(samba({ sambaPwdLastSet: 'yesterday' }), openldapSamba, 'corp'), 'INVALID_PASSWORD_LAST_SET');
  });
});

describe('freeipa preset', () => {
  const ipa = (over: Record<string, AttributeValue | AttributeValue[] | undefined> = {}) =>
    entry('uid=jdoe,cn=users,cn=accounts,dc=ipa,dc=example', {
      objectClass: ['top', 'person', 'posixAccount', 'krbPrincipalAux', 'ipaObject', 'ipaNTUserAttrs'],
      uid: 'jdoe',
      ipaUniqueID: '7d3a0c5e-8a8f-11ee-9d3b-525400a1b2c3',
      krbPrincipalName: ['jdoe@IPA.EXAMPLE', 'john@IPA.EXAMPLE'],
      krbCanonicalName: 'jdoe@IPA.EXAMPLE',
      mail: 'jdoe@example.com',
      ipaNTHash: Buffer.from(SECRET_BYTES),
      nsAccountLock: 'FALSE',
      krbLastPwdChange: '20240115093000Z',
      krbPasswordExpiration: '20240414093000Z',
      ...over,
    });

  it('maps a FreeIPA user: ipaNTHash bytes, ipaUniqueID, krbCanonicalName, krbLastPwdChange', () => {
    const user = asUser(mapEntry(ipa(), freeipa, 'ipa'));
    assert.equal(user.anchor, '7d3a0c5e-8a8f-11ee-9d3b-525400a1b2c3');
    assert.equal(user.userPrincipalName, 'jdoe@IPA.EXAMPLE');
    assert.deepEqual(Buffer.from(user.ntHash), SECRET_BYTES);
    assert.equal(user.disabled, false);
    assert.equal(user.mustChangePassword, false, 'FreeIPA maps no must-change');
    assert.equal(user.passwordChangedAt, JAN_15_2024);
  });

  it('falls back to krbPrincipalName, then mail', () => {
    assert.equal(asUser(mapEntry(ipa({ krbCanonicalName: undefined }), freeipa, 'ipa')).userPrincipalName, 'jdoe@IPA.EXAMPLE');
    assert.equal(asUser(mapEntry(ipa({ krbCanonicalName: undefined, krbPrincipalName: undefined }), freeipa, 'ipa')).userPrincipalName, 'jdoe@example.com');
  });

  it('reads nsAccountLock TRUE in any case as disabled, and refuses other values', () => {
    assert.equal(asUser(mapEntry(ipa({ nsAccountLock: 'TRUE' }), freeipa, 'ipa')).disabled, true);
    assert.equal(asUser(mapEntry(ipa({ nsAccountLock: 'true' }), freeipa, 'ipa')).disabled, true);
    assert.equal(asUser(mapEntry(ipa({ nsAccountLock: undefined }), freeipa, 'ipa')).disabled, false);
    asInvalid(mapEntry(ipa({ nsAccountLock: 'maybe' }), freeipa, 'ipa'), 'INVALID_ACCOUNT_FLAGS');
  });

  it('takes a 16-character printable ipaNTHash that LDIF wrote as text as its bytes', () => {
    const printable = 'abcdefghijklmnop';
    assert.deepEqual(Buffer.from(asUser(mapEntry(ipa({ ipaNTHash: printable }), freeipa, 'ipa')).ntHash), Buffer.from(printable));
  });

  it('refuses an ipaNTHash that is not 16 bytes, and passes over a user without one', () => {
    assert.match(asInvalid(mapEntry(ipa({ ipaNTHash: SECRET_BYTES.subarray(0, 15) }), freeipa, 'ipa'), 'INVALID_NT_HASH').error.message, /15 bytes/);
    asInvalid(mapEntry(ipa({ ipaNTHash: SECRET_NT }), freeipa, 'ipa'), 'INVALID_NT_HASH');
    assert.equal(mapEntry(ipa({ ipaNTHash: undefined }), freeipa, 'ipa'), undefined);
  });

  it('reads GeneralizedTime with offsets and fractions, and refuses what is not one', () => {
    assert.equal(asUser(mapEntry(ipa({ krbLastPwdChange: '20240115113000+0200' }), freeipa, 'ipa')).passwordChangedAt, JAN_15_2024);
    assert.equal(asUser(mapEntry(ipa({ krbLastPwdChange: '20240115093000.5Z' }), freeipa, 'ipa')).passwordChangedAt, JAN_15_2024 + 500);
    asInvalid(mapEntry(ipa({ krbLastPwdChange: '20240231093000Z' }), freeipa, 'ipa'), 'INVALID_PASSWORD_LAST_SET');
    asInvalid(mapEntry(ipa({ krbLastPwdChange: '2024-01-15' }), freeipa, 'ipa'), 'INVALID_PASSWORD_LAST_SET');
  });

  it('maps an ldapsearch LDIF export, ipaNTHash base64-encoded', async () => {
    const ldif = [
      'dn: uid=jdoe,cn=users,cn=accounts,dc=ipa,dc=example',
      'objectClass: posixAccount',
      'objectClass: ipaNTUserAttrs',
      'ipaUniqueID: 7d3a0c5e-8a8f-11ee-9d3b-525400a1b2c3',
      'krbPrincipalName: jdoe@IPA.EXAMPLE',
      `ipaNTHash:: ${SECRET_BYTES.toString('base64')}`,
      'nsAccountLock: TRUE',
      '',
    ].join('\n');
    const items: (SourceItem | undefined)[] = [];
    for await (const r of readLdif(once(ldif))) if (r.kind === 'entry') items.push(mapEntry({ dn: r.dn, origin: `line ${r.line}`, attributes: r.attributes }, freeipa, 'ipa'));
    const user = asUser(items[0]);
    assert.deepEqual(Buffer.from(user.ntHash), SECRET_BYTES);
    assert.equal(user.disabled, true);
    assert.equal(user.passwordChangedAt, undefined);
  });
});

describe('ad preset', () => {
  const hashes = lookupOf({ jdoe: SECRET_BYTES });
  const adUser = (over: Record<string, AttributeValue | AttributeValue[] | undefined> = {}) =>
    entry('CN=John Doe,OU=People,DC=corp,DC=example', {
      objectClass: ['top', 'person', 'organizationalPerson', 'user'],
      objectCategory: 'CN=Person,CN=Schema,CN=Configuration,DC=corp,DC=example',
      objectGUID: Buffer.from(GUID),
      sAMAccountName: 'JDoe',
      userPrincipalName: 'jdoe@corp.example',
      userAccountControl: '512',
      pwdLastSet: FILETIME_JAN_15_2024,
      ...over,
    });

  it('maps an AD user: objectGUID as base64, FILETIME pwdLastSet, NT hash joined on sAMAccountName case-insensitively', () => {
    const user = asUser(mapEntry(adUser(), ad, 'corp', hashes));
    assert.equal(user.anchor, 'ABEiM0RVZneImaq7zN3u/w==');
    assert.equal(user.userPrincipalName, 'jdoe@corp.example');
    assert.deepEqual(Buffer.from(user.ntHash), SECRET_BYTES);
    assert.equal(user.disabled, false);
    assert.equal(user.mustChangePassword, false);
    assert.equal(user.passwordChangedAt, JAN_15_2024);
  });

  it('reads userAccountControl bit 2 as disabled and pwdLastSet 0 as must change', () => {
    assert.equal(asUser(mapEntry(adUser({ userAccountControl: '514' }), ad, 'corp', hashes)).disabled, true);
    assert.equal(asUser(mapEntry(adUser({ userAccountControl: '66048' }), ad, 'corp', hashes)).disabled, false, 'DONT_EXPIRE_PASSWORD | NORMAL_ACCOUNT');
    assert.equal(asUser(mapEntry(adUser({ userAccountControl: '66050' }), ad, 'corp', hashes)).disabled, true);
    const mustChange = asUser(mapEntry(adUser({ pwdLastSet: '0' }), ad, 'corp', hashes));
    assert.equal(mustChange.mustChangePassword, true);
    assert.equal(mustChange.passwordChangedAt, undefined);
    asInvalid(mapEntry(adUser({ userAccountControl: 'enabled' }), ad, 'corp', hashes), 'INVALID_ACCOUNT_FLAGS');
    asInvalid(mapEntry(adUser({ pwdLastSet: '-1' }), ad, 'corp', hashes), 'INVALID_PASSWORD_LAST_SET');
    asInvalid(mapEntry(adUser({ pwdLastSet: '99999999999999999999' }), ad, 'corp', hashes), 'INVALID_PASSWORD_LAST_SET');
  });

  it('reports a user without a line in the hashes file (MISSING_NT_HASH), and one without sAMAccountName', () => {
    const missing = asInvalid(mapEntry(adUser({ sAMAccountName: 'asmith' }), ad, 'corp', hashes), 'MISSING_NT_HASH');
    assert.equal(missing.anchor, 'ABEiM0RVZneImaq7zN3u/w==');
    assert.match(missing.error.message, /"asmith"/);
    asInvalid(mapEntry(adUser({ sAMAccountName: undefined }), ad, 'corp', hashes), 'MISSING_NT_HASH');
  });

  it('decides who is a user by objectClass: not computers, not groups', () => {
    const computer = adUser({ objectClass: ['top', 'person', 'organizationalPerson', 'user', 'computer'], sAMAccountName: 'WS01$' });
    assert.equal(mapEntry(computer, ad, 'corp', hashes), undefined);
    assert.equal(mapEntry(adUser({ objectClass: ['top', 'group'] }), ad, 'corp', hashes), undefined);
    assert.equal(asUser(mapEntry(adUser({ objectClass: ['TOP', 'Person', 'organizationalPerson', 'User'] }), ad, 'corp', hashes)).anchor, 'ABEiM0RVZneImaq7zN3u/w==');
  });

  it('names the other per-user errors', () => {
    asInvalid(mapEntry(adUser({ objectGUID: undefined }), ad, 'corp', hashes), 'MISSING_ANCHOR');
    asInvalid(mapEntry(adUser({ userPrincipalName: undefined }), ad, 'corp', hashes), 'MISSING_USER_PRINCIPAL_NAME');
    const short = lookupOf({ jdoe: SECRET_BYTES.subarray(0, 8) });
    asInvalid(mapEntry(adUser(), ad, 'corp', short), 'INVALID_NT_HASH');
  });

  it('needs the hashes file: FatalError HASHES_FILE_REQUIRED without one', () => {
    assert.throws(() => mapEntry(adUser(), ad, 'corp'), (err: unknown) => err instanceof FatalError && err.code === 'HASHES_FILE_REQUIRED');
  });

  it('maps an ldifde export, objectGUID base64-encoded', async () => {
    const ldif = [
      'dn: CN=John Doe,OU=People,DC=corp,DC=example',
      'objectClass: top', 'objectClass: person', 'objectClass: organizationalPerson', 'objectClass: user',
      `objectGUID:: ${GUID.toString('base64')}`,
      'sAMAccountName: jdoe',
      'userPrincipalName: jdoe@corp.example',
      'userAccountControl: 512',
      `pwdLastSet: ${FILETIME_JAN_15_2024}`,
      '',
    ].join('\r\n');
    let item: SourceItem | undefined;
    for await (const r of readLdif(once(ldif))) if (r.kind === 'entry') item = mapEntry({ dn: r.dn, origin: `line ${r.line}`, attributes: r.attributes }, ad, 'corp', hashes);
    const user = asUser(item);
    assert.equal(user.anchor, GUID.toString('base64'));
    assert.equal(user.passwordChangedAt, JAN_15_2024);
  });

  it('reports an AD-style user whose hash attribute is missing when users are chosen by objectClass', () => {
    const mapping: AttributeMapping = { ...ad, ntHash: { from: 'attribute', attribute: 'sambantpassword', encoding: 'hex' } };
    asInvalid(mapEntry(adUser(), mapping, 'corp'), 'MISSING_NT_HASH');
  });
});

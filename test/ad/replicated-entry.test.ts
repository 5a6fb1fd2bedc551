import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { REPLICATED_NT_HASH } from '../../src/config/ad-source-config.ts';
import { mergeMapping } from '../../src/config/merge-mapping.ts';
import { partialAttributeSet } from '../../src/ad/ad-source.ts';
import { ATTRIBUTE_BY_NAME } from '../../src/ad/replicated-attributes.ts';
import { isTombstone, replicatedItem } from '../../src/ad/replicated-entry.ts';
import type { ReplicatedObject } from '../../src/ad/replicated-entry.ts';
import { encryptReplicatedSecret } from '../../src/ad/secret/replicated-secret.ts';
import { addRidLayer } from '../../src/ad/secret/rid-des-layer.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { ad } from '../../src/source/presets/ad.ts';

const mapping = mergeMapping(ad, { ntHash: REPLICATED_NT_HASH });
const sessionKey = randomBytes(16);
const GUID = Buffer.from('6a2f0d7e3c1b4a5e9f8d7c6b5a493827', 'hex');
const RID = 1107;
const SID = Buffer.concat([Buffer.from('010500000000000515000000dcf4dc3b833d2b46828ba628', 'hex'), Buffer.from([RID & 0xff, RID >> 8, 0, 0])]);
// The prefix table of a reply: objectClass values are ATTRTYPs that name class OIDs.
const CLASSES = new Map<number, string>([[0x10000, '2.5.6.0'], [0x10006, '2.5.6.6'], [0x10007, '2.5.6.7'], [0x50009, '1.2.840.113556.1.5.9'], [0x3001e, '1.2.840.113556.1.3.30']]);
const oidOf = (attrtyp: number): string | undefined => CLASSES.get(attrtyp);

function oid(name: string): string {
  return ATTRIBUTE_BY_NAME.get(name)!.oid;
}
function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(n);
  return b;
}
function i64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64LE(n);
  return b;
}

async function user(over: { classes?: number[]; uac?: number; pwdLastSet?: bigint; password?: string; secret?: Buffer | null; deleted?: boolean } = {}): Promise<ReplicatedObject> {
  const hash = await ntHash(over.password ?? 'Winter2026!');
  const attributes = new Map<string, Buffer[]>([
    [oid('objectclass'), (over.classes ?? [0x10000, 0x10006, 0x10007, 0x50009]).map(u32)],
    [oid('samaccountname'), [Buffer.from('alice', 'utf16le')]],
    [oid('userprincipalname'), [Buffer.from('alice@test.example', 'utf16le')]],
    [oid('useraccountcontrol'), [u32(over.uac ?? 0x200)]],
    [oid('pwdlastset'), [i64(over.pwdLastSet ?? 134_000_000_000_000_000n)]],
    [oid('objectsid'), [SID]],
  ]);
  if (over.secret !== null) attributes.set(oid('unicodepwd'), [over.secret ?? encryptReplicatedSecret(sessionKey, addRidLayer(hash, RID), randomBytes(16))]);
  if (over.deleted === true) attributes.set(oid('isdeleted'), [u32(1)]);
  return { name: { guid: GUID, sid: SID, dn: 'CN=Alice,CN=Users,DC=test,DC=example' }, attributes };
}

const ctx = { source: 'corp', mapping, sessionKey, oidOf, origin: 'ad://dc1' };

describe('a replicated object as the engine user', () => {
  it('decrypts the NT hash with the session key and the RID, and maps the rest as LDAP would', async () => {
    const item = replicatedItem(await user(), ctx);
    assert.equal(item?.kind, 'user');
    if (item?.kind !== 'user') return;
    assert.deepEqual(Buffer.from(item.user.ntHash), Buffer.from(await ntHash('Winter2026!')));
    assert.equal(item.user.anchor, GUID.toString('base64'));
    assert.equal(item.user.userPrincipalName, 'alice@test.example');
    assert.equal(item.user.disabled, false);
    assert.equal(item.user.mustChangePassword, false);
    assert.equal(item.user.passwordChangedAt, Number((134_000_000_000_000_000n - 116_444_736_000_000_000n) / 10_000n));
  });

  it('follows the ad preset for disabled accounts, must-change and computers', async () => {
    const disabled = replicatedItem(await user({ uac: 0x202 }), ctx);
    assert.equal(disabled?.kind === 'user' && disabled.user.disabled, true);
    const mustChange = replicatedItem(await user({ pwdLastSet: 0n }), ctx);
    assert.equal(mustChange?.kind === 'user' && mustChange.user.mustChangePassword, true);
    assert.equal(replicatedItem(await user({ classes: [0x10000, 0x10006, 0x10007, 0x50009, 0x3001e] }), ctx), undefined);
  });

  it('makes a secret that does not decrypt that user\'s named error', async () => {
    const other = replicatedItem(await user(), { ...ctx, sessionKey: randomBytes(16) });
    assert.equal(other?.kind, 'invalid');
    if (other?.kind === 'invalid') {
      assert.equal(other.invalid.error.code, 'DRS_SECRET_CRC_MISMATCH');
      assert.equal(other.invalid.anchor, GUID.toString('base64'));
      assert.equal(other.invalid.userPrincipalName, 'alice@test.example');
    }
    const short = replicatedItem(await user({ secret: Buffer.alloc(10) }), ctx);
    assert.equal(short?.kind === 'invalid' && short.invalid.error.code, 'DRS_SECRET_TOO_SHORT');
    const none = replicatedItem(await user({ secret: null }), ctx);
    assert.equal(none?.kind === 'invalid' && none.invalid.error.code, 'MISSING_NT_HASH');
  });

  it('decrypts a secret only for a user the mapping takes: not for a computer, nor for an account without a sign-in name', async () => {
    // A secret that cannot decrypt: an attempt would make the item a DRS_SECRET_* error.
    const garbage = Buffer.alloc(36, 7);
    assert.equal(replicatedItem(await user({ classes: [0x10000, 0x10006, 0x10007, 0x50009, 0x3001e], secret: garbage }), ctx), undefined);
    const noUpn = await user({ secret: garbage });
    (noUpn.attributes as Map<string, Buffer[]>).delete(oid('userprincipalname'));
    const item = replicatedItem(noUpn, ctx);
    assert.equal(item?.kind === 'invalid' && item.invalid.error.code, 'MISSING_USER_PRINCIPAL_NAME');
    const withUpn = replicatedItem(await user({ secret: garbage }), ctx);
    assert.equal(withUpn?.kind === 'invalid' && withUpn.invalid.error.code, 'DRS_SECRET_CRC_MISMATCH');
  });

  it('tells tombstones apart', async () => {
    assert.equal(isTombstone(await user({ deleted: true })), true);
    assert.equal(isTombstone(await user()), false);
  });

  it('asks only for the attributes the mapping and replication need, and refuses one it cannot replicate', () => {
    const names = partialAttributeSet(mapping).map((o) => [...ATTRIBUTE_BY_NAME.values()].find((a) => a.oid === o)?.name).sort();
    assert.deepEqual(names, ['isdeleted', 'objectclass', 'objectguid', 'objectsid', 'pwdlastset', 'samaccountname', 'unicodepwd', 'useraccountcontrol', 'userprincipalname'].filter((n) => n !== 'samaccountname').sort());
    assert.throws(() => partialAttributeSet(mergeMapping(mapping, { userPrincipalName: ['extensionattribute7'] })), { code: 'MAPPING_INVALID' });
  });
});

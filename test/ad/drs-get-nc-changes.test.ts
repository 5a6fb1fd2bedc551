import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { DrsError } from '../../src/ad/drs/drs-errors.ts';
import { DRS_INIT_SYNC, DRS_WRIT_REP, EXOP_REPL_OBJ, NC_REPLICATION_FLAGS, decodeGetNcChangesReply, encodeGetNcChangesRequest, partialAttributeSetAttids } from '../../src/ad/drs/drs-get-nc-changes.ts';
import type { DsName } from '../../src/ad/drs/drs-types.ts';
import { NdrWriter } from '../../src/ad/ndr/ndr-writer.ts';
import { FatalError } from '../../src/errors.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Hex rows, each with what it is: a stub worked out by hand. */
const layout = (...rows: ReadonlyArray<readonly [string, string]>): Buffer => Buffer.concat(rows.map(([h]) => hex(h)));
const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const HANDLE = Buffer.alloc(20, 0xee);
const OID_SAM_ACCOUNT_NAME = '1.2.840.113556.1.4.221';
const OID_UNICODE_PWD = '1.2.840.113556.1.4.90';
const OID_SAMBA_14 = '1.3.6.1.4.1.7165.4.1.14';

const isCode = (code: string) => (err: unknown) => err instanceof FatalError && err.code === code;

describe('DRS_MSG_GETCHGREQ_V8', () => {
  it('the engine replicates as secretsdump does: INIT_SYNC | WRIT_REP', () => {
    assert.equal(NC_REPLICATION_FLAGS, 0x30);
  });

  it('makes the partial attribute set against the default prefixes, sorted, with no table when none is new', () => {
    assert.deepEqual(partialAttributeSetAttids([OID_SAM_ACCOUNT_NAME, OID_UNICODE_PWD, OID_SAM_ACCOUNT_NAME]), { attids: [0x0009005a, 0x000900dd], prefixes: [] });
    const withNew = partialAttributeSetAttids([OID_SAMBA_14, OID_SAM_ACCOUNT_NAME]);
    assert.deepEqual(withNew.attids, [0x000900dd, 0x001b000e]);
    assert.deepEqual(withNew.prefixes.map((e) => [e.ndx, e.prefix.toString('hex')]), [[0x09, '2a864886f7140104'], [0x1b, '2b06010401b77d0401']]);
  });

  it('encodes a full-replication request (worked by hand)', () => {
    const stub = encodeGetNcChangesRequest(HANDLE, {
      destinationDsa: Buffer.alloc(16, 0x11),
      invocationIdSource: Buffer.alloc(16, 0x22),
      namingContext: { dn: 'DC=x' },
      from: { highObjUpdate: 1n, reserved: 0n, highPropUpdate: 2n },
      flags: DRS_INIT_SYNC | DRS_WRIT_REP,
      maxObjects: 100,
      maxBytes: 0x1000,
      partialAttributeSet: [OID_UNICODE_PWD, OID_SAM_ACCOUNT_NAME],
    });
    const expected = layout(
      ['ee'.repeat(20), '0: hDrs (context handle)'],
      ['08000000', '20: dwInVersion'],
      ['08000000', '24: DRS_MSG_GETCHGREQ discriminant'],
      ['00000000', '28: pad: V8 holds hypers, so it is aligned to 8'],
      ['11'.repeat(16), '32: uuidDsaObjDest'],
      ['22'.repeat(16), '48: uuidInvocIdSrc'],
      ['00000200', '64: pNC referent ID'],
      ['00000000', '68: pad to 8 for USN_VECTOR'],
      ['0100000000000000 0000000000000000 0200000000000000', '72: usnvecFrom'],
      ['00000000', '96: pUpToDateVecDest NULL'],
      ['30000000', '100: ulFlags'],
      ['64000000', '104: cMaxObjects'],
      ['00100000', '108: cMaxBytes'],
      ['00000000', '112: ulExtendedOp'],
      ['00000000', '116: pad to 8'],
      ['0000000000000000', '120: liFsmoInfo'],
      ['04000200', '128: pPartialAttrSet referent ID'],
      ['00000000', '132: pPartialAttrSetEx1 NULL'],
      ['00000000', '136: PrefixTableDest.PrefixCount'],
      ['00000000', '140: PrefixTableDest.pPrefixEntry NULL'],
      ['05000000', '144: pNC referent, DSNAME: conformance (NameLen + 1) first'],
      ['42000000', '148: structLen = 56 + 2 * 5'],
      ['00000000', '152: SidLen'],
      ['00'.repeat(16), '156: Guid'],
      ['00'.repeat(28), '172: Sid'],
      ['04000000', '200: NameLen'],
      [utf16('DC=x\0').toString('hex'), '204: StringName with its NUL'],
      ['0000', '214: pad to 4'],
      ['02000000', '216: pPartialAttrSet referent: conformance'],
      ['01000000', '220: dwVersion'],
      ['00000000', '224: dwReserved1'],
      ['02000000', '228: cAttrs'],
      ['5a000900 dd000900', '232: unicodePwd, sAMAccountName'],
    );
    assert.equal(stub.toString('hex'), expected.toString('hex'));
  });

  it('encodes an up-to-dateness vector, an object by GUID and a prefix table (worked by hand)', () => {
    const stub = encodeGetNcChangesRequest(HANDLE, {
      destinationDsa: Buffer.alloc(16, 0x11),
      invocationIdSource: Buffer.alloc(16, 0x22),
      namingContext: { dn: 'DC=x', guid: Buffer.alloc(16, 0x33) },
      from: { highObjUpdate: 0n, reserved: 0n, highPropUpdate: 0n },
      upToDate: [{ invocationId: Buffer.alloc(16, 0x44), highestUsn: 0x1234n }],
      flags: NC_REPLICATION_FLAGS,
      maxObjects: 1,
      maxBytes: 0,
      extendedOp: EXOP_REPL_OBJ,
      partialAttributeSet: [OID_SAMBA_14, OID_SAM_ACCOUNT_NAME],
    });
    const expected = layout(
      ['ee'.repeat(20), '0: hDrs'],
      ['08000000 08000000 00000000', '20: dwInVersion, discriminant, pad'],
      ['11'.repeat(16) + '22'.repeat(16), '32: uuidDsaObjDest, uuidInvocIdSrc'],
      ['00000200 00000000', '64: pNC, pad'],
      ['00'.repeat(24), '72: usnvecFrom'],
      ['04000200', '96: pUpToDateVecDest referent ID'],
      ['30000000 01000000 00000000 06000000', '100: ulFlags, cMaxObjects, cMaxBytes, ulExtendedOp EXOP_REPL_OBJ'],
      ['00000000 0000000000000000', '116: pad, liFsmoInfo'],
      ['08000200 00000000', '128: pPartialAttrSet, pPartialAttrSetEx1'],
      ['02000000 0c000200', '136: PrefixCount 2, pPrefixEntry'],
      ['05000000 42000000 00000000', '144: DSNAME conformance, structLen, SidLen'],
      ['33'.repeat(16) + '00'.repeat(28), '156: Guid, Sid'],
      ['04000000' + utf16('DC=x\0').toString('hex') + '0000', '200: NameLen, StringName, pad'],
      ['01000000', '216: UPTODATE_VECTOR_V1_EXT conformance'],
      ['00000000', '220: pad to 8 (the cursors hold USNs)'],
      ['01000000 00000000 01000000 00000000', '224: dwVersion 1, dwReserved1, cNumCursors, dwReserved2'],
      ['44'.repeat(16) + '3412000000000000', '240: cursor: uuidDsa, usnHighPropUpdate'],
      ['02000000 01000000 00000000 02000000', '264: PARTIAL_ATTR_VECTOR_V1_EXT: conformance, dwVersion, dwReserved1, cAttrs'],
      ['dd000900 0e001b00', '280: sAMAccountName, 1.3.6.1.4.1.7165.4.1.14 (new prefix 0x1b)'],
      ['02000000', '288: PrefixTableEntry array conformance'],
      ['09000000 08000000 10000200', '292: ndx 9, OID_t.length, elements referent'],
      ['1b000000 09000000 14000200', '304: ndx 0x1b, length, elements referent'],
      ['08000000 2a864886f7140104', '316: elements: conformance, 1.2.840.113556.1.4'],
      ['09000000 2b06010401b77d0401', '328: conformance, 1.3.6.1.4.1.7165.4.1'],
    );
    assert.equal(stub.toString('hex'), expected.toString('hex'));
  });

  it('sends no partial attribute set when every attribute is wanted, and takes a USN of 2^64 - 1', () => {
    const stub = encodeGetNcChangesRequest(HANDLE, {
      destinationDsa: Buffer.alloc(16),
      invocationIdSource: Buffer.alloc(16),
      namingContext: { dn: 'DC=corp,DC=example,'.repeat(40) },
      from: { highObjUpdate: 0xffff_ffff_ffff_ffffn, reserved: 0n, highPropUpdate: 0xffff_ffff_ffff_ffffn },
      upToDate: Array.from({ length: 50 }, (_, i) => ({ invocationId: Buffer.alloc(16, i), highestUsn: BigInt(i) })),
      flags: NC_REPLICATION_FLAGS,
      maxObjects: 1,
      maxBytes: 0,
      partialAttributeSet: [],
    });
    assert.equal(stub.readUInt32LE(128), 0, 'pPartialAttrSet NULL');
    assert.equal(stub.readBigUInt64LE(72), 0xffff_ffff_ffff_ffffn);
  });
});

// ---------------------------------------------------------------------------------------------------
// Replies laid out by hand, per the IDL, with NdrWriter's primitives only.

/** A DSNAME as a pointer's referent: conformance, structLen, SidLen, Guid, Sid[28], NameLen, StringName. */
function dsName(w: NdrWriter, n: DsName): void {
  w.u32(n.dn.length + 1);
  w.u32(56 + 2 * (n.dn.length + 1));
  w.u32(n.sid.length);
  w.guid(n.guid);
  w.bytes(Buffer.concat([n.sid, Buffer.alloc(28 - n.sid.length)]));
  w.u32(n.dn.length);
  w.bytes(utf16(`${n.dn}\0`));
}

interface HandAttr {
  attid: number;
  values: Buffer[] | null;
}
interface HandObject {
  name: DsName;
  isNcPrefix: boolean;
  parent: Buffer | null;
  attrs: HandAttr[];
  metaData: number;
}

/** One REPLENTINFLIST's deferred part: DSNAME, the ATTR array and its values, parent GUID, metadata vector. */
function objectDeferred(w: NdrWriter, o: HandObject, marks: Map<string, number>): void {
  dsName(w, o.name);
  w.align(4);
  marks.set('attrArray', w.length);
  w.u32(o.attrs.length); // ATTR array conformance
  for (const a of o.attrs) {
    w.u32(a.attid);
    w.u32(a.values?.length ?? 0);
    w.pointer(a.values !== null); // ATTRVALBLOCK.pAVal
  }
  for (const a of o.attrs) {
    if (a.values === null) continue;
    w.u32(a.values.length); // ATTRVAL array conformance
    for (const v of a.values) w.u32(v.length).pointer(true); // valLen, pVal
    for (const v of a.values) w.u32(v.length).bytes(v); // each pVal: conformance, bytes
  }
  if (o.parent !== null) w.guid(o.parent);
  if (o.metaData > 0) {
    w.u32(o.metaData); // conformance
    w.align(8);
    w.u32(o.metaData); // cNumProps
    for (let i = 0; i < o.metaData; i++) {
      w.align(8);
      w.u32(1); // dwVersion
      w.i64(13_000_000_000n); // timeChanged (after a pad)
      w.guid(Buffer.alloc(16, 0x77)); // uuidDsaOriginating
      w.u64(BigInt(1000 + i)); // usnOriginating
    }
  }
}

/** The objects' linked list: every entry's scalars (pNextEntInf first), then the deferred parts last entry first. */
function objectList(w: NdrWriter, objects: readonly HandObject[], marks: Map<string, number>): void {
  w.align(4);
  marks.set('objects', w.length);
  objects.forEach((o, i) => {
    w.pointer(i < objects.length - 1); // pNextEntInf
    w.pointer(true); // Entinf.pName
    w.u32(0); // Entinf.ulFlags
    w.u32(o.attrs.length); // AttrBlock.attrCount
    w.pointer(o.attrs.length > 0); // AttrBlock.pAttr
    w.u32(o.isNcPrefix ? 1 : 0); // fIsNCPrefix
    w.pointer(o.parent !== null); // pParentGuid
    w.pointer(o.metaData > 0); // pMetaDataExt
  });
  for (let i = objects.length - 1; i >= 0; i--) objectDeferred(w, objects[i]!, marks);
}

const NC: DsName = { guid: Buffer.alloc(16, 0x01), sid: hex('010400000000000515000000010000000200000003000000'), dn: 'DC=corp,DC=example' };
const USERS: DsName = { guid: Buffer.alloc(16, 0x02), sid: Buffer.alloc(0), dn: 'CN=Users,DC=corp,DC=example' };
const ALICE: DsName = { guid: Buffer.alloc(16, 0x03), sid: hex('01050000000000051500000001000000020000000300000050040000'), dn: 'CN=alice,CN=Users,DC=corp,DC=example' };
const SECRET = Buffer.alloc(36, 0x5a);

const OBJECTS: HandObject[] = [
  {
    name: NC,
    isNcPrefix: true,
    parent: null,
    metaData: 0,
    attrs: [
      { attid: 0x0000_0000, values: [hex('00000100'), hex('43000100')] }, // objectClass: top, domainDNS
      { attid: 0x0002_0001, values: [hex('05000000')] }, // instanceType: ndx 2 is not in the reply's table (a default)
    ],
  },
  {
    name: USERS,
    isNcPrefix: false,
    parent: NC.guid,
    metaData: 2,
    attrs: [{ attid: 0x0009_0001, values: [utf16('Users')] }], // name
  },
  {
    name: ALICE,
    isNcPrefix: false,
    parent: USERS.guid,
    metaData: 1,
    attrs: [
      { attid: 0x0009_00dd, values: [utf16('alice')] }, // sAMAccountName
      { attid: 0x0009_005a, values: [SECRET] }, // unicodePwd, as replicated (encrypted)
      { attid: 0x1234_000e, values: [hex('ff')] }, // through the reply's prefix 0x1234
      { attid: 0x8000_0001, values: [hex('0102')] }, // an msDS-IntId attribute: left out
      { attid: 0x0000_000d, values: null }, // description, no values
    ],
  },
];

interface HandReply {
  level: 1 | 6;
  objects: HandObject[];
  drsError?: number;
  result?: number;
  withValues?: boolean;
}

/** `marks` receives offsets a test may tamper with: 'objects' (the first entry's scalars), 'attrArray' (the first entry's ATTR array). */
function handReply(o: HandReply, marks = new Map<string, number>()): Buffer {
  const w = new NdrWriter(1 << 24); // sized up front: NdrWriter cannot grow mid-write
  w.u32(o.level); // pdwOutVersion
  w.u32(o.level); // DRS_MSG_GETCHGREPLY discriminant
  w.align(8);
  w.guid(Buffer.alloc(16, 0xaa)); // uuidDsaObjSrc
  w.guid(Buffer.alloc(16, 0xbb)); // uuidInvocIdSrc
  w.pointer(true); // pNC
  w.u64(10n).u64(0n).u64(20n); // usnvecFrom
  w.u64(30n).u64(0n).u64(40n); // usnvecTo
  w.pointer(true); // pUpToDateVecSrc
  w.u32(4); // PrefixTableSrc.PrefixCount
  w.pointer(true); // PrefixTableSrc.pPrefixEntry
  w.u32(1); // ulExtendedRet: EXOP_ERR_SUCCESS
  w.u32(o.objects.length); // cNumObjects
  w.u32(1234); // cNumBytes
  w.pointer(o.objects.length > 0); // pObjects
  w.u32(1); // fMoreData
  if (o.level === 6) {
    w.u32(100); // cNumNcSizeObjects
    w.u32(5); // cNumNcSizeValues
    w.u32(o.withValues === true ? 1 : 0); // cNumValues
    w.pointer(o.withValues === true); // rgValues
    w.u32(o.drsError ?? 0); // dwDRSError
    assert.equal(w.length, 148, 'V6 scalars end at 148');
  } else {
    assert.equal(w.length, 128, 'V1 scalars end at 128');
  }
  // Deferred referents, in member order. pNC:
  dsName(w, NC);
  // pUpToDateVecSrc: V2 (V6) or V1 (V1) vector, two cursors.
  w.u32(2);
  w.align(8);
  w.u32(o.level === 6 ? 2 : 1).u32(0).u32(2).u32(0);
  for (const [fill, usn] of [[0xc1, 500n], [0xc2, 600n]] as const) {
    w.align(8);
    w.guid(Buffer.alloc(16, fill));
    w.u64(usn);
    if (o.level === 6) w.i64(13_300_000_000n + usn); // timeLastSyncSuccess
  }
  // PrefixTableSrc.pPrefixEntry: four entries, the last the schemaInfo (ndx 0, 0xFF...).
  const prefixes: [number, Buffer][] = [
    [0x0000, hex('5504')],
    [0x0009, hex('2a864886f7140104')],
    [0x1234, hex('2b06010401b77d0401')],
    [0x0000, Buffer.concat([hex('ff'), Buffer.alloc(20, 0x5c)])],
  ];
  w.u32(prefixes.length);
  for (const [ndx, p] of prefixes) w.u32(ndx).u32(p.length).pointer(true);
  for (const [, p] of prefixes) w.u32(p.length).bytes(p);
  // pObjects.
  if (o.objects.length > 0) objectList(w, o.objects, marks);
  // rgValues: one REPLVALINF_V1 (a member link), 72 bytes aligned to 8, then its DSNAME and value.
  if (o.withValues === true) {
    w.u32(1);
    w.align(8);
    w.pointer(true); // pObject
    w.u32(0x1f); // attrTyp: member
    w.u32(6); // Aval.valLen
    w.pointer(true); // Aval.pVal
    w.u32(1); // fIsPresent
    w.i64(13_000_000_000n); // MetaData.timeCreated (after a pad)
    w.u32(1).i64(13_000_000_001n).guid(Buffer.alloc(16, 0x78)).u64(77n); // MetaData.MetaData
    dsName(w, { guid: Buffer.alloc(16, 0x09), sid: Buffer.alloc(0), dn: 'CN=g,DC=corp,DC=example' });
    w.u32(6).bytes(hex('aabbccddeeff'));
  }
  w.u32(o.result ?? 0); // the ULONG result
  return w.finish();
}

describe('DRS_MSG_GETCHGREPLY', () => {
  it('decodes a V6 reply: vectors, prefix table, three linked objects, a linked value', () => {
    const stub = handReply({ level: 6, objects: OBJECTS, withValues: true });
    const reply = decodeGetNcChangesReply(stub);
    assert.equal(reply.level, 6);
    assert.deepEqual(reply.sourceDsa, Buffer.alloc(16, 0xaa));
    assert.deepEqual(reply.sourceInvocationId, Buffer.alloc(16, 0xbb));
    assert.deepEqual(reply.from, { highObjUpdate: 10n, reserved: 0n, highPropUpdate: 20n });
    assert.deepEqual(reply.to, { highObjUpdate: 30n, reserved: 0n, highPropUpdate: 40n });
    assert.deepEqual(reply.upToDate, [
      { invocationId: Buffer.alloc(16, 0xc1), highestUsn: 500n, lastSyncSuccess: 13_300_000_500n },
      { invocationId: Buffer.alloc(16, 0xc2), highestUsn: 600n, lastSyncSuccess: 13_300_000_600n },
    ]);
    assert.equal(reply.moreData, true);
    assert.equal(reply.objectCount, 3);
    assert.equal(reply.byteCount, 1234);
    assert.equal(reply.extendedResult, 1);
    assert.equal(reply.drsError, 0);
    assert.equal(reply.valueCount, 1);

    // Objects in list order, though their deferred parts came last first.
    assert.deepEqual(
      reply.objects.map((o) => o.name.dn),
      OBJECTS.map((o) => o.name.dn),
    );
    const [nc, users, alice] = reply.objects as [(typeof reply.objects)[0], (typeof reply.objects)[0], (typeof reply.objects)[0]];
    assert.equal(nc.isNcPrefix, true);
    assert.equal(nc.parentGuid, undefined);
    assert.deepEqual(nc.name.sid, NC.sid);
    assert.deepEqual(nc.attributes.get('2.5.4.0'), [hex('00000100'), hex('43000100')]);
    assert.deepEqual(nc.attributes.get('1.2.840.113556.1.2.1'), [hex('05000000')]);
    assert.deepEqual(users.parentGuid, NC.guid);
    assert.deepEqual(users.name.sid, Buffer.alloc(0));
    assert.equal(users.attributes.get('1.2.840.113556.1.4.1')?.[0]?.toString('utf16le'), 'Users');
    assert.deepEqual(alice.name, ALICE);
    assert.deepEqual(alice.parentGuid, USERS.guid);
    assert.equal(alice.attributes.get(OID_SAM_ACCOUNT_NAME)?.[0]?.toString('utf16le'), 'alice');
    assert.deepEqual(alice.attributes.get(OID_UNICODE_PWD), [SECRET]);
    assert.deepEqual(alice.attributes.get(OID_SAMBA_14), [hex('ff')]);
    assert.deepEqual(alice.attributes.get('2.5.4.13'), []);
    assert.equal(alice.attributes.size, 4, 'the msDS-IntId attribute is left out');

    // ATTRTYP-valued attributes resolve through the reply's table, defaults filling its gaps.
    assert.equal(reply.oidOf(0x0001_0000), '2.5.6.0');
    assert.equal(reply.oidOf(0x1234_000e), OID_SAMBA_14);
    assert.equal(reply.oidOf(0x0002_0001), '1.2.840.113556.1.2.1');
    assert.equal(reply.oidOf(0x8000_0001), undefined);

    // What is kept is copied: the connection may reuse the stub.
    stub.fill(0);
    assert.deepEqual(alice.attributes.get(OID_UNICODE_PWD), [SECRET]);
    assert.equal(alice.name.dn, ALICE.dn);
    assert.deepEqual(reply.upToDate[0]?.invocationId, Buffer.alloc(16, 0xc1));
  });

  it('decodes a V1 reply (V1 cursors, no tail)', () => {
    const reply = decodeGetNcChangesReply(handReply({ level: 1, objects: OBJECTS.slice(0, 1) }));
    assert.equal(reply.level, 1);
    assert.deepEqual(reply.upToDate, [
      { invocationId: Buffer.alloc(16, 0xc1), highestUsn: 500n },
      { invocationId: Buffer.alloc(16, 0xc2), highestUsn: 600n },
    ]);
    assert.equal(reply.objects.length, 1);
    assert.equal(reply.valueCount, 0);
  });

  it('decodes a reply without objects', () => {
    const reply = decodeGetNcChangesReply(handReply({ level: 6, objects: [] }));
    assert.deepEqual(reply.objects, []);
  });

  it('decodes a long list without recursing per object', () => {
    const many: HandObject[] = Array.from({ length: 30_000 }, (_, i) => ({
      name: { guid: Buffer.alloc(16, i & 0xff), sid: Buffer.alloc(0), dn: `CN=u${i},DC=corp,DC=example` },
      isNcPrefix: false,
      parent: NC.guid,
      metaData: 0,
      attrs: [{ attid: 0x0009_00dd, values: [utf16(`u${i}`)] }],
    }));
    const reply = decodeGetNcChangesReply(handReply({ level: 6, objects: many }));
    assert.equal(reply.objects.length, 30_000);
    assert.equal(reply.objects[29_999]?.name.dn, 'CN=u29999,DC=corp,DC=example');
    assert.equal(reply.objects[12_345]?.attributes.get(OID_SAM_ACCOUNT_NAME)?.[0]?.toString('utf16le'), 'u12345');
  });

  it('a non-zero dwDRSError is DRS_ERROR with the Win32 name', () => {
    assert.throws(
      () => decodeGetNcChangesReply(handReply({ level: 6, objects: [], drsError: 8439 })),
      (err: unknown) => err instanceof DrsError && err.code === 'DRS_ERROR' && err.win32 === 8439 && /ERROR_DS_DRA_BAD_DN \(8439\)/.test(err.message),
    );
  });

  it('a non-zero result is DRS_ERROR', () => {
    assert.throws(() => decodeGetNcChangesReply(handReply({ level: 6, objects: [], result: 8453 })), (err: unknown) => err instanceof DrsError && err.win32 === 8453);
  });

  it('a compressed or unknown reply version is DRS_UNSUPPORTED_REPLY', () => {
    const v7 = layout(['07000000', 'pdwOutVersion'], ['07000000', 'discriminant'], ['06000000 03000000', 'V7: dwCompressedVersion, CompressionAlg ...'], ['00000000', 'result']);
    assert.throws(() => decodeGetNcChangesReply(v7), isCode('DRS_UNSUPPORTED_REPLY'));
    const v2 = layout(['02000000', 'pdwOutVersion'], ['02000000', 'discriminant'], ['00000000', '...'], ['00000000', 'result']);
    assert.throws(() => decodeGetNcChangesReply(v2), isCode('DRS_UNSUPPORTED_REPLY'));
    const failed = layout(['09000000', 'pdwOutVersion'], ['09000000', 'discriminant'], ['05210000', 'the result, if the arm were empty']);
    assert.throws(() => decodeGetNcChangesReply(failed), (err: unknown) => err instanceof DrsError && err.win32 === 8453);
  });

  it('a truncated or contradictory reply is DRS_MALFORMED_REPLY, never a wrong value', () => {
    const stub = handReply({ level: 6, objects: OBJECTS, withValues: true });
    for (const cut of [12, 150, 400, stub.length - 40, stub.length - 1]) {
      assert.throws(() => decodeGetNcChangesReply(stub.subarray(0, cut)), isCode('DRS_MALFORMED_REPLY'), `cut at ${cut}`);
    }
    // cNumValues disagreeing with the array's conformance.
    const values = Buffer.from(stub);
    values.writeUInt32LE(2, 136);
    assert.throws(() => decodeGetNcChangesReply(values), isCode('DRS_MALFORMED_REPLY'));
    // PrefixCount disagreeing with its array.
    const prefixes = Buffer.from(stub);
    prefixes.writeUInt32LE(3, 100);
    assert.throws(() => decodeGetNcChangesReply(prefixes), isCode('DRS_MALFORMED_REPLY'));
  });

  it('refuses a hostile count before allocating for it', () => {
    const one: HandObject = { name: USERS, isNcPrefix: false, parent: null, metaData: 0, attrs: [{ attid: 0x0009_0001, values: [utf16('x')] }] };
    const marks = new Map<string, number>();
    const stub = handReply({ level: 6, objects: [one] }, marks);
    const hostile = Buffer.from(stub);
    // The entry's attrCount (its fourth scalar) and the ATTR array's conformance, both claiming 2^28 - 1.
    assert.equal(hostile.readUInt32LE(marks.get('objects')! + 12), 1);
    hostile.writeUInt32LE(0x0fff_ffff, marks.get('objects')! + 12);
    assert.equal(hostile.readUInt32LE(marks.get('attrArray')!), 1);
    hostile.writeUInt32LE(0x0fff_ffff, marks.get('attrArray')!);
    assert.throws(() => decodeGetNcChangesReply(hostile), (err: unknown) => isCode('DRS_MALFORMED_REPLY')(err) && /more than the stub holds/.test((err as Error).message));
  });

  it('an ATTRTYP whose prefix neither the reply nor the defaults have is malformed', () => {
    const odd: HandObject = { name: USERS, isNcPrefix: false, parent: null, metaData: 0, attrs: [{ attid: 0x0b00_0001, values: [hex('00')] }] };
    assert.throws(() => decodeGetNcChangesReply(handReply({ level: 6, objects: [odd] })), (err: unknown) => isCode('DRS_MALFORMED_REPLY')(err) && /0xb000001/.test((err as Error).message));
  });
});

describe('DRS_MSG_GETCHGREPLY against damaged bytes', () => {
  it('any damage decodes or is a FatalError, never another exception', () => {
    const stub = handReply({ level: 6, objects: OBJECTS, withValues: true });
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.nat(stub.length - 1), fc.nat(255)), { minLength: 1, maxLength: 6 }), fc.nat(stub.length), (damage, cut) => {
        const b = Buffer.from(stub.subarray(0, Math.max(cut, 8)));
        for (const [at, value] of damage) if (at < b.length) b[at] = value;
        try {
          decodeGetNcChangesReply(b);
        } catch (err) {
          assert.ok(err instanceof FatalError, String(err));
        }
      }),
      { numRuns: 2000 },
    );
  });
});

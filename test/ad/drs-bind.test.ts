import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NTDSAPI_CLIENT_GUID, decodeBindReply, decodeUnbindReply, encodeBindRequest, encodeUnbindRequest } from '../../src/ad/drs/drs-bind.ts';
import { DrsError } from '../../src/ad/drs/drs-errors.ts';
import { CLIENT_EXTENSION_FLAGS, DRS_EXT_BASE, DRS_EXT_GETCHGREPLY_V6, DRS_EXT_GETCHGREQ_V8, DRS_EXT_STRONG_ENCRYPTION, decodeExtensions, encodeClientExtensions } from '../../src/ad/drs/drs-extensions.ts';
import { guidFromString, guidToString } from '../../src/ad/drs/drs-types.ts';
import { FatalError } from '../../src/errors.ts';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
/** Hex rows, each with what it is: a stub worked out by hand. */
const layout = (...rows: ReadonlyArray<readonly [string, string]>): Buffer => Buffer.concat(rows.map(([h]) => hex(h)));

describe('GUIDs in wire form', () => {
  it('NTDSAPI_CLIENT_GUID has its first three fields little-endian', () => {
    assert.equal(NTDSAPI_CLIENT_GUID.toString('hex'), '1a204de2d64fd111a3da0000f875ae0d');
    assert.equal(guidToString(NTDSAPI_CLIENT_GUID), 'e24d201a-4fd6-11d1-a3da-0000f875ae0d');
    assert.throws(() => guidFromString('e24d201a-4fd6-11d1-a3da'), RangeError);
  });
});

describe('DRS_EXTENSIONS_INT', () => {
  it('the client sends the 28-byte form: dwFlags, SiteObjGuid, Pid, dwReplEpoch', () => {
    const rgb = encodeClientExtensions(0x0500_8001, 7);
    assert.equal(rgb.toString('hex'), `01800005${'00'.repeat(16)}00000000` + '07000000');
  });

  it('asks for what the engine needs and nothing that brings compressed replies', () => {
    for (const bit of [DRS_EXT_BASE, DRS_EXT_STRONG_ENCRYPTION, DRS_EXT_GETCHGREQ_V8, DRS_EXT_GETCHGREPLY_V6]) assert.notEqual(CLIENT_EXTENSION_FLAGS & bit, 0);
    assert.equal(CLIENT_EXTENSION_FLAGS & (0x10 | 0x0800_0000 | 0x1000_0000), 0);
  });

  it('reads every size a DC sends, absent fields zero', () => {
    const full = Buffer.alloc(52);
    full.writeUInt32LE(0x1fff_ffff, 0);
    full.fill(0x11, 4, 20);
    full.writeUInt32LE(0x1234, 20);
    full.writeUInt32LE(3, 24);
    full.writeUInt32LE(0x4, 28);
    full.fill(0x22, 32, 48);
    full.writeUInt32LE(0xffff_ffff, 48);
    const e52 = decodeExtensions(full);
    assert.deepEqual([e52.flags, e52.pid, e52.replEpoch, e52.flagsExt, e52.extCaps, e52.length], [0x1fff_ffff, 0x1234, 3, 4, 0xffff_ffff, 52]);
    assert.equal(e52.siteObjGuid.toString('hex'), '11'.repeat(16));
    assert.equal(e52.configObjGuid.toString('hex'), '22'.repeat(16));
    const e48 = decodeExtensions(full.subarray(0, 48));
    assert.equal(e48.extCaps, 0);
    assert.equal(e48.flagsExt, 4);
    const e24 = decodeExtensions(full.subarray(0, 24));
    assert.deepEqual([e24.flags, e24.pid, e24.replEpoch, e24.flagsExt, e24.length], [0x1fff_ffff, 0x1234, 0, 0, 24]);
    assert.equal(decodeExtensions(Buffer.alloc(0)).flags, 0);
  });
});

describe('IDL_DRSBind', () => {
  it('encodes the request as NDR lays it out (worked by hand)', () => {
    const stub = encodeBindRequest(NTDSAPI_CLIENT_GUID, encodeClientExtensions(0x0000_8001));
    const expected = layout(
      ['00000200', 'puuidClientDsa: referent ID'],
      ['1a204de2d64fd111a3da0000f875ae0d', 'its UUID, right after (a top-level pointer)'],
      ['04000200', 'pextClient: referent ID'],
      ['1c000000', 'DRS_EXTENSIONS: the conformance count (= cb) first'],
      ['1c000000', 'cb'],
      ['01800000', 'rgb: dwFlags'],
      ['00000000000000000000000000000000', 'SiteObjGuid'],
      ['00000000', 'Pid'],
      ['00000000', 'dwReplEpoch'],
    );
    assert.equal(stub.toString('hex'), expected.toString('hex'));
    assert.equal(stub.length, 60);
  });

  it('decodes the reply: the server extensions, the 20-byte handle, the result', () => {
    const rgb = Buffer.alloc(48);
    rgb.writeUInt32LE(0x1fff_ff7f, 0);
    rgb.writeUInt32LE(42, 24);
    const stub = Buffer.concat([
      hex('00000200'), // ppextServer: referent ID
      hex('30000000 30000000'), // conformance 48, cb 48
      rgb,
      Buffer.alloc(20, 0xab), // phDrs (already 4-aligned)
      hex('00000000'), // ULONG result
    ]);
    const reply = decodeBindReply(stub);
    assert.equal(reply.extensions.flags, 0x1fff_ff7f);
    assert.equal(reply.extensions.replEpoch, 42);
    assert.equal(reply.extensions.length, 48);
    assert.deepEqual(reply.handle, Buffer.alloc(20, 0xab));
    stub.fill(0);
    assert.deepEqual(reply.handle, Buffer.alloc(20, 0xab), 'kept bytes are copies, not views of the stub');
  });

  it('aligns the handle after an extension blob whose length is no multiple of 4', () => {
    const stub = Buffer.concat([hex('00000200 19000000 19000000'), Buffer.alloc(25, 1), Buffer.alloc(3), Buffer.alloc(20, 0xcd), hex('00000000')]);
    assert.deepEqual(decodeBindReply(stub).handle, Buffer.alloc(20, 0xcd));
  });

  it('a non-zero result is a DrsError naming the Win32 error', () => {
    const stub = Buffer.concat([hex('00000000'), Buffer.alloc(20), hex('05210000')]);
    assert.throws(
      () => decodeBindReply(stub),
      (err: unknown) => err instanceof DrsError && err.code === 'DRS_ERROR' && err.win32 === 8453 && /IDL_DRSBind failed: ERROR_DS_DRA_ACCESS_DENIED \(8453\)/.test(err.message),
    );
  });

  it('a cb that disagrees with its conformance, or a short stub, is DRS_MALFORMED_REPLY', () => {
    const bad = Buffer.concat([hex('00000200 1c000000 18000000'), Buffer.alloc(28), Buffer.alloc(20), hex('00000000')]);
    assert.throws(() => decodeBindReply(bad), (err: unknown) => err instanceof FatalError && err.code === 'DRS_MALFORMED_REPLY');
    assert.throws(() => decodeBindReply(hex('00000200 1c000000')), (err: unknown) => err instanceof FatalError && err.code === 'DRS_MALFORMED_REPLY');
    const long = Buffer.concat([hex('00000000'), Buffer.alloc(20), hex('00000000 00000000')]);
    assert.throws(() => decodeBindReply(long), (err: unknown) => err instanceof FatalError && err.code === 'DRS_MALFORMED_REPLY' && /4 bytes follow/.test(err.message));
  });
});

describe('IDL_DRSUnbind', () => {
  it('sends the handle and reads the zeroed handle and the result', () => {
    assert.deepEqual(encodeUnbindRequest(Buffer.alloc(20, 7)), Buffer.alloc(20, 7));
    decodeUnbindReply(Buffer.alloc(24));
    assert.throws(() => decodeUnbindReply(Buffer.concat([Buffer.alloc(20), hex('06000000')])), (err: unknown) => err instanceof DrsError && err.win32 === 6);
  });
});

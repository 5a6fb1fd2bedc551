import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DrsError } from '../../src/ad/drs/drs-errors.ts';
import { DRS_EXT_GETCHGREQ_V8, DRS_EXT_STRONG_ENCRYPTION } from '../../src/ad/drs/drs-extensions.ts';
import { DrsuapiClient } from '../../src/ad/drs/drsuapi-client.ts';
import type { RpcCall } from '../../src/ad/drs/drsuapi-client.ts';
import { NdrWriter } from '../../src/ad/ndr/ndr-writer.ts';
import { FatalError } from '../../src/errors.ts';

const SERVER_FLAGS = 0x1fff_ffff & ~0x10;

function bindReply(flags: number, replEpoch: number, handleByte: number): Buffer {
  const rgb = Buffer.alloc(48);
  rgb.writeUInt32LE(flags >>> 0, 0);
  rgb.writeUInt32LE(replEpoch, 24);
  const w = new NdrWriter(1024); // sized up front: NdrWriter cannot grow mid-write
  w.pointer(true);
  w.u32(48).u32(48).bytes(rgb);
  w.bytes(Buffer.alloc(20, handleByte));
  w.u32(0);
  return w.finish();
}

const UNBIND_REPLY = Buffer.alloc(24);

/** An empty V6 reply: no NC, vector, prefixes, objects or values. */
function emptyNcChangesReply(): Buffer {
  const w = new NdrWriter(1024);
  w.u32(6).u32(6).align(8);
  w.guid(Buffer.alloc(16, 0xaa)).guid(Buffer.alloc(16, 0xbb)); // uuidDsaObjSrc, uuidInvocIdSrc
  w.pointer(false); // pNC
  w.u64(0n).u64(0n).u64(0n).u64(7n).u64(0n).u64(7n); // usnvecFrom, usnvecTo
  w.pointer(false); // pUpToDateVecSrc
  w.u32(0); // PrefixCount
  w.pointer(false); // pPrefixEntry
  w.u32(0).u32(0).u32(0); // ulExtendedRet, cNumObjects, cNumBytes
  w.pointer(false); // pObjects
  w.u32(0).u32(0).u32(0).u32(0); // fMoreData, cNumNcSizeObjects, cNumNcSizeValues, cNumValues
  w.pointer(false); // rgValues
  w.u32(0); // dwDRSError
  w.u32(0); // result
  return w.finish();
}

interface Sent {
  opnum: number;
  stub: Buffer;
}

/** A scripted DC: answers each call with the next reply, records what was sent. */
function fakeDc(replies: Buffer[]): { call: RpcCall; sent: Sent[] } {
  const sent: Sent[] = [];
  const call: RpcCall = async (opnum, stub) => {
    sent.push({ opnum, stub: Buffer.from(stub) });
    const reply = replies.shift();
    if (reply === undefined) throw new Error(`no scripted reply for opnum ${opnum}`);
    return reply;
  };
  return { call, sent };
}

describe('DrsuapiClient', () => {
  it('binds once when the DC\'s replication epoch is 0', async () => {
    const dc = fakeDc([bindReply(SERVER_FLAGS, 0, 0x31)]);
    const client = await DrsuapiClient.bind(dc.call);
    assert.deepEqual(dc.sent.map((s) => s.opnum), [0]);
    assert.equal(client.serverExtensions.flags, SERVER_FLAGS);
    assert.equal(dc.sent[0]!.stub.readUInt32LE(56), 0, 'dwReplEpoch 0');
  });

  it('binds again echoing a non-zero epoch, and releases the first handle', async () => {
    const dc = fakeDc([bindReply(SERVER_FLAGS, 3, 0x31), bindReply(SERVER_FLAGS, 3, 0x32), UNBIND_REPLY, emptyNcChangesReply()]);
    const client = await DrsuapiClient.bind(dc.call);
    assert.deepEqual(dc.sent.map((s) => s.opnum), [0, 0, 1]);
    assert.equal(dc.sent[1]!.stub.readUInt32LE(56), 3, 'the second bind carries the DC\'s dwReplEpoch');
    assert.deepEqual(dc.sent[2]!.stub, Buffer.alloc(20, 0x31), 'the first handle is unbound');
    await client.getNcChanges({
      destinationDsa: Buffer.alloc(16, 1),
      invocationIdSource: Buffer.alloc(16, 1),
      namingContext: { dn: 'DC=corp,DC=example' },
      from: { highObjUpdate: 0n, reserved: 0n, highPropUpdate: 0n },
      flags: 0x30,
      maxObjects: 10,
      maxBytes: 1 << 20,
      partialAttributeSet: ['1.2.840.113556.1.4.90'],
    });
    assert.deepEqual(dc.sent[3]!.stub.subarray(0, 20), Buffer.alloc(20, 0x32), 'later calls use the second handle');
  });

  it('refuses a DC without STRONG_ENCRYPTION, releasing its handle', async () => {
    const dc = fakeDc([bindReply(SERVER_FLAGS & ~DRS_EXT_STRONG_ENCRYPTION, 0, 0x31), UNBIND_REPLY]);
    await assert.rejects(DrsuapiClient.bind(dc.call), (err: unknown) => err instanceof FatalError && err.code === 'DRS_NO_STRONG_ENCRYPTION');
    assert.deepEqual(dc.sent.map((s) => s.opnum), [0, 1]);
  });

  it('refuses GetNCChanges on a DC without V8 requests', async () => {
    const dc = fakeDc([bindReply(SERVER_FLAGS & ~DRS_EXT_GETCHGREQ_V8, 0, 0x31)]);
    const client = await DrsuapiClient.bind(dc.call);
    await assert.rejects(
      client.getNcChanges({ destinationDsa: Buffer.alloc(16), invocationIdSource: Buffer.alloc(16), namingContext: { dn: 'DC=x' }, from: { highObjUpdate: 0n, reserved: 0n, highPropUpdate: 0n }, flags: 0x30, maxObjects: 1, maxBytes: 0, partialAttributeSet: [] }),
      (err: unknown) => err instanceof FatalError && err.code === 'DRS_UNSUPPORTED_SERVER',
    );
  });

  it('cracks one name and reports a call that failed', async () => {
    const w = new NdrWriter(1024);
    w.u32(1).u32(1); // pdwOutVersion, discriminant
    w.pointer(true); // pResult
    w.u32(1); // cItems
    w.pointer(true); // rItems
    w.u32(1).u32(0); // conformance, item status
    w.pointer(true); // pDomain
    w.pointer(true); // pName
    w.wideString('corp.example').wideString('DC=corp,DC=example').u32(0);
    const denied = Buffer.alloc(16);
    denied.writeUInt32LE(1, 0); // pdwOutVersion
    denied.writeUInt32LE(1, 4); // discriminant
    denied.writeUInt32LE(0, 8); // pResult NULL
    denied.writeUInt32LE(8453, 12); // result
    // A NULL pResult with a failed result: the result is the error.
    const dc = fakeDc([bindReply(SERVER_FLAGS, 0, 0x31), w.finish(), denied]);
    const client = await DrsuapiClient.bind(dc.call);
    assert.deepEqual(await client.crackName('CORP\\', 2, 1), { status: 0, domain: 'corp.example', name: 'DC=corp,DC=example' });
    assert.equal(dc.sent[1]!.opnum, 12);
    await assert.rejects(client.crackName('CORP\\', 2, 1), (err: unknown) => err instanceof DrsError && err.win32 === 8453);
  });

  it('unbinds once; later calls are refused', async () => {
    const dc = fakeDc([bindReply(SERVER_FLAGS, 0, 0x31), UNBIND_REPLY]);
    const client = await DrsuapiClient.bind(dc.call);
    await client.unbind();
    await client.unbind();
    assert.deepEqual(dc.sent.map((s) => s.opnum), [0, 1]);
    await assert.rejects(client.domainControllerInfo('CORP'), (err: unknown) => err instanceof FatalError && err.code === 'DRS_NOT_BOUND');
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import type { SealingContext, UnsealingContext } from '../../src/ad/rpc/rpc-pdu.ts';
import {
  decodeBindAck,
  decodeBindNak,
  decodeFault,
  decodeResponse,
  encodeAuth3,
  encodeBind,
  encodeRequest,
  PduFramer,
  PFC,
  PTYPE,
  readHeader,
  stubBytesPerFragment,
} from '../../src/ad/rpc/rpc-pdu.ts';
import { describeBindNakReason, describeRpcStatus } from '../../src/ad/rpc/rpc-status.ts';
import { DRSUAPI_SYNTAX, NDR_TRANSFER_SYNTAX, uuidFromWire, uuidToWire } from '../../src/ad/rpc/rpc-syntax.ts';

function isProtocolError(err: unknown): boolean {
  return err instanceof FatalError && err.code === 'RPC_PROTOCOL_ERROR';
}

/**
 * A stand-in security provider, symmetric so a test can play both ends: XOR "encryption" and a
 * SHA-256 "signature" over exactly the bytes the real one must sign (the PDU with the data in
 * plaintext, through the sec_trailer). A wrong range or order shows as a signature mismatch.
 */
function fakeSealing(authContextId = 7): SealingContext & UnsealingContext & { sealed: number } {
  const ctx = {
    authType: 10,
    authLevel: 6,
    authContextId,
    signatureBytes: 16,
    sealed: 0,
    seal(data: Buffer, signed: Buffer): Buffer {
      const signature = createHash('sha256').update(signed).digest().subarray(0, 16);
      for (let i = 0; i < data.length; i++) data[i]! ^= 0x5a;
      ctx.sealed++;
      return signature;
    },
    unseal(data: Buffer, signed: Buffer, signature: Buffer): void {
      for (let i = 0; i < data.length; i++) data[i]! ^= 0x5a;
      const expected = createHash('sha256').update(signed).digest().subarray(0, 16);
      if (!expected.equals(signature)) throw new Error('bad signature');
    },
  };
  return ctx;
}

/** A response fragment as a server sends it, built by hand from C706 12.6.4.10 / MS-RPCE 2.2.2.11. */
function responsePdu(o: { callId: number; flags: number; stub: Buffer; allocHint?: number; sealing?: SealingContext; padLength?: number }): Buffer {
  const s = o.sealing;
  const pad = s === undefined ? 0 : (o.padLength ?? (16 - (o.stub.length % 16)) % 16);
  const frag = 24 + o.stub.length + pad + (s === undefined ? 0 : 8 + 16);
  const b = Buffer.alloc(frag);
  b.set([5, 0, PTYPE.RESPONSE, o.flags, 0x10, 0, 0, 0]);
  b.writeUInt16LE(frag, 8);
  b.writeUInt16LE(s === undefined ? 0 : 16, 10);
  b.writeUInt32LE(o.callId, 12);
  b.writeUInt32LE(o.allocHint ?? o.stub.length, 16);
  o.stub.copy(b, 24);
  if (s !== undefined) {
    const t = 24 + o.stub.length + pad;
    b.set([s.authType, s.authLevel, pad, 0], t);
    b.writeUInt32LE(s.authContextId, t + 4);
    s.seal(b.subarray(24, t), b.subarray(0, t + 8)).copy(b, t + 8);
  }
  return b;
}

describe('rpc-syntax', () => {
  it('puts a UUID on the wire with its first three fields little-endian, and back', () => {
    const wire = uuidToWire(DRSUAPI_SYNTAX.uuid);
    assert.equal(wire.toString('hex'), '354251e3064bd111ab0400c04fc2dcd2');
    assert.equal(uuidFromWire(wire), DRSUAPI_SYNTAX.uuid);
    assert.equal(uuidFromWire(uuidToWire('8A885D04-1CEB-11C9-9FE8-08002B104860')), NDR_TRANSFER_SYNTAX.uuid);
    assert.throws(() => uuidToWire('not-a-uuid'), RangeError);
  });
});

describe('rpc-pdu: bind and auth3', () => {
  it('encodes an unauthenticated bind byte for byte as impacket does (MSRPCBind, max frags 5840)', () => {
    const bind = encodeBind({ ptype: PTYPE.BIND, callId: 1, maxXmitFrag: 5840, maxRecvFrag: 5840, assocGroupId: 0, contextId: 0, abstractSyntax: DRSUAPI_SYNTAX, transferSyntax: NDR_TRANSFER_SYNTAX });
    // impacket 0.10 rpcrt.MSRPCHeader(type=MSRPC_BIND, call_id=1, pduData=MSRPCBind with one CtxItem).get_packet()
    const impacket = '05000b03100000004800000001000000d016d016000000000100000000000100354251e3064bd111ab0400c04fc2dcd204000000045d888aeb1cc9119fe808002b10486002000000';
    assert.equal(bind.toString('hex'), impacket);
    const h = readHeader(bind);
    assert.deepEqual(h, { ptype: PTYPE.BIND, pfcFlags: PFC.FIRST_FRAG | PFC.LAST_FRAG, fragLength: 72, authLength: 0, callId: 1 });
  });

  it('puts the sec_trailer and the token after the bind body, with auth_length the token length', () => {
    const token = Buffer.from('4e544c4d5353500001000000', 'hex');
    const bind = encodeBind({
      ptype: PTYPE.ALTER_CONTEXT,
      callId: 9,
      maxXmitFrag: 5840,
      maxRecvFrag: 5840,
      assocGroupId: 0x1234,
      contextId: 0,
      abstractSyntax: DRSUAPI_SYNTAX,
      transferSyntax: NDR_TRANSFER_SYNTAX,
      auth: { authType: 10, authLevel: 6, authContextId: 1, token },
    });
    const h = readHeader(bind);
    assert.equal(h.ptype, PTYPE.ALTER_CONTEXT);
    assert.equal(h.authLength, token.length);
    assert.equal(h.fragLength, 72 + 8 + token.length);
    assert.equal(bind.readUInt32LE(20), 0x1234);
    assert.deepEqual([...bind.subarray(72, 80)], [10, 6, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(bind.subarray(80), token);
  });

  it('encodes auth3 as 4 bytes of pad, the sec_trailer and the token', () => {
    const token = Buffer.alloc(30, 0xee);
    const pdu = encodeAuth3(3, { authType: 10, authLevel: 6, authContextId: 1, token });
    const h = readHeader(pdu);
    assert.deepEqual(h, { ptype: PTYPE.AUTH3, pfcFlags: 3, fragLength: 16 + 4 + 8 + 30, authLength: 30, callId: 3 });
    assert.deepEqual([...pdu.subarray(20, 28)], [10, 6, 0, 0, 1, 0, 0, 0]);
    assert.deepEqual(pdu.subarray(28), token);
  });

  it('decodes a bind_ack: sizes, secondary address, the 4-aligned result list, the auth verifier', () => {
    // As Samba answers: port_spec "49153\0" (6 bytes) ends at 32, already aligned.
    const ack = Buffer.from(
      '05000c03100000004400000001000000' + // header, frag_length patched below
        'd016d016' + 'f0530000' + // max_xmit 5840, max_recv 5840, assoc 0x53f0
        '0600' + Buffer.from('49153\0').toString('hex') + // secondary address
        '01000000' + // one result
        '00000000' + '045d888aeb1cc9119fe808002b10486002000000' + // acceptance, NDR
        '0a060000' + '01000000' + 'aabbccdd', // sec_trailer, token
      'hex',
    );
    ack.writeUInt16LE(ack.length, 8);
    ack.writeUInt16LE(4, 10);
    const d = decodeBindAck(ack);
    assert.equal(d.maxXmitFrag, 5840);
    assert.equal(d.maxRecvFrag, 5840);
    assert.equal(d.assocGroupId, 0x53f0);
    assert.equal(d.secondaryAddress, '49153');
    assert.equal(d.results.length, 1);
    assert.equal(d.results[0]?.result, 0);
    assert.equal(d.results[0]?.transferSyntax.toString('hex'), '045d888aeb1cc9119fe808002b10486002000000');
    assert.deepEqual(d.auth?.trailer, { authType: 10, authLevel: 6, authPadLength: 0, authContextId: 1 });
    assert.equal(d.auth?.value.toString('hex'), 'aabbccdd');
  });

  it('pads to 4 after a secondary address of odd length, and refuses a result list past the body', () => {
    const body = Buffer.from('d016d016' + '00000000' + '0400' + Buffer.from('135\0').toString('hex') + '0000' + '01000000' + '0200' + '0100' + '00'.repeat(20), 'hex');
    const pdu = Buffer.concat([Buffer.from('05000c03100000000000000002000000', 'hex'), body]);
    pdu.writeUInt16LE(pdu.length, 8);
    const d = decodeBindAck(pdu);
    assert.equal(d.secondaryAddress, '135');
    assert.deepEqual({ result: d.results[0]?.result, reason: d.results[0]?.reason }, { result: 2, reason: 1 });
    const cut = pdu.subarray(0, pdu.length - 10);
    cut.writeUInt16LE(cut.length, 8);
    assert.throws(() => decodeBindAck(cut), isProtocolError);
  });

  it('decodes bind_nak and fault, and names their numbers', () => {
    const nak = Buffer.from('05000d03100000001800000004000000' + '0400' + '0105', 'hex');
    nak.writeUInt16LE(nak.length, 8);
    assert.deepEqual(decodeBindNak(nak), { callId: 4, reason: 4 });
    assert.equal(describeBindNakReason(4), 'protocol version not supported (4)');
    const fault = Buffer.from('05000303100000002000000005000000' + '00000000' + '0000' + '0000' + '0200011c' + '00000000', 'hex');
    assert.deepEqual(decodeFault(fault), { callId: 5, pfcFlags: 3, contextId: 0, status: 0x1c010002 });
    assert.equal(describeRpcStatus(0x1c010002), '0x1c010002 (nca_s_op_rng_error)');
    assert.equal(describeRpcStatus(0x1c00001b), '0x1c00001b (nca_s_fault_remote_no_memory)');
    assert.equal(describeRpcStatus(5), '0x00000005 (access_denied)');
    assert.equal(describeRpcStatus(0x12345678), '0x12345678');
  });
});

describe('rpc-pdu: requests', () => {
  const stub = Buffer.from(Array.from({ length: 20_000 }, (_, i) => (i * 7) & 0xff));

  it('cuts a 20 KB stub into fragments of at most max_xmit_frag, FIRST on the first, LAST on the last', () => {
    const fragments = encodeRequest({ callId: 42, contextId: 0, opnum: 3, stub, maxXmitFrag: 5840 });
    assert.equal(fragments.length, 4);
    const flags = fragments.map((f) => readHeader(f).pfcFlags);
    assert.deepEqual(flags, [PFC.FIRST_FRAG, 0, 0, PFC.LAST_FRAG]);
    let remaining = stub.length;
    const parts: Buffer[] = [];
    for (const f of fragments) {
      const h = readHeader(f);
      assert.ok(h.fragLength <= 5840);
      assert.equal(h.callId, 42);
      assert.equal(h.ptype, PTYPE.REQUEST);
      assert.equal(f.readUInt32LE(16), remaining, 'alloc_hint: the stub bytes left');
      assert.equal(f.readUInt16LE(20), 0);
      assert.equal(f.readUInt16LE(22), 3);
      parts.push(f.subarray(24));
      remaining -= f.length - 24;
    }
    assert.deepEqual(Buffer.concat(parts), stub);
  });

  it('sends an empty stub as one fragment, and a short one unfragmented', () => {
    const [empty, ...more] = encodeRequest({ callId: 1, contextId: 0, opnum: 0, stub: Buffer.alloc(0), maxXmitFrag: 5840 });
    assert.equal(more.length, 0);
    assert.equal(readHeader(empty!).pfcFlags, PFC.FIRST_FRAG | PFC.LAST_FRAG);
    assert.equal(empty!.length, 24);
  });

  it('seals each fragment: stub padded to 16, sec_trailer 16-aligned from the body, signature over header..sec_trailer', () => {
    const odd = Buffer.concat([stub, Buffer.of(0xff)]); // 20,001 bytes: the last fragment needs padding
    const sealing = fakeSealing();
    const per = stubBytesPerFragment(5840, sealing);
    assert.equal(per % 16, 0);
    const fragments = encodeRequest({ callId: 2, contextId: 0, opnum: 200, stub: odd, maxXmitFrag: 5840, sealing });
    assert.equal(fragments.length, Math.ceil(odd.length / per));
    assert.equal(sealing.sealed, fragments.length);
    const server = fakeSealing();
    const parts: Buffer[] = [];
    fragments.forEach((f, i) => {
      const h = readHeader(f);
      const plain = odd.subarray(i * per, (i + 1) * per);
      assert.ok(h.fragLength <= 5840);
      assert.equal(h.authLength, 16);
      const trailer = h.fragLength - 16 - 8;
      assert.equal((trailer - 24) % 16, 0, 'stub + pad is a multiple of 16');
      assert.equal(trailer % 8, 0, 'the sec_trailer is 8-aligned');
      const pad = f[trailer + 2]!;
      assert.equal(pad, (16 - (plain.length % 16)) % 16);
      assert.equal(pad === 0, i < fragments.length - 1, 'only the last fragment is padded');
      assert.deepEqual([f[trailer], f[trailer + 1], f[trailer + 3], f.readUInt32LE(trailer + 4)], [10, 6, 0, 7]);
      assert.notDeepEqual(f.subarray(24, 40), plain.subarray(0, 16), 'the stub travels encrypted');
      // The server side recovers the stub, and the signature verifies over header..sec_trailer.
      const copy = Buffer.from(f);
      const data = copy.subarray(24, trailer);
      server.unseal(data, copy.subarray(0, trailer + 8), copy.subarray(trailer + 8));
      parts.push(data.subarray(0, data.length - pad));
    });
    assert.deepEqual(Buffer.concat(parts), odd);
  });
});

describe('rpc-pdu: responses', () => {
  it('returns the stub of an unsealed response as a view', () => {
    const pdu = responsePdu({ callId: 3, flags: 3, stub: Buffer.from('abcdef') });
    const r = decodeResponse(pdu);
    assert.equal(r.stub.toString(), 'abcdef');
    assert.equal(r.stub.buffer, pdu.buffer);
  });

  it('checks and unseals a sealed response in place, without its padding', () => {
    const sealing = fakeSealing();
    const stub = Buffer.from('the replicated secrets, in plaintext at last');
    const pdu = responsePdu({ callId: 3, flags: 3, stub, sealing });
    assert.equal(pdu.indexOf(stub), -1);
    const r = decodeResponse(pdu, fakeSealing());
    assert.deepEqual(r.stub, stub);
  });

  it('refuses a sealed response for another auth context, an unsealed one on a sealed connection, a pad longer than the stub', () => {
    const stub = Buffer.alloc(40, 1);
    assert.throws(() => decodeResponse(responsePdu({ callId: 1, flags: 3, stub, sealing: fakeSealing(8) }), fakeSealing(7)), isProtocolError);
    assert.throws(() => decodeResponse(responsePdu({ callId: 1, flags: 3, stub }), fakeSealing()), isProtocolError);
    assert.throws(() => decodeResponse(responsePdu({ callId: 1, flags: 3, stub: Buffer.alloc(0), sealing: fakeSealing(), padLength: 0 }).fill(200, 26, 27), fakeSealing()), isProtocolError);
    assert.throws(() => decodeResponse(responsePdu({ callId: 1, flags: 3, stub, sealing: fakeSealing() })), isProtocolError);
  });

  it('passes a bad signature on as the provider raised it', () => {
    const pdu = responsePdu({ callId: 1, flags: 3, stub: Buffer.alloc(32, 9), sealing: fakeSealing() });
    pdu[30]! ^= 1; // inside the sealed stub
    assert.throws(() => decodeResponse(pdu, fakeSealing()), /bad signature/);
  });
});

describe('rpc-pdu: framing', () => {
  const pdus = [
    responsePdu({ callId: 1, flags: 1, stub: Buffer.alloc(100, 1) }),
    responsePdu({ callId: 1, flags: 0, stub: Buffer.alloc(3000, 2) }),
    responsePdu({ callId: 1, flags: 2, stub: Buffer.alloc(7, 3) }),
  ];
  const stream = Buffer.concat(pdus);

  it('cuts PDUs out of chunks of any size', () => {
    for (const size of [1, 2, 15, 16, 17, 100, 1000, stream.length]) {
      const seen: Buffer[] = [];
      const framer = new PduFramer((p) => seen.push(Buffer.from(p)));
      for (let at = 0; at < stream.length; at += size) framer.push(stream.subarray(at, at + size));
      assert.deepEqual(seen, pdus, `chunks of ${size}`);
      assert.equal(framer.buffered, 0);
    }
  });

  it('passes a PDU that sits inside one chunk as a view, without copying', () => {
    const seen: Buffer[] = [];
    new PduFramer((p) => seen.push(p)).push(stream);
    assert.equal(seen.length, 3);
    for (const p of seen) assert.equal(p.buffer, stream.buffer);
  });

  it('refuses a frag_length shorter than the header, a foreign version, a PDU whose length disagrees', () => {
    const short = Buffer.from(pdus[0]!);
    short.writeUInt16LE(8, 8);
    assert.throws(() => new PduFramer(() => undefined).push(short), isProtocolError);
    assert.throws(() => new PduFramer(() => undefined).push(Buffer.from('HTTP/1.1 400 Bad Request\r\n\r\n')), isProtocolError);
    assert.throws(() => readHeader(pdus[0]!.subarray(0, 50)), isProtocolError);
    const big = Buffer.from(pdus[1]!);
    assert.throws(() => new PduFramer(() => undefined, 1024).push(big), (err: unknown) => isProtocolError(err) && /over the 1024-byte limit/.test((err as Error).message));
  });

  it('buffers no more than the fragment it waits for', () => {
    const framer = new PduFramer(() => undefined);
    framer.push(pdus[1]!.subarray(0, 2000));
    assert.equal(framer.buffered, 2000);
  });
});

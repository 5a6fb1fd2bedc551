import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import { NdrReader } from '../../src/ad/ndr/ndr-reader.ts';
import { NdrWriter } from '../../src/ad/ndr/ndr-writer.ts';
import { NtlmClient } from '../../src/ad/ntlm/ntlm-client.ts';
import { mapEndpoint } from '../../src/ad/rpc/endpoint-mapper.ts';
import { ntlmRpcAuth } from '../../src/ad/rpc/rpc-auth.ts';
import type { RpcAuth } from '../../src/ad/rpc/rpc-auth.ts';
import { RpcConnection } from '../../src/ad/rpc/rpc-connection.ts';
import type { RpcConnectOptions } from '../../src/ad/rpc/rpc-connection.ts';
import { PduFramer, PTYPE, readHeader } from '../../src/ad/rpc/rpc-pdu.ts';
import { RpcFaultError } from '../../src/ad/rpc/rpc-status.ts';
import { DRSUAPI_SYNTAX } from '../../src/ad/rpc/rpc-syntax.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { sambaUnavailableReason, startSambaDc } from '../support/samba-dc.ts';
import type { SambaDc } from '../support/samba-dc.ts';

/*
 * RpcConnection against a scripted DCE/RPC server on loopback. The server side is written here from
 * C706/MS-RPCE, not with the encoders under test (only the framer cuts its input), so a layout
 * mistake shows on one side or the other.
 */

const AUTH_TYPE = 10;
const AUTH_LEVEL = 6;

/** XOR "encryption" and a SHA-256 "signature" over the bytes the real provider signs: symmetric, so both ends can use it. */
function xorSeal(data: Buffer, signed: Buffer): Buffer {
  const signature = createHash('sha256').update(signed).digest().subarray(0, 16);
  for (let i = 0; i < data.length; i++) data[i]! ^= 0x5a;
  return signature;
}
function xorUnseal(data: Buffer, signed: Buffer, signature: Buffer): void {
  for (let i = 0; i < data.length; i++) data[i]! ^= 0x5a;
  if (!createHash('sha256').update(signed).digest().subarray(0, 16).equals(signature)) throw new Error('bad signature');
}

function fakeAuth(): RpcAuth & { serverTokens: Buffer[] } {
  const serverTokens: Buffer[] = [];
  return {
    authType: AUTH_TYPE,
    authLevel: AUTH_LEVEL,
    signatureBytes: 16,
    serverTokens,
    initialToken: () => Buffer.from('NEGOTIATE'),
    respond: (token) => {
      serverTokens.push(Buffer.from(token));
      return Buffer.from('AUTHENTICATE');
    },
    seal: xorSeal,
    unseal: xorUnseal,
  };
}

function header(ptype: number, flags: number, fragLength: number, authLength: number, callId: number): Buffer {
  const h = Buffer.alloc(16);
  h.set([5, 0, ptype, flags, 0x10, 0, 0, 0]);
  h.writeUInt16LE(fragLength, 8);
  h.writeUInt16LE(authLength, 10);
  h.writeUInt32LE(callId, 12);
  return h;
}

const NDR20 = Buffer.from('045d888aeb1cc9119fe808002b10486002000000', 'hex');

function bindAck(o: { callId: number; result?: number; reason?: number; maxXmit?: number; maxRecv?: number; authContextId?: number; token?: Buffer }): Buffer {
  const body = Buffer.alloc(8 + 2 + 6 + 4 + 24);
  body.writeUInt16LE(o.maxXmit ?? 5840, 0);
  body.writeUInt16LE(o.maxRecv ?? 5840, 2);
  body.writeUInt32LE(0x5151, 4);
  body.writeUInt16LE(6, 8);
  body.write('49999\0', 10, 'latin1');
  body.writeUInt8(1, 16);
  body.writeUInt16LE(o.result ?? 0, 20);
  body.writeUInt16LE(o.reason ?? 0, 22);
  NDR20.copy(body, 24);
  const auth = o.token === undefined ? Buffer.alloc(0) : Buffer.concat([Buffer.from([AUTH_TYPE, AUTH_LEVEL, 0, 0]), u32(o.authContextId ?? 1), o.token]);
  const length = 16 + body.length + auth.length;
  return Buffer.concat([header(PTYPE.BIND_ACK, 3, length, o.token?.length ?? 0, o.callId), body, auth]);
}

function bindNak(callId: number, reason: number): Buffer {
  return Buffer.concat([header(PTYPE.BIND_NAK, 3, 20, 0, callId), Buffer.from([reason, 0, 1, 5])]);
}

function fault(callId: number, status: number): Buffer {
  return Buffer.concat([header(PTYPE.FAULT, 3, 32, 0, callId), Buffer.alloc(8), u32(status), Buffer.alloc(4)]);
}

/** A response cut into fragments of `per` stub bytes, each sealed when `sealed` (pad to 16, trailer, signature). */
function response(callId: number, stub: Buffer, per = 4000, sealed = false, authContextId = 1): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at === 0 || at < stub.length; at += per) {
    const chunk = stub.subarray(at, at + per);
    const flags = (at === 0 ? 1 : 0) | (at + per >= stub.length ? 2 : 0);
    const pad = sealed ? (16 - (chunk.length % 16)) % 16 : 0;
    const length = 24 + chunk.length + pad + (sealed ? 24 : 0);
    const pdu = Buffer.concat([header(PTYPE.RESPONSE, flags, length, sealed ? 16 : 0, callId), u32(stub.length - at), Buffer.alloc(4), chunk, Buffer.alloc(length - 24 - chunk.length)]);
    if (sealed) {
      const t = 24 + chunk.length + pad;
      pdu.set([AUTH_TYPE, AUTH_LEVEL, pad, 0], t);
      pdu.writeUInt32LE(authContextId, t + 4);
      xorSeal(pdu.subarray(24, t), pdu.subarray(0, t + 8)).copy(pdu, t + 8);
    }
    out.push(pdu);
  }
  return out;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b;
}

interface Call {
  readonly callId: number;
  readonly opnum: number;
  readonly stub: Buffer;
  readonly flags: number[];
  readonly fragLengths: number[];
}

interface Script {
  /** Default: accept, with the auth token 'CHALLENGE' when the bind has one. */
  bind?(pdu: Buffer, socket: net.Socket): void;
  auth3?(pdu: Buffer, socket: net.Socket): void;
  /** Default: echo the stub back in one fragment. */
  call?(call: Call, socket: net.Socket, sealed: boolean): void;
}

/** A DCE/RPC server that plays `script`; it reassembles (and for sealed binds unseals) requests itself. */
async function scriptedServer(script: Script): Promise<{ port: number; calls: Call[]; auth3: Buffer[]; closed: Promise<void>; close(): Promise<void> }> {
  const calls: Call[] = [];
  const auth3: Buffer[] = [];
  const sockets = new Set<net.Socket>();
  let closedResolve: () => void = () => undefined;
  const closed = new Promise<void>((resolve) => {
    closedResolve = resolve;
  });
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      closedResolve();
    });
    socket.on('error', () => undefined);
    let sealed = false;
    let pending: { callId: number; opnum: number; parts: Buffer[]; flags: number[]; fragLengths: number[] } | undefined;
    const framer = new PduFramer((pdu) => {
      const h = readHeader(pdu);
      if (h.ptype === PTYPE.BIND) {
        sealed = h.authLength > 0;
        if (script.bind !== undefined) script.bind(pdu, socket);
        else socket.write(bindAck({ callId: h.callId, ...(sealed ? { token: Buffer.from('CHALLENGE') } : {}) }));
      } else if (h.ptype === PTYPE.AUTH3) {
        auth3.push(Buffer.from(pdu));
        script.auth3?.(pdu, socket);
      } else if (h.ptype === PTYPE.REQUEST) {
        let stub = pdu.subarray(24);
        if (sealed) {
          const t = h.fragLength - h.authLength - 8;
          assert.deepEqual([pdu[t], pdu[t + 1], pdu.readUInt32LE(t + 4)], [AUTH_TYPE, AUTH_LEVEL, 1]);
          const data = pdu.subarray(24, t);
          xorUnseal(data, pdu.subarray(0, t + 8), pdu.subarray(t + 8));
          stub = data.subarray(0, data.length - pdu[t + 2]!);
        }
        pending ??= { callId: h.callId, opnum: pdu.readUInt16LE(22), parts: [], flags: [], fragLengths: [] };
        pending.parts.push(Buffer.from(stub));
        pending.flags.push(h.pfcFlags);
        pending.fragLengths.push(h.fragLength);
        if ((h.pfcFlags & 2) !== 0) {
          const call = { callId: pending.callId, opnum: pending.opnum, stub: Buffer.concat(pending.parts), flags: pending.flags, fragLengths: pending.fragLengths };
          pending = undefined;
          calls.push(call);
          if (script.call !== undefined) script.call(call, socket, sealed);
          else for (const r of response(call.callId, call.stub, 4000, sealed)) socket.write(r);
        }
      }
    });
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address() as net.AddressInfo;
  servers.push(server);
  return {
    port: address.port,
    calls,
    auth3,
    closed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const servers: net.Server[] = [];
after(() => {
  for (const s of servers) s.close();
});

function options(port: number, extra: Partial<RpcConnectOptions> = {}): RpcConnectOptions {
  return { host: '127.0.0.1', port, interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version, connectTimeoutMs: 5000, callTimeoutMs: 5000, ...extra };
}

function hasCode(code: string, message?: RegExp): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof FatalError, `a FatalError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

const big = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));

describe('RpcConnection against a scripted server', () => {
  it('binds, fragments a 20 KB request with the negotiated size and reassembles a many-fragment reply', async () => {
    const server = await scriptedServer({
      bind: (pdu, socket) => socket.write(bindAck({ callId: readHeader(pdu).callId, maxXmit: 4280, maxRecv: 4280 })),
      call: (call, socket) => {
        // One write holding every fragment, then the same in 777-byte slices: the framer must cope with both.
        const frags = Buffer.concat(response(call.callId, Buffer.concat([call.stub, call.stub, call.stub, call.stub, call.stub]), 4000));
        if (call.opnum === 1) socket.write(frags);
        else for (let at = 0; at < frags.length; at += 777) socket.write(frags.subarray(at, at + 777));
      },
    });
    const conn = await RpcConnection.connect(options(server.port));
    assert.equal(conn.maxXmitFrag, 4280);
    assert.equal(conn.maxRecvFrag, 4280);
    const stub = big(20_000);
    for (const opnum of [1, 2]) {
      const reply = await conn.request(opnum, stub);
      assert.deepEqual(reply, Buffer.concat([stub, stub, stub, stub, stub]));
    }
    const [first, second] = server.calls;
    assert.equal(first?.opnum, 1);
    assert.equal(second?.callId, (first?.callId ?? 0) + 1, 'call ids increase');
    assert.deepEqual(first?.flags, [1, 0, 0, 0, 2]);
    assert.ok(first?.fragLengths.every((n) => n <= 4280));
    conn.close();
    await server.close();
  });

  it('binds with the auth token, answers the challenge in auth3, and seals and unseals every fragment', async () => {
    const server = await scriptedServer({
      call: (call, socket) => {
        for (const r of response(call.callId, Buffer.concat(Array.from({ length: 10 }, () => call.stub)), 5000, true)) socket.write(r);
      },
    });
    const auth = fakeAuth();
    const conn = await RpcConnection.connect(options(server.port, { auth }));
    const stub = big(20_001);
    const reply = await conn.request(7, stub);
    assert.deepEqual(reply, Buffer.concat(Array.from({ length: 10 }, () => stub)));
    assert.deepEqual(auth.serverTokens, [Buffer.from('CHALLENGE')]);
    const [auth3] = server.auth3;
    assert.ok(auth3 !== undefined);
    assert.equal(auth3.subarray(28).toString(), 'AUTHENTICATE');
    assert.deepEqual([...auth3.subarray(20, 28)], [AUTH_TYPE, AUTH_LEVEL, 0, 0, 1, 0, 0, 0]);
    assert.equal(server.calls[0]?.flags.length, 4);
    conn.close();
    await server.close();
  });

  it('turns a fault into RPC_FAULT naming the status, and goes on serving calls', async () => {
    const server = await scriptedServer({
      call: (call, socket) => {
        if (call.opnum === 200) socket.write(fault(call.callId, 0x1c010002));
        else for (const r of response(call.callId, call.stub)) socket.write(r);
      },
    });
    const conn = await RpcConnection.connect(options(server.port));
    await assert.rejects(conn.request(200, Buffer.alloc(8)), (err: unknown) => {
      hasCode('RPC_FAULT', /status 0x1c010002 \(nca_s_op_rng_error\)/)(err);
      assert.ok(err instanceof RpcFaultError);
      assert.equal(err.status, 0x1c010002);
      return true;
    });
    assert.deepEqual(await conn.request(1, Buffer.from('still here')), Buffer.from('still here'));
    conn.close();
    await server.close();
  });

  it('rejects a bind_nak and a refused presentation context as RPC_BIND_REJECTED with the reason', async () => {
    const nak = await scriptedServer({ bind: (pdu, socket) => socket.write(bindNak(readHeader(pdu).callId, 4)) });
    await assert.rejects(RpcConnection.connect(options(nak.port)), hasCode('RPC_BIND_REJECTED', /protocol version not supported/));
    const refused = await scriptedServer({ bind: (pdu, socket) => socket.write(bindAck({ callId: readHeader(pdu).callId, result: 2, reason: 1 })) });
    await assert.rejects(RpcConnection.connect(options(refused.port)), hasCode('RPC_BIND_REJECTED', /provider rejection: abstract syntax not supported/));
    await nak.close();
    await refused.close();
  });

  it('reports a refused authentication as RPC_AUTH_FAILED: a fault after auth3, or a fault on the first call', async () => {
    // Windows: an unsolicited fault (access denied) for the auth3.
    const windows = await scriptedServer({ auth3: (pdu, socket) => socket.write(fault(readHeader(pdu).callId, 5)) });
    const a = await RpcConnection.connect(options(windows.port, { auth: fakeAuth() }));
    await assert.rejects(a.request(0, Buffer.alloc(4)), hasCode('RPC_AUTH_FAILED', /0x00000005 \(access_denied\)/));
    a.close();
    // Samba: no answer to the auth3, then nca_s_proto_error for the first call, and a disconnect.
    const samba = await scriptedServer({
      call: (call, socket) => {
        socket.end(fault(call.callId, 0x1c01000b));
      },
    });
    const b = await RpcConnection.connect(options(samba.port, { auth: fakeAuth() }));
    await assert.rejects(b.request(0, Buffer.alloc(4)), hasCode('RPC_AUTH_FAILED', /nca_s_proto_error/));
    await assert.rejects(b.request(0, Buffer.alloc(4)), hasCode('RPC_CONNECTION_LOST'));
    b.close();
    // Access denied on a later call is the call's answer, not an authentication failure.
    let n = 0;
    const later = await scriptedServer({
      call: (call, socket) => {
        if (n++ === 0) for (const r of response(call.callId, call.stub, 4000, true)) socket.write(r);
        else socket.write(fault(call.callId, 5));
      },
    });
    const c = await RpcConnection.connect(options(later.port, { auth: fakeAuth() }));
    await c.request(0, Buffer.alloc(4));
    await assert.rejects(c.request(0, Buffer.alloc(4)), (err: unknown) => hasCode('RPC_FAULT')(err) && (err as RpcFaultError).status === 5);
    c.close();
    await Promise.all([windows.close(), samba.close(), later.close()]);
  });

  it('fails with RPC_PROTOCOL_ERROR on a malformed frag_length, a foreign call id, a wrong auth context, an oversized reply', async () => {
    const badLength = await scriptedServer({ bind: (_pdu, socket) => socket.write(header(PTYPE.BIND_ACK, 3, 8, 0, 1)) });
    await assert.rejects(RpcConnection.connect(options(badLength.port)), hasCode('RPC_PROTOCOL_ERROR', /frag_length 8/));

    const foreign = await scriptedServer({ call: (call, socket) => socket.write(response(call.callId + 5, call.stub)[0]!) });
    const a = await RpcConnection.connect(options(foreign.port));
    await assert.rejects(a.request(0, Buffer.alloc(4)), hasCode('RPC_PROTOCOL_ERROR', /response for call/));
    await assert.rejects(a.request(0, Buffer.alloc(4)), hasCode('RPC_PROTOCOL_ERROR'), 'the failure sticks');

    const otherContext = await scriptedServer({ call: (call, socket) => socket.write(response(call.callId, call.stub, 4000, true, 99)[0]!) });
    const b = await RpcConnection.connect(options(otherContext.port, { auth: fakeAuth() }));
    await assert.rejects(b.request(0, Buffer.alloc(4)), hasCode('RPC_PROTOCOL_ERROR', /auth context 99/));

    const flood = await scriptedServer({ call: (call, socket) => socket.write(Buffer.concat(response(call.callId, big(30_000), 4000))) });
    const c = await RpcConnection.connect(options(flood.port, { maxResponseBytes: 10_000 }));
    await assert.rejects(c.request(0, Buffer.alloc(4)), hasCode('RPC_PROTOCOL_ERROR', /over the 10000-byte limit/));
    await Promise.all([badLength.close(), foreign.close(), otherContext.close(), flood.close()]);
  });

  it('times out a silent server: RPC_TIMEOUT for the bind within connectTimeoutMs, for a call within callTimeoutMs', async () => {
    const mute = await scriptedServer({ bind: () => undefined });
    const started = Date.now();
    await assert.rejects(RpcConnection.connect(options(mute.port, { connectTimeoutMs: 150 })), hasCode('RPC_TIMEOUT', /during the bind/));
    assert.ok(Date.now() - started < 2000);
    const slow = await scriptedServer({ call: () => undefined });
    const conn = await RpcConnection.connect(options(slow.port, { callTimeoutMs: 150 }));
    await assert.rejects(conn.request(3, Buffer.alloc(4)), hasCode('RPC_TIMEOUT', /opnum 3/));
    await Promise.all([mute.close(), slow.close()]);
  });

  it('closes the socket when the signal aborts, rejecting the call with the reason', async () => {
    const slow = await scriptedServer({ call: () => undefined });
    const controller = new AbortController();
    const conn = await RpcConnection.connect(options(slow.port, { signal: controller.signal }));
    const pending = conn.request(0, Buffer.alloc(4));
    setTimeout(() => controller.abort(new Error('stop now')), 30);
    await assert.rejects(pending, /stop now/);
    await slow.closed;
    await slow.close();
  });
});

describe('RpcConnection network failures', () => {
  it('a server that accepts and closes at once: RPC_CONNECTION_LOST', async () => {
    const server = net.createServer((socket) => socket.destroy());
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await assert.rejects(RpcConnection.connect(options(port)), hasCode('RPC_CONNECTION_LOST', new RegExp(`127\\.0\\.0\\.1:${port}.*during the bind`)));
    server.close();
  });

  it('a refused port: RPC_CONNECT_FAILED naming host:port and the errno', async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await assert.rejects(RpcConnection.connect(options(port)), hasCode('RPC_CONNECT_FAILED', new RegExp(`127\\.0\\.0\\.1:${port}: ECONNREFUSED`)));
  });
});

/**
 * IDL_DRSBind's request (MS-DRSR 4.1.3), written out here so that a real call proves the response
 * path (unsealing, reassembly) end to end without the DRS code: puuidClientDsa (unique, a GUID),
 * pextClient (unique, DRS_EXTENSIONS: a conformant structure, cb then rgb[cb]).
 */
function drsBindStub(extensionBytes = 28): Buffer {
  const w = new NdrWriter();
  w.pointer(true);
  w.guid(Buffer.from('e24d201a4fd6d111a3da0000f875ae0d', 'hex')); // NTDSAPI_CLIENT_GUID
  w.pointer(true);
  // DRS_EXTENSIONS_INT after cb: dwFlags, SiteObjGuid, Pid, dwReplEpoch (then zeros, up to cb's limit of 10000).
  const ext = Buffer.alloc(extensionBytes);
  ext.writeUInt32LE(0x04000000 | 0x01000000 | 0x00008000 | 0x1, 0); // GETCHGREPLY_V6, GETCHGREQ_V8, STRONG_ENCRYPTION, BASE
  w.u32(ext.length).u32(ext.length).bytes(ext);
  return w.finish();
}

/** The DRS context handle and status at the end of DRSBind's reply. */
function drsBindResult(reply: Buffer): { handle: Buffer; status: number } {
  const r = new NdrReader(reply, reply.length - 24);
  const handle = r.bytes(20);
  return { handle, status: r.u32() };
}

/**
 * IDL_DRSCrackNames (opnum 12) request, version 1 (MS-DRSR 4.1.4): `names` as NT4 account names to
 * FQDN-1779 DNs. Many names make a reply of many fragments.
 */
function crackNamesStub(handle: Buffer, names: readonly string[]): Buffer {
  const w = new NdrWriter();
  w.bytes(handle);
  w.u32(1); // dwInVersion
  w.u32(1); // the union's discriminant
  w.u32(0).u32(0).u32(0); // CodePage, LocaleId, dwFlags
  w.u32(2).u32(1); // DS_NT4_ACCOUNT_NAME -> DS_FQDN_1779_NAME
  w.u32(names.length);
  w.pointer(true); // rpNames
  w.u32(names.length);
  for (let i = 0; i < names.length; i++) w.pointer(true);
  for (const n of names) w.wideString(n);
  return w.finish();
}

// Skipped only without root (Samba must bind ports 88, 135, 389…); missing packages fail, so a CI without Samba cannot pass by testing nothing.
describe('RpcConnection against a real Samba DC', { skip: process.getuid?.() === 0 ? false : sambaUnavailableReason() ?? false }, () => {
  let dc: SambaDc | undefined;
  before(async () => {
    dc = await startSambaDc({ users: 1 });
  }, { timeout: 35 * 60_000 });
  after(async () => {
    await dc?.stop();
  });
  const timeouts = { connectTimeoutMs: 10_000, callTimeoutMs: 30_000 };
  const drsuapi = { interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version };

  async function sealedConnection(port: number, user: string, password: string): Promise<RpcConnection> {
    const auth = ntlmRpcAuth(new NtlmClient({ user, domain: 'TEST', ntHash: await ntHash(password) }));
    return RpcConnection.connect({ host: dc!.host, port, ...drsuapi, auth, ...timeouts });
  }

  it('maps DRSUAPI through the endpoint mapper on 135 to a TCP port that accepts a connection', async () => {
    const port = await mapEndpoint({ host: dc!.host, ...drsuapi, ...timeouts });
    assert.ok(port >= 1024, `port ${port}`);
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(port, dc!.host, () => {
        socket.destroy();
        resolve();
      });
      socket.on('error', reject);
    });
  });

  it('binds to DRSUAPI with NTLM at packet privacy: a sealed DRSBind round trip, and an invalid opnum faults with nca_s_op_rng_error', async () => {
    const port = await mapEndpoint({ host: dc!.host, ...drsuapi, ...timeouts });
    const conn = await sealedConnection(port, dc!.syncUser, dc!.syncPassword);
    try {
      assert.ok(conn.maxXmitFrag >= 1432 && conn.maxRecvFrag >= 1432);
      // A real call: the DC had to unseal our request, and we its reply.
      const { handle, status } = drsBindResult(await conn.request(0, drsBindStub()));
      assert.equal(status, 0, 'DRSBind returned ERROR_SUCCESS');
      assert.ok(handle.subarray(4).some((b) => b !== 0), 'a DRS context handle');
      // A request of two sealed fragments (DRS_EXTENSIONS may be up to 10000 bytes).
      const second = drsBindResult(await conn.request(0, drsBindStub(10_000)));
      assert.equal(second.status, 0);
      // A reply of many sealed fragments: 400 names cracked.
      const names = Array.from({ length: 400 }, () => `TEST\\${dc!.syncUser}`);
      const cracked = await conn.request(12, crackNamesStub(handle, names));
      assert.ok(cracked.length > 4 * conn.maxRecvFrag, `a ${cracked.length}-byte reply`);
      assert.equal(cracked.readUInt32LE(cracked.length - 4), 0, 'DRSCrackNames returned ERROR_SUCCESS');
      const dn = Buffer.from(dc!.syncDn, 'utf16le');
      let found = 0;
      for (let at = cracked.indexOf(dn); at >= 0; at = cracked.indexOf(dn, at + 1)) found++;
      assert.equal(found, names.length, 'every name cracked to the account DN');
      // IDL_DRSUnbind: a later sealed call in the same RC4 streams.
      const unbind = await conn.request(1, handle);
      assert.equal(unbind.readUInt32LE(unbind.length - 4), 0);
      await assert.rejects(conn.request(200, Buffer.alloc(16)), (err: unknown) => {
        assert.ok(err instanceof RpcFaultError, String(err));
        assert.equal(err.code, 'RPC_FAULT');
        assert.equal(err.status, 0x1c010002);
        assert.match(err.message, /nca_s_op_rng_error/);
        return true;
      });
    } finally {
      conn.close();
    }
  });

  it('a wrong password: RPC_AUTH_FAILED, at the bind or at the first call', async (t) => {
    const port = await mapEndpoint({ host: dc!.host, ...drsuapi, ...timeouts });
    await assert.rejects(
      async () => {
        const conn = await sealedConnection(port, dc!.syncUser, `${dc!.syncPassword}-wrong`);
        try {
          await conn.request(0, drsBindStub());
        } finally {
          conn.close();
        }
      },
      (err: unknown) => {
        t.diagnostic(`the DC said: ${(err as Error).message}`);
        return hasCode('RPC_AUTH_FAILED', /refused the authentication/)(err);
      },
    );
  });
});

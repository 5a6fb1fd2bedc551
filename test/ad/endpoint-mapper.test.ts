import assert from 'node:assert/strict';
import net from 'node:net';
import { after, describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import { decodeEptMapReply, decodeTower, encodeEptMap, encodeTcpTower, mapEndpoint, tcpPortOfTower } from '../../src/ad/rpc/endpoint-mapper.ts';
import { PduFramer, PTYPE, readHeader } from '../../src/ad/rpc/rpc-pdu.ts';
import { DRSUAPI_SYNTAX, EPM_SYNTAX, uuidToWire } from '../../src/ad/rpc/rpc-syntax.ts';

/*
 * Expected bytes come from impacket 0.10 (impacket/dcerpc/v5/epm.py): hept_map's EPMTower of
 * EPMRPCInterface + EPMRPCDataRepresentation + EPMProtocolIdentifier(0x0b) + EPMPortAddr + EPMHostAddr,
 * and its ept_map request with ReferentIDs 1 and 2, dumped with getData().
 */
const IMPACKET_DRSUAPI_TOWER =
  '0500' +
  '1300' + '0d' + '354251e3064bd111ab0400c04fc2dcd2' + '0400' + '0200' + '0000' +
  '1300' + '0d' + '045d888aeb1cc9119fe808002b104860' + '0200' + '0200' + '0000' +
  '0100' + '0b' + '0200' + '0000' +
  '0100' + '07' + '0200' + '0000' +
  '0100' + '09' + '0400' + '00000000';
/** ept_map(obj=nil UUID, map_tower, null entry_handle, max_towers=1); impacket fills the alignment byte with 0xab, we with 0. */
const IMPACKET_EPT_MAP_STUB =
  '01000000' + '00000000000000000000000000000000' + '02000000' + '4b000000' + '4b000000' + IMPACKET_DRSUAPI_TOWER + '00' + '00'.repeat(20) + '01000000';
/** impacket's tower with EPMPortAddr(IpPort=49152) and EPMHostAddr(127.0.0.1): the port is big-endian. */
const TOWER_49152 =
  '0500' +
  '1300' + '0d' + '354251e3064bd111ab0400c04fc2dcd2' + '0400' + '0200' + '0000' +
  '1300' + '0d' + '045d888aeb1cc9119fe808002b104860' + '0200' + '0200' + '0000' +
  '0100' + '0b' + '0200' + '0000' +
  '0100' + '07' + '0200' + 'c000' +
  '0100' + '09' + '0400' + '7f000001';

function u32(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return b.toString('hex');
}

/** An ept_map reply stub written out by hand from C706 appendix O's ept_map out parameters. */
function eptMapReply(towers: Buffer[], status = 0): Buffer {
  let hex = u32(0) + '00'.repeat(16); // entry_handle
  hex += u32(towers.length) + u32(towers.length) + u32(0) + u32(towers.length); // num_towers, max, offset, actual
  towers.forEach((_, i) => {
    hex += u32(0x20000 + 4 * i);
  });
  for (const t of towers) {
    hex += u32(t.length) + u32(t.length) + t.toString('hex') + '00'.repeat((4 - (t.length % 4)) % 4);
  }
  return Buffer.from(hex + u32(status), 'hex');
}

describe('endpoint mapper towers', () => {
  it('builds the ncacn_ip_tcp tower for DRSUAPI byte for byte as impacket does', () => {
    assert.equal(encodeTcpTower(DRSUAPI_SYNTAX.uuid, DRSUAPI_SYNTAX.version).toString('hex'), IMPACKET_DRSUAPI_TOWER);
  });

  it('builds the ept_map request stub as impacket does', () => {
    const stub = encodeEptMap(encodeTcpTower(DRSUAPI_SYNTAX.uuid, DRSUAPI_SYNTAX.version), 1);
    assert.equal(stub.toString('hex'), IMPACKET_EPT_MAP_STUB);
  });

  it('reads the TCP port (big-endian) from a returned tower, and only from a tower for our interface', () => {
    const floors = decodeTower(Buffer.from(TOWER_49152, 'hex'));
    assert.equal(floors.length, 5);
    assert.equal(floors[4]?.rhs.toString('hex'), '7f000001');
    assert.equal(tcpPortOfTower(floors, DRSUAPI_SYNTAX.uuid, DRSUAPI_SYNTAX.version), 49152);
    assert.equal(tcpPortOfTower(floors, EPM_SYNTAX.uuid, EPM_SYNTAX.version), undefined);
    assert.equal(tcpPortOfTower(decodeTower(Buffer.from(IMPACKET_DRSUAPI_TOWER, 'hex')), DRSUAPI_SYNTAX.uuid, DRSUAPI_SYNTAX.version), undefined, 'port 0 is no answer');
  });

  it('decodes an ept_map reply, and refuses a truncated tower or reply', () => {
    const tower = Buffer.from(TOWER_49152, 'hex');
    const reply = decodeEptMapReply(eptMapReply([tower, tower]));
    assert.equal(reply.status, 0);
    assert.deepEqual(reply.towers, [tower, tower]);
    assert.deepEqual(decodeEptMapReply(eptMapReply([], 0x16c9a0d6)), { status: 0x16c9a0d6, towers: [] });
    const isProtocolError = (err: unknown): boolean => err instanceof FatalError && err.code === 'RPC_PROTOCOL_ERROR';
    assert.throws(() => decodeTower(tower.subarray(0, 40)), isProtocolError);
    assert.throws(() => decodeEptMapReply(eptMapReply([tower]).subarray(0, 60)), isProtocolError);
  });
});

/** A minimal endpoint mapper on loopback: accepts the bind, answers ept_map with `reply`. */
async function fakeMapper(reply: Buffer): Promise<{ port: number; requests: Buffer[]; server: net.Server }> {
  const requests: Buffer[] = [];
  const server = net.createServer((socket) => {
    socket.on('error', () => undefined);
    const framer = new PduFramer((pdu) => {
      const h = readHeader(pdu);
      const head = (ptype: number, length: number): Buffer => {
        const b = Buffer.alloc(16);
        b.set([5, 0, ptype, 3, 0x10, 0, 0, 0]);
        b.writeUInt16LE(length, 8);
        b.writeUInt32LE(h.callId, 12);
        return b;
      };
      if (h.ptype === PTYPE.BIND) {
        assert.deepEqual(pdu.subarray(32, 48), uuidToWire(EPM_SYNTAX.uuid), 'the bind names the endpoint mapper');
        const body = Buffer.from('d016d016' + '00000000' + '0400' + Buffer.from('135\0').toString('hex') + '0000' + '01000000' + '0000' + '0000' + '045d888aeb1cc9119fe808002b10486002000000', 'hex');
        socket.write(Buffer.concat([head(PTYPE.BIND_ACK, 16 + body.length), body]));
      } else if (h.ptype === PTYPE.REQUEST) {
        assert.equal(pdu.readUInt16LE(22), 3, 'opnum 3: ept_map');
        requests.push(Buffer.from(pdu.subarray(24)));
        const fixed = Buffer.alloc(8);
        fixed.writeUInt32LE(reply.length, 0);
        socket.write(Buffer.concat([head(PTYPE.RESPONSE, 24 + reply.length), fixed, reply]));
      }
    });
    socket.on('data', (c: Buffer) => framer.push(c));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { port: (server.address() as net.AddressInfo).port, requests, server };
}

describe('mapEndpoint against a scripted mapper', () => {
  const servers: net.Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });
  const timeouts = { connectTimeoutMs: 5000, callTimeoutMs: 5000 };

  it('binds to the mapper, sends ept_map for the interface, returns the port of the tower', async () => {
    const mapper = await fakeMapper(eptMapReply([Buffer.from(TOWER_49152, 'hex')]));
    servers.push(mapper.server);
    const port = await mapEndpoint({ host: '127.0.0.1', port: mapper.port, interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version, ...timeouts });
    assert.equal(port, 49152);
    assert.equal(mapper.requests.length, 1);
    assert.ok(mapper.requests[0]?.includes(Buffer.from(IMPACKET_DRSUAPI_TOWER, 'hex')));
  });

  it('no entry: RPC_ENDPOINT_NOT_FOUND, whether by status or by an empty tower list', async () => {
    for (const reply of [eptMapReply([], 0x16c9a0d6), eptMapReply([])]) {
      const mapper = await fakeMapper(reply);
      servers.push(mapper.server);
      await assert.rejects(
        mapEndpoint({ host: '127.0.0.1', port: mapper.port, interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version, ...timeouts }),
        (err: unknown) => err instanceof FatalError && err.code === 'RPC_ENDPOINT_NOT_FOUND' && err.message.includes(DRSUAPI_SYNTAX.uuid),
      );
    }
  });
});

import { FatalError } from '../../errors.ts';
import { NdrError } from '../ndr/ndr-error.ts';
import { NdrReader } from '../ndr/ndr-reader.ts';
import { NdrWriter } from '../ndr/ndr-writer.ts';
import { RpcConnection } from './rpc-connection.ts';
import { protocolError } from './rpc-pdu.ts';
import { describeRpcStatus } from './rpc-status.ts';
import { EPM_SYNTAX, NDR_TRANSFER_SYNTAX, syntaxToWire } from './rpc-syntax.ts';

/**
 * The endpoint mapper (C706 appendix O "ept" and appendix L towers; MS-RPCE 2.2.4.2 for TCP): asks
 * port 135 on which TCP port an interface listens. DRSUAPI has no fixed port, so this comes first.
 */

export interface MapEndpointOptions {
  readonly host: string;
  /** The endpoint mapper's port; 135 unless told. */
  readonly port?: number | undefined;
  readonly interfaceId: string;
  readonly interfaceVersion: readonly [major: number, minor: number];
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly signal?: AbortSignal | undefined;
}

export const EPM_PORT = 135;
const EPT_MAP = 3;
/** How many towers we let the server return; one suffices, a few allow for a DC listing several addresses. */
const MAX_TOWERS = 4;
/** A tower is a few dozen bytes; Samba's IDL caps tower_length at 2000. */
const MAX_TOWER_BYTES = 2000;

/** Floor protocol identifiers (C706 appendix I). */
const FLOOR_UUID = 0x0d;
const FLOOR_RPC_CONNECTION_ORIENTED = 0x0b;
const FLOOR_TCP_PORT = 0x07;
const FLOOR_IP_ADDRESS = 0x09;

export interface TowerFloor {
  /** Protocol identifier data: the identifier byte, and for UUID floors the UUID and major version. */
  readonly lhs: Buffer;
  /** Related or address data: a minor version, a port (big-endian), an IPv4 address. */
  readonly rhs: Buffer;
}

function uuidFloor(uuid: string, version: readonly [number, number]): TowerFloor {
  const id = syntaxToWire(uuid, version);
  // LHS: 0x0d, the UUID, the major version; RHS: the minor version (both little-endian).
  return { lhs: Buffer.concat([Buffer.of(FLOOR_UUID), id.subarray(0, 18)]), rhs: id.subarray(18, 20) };
}

/** A floor count, then per floor: LHS length, LHS, RHS length, RHS, lengths little-endian (C706 appendix L). */
export function encodeTower(floors: readonly TowerFloor[]): Buffer {
  const parts: Buffer[] = [u16(floors.length)];
  for (const f of floors) parts.push(u16(f.lhs.length), f.lhs, u16(f.rhs.length), f.rhs);
  return Buffer.concat(parts);
}

/** The ncacn_ip_tcp tower ept_map is asked with: interface, NDR, connection-oriented RPC, TCP port 0, IP 0.0.0.0. */
export function encodeTcpTower(interfaceId: string, interfaceVersion: readonly [number, number]): Buffer {
  return encodeTower([
    uuidFloor(interfaceId, interfaceVersion),
    uuidFloor(NDR_TRANSFER_SYNTAX.uuid, NDR_TRANSFER_SYNTAX.version),
    { lhs: Buffer.of(FLOOR_RPC_CONNECTION_ORIENTED), rhs: u16(0) },
    { lhs: Buffer.of(FLOOR_TCP_PORT), rhs: Buffer.alloc(2) },
    { lhs: Buffer.of(FLOOR_IP_ADDRESS), rhs: Buffer.alloc(4) },
  ]);
}

export function decodeTower(tower: Buffer): TowerFloor[] {
  let at = 0;
  const take = (n: number, what: string): Buffer => {
    if (at + n > tower.length) throw protocolError(`the endpoint mapper's ${tower.length}-byte tower ends inside ${what}`);
    const out = tower.subarray(at, at + n);
    at += n;
    return out;
  };
  const count = take(2, 'the floor count').readUInt16LE(0);
  const floors: TowerFloor[] = [];
  for (let i = 0; i < count; i++) {
    const lhs = take(take(2, `floor ${i + 1}`).readUInt16LE(0), `floor ${i + 1}`);
    const rhs = take(take(2, `floor ${i + 1}`).readUInt16LE(0), `floor ${i + 1}`);
    floors.push({ lhs, rhs });
  }
  return floors;
}

/** The TCP port of a tower for our interface over connection-oriented RPC, or undefined when it is another kind of tower. */
export function tcpPortOfTower(floors: readonly TowerFloor[], interfaceId: string, interfaceVersion: readonly [number, number]): number | undefined {
  const wanted = uuidFloor(interfaceId, interfaceVersion);
  const [iface, , protocol, port] = floors;
  if (iface === undefined || !iface.lhs.equals(wanted.lhs)) return undefined;
  if (protocol === undefined || protocol.lhs.length !== 1 || protocol.lhs[0] !== FLOOR_RPC_CONNECTION_ORIENTED) return undefined;
  if (port === undefined || port.lhs.length !== 1 || port.lhs[0] !== FLOOR_TCP_PORT || port.rhs.length !== 2) return undefined;
  const value = port.rhs.readUInt16BE(0);
  return value === 0 ? undefined : value;
}

/** ept_map's request stub: object, map_tower, entry_handle, max_towers. */
export function encodeEptMap(tower: Buffer, maxTowers = MAX_TOWERS): Buffer {
  const w = new NdrWriter();
  // Fixed referent ids 1 and 2, as impacket sends: Windows Server 2003's mapper rejects others as bad stub data.
  w.u32(1).guid(Buffer.alloc(16)); // object: the nil UUID (Samba and impacket send it, not NULL)
  w.u32(2); // map_tower
  w.u32(tower.length); // twr_t is a conformant structure: its conformance comes first
  w.u32(tower.length).bytes(tower);
  w.u32(0).guid(Buffer.alloc(16)); // entry_handle: a null context handle, a fresh lookup
  w.u32(maxTowers);
  return w.finish();
}

export interface EptMapReply {
  readonly status: number;
  readonly towers: readonly Buffer[];
}

/** ept_map's reply stub: entry_handle, num_towers, the towers (a conformant varying array of twr_t pointers), status. */
export function decodeEptMapReply(stub: Buffer): EptMapReply {
  try {
    const r = new NdrReader(stub);
    r.u32();
    r.guid(); // entry_handle
    const numTowers = r.u32();
    const max = r.count('towers (maximum count)', 0, 1024);
    const offset = r.u32();
    const actual = r.count('towers (actual count)', 4, max);
    if (offset !== 0 || actual !== numTowers) throw new NdrError(`NDR: ept_map says ${numTowers} towers and sends ${actual} at offset ${offset}`);
    const present: boolean[] = [];
    for (let i = 0; i < actual; i++) present.push(r.pointer());
    const towers: Buffer[] = [];
    for (const p of present) {
      if (!p) continue;
      const size = r.count('tower (conformance)', 1, MAX_TOWER_BYTES);
      const length = r.u32();
      if (length > size) throw new NdrError(`NDR: a tower of ${length} bytes in a ${size}-byte array`);
      towers.push(r.bytes(size, 'tower').subarray(0, length));
    }
    return { status: r.u32(), towers };
  } catch (err) {
    if (err instanceof NdrError) throw protocolError(`the endpoint mapper's ept_map reply: ${err.message}`, { cause: err });
    throw err;
  }
}

/** The TCP port the interface listens on at `host`, from its endpoint mapper (an unauthenticated bind and one ept_map). */
export async function mapEndpoint(o: MapEndpointOptions): Promise<number> {
  const epmPort = o.port ?? EPM_PORT;
  const iface = `${o.interfaceId} v${o.interfaceVersion[0]}.${o.interfaceVersion[1]}`;
  const where = `${o.host.includes(':') ? `[${o.host}]` : o.host}:${epmPort}`;
  const conn = await RpcConnection.connect({
    host: o.host,
    port: epmPort,
    interfaceId: EPM_SYNTAX.uuid,
    interfaceVersion: EPM_SYNTAX.version,
    connectTimeoutMs: o.connectTimeoutMs,
    callTimeoutMs: o.callTimeoutMs,
    signal: o.signal,
  });
  try {
    const reply = decodeEptMapReply(await conn.request(EPT_MAP, encodeEptMap(encodeTcpTower(o.interfaceId, o.interfaceVersion))));
    if (reply.status !== 0) {
      throw new FatalError('RPC_ENDPOINT_NOT_FOUND', `DCE/RPC: the endpoint mapper at ${where} has no endpoint for ${iface} (status ${describeRpcStatus(reply.status)})`);
    }
    for (const tower of reply.towers) {
      const port = tcpPortOfTower(decodeTower(tower), o.interfaceId, o.interfaceVersion);
      if (port !== undefined) return port;
    }
    throw new FatalError('RPC_ENDPOINT_NOT_FOUND', `DCE/RPC: the endpoint mapper at ${where} lists no TCP endpoint for ${iface}`);
  } finally {
    conn.close();
  }
}

function u16(n: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(n);
  return b;
}

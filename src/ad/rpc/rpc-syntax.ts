import { uuidToWire } from '../ndr/guid.ts';

export { uuidFromWire, uuidToWire } from '../ndr/guid.ts';

/**
 * Presentation syntax identifiers (C706 12.6.3.1 p_syntax_id_t): an interface or transfer syntax is
 * named by a UUID and a version. Only the ones phsync speaks are listed.
 */
export interface SyntaxId {
  readonly uuid: string;
  readonly version: readonly [major: number, minor: number];
}

/** NDR 2.0, the only transfer syntax phsync offers (NDR64 would change every stub encoder). */
export const NDR_TRANSFER_SYNTAX: SyntaxId = Object.freeze({ uuid: '8a885d04-1ceb-11c9-9fe8-08002b104860', version: Object.freeze([2, 0] as const) });

/** MS-DRSR's drsuapi interface. */
export const DRSUAPI_SYNTAX: SyntaxId = Object.freeze({ uuid: 'e3514235-4b06-11d1-ab04-00c04fc2dcd2', version: Object.freeze([4, 0] as const) });

/** The endpoint mapper (C706 appendix O, ept), listening on TCP 135. */
export const EPM_SYNTAX: SyntaxId = Object.freeze({ uuid: 'e1af8308-5d1f-11c9-91a4-08002b14a0fa', version: Object.freeze([3, 0] as const) });

/** p_syntax_id_t on the wire: the UUID, then if_version as a uint32 whose low half is the major version. */
export function syntaxToWire(uuid: string, version: readonly [major: number, minor: number]): Buffer {
  const [major, minor] = version;
  if (!isUint16(major) || !isUint16(minor)) throw new RangeError(`an interface version is two 16-bit numbers (${major}.${minor})`);
  const out = Buffer.alloc(20);
  uuidToWire(uuid).copy(out, 0);
  out.writeUInt16LE(major, 16);
  out.writeUInt16LE(minor, 18);
  return out;
}

function isUint16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

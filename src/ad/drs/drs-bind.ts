import { NdrError } from '../ndr/ndr-error.ts';
import type { NdrReader } from '../ndr/ndr-reader.ts';
import { NdrWriter } from '../ndr/ndr-writer.ts';
import { decodeReply } from './drs-errors.ts';
import { decodeExtensions } from './drs-extensions.ts';
import type { DrsExtensions } from './drs-extensions.ts';
import { DRS_HANDLE_BYTES, guidFromString } from './drs-types.ts';

export const OPNUM_DRS_BIND = 0;
export const OPNUM_DRS_UNBIND = 1;

/** NTDSAPI_CLIENT_GUID (MS-DRSR section 5): the puuidClientDsa of a client that is not a DC. */
export const NTDSAPI_CLIENT_GUID: Buffer = guidFromString('e24d201a-4fd6-11d1-a3da-0000f875ae0d');

/**
 * IDL_DRSBind request: ([in, unique] UUID* puuidClientDsa, [in, unique] DRS_EXTENSIONS* pextClient).
 * Each top-level pointer is a referent ID followed at once by its referent. DRS_EXTENSIONS ends in a
 * conformant array, so its conformance count (= cb) comes first, then cb, then the bytes.
 */
export function encodeBindRequest(clientDsa: Buffer, extensions: Buffer): Buffer {
  const w = new NdrWriter(32 + extensions.length);
  w.pointer(true);
  w.guid(clientDsa);
  w.pointer(true);
  w.u32(extensions.length).u32(extensions.length).bytes(extensions);
  return w.finish();
}

export interface BindReply {
  readonly extensions: DrsExtensions;
  readonly handle: Buffer;
}

function readExtensions(r: NdrReader): DrsExtensions {
  if (!r.pointer()) return decodeExtensions(Buffer.alloc(0));
  const conformance = r.count('DRS_EXTENSIONS', 1, 10_000);
  const cb = r.u32();
  if (cb !== conformance) throw new NdrError(`NDR: DRS_EXTENSIONS has cb ${cb} for ${conformance} bytes`);
  return decodeExtensions(r.bytes(cb, 'DRS_EXTENSIONS'));
}

/** IDL_DRSBind reply: ([out] DRS_EXTENSIONS** ppextServer, [out, ref] DRS_HANDLE* phDrs), ULONG. */
export function decodeBindReply(stub: Buffer): BindReply {
  return decodeReply('IDL_DRSBind', stub, (r) => {
    const extensions = readExtensions(r);
    const handle = Buffer.from(r.align(4).bytes(DRS_HANDLE_BYTES, 'DRS_HANDLE'));
    return { extensions, handle };
  });
}

/** IDL_DRSUnbind request: ([in, out, ref] DRS_HANDLE* phDrs). */
export function encodeUnbindRequest(handle: Buffer): Buffer {
  return new NdrWriter(DRS_HANDLE_BYTES).bytes(handle).finish();
}

/** IDL_DRSUnbind reply: the handle (zeroed by the DC), ULONG. */
export function decodeUnbindReply(stub: Buffer): void {
  decodeReply('IDL_DRSUnbind', stub, (r) => {
    r.bytes(DRS_HANDLE_BYTES, 'DRS_HANDLE');
  });
}

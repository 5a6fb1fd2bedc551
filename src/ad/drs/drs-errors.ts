import { FatalError } from '../../errors.ts';
import { NdrError } from '../ndr/ndr-error.ts';
import { NdrReader } from '../ndr/ndr-reader.ts';

/**
 * The Win32 error codes a DRSUAPI call returns (its ULONG result, or a reply's dwDRSError), by name,
 * for messages an administrator can search for. Values from winerror.h ([MS-ERREF] 2.2); only those
 * a replication client meets, the rest are printed as numbers.
 */
export const ERROR_ACCESS_DENIED = 5;
export const ERROR_NOT_ENOUGH_MEMORY = 8;
export const ERROR_INVALID_PARAMETER = 87;
export const ERROR_NOT_SUPPORTED = 50;
export const ERROR_INVALID_HANDLE = 6;
export const ERROR_NO_SUCH_DOMAIN = 1355;
export const ERROR_DS_DRA_SCHEMA_MISMATCH = 8418;
export const ERROR_DS_CANT_FIND_EXPECTED_NC = 8420;
export const ERROR_DS_DRA_GENERIC = 8436;
export const ERROR_DS_DRA_INVALID_PARAMETER = 8437;
export const ERROR_DS_DRA_BUSY = 8438;
export const ERROR_DS_DRA_BAD_DN = 8439;
export const ERROR_DS_DRA_BAD_NC = 8440;
export const ERROR_DS_DRA_INTERNAL_ERROR = 8442;
export const ERROR_DS_DRA_BAD_INSTANCE_TYPE = 8445;
export const ERROR_DS_DRA_OUT_OF_MEM = 8446;
export const ERROR_DS_DRA_DB_ERROR = 8451;
export const ERROR_DS_DRA_NO_REPLICA = 8452;
export const ERROR_DS_DRA_ACCESS_DENIED = 8453;
export const ERROR_DS_DRA_NOT_SUPPORTED = 8454;
export const ERROR_DS_DRA_SOURCE_DISABLED = 8456;
export const ERROR_DS_DRA_MISSING_PARENT = 8460;
export const ERROR_DS_DRA_SHUTDOWN = 8463;
export const ERROR_DS_DRA_INCOMPATIBLE_PARTIAL_SET = 8464;
export const ERROR_DS_DRA_SOURCE_IS_PARTIAL_REPLICA = 8465;
export const ERROR_DS_DIFFERENT_REPL_EPOCHS = 8593;
export const ERROR_DS_DRS_EXTENSIONS_CHANGED = 8594;
export const ERROR_DS_DRA_SECRETS_DENIED = 8630;
export const ERROR_DS_DRA_RECYCLED_TARGET = 8639;

const NAMES: ReadonlyMap<number, string> = new Map([
  [ERROR_ACCESS_DENIED, 'ERROR_ACCESS_DENIED'],
  [ERROR_INVALID_HANDLE, 'ERROR_INVALID_HANDLE'],
  [ERROR_NOT_ENOUGH_MEMORY, 'ERROR_NOT_ENOUGH_MEMORY'],
  [ERROR_NOT_SUPPORTED, 'ERROR_NOT_SUPPORTED'],
  [ERROR_INVALID_PARAMETER, 'ERROR_INVALID_PARAMETER'],
  [ERROR_NO_SUCH_DOMAIN, 'ERROR_NO_SUCH_DOMAIN'],
  [ERROR_DS_DRA_SCHEMA_MISMATCH, 'ERROR_DS_DRA_SCHEMA_MISMATCH'],
  [ERROR_DS_CANT_FIND_EXPECTED_NC, 'ERROR_DS_CANT_FIND_EXPECTED_NC'],
  [ERROR_DS_DRA_GENERIC, 'ERROR_DS_DRA_GENERIC'],
  [ERROR_DS_DRA_INVALID_PARAMETER, 'ERROR_DS_DRA_INVALID_PARAMETER'],
  [ERROR_DS_DRA_BUSY, 'ERROR_DS_DRA_BUSY'],
  [ERROR_DS_DRA_BAD_DN, 'ERROR_DS_DRA_BAD_DN'],
  [ERROR_DS_DRA_BAD_NC, 'ERROR_DS_DRA_BAD_NC'],
  [ERROR_DS_DRA_INTERNAL_ERROR, 'ERROR_DS_DRA_INTERNAL_ERROR'],
  [ERROR_DS_DRA_BAD_INSTANCE_TYPE, 'ERROR_DS_DRA_BAD_INSTANCE_TYPE'],
  [ERROR_DS_DRA_OUT_OF_MEM, 'ERROR_DS_DRA_OUT_OF_MEM'],
  [ERROR_DS_DRA_DB_ERROR, 'ERROR_DS_DRA_DB_ERROR'],
  [ERROR_DS_DRA_NO_REPLICA, 'ERROR_DS_DRA_NO_REPLICA'],
  [ERROR_DS_DRA_ACCESS_DENIED, 'ERROR_DS_DRA_ACCESS_DENIED'],
  [ERROR_DS_DRA_NOT_SUPPORTED, 'ERROR_DS_DRA_NOT_SUPPORTED'],
  [ERROR_DS_DRA_SOURCE_DISABLED, 'ERROR_DS_DRA_SOURCE_DISABLED'],
  [ERROR_DS_DRA_MISSING_PARENT, 'ERROR_DS_DRA_MISSING_PARENT'],
  [ERROR_DS_DRA_SHUTDOWN, 'ERROR_DS_DRA_SHUTDOWN'],
  [ERROR_DS_DRA_INCOMPATIBLE_PARTIAL_SET, 'ERROR_DS_DRA_INCOMPATIBLE_PARTIAL_SET'],
  [ERROR_DS_DRA_SOURCE_IS_PARTIAL_REPLICA, 'ERROR_DS_DRA_SOURCE_IS_PARTIAL_REPLICA'],
  [ERROR_DS_DIFFERENT_REPL_EPOCHS, 'ERROR_DS_DIFFERENT_REPL_EPOCHS'],
  [ERROR_DS_DRS_EXTENSIONS_CHANGED, 'ERROR_DS_DRS_EXTENSIONS_CHANGED'],
  [ERROR_DS_DRA_SECRETS_DENIED, 'ERROR_DS_DRA_SECRETS_DENIED'],
  [ERROR_DS_DRA_RECYCLED_TARGET, 'ERROR_DS_DRA_RECYCLED_TARGET'],
]);

/** 'ERROR_DS_DRA_BAD_DN', or the hex value when the code is not one a DRS client expects. */
export function win32ErrorName(code: number): string {
  return NAMES.get(code) ?? `0x${(code >>> 0).toString(16).padStart(8, '0')}`;
}

/**
 * A DRS call that the DC answered with a Win32 error (the call's result, or a GetNCChanges reply's
 * dwDRSError). `win32` carries the number, so callers (src/ad/replication-errors.ts) decide by it,
 * never by the message.
 */
export class DrsError extends FatalError {
  override name = 'DrsError';
  readonly win32: number;

  constructor(call: string, win32: number, options?: ErrorOptions) {
    super('DRS_ERROR', `${call} failed: ${win32ErrorName(win32)} (${win32 >>> 0})`, options);
    this.win32 = win32 >>> 0;
  }
}

/**
 * Decodes a reply stub: the [out] parameters (`decode`), then the call's ULONG result, which NDR puts
 * last. A non-zero result is a DrsError; bytes that do not decode are DRS_MALFORMED_REPLY. A reply
 * version the decoder does not know (DRS_UNSUPPORTED_REPLY) may be a failed call's uninitialised
 * out-version: when the stub's last four bytes (the result, if the arm were known) are not zero,
 * they are reported as the DrsError, the refusal as its cause.
 */
export function decodeReply<T>(call: string, stub: Buffer, decode: (r: NdrReader) => T): T {
  const r = new NdrReader(stub);
  let value: T;
  let status: number;
  try {
    value = decode(r);
    status = r.u32();
  } catch (err) {
    if (err instanceof NdrError) throw malformedReply(call, err.message, err);
    if (err instanceof FatalError && err.code === 'DRS_UNSUPPORTED_REPLY') {
      const trailing = stub.length >= 4 ? stub.readUInt32LE(stub.length - 4) : 0;
      if (trailing !== 0) throw new DrsError(call, trailing, { cause: err });
    }
    throw err;
  }
  if (status !== 0) throw new DrsError(call, status);
  // The stub is exactly the marshalled parameters (the RPC layer strips any auth padding): more bytes
  // mean the layout decoded is not the one the DC sent.
  if (r.remaining !== 0) throw malformedReply(call, `${r.remaining} bytes follow the result at offset ${r.offset}`);
  return value;
}

/** A reply that does not decode as the IDL says: DRS_MALFORMED_REPLY, naming the call. */
export function malformedReply(call: string, detail: string, cause?: unknown): FatalError {
  return new FatalError('DRS_MALFORMED_REPLY', `${call}: the reply does not decode: ${detail}`, cause === undefined ? undefined : { cause });
}

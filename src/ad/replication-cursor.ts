import type { UpToDateCursor, UsnVector } from './drs/drs-types.ts';

export type { UpToDateCursor, UsnVector };

/**
 * Where replication from a DC got to, kept in the state store as a source's watermark (kind
 * `drs-cursor`): the USN vector the last cycle's final reply ended at, the up-to-dateness vector it
 * returned, and whose USNs they are (the DC's invocation ID). The next delta cycle sends them back,
 * and the DC returns only what changed since (MS-DRSR 4.1.10.5). Only numbers and GUIDs: nothing
 * secret reaches the store.
 */
export const CURSOR_KIND = 'drs-cursor';

export interface ReplicationCursor {
  /** The invocation ID of the DC whose USNs `from` counts. */
  readonly invocationId: Buffer;
  readonly from: UsnVector;
  readonly upToDate: readonly UpToDateCursor[];
}

export const ZERO_USN_VECTOR: UsnVector = Object.freeze({ highObjUpdate: 0n, reserved: 0n, highPropUpdate: 0n });

interface CursorJson {
  v: 1;
  invocationId: string;
  from: [string, string, string];
  upToDate: [string, string][];
}

export function formatCursor(cursor: ReplicationCursor): string {
  const json: CursorJson = {
    v: 1,
    invocationId: cursor.invocationId.toString('hex'),
    from: [String(cursor.from.highObjUpdate), String(cursor.from.reserved), String(cursor.from.highPropUpdate)],
    upToDate: cursor.upToDate.map((c) => [c.invocationId.toString('hex'), String(c.highestUsn)]),
  };
  return JSON.stringify(json);
}

const GUID_HEX = /^[0-9a-f]{32}$/;
const USN = /^[0-9]{1,20}$/;

/** The saved cursor, or undefined when it is not one (the cycle then replicates from the start). */
export function parseCursor(text: string): ReplicationCursor | undefined {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return undefined;
  }
  const j = json as Partial<CursorJson> | null;
  if (j === null || typeof j !== 'object' || j.v !== 1 || typeof j.invocationId !== 'string' || !GUID_HEX.test(j.invocationId)) return undefined;
  if (!Array.isArray(j.from) || j.from.length !== 3 || !j.from.every((u) => typeof u === 'string' && USN.test(u))) return undefined;
  if (!Array.isArray(j.upToDate) || !j.upToDate.every((c) => Array.isArray(c) && c.length === 2 && typeof c[0] === 'string' && GUID_HEX.test(c[0]) && typeof c[1] === 'string' && USN.test(c[1]))) return undefined;
  return {
    invocationId: Buffer.from(j.invocationId, 'hex'),
    from: { highObjUpdate: BigInt(j.from[0]), reserved: BigInt(j.from[1]), highPropUpdate: BigInt(j.from[2]) },
    upToDate: j.upToDate.map(([id, usn]) => ({ invocationId: Buffer.from(id, 'hex'), highestUsn: BigInt(usn) })),
  };
}

/** GUIDs (UUIDs) between their text form and the NDR wire form: one definition for the RPC and DRS layers. */
const UUID_TEXT = /^([0-9a-f]{8})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{4})-([0-9a-f]{12})$/i;

/**
 * A textual UUID in its NDR wire form: time_low, time_mid and time_hi_and_version are integers and
 * so little-endian under our data representation; clock_seq and node are bytes, in text order.
 */
export function uuidToWire(text: string): Buffer {
  const m = UUID_TEXT.exec(text);
  if (m === null) throw new RangeError(`not a UUID: ${JSON.stringify(text)}`);
  const out = Buffer.alloc(16);
  out.writeUInt32LE(Number.parseInt(m[1]!, 16), 0);
  out.writeUInt16LE(Number.parseInt(m[2]!, 16), 4);
  out.writeUInt16LE(Number.parseInt(m[3]!, 16), 6);
  Buffer.from(m[4]! + m[5]!, 'hex').copy(out, 8);
  return out;
}

/** The inverse of uuidToWire, lower-case. */
export function uuidFromWire(bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new RangeError(`a UUID is 16 bytes (${bytes.length})`);
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length);
  const hex = (n: number, width: number): string => n.toString(16).padStart(width, '0');
  const tail = b.subarray(8).toString('hex');
  return `${hex(b.readUInt32LE(0), 8)}-${hex(b.readUInt16LE(4), 4)}-${hex(b.readUInt16LE(6), 4)}-${tail.slice(0, 4)}-${tail.slice(4)}`;
}

/**
 * The leaked-hash store file, version 1: what the importer writes and LeakedStore reads.
 *
 *   offset   size             what
 *   0        8                magic "PHSLEAK1"
 *   8        4                format version (1), uint32 LE
 *   12       4                byte offset of the records (RECORDS_OFFSET), uint32 LE
 *   16       8                hash count, uint64 LE
 *   24       8                creation time, ms since the epoch, uint64 LE
 *   32       32               SHA-256 of bytes 0..32 and of the index: a torn or foreign header fails
 *   64       65,537 × 4       index: entry p = how many records have a 2-byte prefix below p (uint32 LE),
 *                             so prefix p's records are [index[p], index[p+1]); the last is the count
 *   262,212  padding to 4 KiB records never straddle a page
 *   266,240  count × 16       records sorted by hash: the hash's last 14 bytes (its first 2 are the
 *                             prefix, which the index gives), then the prevalence as uint16 LE,
 *                             min(count, 65535)
 *
 * 16 bytes per hash plus 260 KiB: 16.003 bytes per hash at 100 million. The index is in uint32 record
 * numbers, which caps a store at 4,294,967,295 hashes (HIBP's NTLM list has ~0.85 billion).
 */
import { createHash } from 'node:crypto';

export const MAGIC = Buffer.from('PHSLEAK1', 'latin1');
export const FORMAT_VERSION = 1;
export const HEADER_BYTES = 64;
export const PREFIX_COUNT = 65_536;
export const INDEX_ENTRIES = PREFIX_COUNT + 1;
export const INDEX_BYTES = INDEX_ENTRIES * 4;
export const RECORDS_OFFSET = Math.ceil((HEADER_BYTES + INDEX_BYTES) / 4096) * 4096;
export const RECORD_BYTES = 16;
/** The bytes of a hash a record holds: all but the 2-byte prefix. */
export const RECORD_KEY_BYTES = 14;
export const HASH_BYTES = 16;
export const MAX_PREVALENCE = 65_535;
export const MAX_HASHES = 0xffff_ffff;

const CHECKSUM_OFFSET = 32;

export interface StoreHeader {
  readonly version: number;
  readonly recordsOffset: number;
  readonly hashCount: number;
  readonly createdAtMs: number;
}

/** The checksum over the header's fixed fields and the index (as stored, little-endian). */
export function headerChecksum(header: Uint8Array, index: Uint8Array): Buffer {
  return createHash('sha256').update(header.subarray(0, CHECKSUM_OFFSET)).update(index).digest();
}

/** The 64 header bytes for a finished store whose index (INDEX_BYTES, little-endian) is `index`. */
export function encodeHeader(hashCount: number, createdAtMs: number, index: Uint8Array): Buffer {
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(FORMAT_VERSION, 8);
  header.writeUInt32LE(RECORDS_OFFSET, 12);
  header.writeBigUInt64LE(BigInt(hashCount), 16);
  header.writeBigUInt64LE(BigInt(createdAtMs), 24);
  headerChecksum(header, index).copy(header, CHECKSUM_OFFSET);
  return header;
}

/** The header's fields, or why it is not a version-1 store header; the checksum is checked apart. */
export function decodeHeader(header: Buffer): StoreHeader | string {
  if (header.length < HEADER_BYTES) return `truncated: ${header.length} bytes, shorter than the ${HEADER_BYTES}-byte header`;
  if (!header.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a phsync leaked-hash store (bad magic)';
  const version = header.readUInt32LE(8);
  if (version !== FORMAT_VERSION) return `format version ${version}; this phsync reads version ${FORMAT_VERSION}`;
  const recordsOffset = header.readUInt32LE(12);
  if (recordsOffset !== RECORDS_OFFSET) return `records offset ${recordsOffset}, expected ${RECORDS_OFFSET}`;
  const hashCount = Number(header.readBigUInt64LE(16));
  if (hashCount > MAX_HASHES) return `hash count ${hashCount} is beyond the format's ${MAX_HASHES}`;
  const createdAtMs = Number(header.readBigUInt64LE(24));
  return { version, recordsOffset, hashCount, createdAtMs };
}

export function storedChecksum(header: Buffer): Buffer {
  return header.subarray(CHECKSUM_OFFSET, CHECKSUM_OFFSET + 32);
}

/** The file size a store of `hashCount` hashes has. */
export function storeBytes(hashCount: number): number {
  return RECORDS_OFFSET + hashCount * RECORD_BYTES;
}

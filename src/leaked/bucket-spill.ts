/**
 * The reading phase's output: 256 bucket files, one per first byte of the hash, of 18-byte records
 * (the 16-byte hash, then its count as uint16 LE saturated at 65535: saturating each count and then the
 * sum gives the same as saturating the true sum). Hashes are uniform, so each bucket gets ~1/256 of
 * the input and can later be sorted in memory, whatever order the input was in.
 *
 * Each bucket has a write buffer (64 KiB: 16 MiB in all). flush() writes them out; lengths() are then
 * what a checkpoint records, and open() with those lengths truncates the files back to them, dropping
 * whatever was written after the checkpoint. Writes are not fsynced: a killed process loses nothing
 * the kernel has, and after a power loss a bucket shorter than its checkpoint is detected (open()
 * returns undefined) and the import starts over.
 */
import { closeSync, constants, fstatSync, ftruncateSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { HASH_BYTES } from './leaked-store-format.ts';
import type { HashSink } from './hibp-line-parser.ts';

export const BUCKETS = 256;
export const SPILL_RECORD_BYTES = HASH_BYTES + 2;
const BUFFER_RECORDS = 3640;
const BUFFER_BYTES = BUFFER_RECORDS * SPILL_RECORD_BYTES;

export function bucketPath(dir: string, bucket: number): string {
  return join(dir, `bucket-${bucket.toString(16).padStart(2, '0')}.bin`);
}

export class BucketSpill implements HashSink {
  readonly #fds: number[];
  readonly #buffers: Buffer[];
  readonly #fill: Uint32Array;
  readonly #lengths: number[];
  #records: number;

  private constructor(fds: number[], lengths: number[]) {
    this.#fds = fds;
    this.#lengths = lengths;
    this.#buffers = fds.map(() => Buffer.allocUnsafe(BUFFER_BYTES));
    this.#fill = new Uint32Array(BUCKETS);
    this.#records = lengths.reduce((sum, n) => sum + n, 0) / SPILL_RECORD_BYTES;
  }

  /**
   * Opens (creates) the bucket files in `dir`, truncated to `lengths` (default: empty); undefined
   * when a file is shorter than its length, i.e. lost data the checkpoint counted.
   */
  static open(dir: string, lengths?: readonly number[]): BucketSpill | undefined {
    const fds: number[] = [];
    try {
      for (let b = 0; b < BUCKETS; b++) {
        const fd = openSync(bucketPath(dir, b), constants.O_RDWR | constants.O_CREAT, 0o600);
        fds.push(fd);
        const want = lengths?.[b] ?? 0;
        if (fstatSync(fd).size < want || want % SPILL_RECORD_BYTES !== 0) {
          for (const f of fds) closeSync(f);
          return undefined;
        }
        ftruncateSync(fd, want);
      }
    } catch (err) {
      for (const f of fds) closeSync(f);
      throw err;
    }
    return new BucketSpill(fds, Array.from({ length: BUCKETS }, (_, b) => lengths?.[b] ?? 0));
  }

  /** Records spilled so far (flushed or not). */
  get records(): number {
    return this.#records;
  }

  add(hash: Uint8Array, count: number): void {
    const b = hash[0]!;
    let at = this.#fill[b]!;
    if (at === BUFFER_BYTES) {
      this.#flushBucket(b);
      at = 0;
    }
    const buffer = this.#buffers[b]!;
    for (let i = 0; i < HASH_BYTES; i++) buffer[at + i] = hash[i]!;
    buffer[at + 16] = count & 0xff;
    buffer[at + 17] = count >>> 8;
    this.#fill[b] = at + SPILL_RECORD_BYTES;
    this.#records++;
  }

  flush(): void {
    for (let b = 0; b < BUCKETS; b++) this.#flushBucket(b);
  }

  /** Each bucket file's length; call after flush() for lengths that include every record. */
  lengths(): number[] {
    return [...this.#lengths];
  }

  close(): void {
    for (const fd of this.#fds.splice(0)) closeSync(fd);
  }

  #flushBucket(b: number): void {
    const fill = this.#fill[b]!;
    if (fill === 0) return;
    const buffer = this.#buffers[b]!;
    let done = 0;
    while (done < fill) done += writeSync(this.#fds[b]!, buffer, done, fill - done, this.#lengths[b]! + done);
    this.#lengths[b]! += fill;
    this.#fill[b] = 0;
  }
}

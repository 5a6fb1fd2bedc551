/**
 * Writes a leaked-hash store (leaked-store-format.ts) bucket by bucket into `<store>.partial`, next
 * to the store so that the final rename is atomic: a reader sees the old store or the whole new one.
 * The index is only known at the end, so it and the header are written last, then fsync, rename,
 * and fsync of the directory.
 *
 * Resumable: the records of the buckets done are kept (open() truncates to them), and the counts by
 * 2-byte prefix that make the index live in `prefix-counts.bin` in the work directory.
 */
import { closeSync, constants, fsyncSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HEADER_BYTES, INDEX_BYTES, PREFIX_COUNT, RECORDS_OFFSET, RECORD_BYTES, encodeHeader, storeBytes } from './leaked-store-format.ts';

export function partialStorePath(storePath: string): string {
  return `${storePath}.partial`;
}

const countsPath = (workDir: string): string => join(workDir, 'prefix-counts.bin');

/** Why the partial store and prefix counts cannot hold what the checkpoint says, or undefined. */
export function partialStoreProblem(storePath: string, workDir: string, hashesWritten: number, bucketsDone: number): string | undefined {
  if (hashesWritten === 0) return undefined;
  let size = 0;
  try {
    size = statSync(partialStorePath(storePath)).size;
  } catch {
    // missing: size 0
  }
  if (size < storeBytes(hashesWritten)) return `${partialStorePath(storePath)} is shorter than the ${hashesWritten} hashes the checkpoint counts`;
  let bytes: Buffer;
  try {
    bytes = readFileSync(countsPath(workDir));
  } catch {
    return `${countsPath(workDir)} is missing`;
  }
  let kept = 0;
  for (let p = 0; p < bucketsDone * 256 && p * 4 + 4 <= bytes.length; p++) kept += bytes.readUInt32LE(p * 4);
  return kept === hashesWritten ? undefined : `${countsPath(workDir)} counts ${kept} hashes, the checkpoint ${hashesWritten}`;
}

export class StoreWriter {
  readonly #storePath: string;
  readonly #countsFd: number;
  #fd: number;
  #hashes: number;
  /** Hashes by 2-byte prefix, for the buckets written. */
  readonly counts: Uint32Array;

  private constructor(storePath: string, fd: number, countsFd: number, hashes: number, counts: Uint32Array) {
    this.#storePath = storePath;
    this.#fd = fd;
    this.#countsFd = countsFd;
    this.#hashes = hashes;
    this.counts = counts;
  }

  /** Opens the partial store keeping `hashesWritten` records, and the prefix counts of the buckets before `bucketsDone`. */
  static open(storePath: string, workDir: string, hashesWritten: number, bucketsDone: number): StoreWriter {
    const fd = openSync(partialStorePath(storePath), constants.O_RDWR | constants.O_CREAT, 0o600);
    const countsFd = openSync(countsPath(workDir), constants.O_RDWR | constants.O_CREAT, 0o600);
    ftruncateSync(fd, storeBytes(hashesWritten));
    const bytes = Buffer.alloc(PREFIX_COUNT * 4);
    readSync(countsFd, bytes, 0, bytes.length, 0);
    const counts = new Uint32Array(PREFIX_COUNT);
    for (let p = 0; p < bucketsDone * 256; p++) counts[p] = bytes.readUInt32LE(p * 4);
    const kept = counts.reduce((sum, n) => sum + n, 0);
    if (kept !== hashesWritten) {
      closeSync(fd);
      closeSync(countsFd);
      throw new Error(`the prefix counts of the ${bucketsDone} buckets done add up to ${kept} hashes, the checkpoint says ${hashesWritten}`);
    }
    return new StoreWriter(storePath, fd, countsFd, hashesWritten, counts);
  }

  get hashes(): number {
    return this.#hashes;
  }

  /** Appends one bucket's records; `bucketCounts` are its 256 prefix counts. */
  appendBucket(bucket: number, records: Buffer, bucketCounts: Uint32Array): void {
    writeAll(this.#fd, records, storeBytes(this.#hashes));
    this.#hashes += records.length / RECORD_BYTES;
    this.counts.set(bucketCounts, bucket * 256);
    const bytes = Buffer.alloc(256 * 4);
    for (let i = 0; i < 256; i++) bytes.writeUInt32LE(bucketCounts[i]!, i * 4);
    writeAll(this.#countsFd, bytes, bucket * 256 * 4);
  }

  /** Writes the index and header, and renames the store into place. Returns its size in bytes. */
  finish(createdAtMs: number): number {
    const index = Buffer.alloc(INDEX_BYTES);
    let total = 0;
    for (let p = 0; p < PREFIX_COUNT; p++) {
      index.writeUInt32LE(total, p * 4);
      total += this.counts[p]!;
    }
    index.writeUInt32LE(total, PREFIX_COUNT * 4);
    if (total !== this.#hashes) throw new Error(`the index counts ${total} hashes, the records are ${this.#hashes}`);
    writeAll(this.#fd, index, HEADER_BYTES);
    writeAll(this.#fd, Buffer.alloc(RECORDS_OFFSET - HEADER_BYTES - INDEX_BYTES), HEADER_BYTES + INDEX_BYTES);
    writeAll(this.#fd, encodeHeader(total, createdAtMs, index), 0);
    fsyncSync(this.#fd);
    this.close();
    renameSync(partialStorePath(this.#storePath), this.#storePath);
    fsyncDirectory(dirname(this.#storePath));
    return storeBytes(total);
  }

  close(): void {
    if (this.#fd < 0) return;
    closeSync(this.#fd);
    closeSync(this.#countsFd);
    this.#fd = -1;
  }
}

function writeAll(fd: number, bytes: Buffer, position: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, position + done);
}

function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Not every platform can fsync a directory; the rename itself is still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

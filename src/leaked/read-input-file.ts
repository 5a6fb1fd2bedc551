/**
 * Streams one input file through a line parser from a byte offset, in large reads, two buffers
 * alternating: while one chunk is parsed on this thread, the next is read by libuv's thread pool.
 * Each buffer has MAX_LINE_BYTES of room in front of the chunk, where the incomplete last line of the
 * previous chunk is copied, so lines are parsed in place and memory stays at two buffers whatever
 * the file's size.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { MAX_LINE_BYTES } from './hibp-line-parser.ts';
import type { HibpLineParser } from './hibp-line-parser.ts';

export interface ChunkDone {
  /** The offset in the file of the first byte not parsed yet: where to resume. */
  readonly resumeOffset: number;
  /** Bytes read by this chunk. */
  readonly bytes: number;
}

/** The two buffers readInputFile alternates between, reused from file to file (a range directory has a million). */
export function readBuffers(chunkBytes: number): readonly [Buffer, Buffer] {
  return [Buffer.allocUnsafe(MAX_LINE_BYTES + chunkBytes), Buffer.allocUnsafe(MAX_LINE_BYTES + chunkBytes)];
}

/**
 * Parses `path` (`size` bytes when listed) from `offset` to its end. After each chunk `afterChunk`
 * runs (checkpoint, progress); when it returns false the reading stops there and readInputFile
 * resolves false.
 */
export async function readInputFile(path: string, size: number, offset: number, parser: HibpLineParser, buffers: readonly [Buffer, Buffer], afterChunk: (done: ChunkDone) => boolean): Promise<boolean> {
  const chunkBytes = buffers[0].length - MAX_LINE_BYTES;
  if (size - offset < chunkBytes) {
    const done = readSmallFile(path, offset, parser, buffers[0], afterChunk);
    if (done !== undefined) return done;
  }
  const handle = await open(path, 'r');
  let pending: Promise<{ bytesRead: number }> | undefined;
  try {
    let position = offset;
    let k = 0;
    let tail = buffers[1]!.subarray(0, 0);
    pending = handle.read(buffers[0]!, MAX_LINE_BYTES, chunkBytes, position);
    for (;;) {
      const { bytesRead } = await pending;
      pending = undefined;
      const current = buffers[k]!;
      if (bytesRead === 0) {
        parser.finish(tail, 0, tail.length);
        return true;
      }
      const start = MAX_LINE_BYTES - tail.length;
      tail.copy(current, start);
      const end = MAX_LINE_BYTES + bytesRead;
      position += bytesRead;
      // The next read goes into the other buffer, whose tail was copied out above.
      pending = handle.read(buffers[k ^ 1]!, MAX_LINE_BYTES, chunkBytes, position);
      const consumed = parser.parse(current, start, end);
      tail = current.subarray(consumed, end);
      if (!afterChunk({ resumeOffset: position - tail.length, bytes: bytesRead })) return false;
      k ^= 1;
    }
  } finally {
    if (pending !== undefined) await pending.catch(() => undefined);
    await handle.close();
  }
}

/**
 * A file that fits one chunk (a range file is ~30 KB) in synchronous calls: two thread-pool round
 * trips per read cost more than the read. Undefined, having parsed nothing, when the file turns out
 * to fill the chunk after all (it grew): then the caller reads it in chunks.
 */
function readSmallFile(path: string, offset: number, parser: HibpLineParser, buffer: Buffer, afterChunk: (done: ChunkDone) => boolean): boolean | undefined {
  const chunkBytes = buffer.length - MAX_LINE_BYTES;
  const fd = openSync(path, 'r');
  let got = 0;
  try {
    for (;;) {
      const n = readSync(fd, buffer, MAX_LINE_BYTES + got, chunkBytes - got, offset + got);
      if (n === 0) break;
      got += n;
      if (got === chunkBytes) return undefined;
    }
  } finally {
    closeSync(fd);
  }
  const end = MAX_LINE_BYTES + got;
  const consumed = parser.parse(buffer, MAX_LINE_BYTES, end);
  parser.finish(buffer, consumed, end);
  return afterChunk({ resumeOffset: offset + got, bytes: got });
}

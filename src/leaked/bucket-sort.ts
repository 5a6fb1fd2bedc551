/**
 * Turns one spill bucket (18-byte records: hash, uint16 LE count; all with the same first byte, in
 * input order) into store records (leaked-store-format.ts) in hash order, duplicates merged.
 *
 * Two counting-sort passes, both with few enough destinations to stay in cache: by byte 1 of the hash
 * (256 streams, written sequentially), then, inside each of those groups (~200 KiB at HIBP's size), by
 * as many of the next bits as the group has records in log2, 16 at most. The records are in store form
 * from the first pass on. That leaves groups of ~1 record when hashes are uniform; each is ordered in
 * place (insertion sort, or a comparison sort when a group is large, i.e. skewed input) and
 * duplicates, which can only be neighbours inside a group, are merged while the records are compacted.
 */
import { MAX_PREVALENCE, RECORD_BYTES, RECORD_KEY_BYTES } from './leaked-store-format.ts';
import { SPILL_RECORD_BYTES } from './bucket-spill.ts';

const MAX_FINE_BITS = 16;
const INSERTION_MAX = 24;

export interface SortedBucket {
  /** Store records, `hashes` × 16 bytes. */
  readonly records: Buffer;
  readonly hashes: number;
  readonly duplicatesMerged: number;
}

export class BucketSorter {
  /** Reused: group ends by byte 1, then by the finer bits (at most 256 KiB). */
  readonly #coarse = new Uint32Array(257);
  readonly #fine = new Uint32Array((1 << MAX_FINE_BITS) + 1);
  readonly #swap = Buffer.alloc(RECORD_BYTES);

  /**
   * Sorts `spill` and counts the resulting hashes by their second byte into prefixCounts[0..256)
   * (the counts of prefixes bucket·256 + second byte).
   */
  sort(spill: Buffer, prefixCounts: Uint32Array): SortedBucket {
    const n = spill.length / SPILL_RECORD_BYTES;
    if (!Number.isInteger(n)) throw new RangeError(`a spill bucket of ${spill.length} bytes is not whole ${SPILL_RECORD_BYTES}-byte records`);
    const coarse = this.#coarse;
    coarse.fill(0);
    for (let at = 1; at < spill.length; at += SPILL_RECORD_BYTES) coarse[spill[at]! + 1]!++;
    for (let g = 0; g < 256; g++) coarse[g + 1]! += coarse[g]!;
    const middle = Buffer.allocUnsafe(n * RECORD_BYTES);
    // coarse[g + 1] is group g's cursor: starting at its start, ending at its end.
    for (let at = 0; at < spill.length; at += SPILL_RECORD_BYTES) {
      const o = coarse[spill[at + 1]!]!++ * RECORD_BYTES;
      for (let i = 0; i < RECORD_KEY_BYTES; i++) middle[o + i] = spill[at + 2 + i]!;
      middle[o + 14] = spill[at + 16]!;
      middle[o + 15] = spill[at + 17]!;
    }
    const out = Buffer.allocUnsafe(n * RECORD_BYTES);
    let hashes = 0;
    for (let g = 0, from = 0; g < 256; g++) {
      const to = coarse[g]!;
      if (to === from) continue;
      const before = hashes;
      hashes = this.#fineSort(middle, out, from, to, hashes);
      prefixCounts[g]! += hashes - before;
      from = to;
    }
    return { records: out.subarray(0, hashes * RECORD_BYTES), hashes, duplicatesMerged: n - hashes };
  }

  /**
   * Sorts records [from, to) of `middle` (one byte-1 group) into the same place of `out`, then
   * compacts them down to record `next` on; returns the record after the last one kept.
   */
  #fineSort(middle: Buffer, out: Buffer, from: number, to: number, next: number): number {
    const bits = Math.max(1, Math.min(MAX_FINE_BITS, Math.ceil(Math.log2(to - from + 1))));
    const shift = 16 - bits;
    const groups = 1 << bits;
    const ends = this.#fine;
    ends.fill(0, 0, groups + 1);
    const end = to * RECORD_BYTES;
    for (let at = from * RECORD_BYTES; at < end; at += RECORD_BYTES) ends[(((middle[at]! << 8) | middle[at + 1]!) >>> shift) + 1]!++;
    ends[0] = from;
    for (let g = 0; g < groups; g++) ends[g + 1]! += ends[g]!;
    for (let at = from * RECORD_BYTES; at < end; at += RECORD_BYTES) {
      const o = ends[((middle[at]! << 8) | middle[at + 1]!) >>> shift]!++ * RECORD_BYTES;
      copyRecord(middle, at, out, o);
    }
    // Now ends[g] is the end of group g, whose start is ends[g - 1] (from, for the first).
    let w = next;
    for (let g = 0, start = from; g < groups; g++) {
      const stop = ends[g]!;
      if (stop - start > 1) this.#sortGroup(out, start, stop);
      if (stop > start) w = compact(out, start, stop, w);
      start = stop;
    }
    return w;
  }

/** Orders store records [from, to) of `out` by their 14 hash bytes. */
  #sortGroup(out: Buffer, from: number, to: number): void {
    if (to - from > INSERTION_MAX) {
      const order = Uint32Array.from({ length: to - from }, (_, i) => from + i).sort((x, y) => compareKeys(out, x * RECORD_BYTES, y * RECORD_BYTES));
      const sorted = Buffer.allocUnsafe((to - from) * RECORD_BYTES);
      order.forEach((r, i) => out.copy(sorted, i * RECORD_BYTES, r * RECORD_BYTES, r * RECORD_BYTES + RECORD_BYTES));
      sorted.copy(out, from * RECORD_BYTES);
      return;
    }
    const swap = this.#swap;
    for (let i = from + 1; i < to; i++) {
      const at = i * RECORD_BYTES;
      if (compareKeys(out, at - RECORD_BYTES, at) <= 0) continue;
      copyRecord(out, at, swap, 0);
      let j = i - 1;
      while (j >= from && compareWith(out, j * RECORD_BYTES, swap) > 0) {
        copyRecord(out, j * RECORD_BYTES, out, j * RECORD_BYTES + RECORD_BYTES);
        j--;
      }
      copyRecord(swap, 0, out, j * RECORD_BYTES + RECORD_BYTES);
    }
  }
}

/** Compares the hash bytes of the records at `a` and `b`. */
function compareKeys(out: Buffer, a: number, b: number): number {
  for (let i = 0; i < RECORD_KEY_BYTES; i++) {
    const d = out[a + i]! - out[b + i]!;
    if (d !== 0) return d;
  }
  return 0;
}

/** Compares the hash bytes of the record at `a` with those of the record in `swap`. */
function compareWith(out: Buffer, a: number, swap: Buffer): number {
  for (let i = 0; i < RECORD_KEY_BYTES; i++) {
    const d = out[a + i]! - swap[i]!;
    if (d !== 0) return d;
  }
  return 0;
}

function copyRecord(from: Buffer, at: number, to: Buffer, into: number): void {
  for (let i = 0; i < RECORD_BYTES; i++) to[into + i] = from[at + i]!;
}

/**
 * Moves the sorted group [from, to) down to record `next` on, merging equal neighbours (counts
 * summed, saturating); returns the record after the last one kept.
 */
function compact(out: Buffer, from: number, to: number, next: number): number {
  let w = next;
  for (let r = from; r < to; r++) {
    const at = r * RECORD_BYTES;
    if (w > next && compareKeys(out, (w - 1) * RECORD_BYTES, at) === 0) {
      const c = (w - 1) * RECORD_BYTES + 14;
      const sum = out.readUInt16LE(c) + out.readUInt16LE(at + 14);
      out.writeUInt16LE(sum > MAX_PREVALENCE ? MAX_PREVALENCE : sum, c);
      continue;
    }
    if (w !== r) copyRecord(out, at, out, w * RECORD_BYTES);
    w++;
  }
  return w;
}

import { randomBytes } from 'node:crypto';
import { halfSipHash64, halfSipKey } from './half-siphash.ts';
import type { HalfSipKey } from './half-siphash.ts';

const SLOT_WORDS = 3; // 64 bits of anchor digest, 32 bits of DN digest
const INITIAL_SLOTS = 1 << 16;

/**
 * 32-bit FNV-1a of the DN in lower case: the DN only tells "read again" from "another entry with the
 * same anchor", so a cheap hash is enough there (a collision would pass one real duplicate over as
 * read again). ASCII is folded here, sparing a lowercased copy of every DN; any other DN is hashed as
 * toLowerCase() gives it, whose mapping beyond ASCII is Unicode's.
 */
export function dnDigest(dn: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < dn.length; i++) {
    let c = dn.charCodeAt(i);
    if (c >= 0x80) return fnv1a(dn.toLowerCase());
    if (c >= 0x41 && c <= 0x5a) c |= 0x20;
    h ^= c;
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

export type Sighting = 'new' | 'again' | 'duplicate';

/**
 * The users read in one run, for duplicate detection, in at most 24 bytes per user: each
 * (source, anchor) is kept as a 64-bit keyed digest with a 32-bit hash of its DN, in an
 * open-addressing table, not as strings. The same anchor under the same DN is the same entry read
 * again (a reconnect pages a base again; base DNs overlap): `again`. The same anchor under another DN
 * is a real `duplicate`. Two different anchors are confused only if their digests collide: about
 * n²/2⁶⁵ per run (3 × 10⁻⁸ for a million users), and keys drawn anew each run make it a different
 * pair, if any, next run; the one user concerned would wait a cycle. 64 bits instead of 128 save 16 MB a
 * million users (the engine's memory is bounded, and this table is most of what grows with users).
 */
export class SeenAnchors {
  /** A HalfSipHash key per source, drawn when the source is first seen (see #digest). */
  readonly #keys = new Map<string, HalfSipKey>();
  #slots = new Uint32Array(INITIAL_SLOTS * SLOT_WORDS);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(source: string, anchor: string, dn: string): Sighting {
    const [a, b] = this.#digest(source, anchor);
    const dnHash = dnDigest(dn);
    const found = this.#insert(a, b, dnHash);
    if (found === undefined) {
      this.#size++;
      if (this.#size * 2 > this.#mask + 1) this.#grow();
      return 'new';
    }
    return found === dnHash ? 'again' : 'duplicate';
  }

  /** Whether this (source, anchor) was added in this run, under any DN. */
  has(source: string, anchor: string): boolean {
    const [a, b] = this.#digest(source, anchor);
    const slots = this.#slots;
    for (let i = b & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i * SLOT_WORDS;
      const first = slots[at]!;
      if (first === 0) return false;
      if (first === a && slots[at + 1] === b) return true;
    }
  }

  /**
   * The 64-bit keyed digest of (source, anchor), as two words: HalfSipHash of the anchor under its
   * source's own random key. Anchors of different sources are digested under independent keys, so
   * they collide only by chance, like any two anchors; and the anchor is hashed as it is, with no
   * string built per user (a SHA-256 of key, source and anchor through node:crypto was 7% of the
   * main thread's time in a first sync).
   */
  #digest(source: string, anchor: string): [number, number] {
    let key = this.#keys.get(source);
    if (key === undefined) {
      key = halfSipKey(randomBytes(8));
      this.#keys.set(source, key);
    }
    const digest = halfSipHash64(key, anchor);
    // A zero first word marks an empty slot, so a digest never has one.
    if (digest[0] === 0) digest[0] = 1;
    return digest;
  }

  /** Inserts, or returns the DN digest stored with an anchor already there. */
  #insert(a: number, b: number, dn: number): number | undefined {
    const slots = this.#slots;
    // The digest's own bits spread anchors evenly; linear probing keeps lookups in one cache line.
    for (let i = b & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i * SLOT_WORDS;
      const first = slots[at]!;
      if (first === 0) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = dn;
        return undefined;
      }
      if (first === a && slots[at + 1] === b) return slots[at + 2];
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = (old.length / SLOT_WORDS) * 2 - 1;
    for (let at = 0; at < old.length; at += SLOT_WORDS) {
      if (old[at] !== 0) this.#insert(old[at]!, old[at + 1]!, old[at + 2]!);
    }
  }
}

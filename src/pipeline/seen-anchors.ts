import { hash, randomBytes } from 'node:crypto';

const SLOT_WORDS = 5; // 128 bits of anchor digest, 32 bits of DN digest
const INITIAL_SLOTS = 1 << 16;

/**
 * 32-bit FNV-1a: the DN only tells "read again" from "another entry with the same anchor", so a cheap
 * hash is enough there (a collision would pass one real duplicate over as read again).
 */
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
 * The users read in one run, for duplicate detection, in at most 40 bytes per user: each
 * (source, anchor) is kept as a 128-bit keyed digest with a 32-bit hash of its DN, in an
 * open-addressing table, not as strings. The same anchor under the same DN is the same entry read
 * again (a reconnect pages a base again; base DNs overlap): `again`. The same anchor under another DN
 * is a real `duplicate`. Two different anchors would have to collide in 128 bits (about n²/2¹²⁹:
 * never, in practice) to be confused, and the per-run key makes that no one's choice.
 */
export class SeenAnchors {
  readonly #key = randomBytes(16).toString('hex');
  #slots = new Uint32Array(INITIAL_SLOTS * SLOT_WORDS);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  add(source: string, anchor: string, dn: string): Sighting {
    const [a, b, c, d] = this.#digest(source, anchor);
    const dnDigest = fnv1a(dn.toLowerCase());
    const found = this.#insert(a, b, c, d, dnDigest);
    if (found === undefined) {
      this.#size++;
      if (this.#size * 2 > this.#mask + 1) this.#grow();
      return 'new';
    }
    return found === dnDigest ? 'again' : 'duplicate';
  }

  /** Whether this (source, anchor) was added in this run, under any DN. */
  has(source: string, anchor: string): boolean {
    const [a, b, c, d] = this.#digest(source, anchor);
    const slots = this.#slots;
    for (let i = b & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i * SLOT_WORDS;
      const first = slots[at]!;
      if (first === 0) return false;
      if (first === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return true;
    }
  }

  /** The 128-bit keyed digest of (source, anchor), as four words. */
  #digest(source: string, anchor: string): [number, number, number, number] {
    // The source's length keeps ("a", "bc") apart from ("ab", "c").
    const digest = hash('sha256', `${this.#key}${source.length}:${source}${anchor}`, 'buffer');
    // A zero first word marks an empty slot, so a digest never has one.
    return [digest.readUInt32LE(0) || 1, digest.readUInt32LE(4), digest.readUInt32LE(8), digest.readUInt32LE(12)];
  }

  /** Inserts, or returns the DN digest stored with an anchor already there. */
  #insert(a: number, b: number, c: number, d: number, dn: number): number | undefined {
    const slots = this.#slots;
    // The digest's own bits spread anchors evenly; linear probing keeps lookups in one cache line.
    for (let i = b & this.#mask; ; i = (i + 1) & this.#mask) {
      const at = i * SLOT_WORDS;
      const first = slots[at]!;
      if (first === 0) {
        slots[at] = a;
        slots[at + 1] = b;
        slots[at + 2] = c;
        slots[at + 3] = d;
        slots[at + 4] = dn;
        return undefined;
      }
      if (first === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return slots[at + 4];
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = (old.length / SLOT_WORDS) * 2 - 1;
    for (let at = 0; at < old.length; at += SLOT_WORDS) {
      if (old[at] !== 0) this.#insert(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!, old[at + 4]!);
    }
  }
}

import { hash, randomBytes } from 'node:crypto';

const SLOT_WORDS = 4; // 128 bits per anchor
const INITIAL_SLOTS = 1 << 16;

/**
 * The anchors read in one run, for duplicate detection, in 32 bytes per user at most: each
 * (source, anchor) is kept as a 128-bit keyed digest in an open-addressing table, not as a string.
 * Two different anchors would have to collide in 128 bits (about n²/2¹²⁹: never, in practice) to be
 * taken for duplicates, and the per-run key makes that no one's choice.
 */
export class SeenAnchors {
  readonly #key = randomBytes(16).toString('hex');
  #slots = new Uint32Array(INITIAL_SLOTS * SLOT_WORDS);
  #mask = INITIAL_SLOTS - 1;
  #size = 0;

  get size(): number {
    return this.#size;
  }

  /** Adds the anchor; false when it was already there. */
  add(source: string, anchor: string): boolean {
    // The source's length keeps ("a", "bc") apart from ("ab", "c").
    const digest = hash('sha256', `${this.#key}${source.length}:${source}${anchor}`, 'buffer');
    // A zero first word marks an empty slot, so a digest never has one.
    const a = digest.readUInt32LE(0) || 1;
    const b = digest.readUInt32LE(4);
    const c = digest.readUInt32LE(8);
    const d = digest.readUInt32LE(12);
    if (this.#insert(a, b, c, d)) {
      this.#size++;
      if (this.#size * 2 > this.#mask + 1) this.#grow();
      return true;
    }
    return false;
  }

  #insert(a: number, b: number, c: number, d: number): boolean {
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
        return true;
      }
      if (first === a && slots[at + 1] === b && slots[at + 2] === c && slots[at + 3] === d) return false;
    }
  }

  #grow(): void {
    const old = this.#slots;
    this.#slots = new Uint32Array(old.length * 2);
    this.#mask = old.length / SLOT_WORDS * 2 - 1;
    for (let at = 0; at < old.length; at += SLOT_WORDS) {
      if (old[at] !== 0) this.#insert(old[at]!, old[at + 1]!, old[at + 2]!, old[at + 3]!);
    }
  }
}

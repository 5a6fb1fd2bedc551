/**
 * Single-block DES (FIPS 46-3), pure TypeScript.
 *
 * Why DES at all: MS-SAMR/MS-DRSR still wrap NT hashes in a fixed DES layer keyed by the account's
 * RID (see ../secret/rid-des-layer.ts). Node's OpenSSL 3 keeps DES in the legacy provider, which
 * Node does not load, so we carry our own. Only ECB on single blocks is offered: that is all the
 * protocol needs, and it keeps this file free of modes and padding.
 *
 * Speed: the 16 subkeys are derived once per key; each round is eight lookups into S-box tables
 * that already have the P permutation folded in (the usual "SP-box" trick), and the initial/final
 * permutations are byte-indexed lookup tables. All tables are built at load time from the FIPS
 * tables below, so the only hand-typed constants are the ones you can check against the standard.
 */

// FIPS 46-3 tables, 1-based bit numbers, bit 1 = most significant bit of the first byte.
const IP = [
  58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6, 64, 56, 48, 40, 32, 24,
  16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61, 53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39,
  31, 23, 15, 7,
];

const P = [16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19, 13, 30, 6, 22, 11, 4, 25];

const PC1 = [
  57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60, 52, 44, 36, 63, 55,
  47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29, 21, 13, 5, 28, 20, 12, 4,
];

const PC2 = [
  14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52, 31, 37, 47, 55, 30,
  40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

const SHIFTS = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

// S1..S8, each 4 rows of 16, row = outer bits (b1 b6), column = inner bits (b2..b5).
const S = [
  [
    14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7, 0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8, 4, 1,
    14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0, 15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13,
  ],
  [
    15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10, 3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5, 0, 14,
    7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15, 13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9,
  ],
  [
    10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8, 13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1, 13, 6,
    4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7, 1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12,
  ],
  [
    7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15, 13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9, 10, 6,
    9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4, 3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14,
  ],
  [
    2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9, 14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6, 4, 2,
    1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14, 11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3,
  ],
  [
    12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11, 10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8, 9, 14,
    15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6, 4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13,
  ],
  [
    4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1, 13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6, 1, 4,
    11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2, 6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12,
  ],
  [
    13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7, 1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2, 7, 11,
    4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8, 2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11,
  ],
];

/** SP[box * 64 + six input bits] = the S-box output already moved to its place by P. */
const SP = buildSpBoxes();

/**
 * A 64-bit permutation as byte tables: for input byte i and value v, the bits v contributes to the
 * output's high and low words. Permuting a block is then 8 lookups per half instead of 64 bit moves.
 */
const IP_TABLE = buildPermutationTable(IP);
const FP_TABLE = buildPermutationTable(inversePermutation(IP));

function buildSpBoxes(): Int32Array {
  // Where each S-box output bit (1..32, before P) lands after P: P[k] is the source of output k+1.
  const destOf = new Array<number>(33).fill(0);
  for (let k = 0; k < 32; k++) destOf[P[k]!] = k + 1;
  const sp = new Int32Array(8 * 64);
  for (let box = 0; box < 8; box++) {
    const table = S[box]!;
    for (let six = 0; six < 64; six++) {
      const row = ((six >> 4) & 2) | (six & 1);
      const col = (six >> 1) & 15;
      const out4 = table[row * 16 + col]!;
      let word = 0;
      for (let b = 0; b < 4; b++) {
        if (((out4 >> (3 - b)) & 1) === 0) continue;
        const sourceBit = box * 4 + b + 1;
        word |= 1 << (32 - destOf[sourceBit]!);
      }
      sp[box * 64 + six] = word;
    }
  }
  return sp;
}

function inversePermutation(perm: readonly number[]): number[] {
  const inverse = new Array<number>(perm.length).fill(0);
  for (let k = 0; k < perm.length; k++) inverse[perm[k]! - 1] = k + 1;
  return inverse;
}

function buildPermutationTable(perm: readonly number[]): Int32Array {
  // Layout: [(byteIndex * 256 + value) * 2] = high word, [... + 1] = low word.
  const table = new Int32Array(8 * 256 * 2);
  for (let out = 0; out < 64; out++) {
    const src = perm[out]! - 1;
    const byteIndex = src >> 3;
    const bitMask = 0x80 >> (src & 7);
    const wordIndex = out < 32 ? 0 : 1;
    const outMask = 1 << (31 - (out & 31));
    for (let v = 0; v < 256; v++) {
      if ((v & bitMask) !== 0) table[(byteIndex * 256 + v) * 2 + wordIndex]! |= outMask;
    }
  }
  return table;
}

function permute(table: Int32Array, b0: number, b1: number, b2: number, b3: number, b4: number, b5: number, b6: number, b7: number, out: Int32Array): void {
  let hi = 0;
  let lo = 0;
  let at = b0 * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (256 + b1) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (512 + b2) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (768 + b3) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (1024 + b4) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (1280 + b5) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (1536 + b6) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  at = (1792 + b7) * 2;
  hi |= table[at]!; lo |= table[at + 1]!;
  out[0] = hi;
  out[1] = lo;
}

/**
 * The 16 round keys, each as eight 6-bit groups (one per S-box), in encryption order. Kept as
 * groups so a round XORs them straight into the S-box index.
 */
function keySchedule(key8: Uint8Array): Uint8Array {
  const bit = (n: number): number => (key8[(n - 1) >> 3]! >> (7 - ((n - 1) & 7))) & 1;
  // C and D as 28-bit numbers, bit 1 of each in the high position.
  let c = 0;
  let d = 0;
  for (let k = 0; k < 28; k++) c = (c << 1) | bit(PC1[k]!);
  for (let k = 28; k < 56; k++) d = (d << 1) | bit(PC1[k]!);
  const groups = new Uint8Array(16 * 8);
  for (let round = 0; round < 16; round++) {
    const s = SHIFTS[round]!;
    c = ((c << s) | (c >>> (28 - s))) & 0x0fffffff;
    d = ((d << s) | (d >>> (28 - s))) & 0x0fffffff;
    const cdBit = (n: number): number => (n <= 28 ? (c >>> (28 - n)) & 1 : (d >>> (56 - n)) & 1);
    for (let g = 0; g < 8; g++) {
      let six = 0;
      for (let k = 0; k < 6; k++) six = (six << 1) | cdBit(PC2[g * 6 + k]!);
      groups[round * 8 + g] = six;
    }
  }
  return groups;
}

/**
 * DES single-block cipher. The key schedule is computed once in the constructor; encryptBlock and
 * decryptBlock then allocate nothing. src and dst may be the same buffer (even the same offset).
 */
export class Des {
  readonly #subkeys: Uint8Array;
  readonly #halves = new Int32Array(2);

  /** `key8` is 8 bytes; the low bit of each byte (parity) is ignored, as FIPS 46-3 says. */
  constructor(key8: Uint8Array) {
    if (key8.length !== 8) throw new RangeError(`a DES key is 8 bytes (${key8.length})`);
    this.#subkeys = keySchedule(key8);
  }

  encryptBlock(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    this.#crypt(src, srcOff, dst, dstOff, false);
  }

  decryptBlock(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number): void {
    this.#crypt(src, srcOff, dst, dstOff, true);
  }

  /** Overwrites the round keys, for callers that want key material gone when they are done. */
  wipe(): void {
    this.#subkeys.fill(0);
    this.#halves.fill(0);
  }

  #crypt(src: Uint8Array, srcOff: number, dst: Uint8Array, dstOff: number, decrypt: boolean): void {
    if (!Number.isInteger(srcOff) || srcOff < 0 || srcOff + 8 > src.length) throw new RangeError('DES source block out of range');
    if (!Number.isInteger(dstOff) || dstOff < 0 || dstOff + 8 > dst.length) throw new RangeError('DES destination block out of range');
    const halves = this.#halves;
    permute(IP_TABLE, src[srcOff]!, src[srcOff + 1]!, src[srcOff + 2]!, src[srcOff + 3]!, src[srcOff + 4]!, src[srcOff + 5]!, src[srcOff + 6]!, src[srcOff + 7]!, halves);
    let l = halves[0]!;
    let r = halves[1]!;
    const k = this.#subkeys;
    for (let round = 0; round < 16; round++) {
      const base = (decrypt ? 15 - round : round) * 8;
      // E expands R into eight overlapping 6-bit groups: group g is bits 4g..4g+5 (bit 0 = bit 32),
      // which is what a left rotation by 4g+5 leaves in the low six bits.
      const f =
        SP[0 * 64 + ((((r << 5) | (r >>> 27)) & 0x3f) ^ k[base]!)]! |
        SP[1 * 64 + ((((r << 9) | (r >>> 23)) & 0x3f) ^ k[base + 1]!)]! |
        SP[2 * 64 + ((((r << 13) | (r >>> 19)) & 0x3f) ^ k[base + 2]!)]! |
        SP[3 * 64 + ((((r << 17) | (r >>> 15)) & 0x3f) ^ k[base + 3]!)]! |
        SP[4 * 64 + ((((r << 21) | (r >>> 11)) & 0x3f) ^ k[base + 4]!)]! |
        SP[5 * 64 + ((((r << 25) | (r >>> 7)) & 0x3f) ^ k[base + 5]!)]! |
        SP[6 * 64 + ((((r << 29) | (r >>> 3)) & 0x3f) ^ k[base + 6]!)]! |
        SP[7 * 64 + ((((r << 1) | (r >>> 31)) & 0x3f) ^ k[base + 7]!)]!;
      const next = l ^ f;
      l = r;
      r = next;
    }
    // The last round does not swap, so the pre-output block is R16 L16.
    permute(FP_TABLE, (r >>> 24) & 0xff, (r >>> 16) & 0xff, (r >>> 8) & 0xff, r & 0xff, (l >>> 24) & 0xff, (l >>> 16) & 0xff, (l >>> 8) & 0xff, l & 0xff, halves);
    const hi = halves[0]!;
    const lo = halves[1]!;
    dst[dstOff] = hi >>> 24;
    dst[dstOff + 1] = hi >>> 16;
    dst[dstOff + 2] = hi >>> 8;
    dst[dstOff + 3] = hi;
    dst[dstOff + 4] = lo >>> 24;
    dst[dstOff + 5] = lo >>> 16;
    dst[dstOff + 6] = lo >>> 8;
    dst[dstOff + 7] = lo;
    halves.fill(0);
  }
}

/**
 * Spreads a 56-bit key (7 bytes) over the 8 bytes DES takes: 7 key bits per byte, high bits first,
 * the low bit of each byte left 0. That low bit is the parity bit, which DES ignores; we leave it
 * clear as Samba's str_to_key and impacket's transformKey do, so keys compare equal with theirs.
 */
export function desKeyFrom56(key7: Uint8Array): Uint8Array {
  if (key7.length !== 7) throw new RangeError(`a 56-bit DES key is 7 bytes (${key7.length})`);
  const k0 = key7[0]!;
  const k1 = key7[1]!;
  const k2 = key7[2]!;
  const k3 = key7[3]!;
  const k4 = key7[4]!;
  const k5 = key7[5]!;
  const k6 = key7[6]!;
  const out = new Uint8Array(8);
  out[0] = k0 & 0xfe;
  out[1] = ((k0 << 7) | (k1 >> 1)) & 0xfe;
  out[2] = ((k1 << 6) | (k2 >> 2)) & 0xfe;
  out[3] = ((k2 << 5) | (k3 >> 3)) & 0xfe;
  out[4] = ((k3 << 4) | (k4 >> 4)) & 0xfe;
  out[5] = ((k4 << 3) | (k5 >> 5)) & 0xfe;
  out[6] = ((k5 << 2) | (k6 >> 6)) & 0xfe;
  out[7] = (k6 << 1) & 0xfe;
  return out;
}

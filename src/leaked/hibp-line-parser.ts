import { HEX_DIGIT_VALUES } from '../util/hex-digits.ts';

/**
 * Parses Have I Been Pwned "Pwned Passwords" NTLM lines, `HASH:COUNT`, straight from read buffers:
 * no string per line (the real list has ~850 million). A full file has 32-hex-digit hashes; a range
 * file `XXXXX.txt` has the 27 digits after its 5-digit prefix (full lines starting with the prefix are
 * accepted there too). Lines end in LF or CRLF; blank lines are skipped; anything else that is not a
 * hash and a decimal count >= 1 is reported as malformed, with its line number, and skipped.
 *
 * The common line takes a fast path that decodes the hex by table while it finds the line's end; any
 * line the fast path does not like goes through the slow path, which finds the newline and says what
 * is wrong. A line longer than MAX_LINE_BYTES (binary junk without newlines) is reported once and
 * skipped up to its newline, so a reader never carries more than MAX_LINE_BYTES between reads.
 */
export const MAX_LINE_BYTES = 4096;

export interface HashSink {
  /** One valid line: the 16-byte hash (a scratch buffer, copy it) and its count saturated at 65535. */
  add(hash: Uint8Array, count: number): void;
}

export interface MalformedSink {
  (line: number, reason: string): void;
}

const NL = 10;
const CR = 13;
const COLON = 58;
const COUNT_CAP = 65_535;

/** Hex digit value by byte, -1 for anything else. */
const HEX = HEX_DIGIT_VALUES;

export interface ParserPosition {
  /** The number of the next line (1-based). */
  readonly line: number;
  /** In the middle of skipping an over-long line. */
  readonly skipping: boolean;
}

export class HibpLineParser {
  /** Valid lines, blank lines and malformed lines parsed so far (the number of the next line − first). */
  #line: number;
  #skipping: boolean;
  readonly #sink: HashSink;
  readonly #malformed: MalformedSink;
  /** For a range file: its 5 prefix digits' values and as text; undefined for a full file. */
  readonly #prefix: Int8Array | undefined;
  readonly #prefixText: string;
  readonly #hash = new Uint8Array(16);

  constructor(options: { prefix?: string | undefined; sink: HashSink; malformed: MalformedSink; from?: ParserPosition }) {
    this.#sink = options.sink;
    this.#malformed = options.malformed;
    this.#line = options.from?.line ?? 1;
    this.#skipping = options.from?.skipping ?? false;
    this.#prefixText = (options.prefix ?? '').toUpperCase();
    if (options.prefix === undefined) this.#prefix = undefined;
    else {
      if (!/^[0-9A-F]{5}$/u.test(this.#prefixText)) throw new RangeError(`a range prefix is 5 hex digits, got ${JSON.stringify(options.prefix)}`);
      this.#prefix = Int8Array.from(this.#prefixText, (c) => HEX[c.charCodeAt(0)]!);
    }
  }

  get position(): ParserPosition {
    return { line: this.#line, skipping: this.#skipping };
  }

  /**
   * Parses the complete lines of buf[start, end) and returns where the incomplete last line begins
   * (end when there is none): the caller keeps those bytes in front of the next read.
   */
  parse(buf: Buffer, start: number, end: number): number {
    let s = start;
    if (this.#skipping) {
      const nl = buf.indexOf(NL, s);
      if (nl < 0 || nl >= end) return end;
      this.#skipping = false;
      this.#line++;
      s = nl + 1;
    }
    const full = this.#prefix === undefined;
    while (s < end) {
      const next = full ? this.#fastFull(buf, s, end) : this.#fastRange(buf, s, end);
      if (next > 0) {
        s = next;
        continue;
      }
      if (next === 0) break; // incomplete line
      const nl = buf.indexOf(NL, s);
      if (nl < 0 || nl >= end) break;
      this.#slow(buf, s, nl > s && buf[nl - 1] === CR ? nl - 1 : nl);
      this.#line++;
      s = nl + 1;
    }
    if (end - s > MAX_LINE_BYTES) {
      this.#malformed(this.#line, `line longer than ${MAX_LINE_BYTES} bytes`);
      this.#skipping = true;
      return end;
    }
    return s;
  }

  /** The file's last line, which has no newline (the bytes the last parse() left). */
  finish(buf: Buffer, start: number, end: number): void {
    if (this.#skipping) {
      this.#skipping = false;
      this.#line++;
      return;
    }
    if (start >= end) return;
    this.#slow(buf, start, buf[end - 1] === CR ? end - 1 : end);
    this.#line++;
  }

  /**
   * A 32-digit line at s: the offset after its newline, 0 when the buffer ends inside it, -1 when the
   * slow path must look at it (which also finds whether a short line is complete).
   */
  #fastFull(buf: Buffer, s: number, end: number): number {
    if (s + 34 > end) return -1;
    const hash = this.#hash;
    let bad = 0;
    for (let i = 0, p = s; i < 16; i++, p += 2) {
      const hi = HEX[buf[p]!]!;
      const lo = HEX[buf[p + 1]!]!;
      bad |= hi | lo;
      hash[i] = (hi << 4) | lo;
    }
    if (bad < 0 || buf[s + 32] !== COLON) return -1;
    return this.#count(buf, s + 33, end);
  }

  /** A 27-digit line of a range file at s: as #fastFull. */
  #fastRange(buf: Buffer, s: number, end: number): number {
    if (s + 29 > end) return -1;
    const prefix = this.#prefix!;
    const hash = this.#hash;
    hash[0] = (prefix[0]! << 4) | prefix[1]!;
    hash[1] = (prefix[2]! << 4) | prefix[3]!;
    const third = HEX[buf[s]!]!;
    let bad = third;
    hash[2] = (prefix[4]! << 4) | third;
    for (let i = 3, p = s + 1; i < 16; i++, p += 2) {
      const hi = HEX[buf[p]!]!;
      const lo = HEX[buf[p + 1]!]!;
      bad |= hi | lo;
      hash[i] = (hi << 4) | lo;
    }
    if (bad < 0 || buf[s + 27] !== COLON) return -1;
    return this.#count(buf, s + 28, end);
  }

  /** The count of a line whose hash is decoded, digits from p: as #fastFull, and adds the hash. */
  #count(buf: Buffer, from: number, end: number): number {
    let p = from;
    let count = 0;
    while (p < end) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) break;
      if (count < COUNT_CAP) count = count * 10 + d;
      p++;
    }
    if (p === end) return 0;
    if (p === from || count === 0) return -1;
    if (buf[p] === CR) {
      p++;
      if (p === end) return 0;
    }
    if (buf[p] !== NL) return -1;
    this.#sink.add(this.#hash, count > COUNT_CAP ? COUNT_CAP : count);
    this.#line++;
    return p + 1;
  }

  /** Line [s, e) without its line end, which the fast path refused or could not see the end of. */
  #slow(buf: Buffer, s: number, e: number): void {
    if (s === e) return;
    // Said the same whether the line came whole in one read or not.
    const why = e - s > MAX_LINE_BYTES ? `line longer than ${MAX_LINE_BYTES} bytes` : this.#decode(buf, s, e);
    if (why !== undefined) this.#malformed(this.#line, why);
  }

  /** Decodes line [s, e) into the hash and adds it, or says what is wrong with it. */
  #decode(buf: Buffer, s: number, e: number): string | undefined {
    let colon = -1;
    for (let p = s; p < e; p++) {
      if (buf[p] === COLON) {
        colon = p;
        break;
      }
    }
    const digits = colon < 0 ? e - s : colon - s;
    const allHex = (from: number, to: number): boolean => {
      for (let p = from; p < to; p++) if (HEX[buf[p]!]! < 0) return false;
      return true;
    };
    const prefix = this.#prefix;
    const expected = prefix === undefined ? '32' : '27 (or 32)';
    const lengthOk = digits === 32 || (prefix !== undefined && digits === 27);
    if (colon < 0) {
      if (lengthOk && allHex(s, e)) return 'missing count (no ":COUNT" after the hash)';
      return `not HASH:COUNT (no ":" separator)`;
    }
    if (!lengthOk) return `hash has ${digits} characters, expected ${expected} hex digits`;
    if (!allHex(s, colon)) return 'hash is not hexadecimal';
    if (colon + 1 === e) return 'missing count (nothing after ":")';
    let count = 0;
    for (let p = colon + 1; p < e; p++) {
      const d = buf[p]! - 48;
      if (d < 0 || d > 9) return 'count is not a number';
      if (count < COUNT_CAP) count = count * 10 + d;
    }
    if (count === 0) return 'count is 0';
    const hash = this.#hash;
    const lead = prefix === undefined || digits === 32 ? 0 : 5;
    const nibble = (j: number): number => (j < lead ? prefix![j]! : HEX[buf[s + j - lead]!]!);
    if (prefix !== undefined && digits === 32) {
      for (let j = 0; j < 5; j++) if (nibble(j) !== prefix[j]) return `hash does not start with the file's prefix ${this.#prefixText}`;
    }
    for (let i = 0; i < 16; i++) hash[i] = (nibble(2 * i) << 4) | nibble(2 * i + 1);
    this.#sink.add(hash, count > COUNT_CAP ? COUNT_CAP : count);
    return undefined;
  }
}

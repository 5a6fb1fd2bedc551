import { NdrError } from './ndr-error.ts';

/**
 * NDR decoding (see ndr-writer.ts). Every read is bounds-checked and fails with NdrError naming the
 * offset, so a short or hostile reply is an error, never a wrong value. Byte arrays are views into
 * the stub, not copies: a caller that keeps one past the stub's life copies it.
 */
export class NdrReader {
  readonly #buf: Buffer;
  #at: number;

  constructor(buf: Buffer, offset = 0) {
    this.#buf = buf;
    this.#at = offset;
  }

  get offset(): number {
    return this.#at;
  }

  get remaining(): number {
    return this.#buf.length - this.#at;
  }

  #take(n: number, what: string): number {
    const at = this.#at;
    if (n < 0 || at + n > this.#buf.length) throw new NdrError(`NDR: ${what} at offset ${at} runs past the end of the ${this.#buf.length}-byte stub`);
    this.#at = at + n;
    return at;
  }

  align(n: 2 | 4 | 8): this {
    const pad = (n - (this.#at % n)) % n;
    if (pad > 0) this.#take(pad, 'alignment');
    return this;
  }

  u8(): number {
    return this.#buf.readUInt8(this.#take(1, 'uint8'));
  }

  u16(): number {
    this.align(2);
    return this.#buf.readUInt16LE(this.#take(2, 'uint16'));
  }

  u32(): number {
    this.align(4);
    return this.#buf.readUInt32LE(this.#take(4, 'uint32'));
  }

  i32(): number {
    this.align(4);
    return this.#buf.readInt32LE(this.#take(4, 'int32'));
  }

  u64(): bigint {
    this.align(8);
    return this.#buf.readBigUInt64LE(this.#take(8, 'uint64'));
  }

  i64(): bigint {
    this.align(8);
    return this.#buf.readBigInt64LE(this.#take(8, 'int64'));
  }

  bytes(n: number, what = 'bytes'): Buffer {
    const at = this.#take(n, what);
    return this.#buf.subarray(at, at + n);
  }

  guid(): Buffer {
    this.align(4);
    return this.bytes(16, 'GUID');
  }

  /** A unique or full pointer: true when a referent follows (in the deferred part). */
  pointer(): boolean {
    return this.u32() !== 0;
  }

  /**
   * An array's conformance or variance count, refused past `max` elements of `elementBytes` each
   * before anything is allocated for it: a hostile count must not make the decoder reserve gigabytes.
   */
  count(what: string, elementBytes = 1, max = 0x7fff_ffff): number {
    const at = this.#at;
    const n = this.u32();
    if (n > max || n * elementBytes > this.remaining) throw new NdrError(`NDR: ${what} at offset ${at} claims ${n} elements, more than the stub holds`);
    return n;
  }

  /** A conformant and varying UTF-16 string ([string] wchar_t*), without its terminating NUL. */
  wideString(what = 'string'): string {
    const max = this.count(`${what} (maximum count)`, 0);
    const offset = this.u32();
    const actual = this.count(`${what} (actual count)`, 2);
    if (offset !== 0 || actual > max) throw new NdrError(`NDR: ${what} has offset ${offset} and ${actual} of ${max} elements`);
    const text = this.bytes(actual * 2, what).toString('utf16le');
    return text.endsWith('\0') ? text.slice(0, -1) : text;
  }
}

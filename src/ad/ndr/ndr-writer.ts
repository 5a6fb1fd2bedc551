/**
 * NDR (transfer syntax 8a885d04-1ceb-11c9-9fe8-08002b104860 v2, little-endian) encoding, as DCE/RPC
 * carries it (C706 chapter 14; MS-RPCE 2.2.5). Only the primitives: each message module lays out its
 * own structures, scalars first and the referents of embedded pointers after, as NDR orders them.
 * Alignment is relative to the start of the stub, which is why a writer is one stub.
 */
export class NdrWriter {
  #buf: Buffer;
  #len = 0;
  #nextReferent = 0x20000;

  constructor(initialBytes = 256) {
    this.#buf = Buffer.alloc(initialBytes);
  }

  get length(): number {
    return this.#len;
  }

  #room(n: number): number {
    const at = this.#len;
    if (at + n > this.#buf.length) {
      const grown = Buffer.alloc(Math.max(this.#buf.length * 2, at + n));
      this.#buf.copy(grown, 0, 0, at);
      this.#buf = grown;
    }
    this.#len = at + n;
    return at;
  }

  align(n: 2 | 4 | 8): this {
    const pad = (n - (this.#len % n)) % n;
    if (pad > 0) {
      const at = this.#room(pad);
      this.#buf.fill(0, at, this.#len);
    }
    return this;
  }

  u8(v: number): this {
    const at = this.#room(1);
    this.#buf.writeUInt8(v, at);
    return this;
  }

  u16(v: number): this {
    this.align(2);
    const at = this.#room(2);
    this.#buf.writeUInt16LE(v, at);
    return this;
  }

  u32(v: number): this {
    this.align(4);
    const at = this.#room(4);
    this.#buf.writeUInt32LE(v >>> 0, at);
    return this;
  }

  i32(v: number): this {
    this.align(4);
    const at = this.#room(4);
    this.#buf.writeInt32LE(v, at);
    return this;
  }

  u64(v: bigint): this {
    this.align(8);
    const at = this.#room(8);
    this.#buf.writeBigUInt64LE(v, at);
    return this;
  }

  i64(v: bigint): this {
    this.align(8);
    const at = this.#room(8);
    this.#buf.writeBigInt64LE(v, at);
    return this;
  }

  /** Raw bytes, no alignment (byte arrays, and the body of a GUID after `guid` aligned it). */
  bytes(b: Uint8Array): this {
    const at = this.#room(b.length);
    this.#buf.set(b, at);
    return this;
  }

  /** A GUID in its wire form (16 bytes, already in little-endian field order), aligned as its first uint32. */
  guid(g: Uint8Array): this {
    if (g.length !== 16) throw new RangeError(`a GUID is 16 bytes (${g.length})`);
    return this.align(4).bytes(g);
  }

  /**
   * A unique or full pointer's referent id: 0 for NULL, else a fresh non-zero id. Returns whether the
   * referent must follow (in the deferred part, after the enclosing structure's scalars).
   */
  pointer(present: boolean): boolean {
    if (!present) {
      this.u32(0);
      return false;
    }
    this.u32(this.#nextReferent);
    this.#nextReferent += 4;
    return true;
  }

  /** A conformant and varying string of UTF-16 code units with its terminating NUL ([string] wchar_t*). */
  wideString(s: string): this {
    const units = s.length + 1;
    this.u32(units).u32(0).u32(units);
    const bytes = Buffer.from(`${s}\0`, 'utf16le');
    return this.bytes(bytes);
  }

  /** The encoded stub (a copy: the writer may be reused). */
  finish(): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#len));
  }
}

/**
 * RC4 as a stream whose state carries over between calls. NTLM sealing (MS-NLMP 3.4.3) and the
 * replicated-secret layer (MS-DRSR 4.1.10.6.13) need it, and Node's OpenSSL 3 only has it in the
 * legacy provider, which Node does not load.
 */
export class Rc4 {
  readonly #s = new Uint8Array(256);
  #i = 0;
  #j = 0;

  constructor(key: Uint8Array) {
    if (key.length === 0 || key.length > 256) throw new RangeError(`an RC4 key is 1 to 256 bytes (${key.length})`);
    const s = this.#s;
    for (let i = 0; i < 256; i++) s[i] = i;
    let j = 0;
    for (let i = 0; i < 256; i++) {
      const si = s[i]!;
      j = (j + si + key[i % key.length]!) & 0xff;
      s[i] = s[j]!;
      s[j] = si;
    }
  }

  /** XORs the next `data.length` bytes of the key stream into `data`, in place, and returns it. */
  process<T extends Uint8Array>(data: T): T {
    const s = this.#s;
    let i = this.#i;
    let j = this.#j;
    for (let n = 0; n < data.length; n++) {
      i = (i + 1) & 0xff;
      const si = s[i]!;
      j = (j + si) & 0xff;
      const sj = s[j]!;
      s[i] = sj;
      s[j] = si;
      data[n] = data[n]! ^ s[(si + sj) & 0xff]!;
    }
    this.#i = i;
    this.#j = j;
    return data;
  }
}

/** One-shot RC4 of a copy of `data`. */
export function rc4(key: Uint8Array, data: Uint8Array): Buffer {
  return new Rc4(key).process(Buffer.from(data));
}

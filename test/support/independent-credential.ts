import { createHmac } from 'node:crypto';

/**
 * An independent implementation of the credential for cross-checking: MD4 written out from RFC 1320
 * (not hash-wasm), PBKDF2 written out from RFC 8018 over HMAC-SHA256 (not pbkdf2Sync), and the
 * credential string parsed with its own code. Slow and simple on purpose.
 */
function md4(message: Buffer): Buffer {
  const rotl = (x: number, n: number): number => (x << n) | (x >>> (32 - n));
  const bitLength = message.length * 8;
  const padded = Buffer.alloc(Math.ceil((message.length + 9) / 64) * 64);
  message.copy(padded);
  padded[message.length] = 0x80;
  padded.writeUInt32LE(bitLength >>> 0, padded.length - 8);
  padded.writeUInt32LE(Math.floor(bitLength / 2 ** 32), padded.length - 4);
  let a = 0x67452301, b = 0xefcdab89, c = 0x98badcfe, d = 0x10325476;
  const F = (x: number, y: number, z: number): number => (x & y) | (~x & z);
  const G = (x: number, y: number, z: number): number => (x & y) | (x & z) | (y & z);
  const H = (x: number, y: number, z: number): number => x ^ y ^ z;
  for (let off = 0; off < padded.length; off += 64) {
    const X = Array.from({ length: 16 }, (_, i) => padded.readUInt32LE(off + i * 4));
    const [aa, bb, cc, dd] = [a, b, c, d];
    for (const i of [0, 4, 8, 12]) {
      a = rotl((a + F(b, c, d) + X[i]!) | 0, 3);
      d = rotl((d + F(a, b, c) + X[i + 1]!) | 0, 7);
      c = rotl((c + F(d, a, b) + X[i + 2]!) | 0, 11);
      b = rotl((b + F(c, d, a) + X[i + 3]!) | 0, 19);
    }
    for (const i of [0, 1, 2, 3]) {
      a = rotl((a + G(b, c, d) + X[i]! + 0x5a827999) | 0, 3);
      d = rotl((d + G(a, b, c) + X[i + 4]! + 0x5a827999) | 0, 5);
      c = rotl((c + G(d, a, b) + X[i + 8]! + 0x5a827999) | 0, 9);
      b = rotl((b + G(c, d, a) + X[i + 12]! + 0x5a827999) | 0, 13);
    }
    for (const i of [0, 2, 1, 3]) {
      a = rotl((a + H(b, c, d) + X[i]! + 0x6ed9eba1) | 0, 3);
      d = rotl((d + H(a, b, c) + X[i + 8]! + 0x6ed9eba1) | 0, 9);
      c = rotl((c + H(d, a, b) + X[i + 4]! + 0x6ed9eba1) | 0, 11);
      b = rotl((b + H(c, d, a) + X[i + 12]! + 0x6ed9eba1) | 0, 15);
    }
    a = (a + aa) | 0;
    b = (b + bb) | 0;
    c = (c + cc) | 0;
    d = (d + dd) | 0;
  }
  const out = Buffer.alloc(16);
  [a, b, c, d].forEach((v, i) => out.writeInt32LE(v, i * 4));
  return out;
}

function pbkdf2HmacSha256(password: Buffer, salt: Buffer, iterations: number): Buffer {
  // One block is enough: the output is 32 bytes, the size of one HMAC-SHA256.
  let u = createHmac('sha256', password).update(Buffer.concat([salt, Buffer.from([0, 0, 0, 1])])).digest();
  const t = Buffer.from(u);
  for (let i = 1; i < iterations; i++) {
    u = createHmac('sha256', password).update(u).digest();
    for (let j = 0; j < t.length; j++) t[j]! ^= u[j]!;
  }
  return t;
}

export function independentNtHash(password: string): Buffer {
  return md4(Buffer.from(password, 'utf16le'));
}

/** True when `credential` is the credential of `password`. */
export function independentlyVerifies(credential: string, password: string): boolean {
  const parts = credential.split(',');
  if (parts.length !== 4 || parts[0] !== 'v1;PPH1_MD4' || !parts[3]!.endsWith(';')) return false;
  const salt = Buffer.from(parts[1]!, 'hex');
  const iterations = Number.parseInt(parts[2]!, 10);
  const expected = parts[3]!.slice(0, -1);
  const input = Buffer.from(independentNtHash(password).toString('hex').toUpperCase(), 'utf16le');
  return pbkdf2HmacSha256(input, salt, iterations).toString('hex') === expected;
}

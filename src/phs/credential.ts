import { pbkdf2Sync, timingSafeEqual } from 'node:crypto';

/**
 * The password hash sync credential, bit-exact with the reference system:
 *
 *   pbkdf2Input = UTF-16LE(UPPERCASE hex of ntHash)          64 bytes
 *   hash        = PBKDF2-HMAC-SHA256(pbkdf2Input, salt, iterations, 32)
 *   credential  = "v1;PPH1_MD4," + hex(salt) + "," + iterations + "," + hex(hash) + ";"
 */
export const NT_HASH_BYTES = 16;
export const SALT_BYTES = 10;
export const HASH_BYTES = 32;
export const PBKDF2_INPUT_BYTES = 64;
export const DEFAULT_ITERATIONS = 1000;

const PREFIX = 'v1;PPH1_MD4,';
// Lowercase hex for salt and hash, a decimal iteration count, and the trailing ';'.
const CREDENTIAL_PATTERN = /^v1;PPH1_MD4,([0-9a-f]{20}),([1-9][0-9]{0,6}),([0-9a-f]{64});$/;
const UPPER_HEX = '0123456789ABCDEF';

export interface ParsedCredential {
  readonly salt: Buffer;
  readonly iterations: number;
  readonly hash: Buffer;
}

/**
 * Writes UTF-16LE(UPPERCASE hex(ntHash)) into `out` at `offset` (64 bytes). Hex digits are ASCII, so
 * each UTF-16LE code unit is the digit followed by a zero byte.
 */
export function writePbkdf2Input(ntHash: Uint8Array, out: Uint8Array, offset = 0): void {
  if (ntHash.length !== NT_HASH_BYTES) throw new RangeError(`an NT hash has ${NT_HASH_BYTES} bytes, got ${ntHash.length}`);
  for (let i = 0; i < NT_HASH_BYTES; i++) {
    const byte = ntHash[i]!;
    const at = offset + i * 4;
    out[at] = UPPER_HEX.charCodeAt(byte >>> 4);
    out[at + 1] = 0;
    out[at + 2] = UPPER_HEX.charCodeAt(byte & 0x0f);
    out[at + 3] = 0;
  }
}

export function pbkdf2Input(ntHash: Uint8Array): Buffer {
  const out = Buffer.alloc(PBKDF2_INPUT_BYTES);
  writePbkdf2Input(ntHash, out);
  return out;
}

/** The reference computation, one user at a time; the hash kernels must agree with it. */
export function deriveHash(ntHash: Uint8Array, salt: Uint8Array, iterations = DEFAULT_ITERATIONS): Buffer {
  const input = pbkdf2Input(ntHash);
  try {
    return pbkdf2Sync(input, salt, iterations, HASH_BYTES, 'sha256');
  } finally {
    input.fill(0);
  }
}

export function formatCredential(salt: Uint8Array, iterations: number, hash: Uint8Array): string {
  if (salt.length !== SALT_BYTES) throw new RangeError(`a salt has ${SALT_BYTES} bytes, got ${salt.length}`);
  if (hash.length !== HASH_BYTES) throw new RangeError(`a hash has ${HASH_BYTES} bytes, got ${hash.length}`);
  return `${PREFIX}${Buffer.from(salt.buffer, salt.byteOffset, salt.length).toString('hex')},${iterations},${Buffer.from(hash.buffer, hash.byteOffset, hash.length).toString('hex')};`;
}

/** Returns undefined for anything that is not a well-formed credential. */
export function parseCredential(credential: string): ParsedCredential | undefined {
  const match = CREDENTIAL_PATTERN.exec(credential);
  if (match === null) return undefined;
  return {
    salt: Buffer.from(match[1]!, 'hex'),
    iterations: Number(match[2]),
    hash: Buffer.from(match[3]!, 'hex'),
  };
}

/** Recomputes the credential from an NT hash with the stored salt and iterations; constant-time compare. */
export function verifyCredential(credential: string, ntHash: Uint8Array): boolean {
  const parsed = parseCredential(credential);
  if (parsed === undefined) return false;
  const computed = deriveHash(ntHash, parsed.salt, parsed.iterations);
  return timingSafeEqual(computed, parsed.hash);
}

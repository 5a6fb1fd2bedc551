import { HEX_DIGIT_VALUES } from '../util/hex-digits.ts';
import { NT_HASH_BYTES } from './credential.ts';

/**
 * An NT hash written as 32 hex digits (either case; nothing else, no spaces), as its 16 bytes in an
 * array of their own; undefined for any other text.
 *
 * One pass that checks and decodes, per user read from a directory. `Buffer.from(text, 'hex')`
 * after a regular expression took 4–5 times as long, and its bytes came from Node's shared buffer
 * pool: a copy of the hash that the caller's wipe (fill(0) once the hash is used) never reached.
 */
export function parseHexNtHash(text: string): Uint8Array | undefined {
  if (text.length !== NT_HASH_BYTES * 2) return undefined;
  const bytes = new Uint8Array(NT_HASH_BYTES);
  for (let i = 0; i < NT_HASH_BYTES; i++) {
    const high = text.charCodeAt(2 * i);
    const low = text.charCodeAt(2 * i + 1);
    const value = ((high < 0x100 ? HEX_DIGIT_VALUES[high]! : -1) << 4) | (low < 0x100 ? HEX_DIGIT_VALUES[low]! : -1);
    if (value < 0) {
      bytes.fill(0);
      return undefined;
    }
    bytes[i] = value;
  }
  return bytes;
}

import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { FatalError } from '../errors.ts';
import { loadNativeAddon } from '../hash/native-kernel.ts';
import type { NativeAddon } from '../hash/native-kernel.ts';
import { NT_HASH_BYTES } from '../phs/credential.ts';

const KEY_BYTES = 32;

/**
 * The key of the NT hash fingerprints lives in its own file (mode 0600) beside the state store, so
 * that a copy of the state store alone cannot be used to test password guesses against the
 * fingerprints. Losing the key only costs a full resync: every fingerprint then looks changed.
 */
export function loadOrCreateFingerprintKey(statePath: string): Buffer {
  const path = `${statePath}.key`;
  try {
    const key = Buffer.from(readFileSync(path, 'utf8').trim(), 'hex');
    if (key.length !== KEY_BYTES) throw new FatalError('STATE_KEY_INVALID', `fingerprint key ${path} is not ${KEY_BYTES} bytes of hex`);
    return key;
  } catch (err) {
    if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
  }
  const key = randomBytes(KEY_BYTES);
  // 'wx': two engines racing to create the key must not overwrite each other's.
  writeFileSync(path, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}

export interface Fingerprinter {
  (ntHash: Uint8Array): Buffer;
  /** The fingerprints of many NT hashes (16 bytes each) at once, in order: a window of users. */
  many(ntHashes: readonly Uint8Array[]): Buffer[];
}

const FINGERPRINT_BYTES = 16;

/** HMAC-SHA256(key, ntHash), truncated to 16 bytes: enough to tell a change, useless without the key. */
export function fingerprinter(key: Buffer, options: { readonly native?: boolean } = {}): Fingerprinter {
  // A KeyObject made once: createHmac with a raw Buffer key re-imports the key on every call (~6×
  // slower), and this runs once per user.
  const secret = createSecretKey(key);
  const one = (ntHash: Uint8Array): Buffer => createHmac('sha256', secret).update(ntHash).digest().subarray(0, FINGERPRINT_BYTES);
  const hmacBatch = options.native === false ? undefined : nativeHmacBatch();
  const many = (ntHashes: readonly Uint8Array[]): Buffer[] => {
    if (hmacBatch === undefined) return ntHashes.map(one);
    const count = ntHashes.length;
    const messages = new Uint8Array(count * NT_HASH_BYTES);
    const out = Buffer.alloc(count * FINGERPRINT_BYTES);
    try {
      ntHashes.forEach((ntHash, i) => {
        if (ntHash.length !== NT_HASH_BYTES) throw new RangeError(`an NT hash is ${NT_HASH_BYTES} bytes, got ${ntHash.length}`);
        messages.set(ntHash, i * NT_HASH_BYTES);
      });
      hmacBatch(key, messages, count, out);
    } finally {
      messages.fill(0);
    }
    return ntHashes.map((_, i) => out.subarray(i * FINGERPRINT_BYTES, (i + 1) * FINGERPRINT_BYTES));
  };
  return Object.assign(one, { many });
}

/**
 * The native addon's HMAC (two SHA-NI compressions a fingerprint against ~3.5 µs for createHmac,
 * which was ~9% of the main thread's time in a first sync), when it is built and this CPU has SHA
 * extensions; else undefined, and createHmac does the work (the kernel selection already says why
 * the addon is unavailable).
 */
function nativeHmacBatch(): NonNullable<NativeAddon['hmacBatch']> | undefined {
  try {
    const addon = loadNativeAddon();
    return addon.hmacBatch?.bind(addon);
  } catch {
    return undefined;
  }
}

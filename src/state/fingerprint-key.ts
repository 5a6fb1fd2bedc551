import { createHmac, createSecretKey, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { FatalError } from '../errors.ts';

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

export type Fingerprinter = (ntHash: Uint8Array) => Buffer;

/** HMAC-SHA256(key, ntHash), truncated to 16 bytes: enough to tell a change, useless without the key. */
export function fingerprinter(key: Buffer): Fingerprinter {
  // A KeyObject made once: createHmac with a raw Buffer key re-imports the key on every call (~6×
  // slower), and this runs once per user.
  const secret = createSecretKey(key);
  return (ntHash) => createHmac('sha256', secret).update(ntHash).digest().subarray(0, 16);
}

import assert from 'node:assert/strict';
import { createHmac, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { loadNativeAddon } from '../../src/hash/native-kernel.ts';
import { fingerprinter } from '../../src/state/fingerprint-key.ts';

/** Whether the native addon with its HMAC is here (built, SHA extensions): then `many` runs in C. */
function nativeHmacAvailable(): boolean {
  try {
    return typeof loadNativeAddon().hmacBatch === 'function';
  } catch {
    return false;
  }
}

describe('fingerprints', () => {
  const key = randomBytes(32);
  const expected = (ntHash: Uint8Array): Buffer => createHmac('sha256', key).update(ntHash).digest().subarray(0, 16);

  for (const native of [true, false]) {
    it(`gives a window's fingerprints at once exactly as one at a time (${native ? 'native HMAC' : 'node:crypto'})`, (t) => {
      if (native && !nativeHmacAvailable()) t.skip('the native addon is not built here or this CPU has no SHA extensions');
      const fingerprint = fingerprinter(key, { native });
      for (const count of [0, 1, 3, 4, 5, 255, 256]) {
        const ntHashes = Array.from({ length: count }, () => randomBytes(16));
        const many = fingerprint.many(ntHashes);
        assert.equal(many.length, count);
        many.forEach((fp, i) => {
          assert.deepEqual(fp, expected(ntHashes[i]!), `user ${i} of ${count}`);
          assert.deepEqual(fp, fingerprint(ntHashes[i]!));
        });
        // The NT hashes themselves are left as they were (the caller zeroes them).
        assert.ok(ntHashes.every((h) => h.length === 16));
      }
    });
  }

  it('refuses an NT hash that is not 16 bytes, in a window too', (t) => {
    if (!nativeHmacAvailable()) t.skip('the native addon is not built here or this CPU has no SHA extensions');
    assert.throws(() => fingerprinter(key).many([randomBytes(16), randomBytes(15)]), RangeError);
  });
});

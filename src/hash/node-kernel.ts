import { pbkdf2Sync } from 'node:crypto';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../phs/credential.ts';
import { assertBatchShape } from './hash-kernel.ts';
import type { HashKernel } from './hash-kernel.ts';

/**
 * PBKDF2 through node:crypto, i.e. OpenSSL's native implementation (SHA extensions or AVX2 where
 * the CPU has them). The synchronous call is deliberate: kernels run inside pool worker threads,
 * where blocking is the point; the async `pbkdf2` would hop to libuv's small shared threadpool
 * and contend with file I/O and DNS.
 */
export function createNodeKernel(): HashKernel {
  return {
    name: 'node',
    async hashBatch(input, salts, count, iterations, out) {
      assertBatchShape(input, salts, count, iterations, out);
      for (let i = 0; i < count; i++) {
        // subarray views, not copies: OpenSSL reads them in place.
        const password = input.subarray(i * PBKDF2_INPUT_BYTES, (i + 1) * PBKDF2_INPUT_BYTES);
        const salt = salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES);
        out.set(pbkdf2Sync(password, salt, iterations, HASH_BYTES, 'sha256'), i * HASH_BYTES);
      }
    },
  };
}

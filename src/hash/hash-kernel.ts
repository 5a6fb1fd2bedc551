import { PhsyncError } from '../errors.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../phs/credential.ts';

/**
 * A hash kernel computes PBKDF2-HMAC-SHA256 for a batch of users. It takes the prepared 64-byte
 * PBKDF2 inputs (UTF-16LE uppercase hex of the NT hash, see `writePbkdf2Input`) rather than the NT
 * hashes: the hex expansion is the same for every kernel, so it is done once by the caller (the
 * worker), which also owns zeroing it afterwards. Kernels are then pure "bytes in, bytes out".
 *
 * The batch is three flat buffers instead of an array of small ones: one allocation per batch,
 * cheap to move between threads, and each kernel reads its slice by offset.
 */
export type KernelName = 'native' | 'node' | 'wasm-simd' | 'hash-wasm';

export interface HashKernel {
  readonly name: KernelName;
  /**
   * For user i in [0, count): out[32i, 32i+32) = PBKDF2-HMAC-SHA256(input[64i, 64i+64),
   * salts[10i, 10i+10), iterations, 32). The buffers may be views at any offset; they are only
   * read (input, salts) or written (out) within those ranges.
   */
  hashBatch(input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): Promise<void>;
}

/**
 * Checks the batch shape every kernel relies on, once per batch (not per user): a short buffer
 * would otherwise make a kernel read past a view into unrelated memory or silently skip users.
 */
export function assertBatchShape(input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): void {
  if (!Number.isSafeInteger(count) || count < 0) {
    throw new PhsyncError('HASH_BATCH_INVALID', `count must be a non-negative integer, got ${String(count)}`);
  }
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new PhsyncError('HASH_BATCH_INVALID', `iterations must be a positive integer, got ${String(iterations)}`);
  }
  if (input.length < count * PBKDF2_INPUT_BYTES || salts.length < count * SALT_BYTES || out.length < count * HASH_BYTES) {
    throw new PhsyncError(
      'HASH_BATCH_INVALID',
      `a batch of ${count} needs ${count * PBKDF2_INPUT_BYTES} input, ${count * SALT_BYTES} salt and ${count * HASH_BYTES} output bytes, ` +
        `got ${input.length}, ${salts.length} and ${out.length}`,
    );
  }
}

import { createSHA256, pbkdf2 } from 'hash-wasm';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../phs/credential.ts';
import { assertBatchShape } from './hash-kernel.ts';
import type { HashKernel } from './hash-kernel.ts';

/**
 * PBKDF2 through hash-wasm (SHA-256 compiled to WebAssembly): a portable fallback that does not
 * depend on how Node's OpenSSL was built or configured (FIPS mode, a provider without PBKDF2).
 *
 * The SHA-256 instance is created once per kernel (one WebAssembly instantiation) and reused by
 * every call: `pbkdf2` wraps it in a fresh HMAC whose key pads live in that HMAC's closure and which
 * re-initialises the shared hasher before each use. Users are still hashed one after another (each
 * awaited), and batches one after another (a pool thread is handed two at once), so that two PBKDF2
 * computations can never interleave on the one hasher whatever hash-wasm does between its awaits.
 *
 * Caveat (secrets hygiene): hash-wasm keeps the HMAC key pads in its own JS arrays and WASM memory,
 * which this kernel cannot zero; the caller's input buffer is zeroed by the worker.
 */
export async function createWasmKernel(): Promise<HashKernel> {
  const sha256 = createSHA256();
  // Instantiate now, so that a runtime where WebAssembly is unavailable or refused fails at
  // creation, where kernel selection can fall back, rather than in the middle of a batch.
  await sha256;
  // The batch before this one, settled or not: each batch starts when the previous one has ended.
  let previous: Promise<unknown> = Promise.resolve();
  const hashInOrder = async (input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): Promise<void> => {
    for (let i = 0; i < count; i++) {
      const hash = await pbkdf2({
        password: input.subarray(i * PBKDF2_INPUT_BYTES, (i + 1) * PBKDF2_INPUT_BYTES),
        salt: salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES),
        iterations,
        hashLength: HASH_BYTES,
        hashFunction: sha256,
        outputType: 'binary',
      });
      out.set(hash, i * HASH_BYTES);
    }
  };
  return {
    name: 'hash-wasm',
    async hashBatch(input, salts, count, iterations, out) {
      assertBatchShape(input, salts, count, iterations, out);
      const batch = previous.then(() => hashInOrder(input, salts, count, iterations, out));
      previous = batch.catch(() => {});
      return batch;
    },
  };
}

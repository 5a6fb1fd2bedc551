import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { PhsyncError } from '../../src/errors.ts';
import { selfTestKernel } from '../../src/hash/kernel-selection.ts';
import { createNodeKernel } from '../../src/hash/node-kernel.ts';
import { WASM_SIMD_SOURCE_PATH, WasmBuildError, buildWasm, writeWasm } from '../../src/hash/wasm-simd/build-wasm.ts';
import { createWasmSimdKernel } from '../../src/hash/wasm-simd-kernel.ts';
import type { WasmSimdKernel } from '../../src/hash/wasm-simd-kernel.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../../src/phs/credential.ts';
import { tempDir } from '../support/temp-dir.ts';

// The module under test is built here from the .wat in the tree, so the tests never run a stale
// build output (and do not need `npm run build:kernels` first).
const dir = tempDir('phsync-wasm-simd-');
const wasmPath = dir.file('pbkdf2-sha256.wasm');
let kernel: WasmSimdKernel;

before(async () => {
  await writeWasm(WASM_SIMD_SOURCE_PATH, wasmPath);
  kernel = await createWasmSimdKernel({ wasmPath });
});
after(() => dir[Symbol.dispose]());

function isCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PhsyncError, `expected a PhsyncError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

/** Random inputs (any 64 bytes: the kernel does not care that real ones are UTF-16 hex). */
function randomBatch(count: number): { input: Uint8Array; salts: Uint8Array } {
  return { input: randomFillSync(new Uint8Array(count * PBKDF2_INPUT_BYTES)), salts: randomFillSync(new Uint8Array(count * SALT_BYTES)) };
}

function assertWiped(k: WasmSimdKernel): void {
  const memory = new Uint8Array(k.memory.buffer);
  const { inputPtr, outPtr, chunkUsers, scratchPtr, scratchEnd } = k.layout;
  const areas: [string, number, number][] = [
    ['input', inputPtr, inputPtr + chunkUsers * PBKDF2_INPUT_BYTES],
    ['scratch', scratchPtr, scratchEnd],
    ['output', outPtr, outPtr + chunkUsers * HASH_BYTES],
  ];
  for (const [name, start, end] of areas) {
    const nonZero = memory.subarray(start, end).findIndex((b) => b !== 0);
    assert.equal(nonZero, -1, `the ${name} area has a non-zero byte at offset ${nonZero}`);
  }
}

describe('wasm-simd kernel', () => {
  it('has its registry name and passes the known-answer self-test', async () => {
    assert.equal(kernel.name, 'wasm-simd');
    await selfTestKernel(kernel);
  });

  for (const iterations of [1, 2, 100, 1000]) {
    it(`equals the node kernel byte for byte at ${iterations} iteration${iterations === 1 ? '' : 's'}, batches of 0 to 1000 users`, async () => {
      const node = createNodeKernel();
      // SIMD groups of four, scalar and padded tails, and chunk boundaries (256 users a chunk).
      for (const count of [0, 1, 3, 4, 5, 7, 8, 9, 255, 256, 257, 1000]) {
        const { input, salts } = randomBatch(count);
        const expected = new Uint8Array(count * HASH_BYTES);
        const got = new Uint8Array(count * HASH_BYTES).fill(0xa5);
        await node.hashBatch(input, salts, count, iterations, expected);
        await kernel.hashBatch(input, salts, count, iterations, got);
        for (let i = 0; i < count; i++) {
          const range = [i * HASH_BYTES, (i + 1) * HASH_BYTES] as const;
          assert.deepEqual(Buffer.from(got.subarray(...range)), Buffer.from(expected.subarray(...range)), `user ${i} of ${count}`);
        }
      }
    });
  }

  // Views at odd offsets: test/hash/kernels.test.ts, for every kernel.
  it('leaves no input, derived state or output in its WebAssembly memory after a batch', async () => {
    // 261 users: a full chunk, then a group of four and a scalar user.
    const { input, salts } = randomBatch(261);
    const out = new Uint8Array(261 * HASH_BYTES);
    await kernel.hashBatch(input, salts, 261, 3, out);
    assert.ok(out.some((b) => b !== 0));
    assertWiped(kernel);
  });

  it('is wiped after its warm-up too', async () => {
    assertWiped(await createWasmSimdKernel({ wasmPath }));
  });

  it('rejects a batch whose buffers are shorter than count needs, or too many iterations', async () => {
    const { input, salts } = randomBatch(2);
    await assert.rejects(kernel.hashBatch(input, salts, 3, 1000, new Uint8Array(3 * HASH_BYTES)), isCode('HASH_BATCH_INVALID'));
    await assert.rejects(kernel.hashBatch(input, salts, 2, 0, new Uint8Array(2 * HASH_BYTES)), isCode('HASH_BATCH_INVALID'));
    await assert.rejects(kernel.hashBatch(input, salts, 2, 2 ** 32, new Uint8Array(2 * HASH_BYTES)), isCode('HASH_BATCH_INVALID'));
  });

  it('is unavailable, with the build command, when the module is not built', async () => {
    await assert.rejects(createWasmSimdKernel({ wasmPath: dir.file('missing.wasm') }), (err: unknown) => {
      isCode('KERNEL_UNAVAILABLE')(err);
      assert.match((err as Error).message, /missing.*npm run build:kernels/);
      return true;
    });
  });

  it('is unavailable when the file is not a WebAssembly module', async () => {
    const garbage = dir.file('garbage.wasm');
    writeFileSync(garbage, 'not a module');
    await assert.rejects(createWasmSimdKernel({ wasmPath: garbage }), isCode('KERNEL_UNAVAILABLE'));
  });

  it('is unavailable where WebAssembly has no SIMD, or there is no WebAssembly', async () => {
    const real = Object.getOwnPropertyDescriptor(globalThis, 'WebAssembly');
    assert.ok(real !== undefined);
    const replace = (value: unknown): void => void Object.defineProperty(globalThis, 'WebAssembly', { ...real, value });
    try {
      replace({ validate: () => false, instantiate: () => Promise.reject(new Error('no WebAssembly SIMD')) });
      await assert.rejects(createWasmSimdKernel({ wasmPath }), (err: unknown) => isCode('KERNEL_UNAVAILABLE')(err) && /no SIMD/.test((err as Error).message));
      replace(undefined);
      await assert.rejects(createWasmSimdKernel({ wasmPath }), (err: unknown) => isCode('KERNEL_UNAVAILABLE')(err) && /no WebAssembly/.test((err as Error).message));
    } finally {
      Object.defineProperty(globalThis, 'WebAssembly', real);
    }
  });

  it('loads from the default path once built, or says how to build it', async () => {
    try {
      const built = await createWasmSimdKernel({ warmUp: false });
      await selfTestKernel(built);
    } catch (err) {
      isCode('KERNEL_UNAVAILABLE')(err);
      assert.match((err as Error).message, /npm run build:kernels/);
    }
  });
});

describe('build-wasm', () => {
  it('reports a .wat error with its line and column', async () => {
    const source = readFileSync(WASM_SIMD_SOURCE_PATH, 'utf8').replace('(local.get $t1) (local.get $t2)', '(local.get $t1) (local.get $t3)');
    const bad = dir.file('bad.wat');
    writeFileSync(bad, source);
    await assert.rejects(buildWasm(bad), (err: unknown) => err instanceof WasmBuildError && /^bad\.wat:\d+:\d+: error: undefined local variable "\$t3"/.test(err.message));
  });

  it('refuses a module that compiles but gives wrong answers', async () => {
    // The bit length of U1's inner block in the scalar code: the SIMD group stays right, the scalar tail does not.
    const source = readFileSync(WASM_SIMD_SOURCE_PATH, 'utf8').replace('(i32.const 624)', '(i32.const 632)');
    const wrong = dir.file('wrong.wat');
    writeFileSync(wrong, source);
    await assert.rejects(buildWasm(wrong), (err: unknown) => err instanceof WasmBuildError && /wrong answer/.test(err.message));
  });
});

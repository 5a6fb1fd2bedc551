import { readFile } from 'node:fs/promises';
import { PhsyncError, errorMessage } from '../errors.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../phs/credential.ts';
import { assertBatchShape } from './hash-kernel.ts';
import type { HashKernel } from './hash-kernel.ts';
import { WASM_SIMD_BUILD_COMMAND, WASM_SIMD_MODULE_PATH, webAssemblyApi } from './wasm-simd/build-wasm.ts';

export { WASM_SIMD_BUILD_COMMAND, WASM_SIMD_MODULE_PATH };

export interface WasmSimdKernelOptions {
  /** The compiled module; the build script's output by default. */
  readonly wasmPath?: string;
  /** Run a small batch at creation so that V8 has optimised the hot code before real work. Default true. */
  readonly warmUp?: boolean;
}

/** Where the module keeps what (byte offsets into its memory; see pbkdf2-sha256.wat). */
export interface WasmSimdLayout {
  readonly inputPtr: number;
  readonly saltPtr: number;
  readonly outPtr: number;
  /** Users per call: the areas above hold this many. */
  readonly chunkUsers: number;
  /** [scratchPtr, scratchEnd): the key pad states and message schedules, derived from the inputs. */
  readonly scratchPtr: number;
  readonly scratchEnd: number;
}

export interface WasmSimdKernel extends HashKernel {
  readonly name: 'wasm-simd';
  /** The module's memory and layout, so that tests can check that no secret is left in it. */
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly layout: WasmSimdLayout;
}

/** What pbkdf2-sha256.wat exports (hash4 and hash1 too, unused here: hashBatch dispatches). */
interface ModuleExports {
  readonly memory: { readonly buffer: ArrayBuffer };
  readonly hashBatch: (inPtr: number, saltPtr: number, outPtr: number, count: number, iterations: number) => void;
  readonly layout: WasmSimdLayout;
}

// The module takes the iteration count as an unsigned 32-bit integer.
const MAX_ITERATIONS = 0xffff_ffff;
const LANES = 4;
// Warm-up: one SIMD group and one scalar user, twice (a few milliseconds). V8 runs WebAssembly in
// its baseline compiler first and swaps in optimised code for the hot functions once they have run
// enough; measured, the first real batch then runs at ~80% of full speed instead of ~40%.
const WARM_UP_USERS = LANES + 1;
const WARM_UP_ITERATIONS = 500;
const WARM_UP_ROUNDS = 2;

// (module (func (result v128) (v128.const i64x2 0 0))): validates only where WebAssembly has SIMD.
const SIMD_PROBE = Uint8Array.from(Buffer.from('0061736d010000000105016000017b030201000a16011400fd0c000000000000000000000000000000000b', 'hex'));

/**
 * PBKDF2 in WebAssembly (wasm-simd/pbkdf2-sha256.wat): the whole iteration loop runs inside the
 * module, four users at a time in the lanes of 128-bit SIMD vectors, a lone leftover user in scalar
 * code. Portable (any CPU where V8 has WebAssembly SIMD); where OpenSSL cannot use SHA extensions,
 * more than twice as fast as node:crypto, and about even with it where it can (x86-64, measured with
 * native-bench/wasm-simd.bench.ts). Batches of a multiple of four users use it best.
 *
 * The module is instantiated once per kernel. hashBatch copies the batch into the module's memory a
 * chunk at a time, runs it synchronously (kernels run in pool workers, where blocking is the point)
 * and zeroes the inputs, the derived scratch state and the outputs in that memory after every chunk:
 * the inputs are NT-hash equivalents. (Values V8 keeps in registers or on its stack while the code
 * runs are out of reach, as for every kernel.)
 *
 * Throws KERNEL_UNAVAILABLE when the module is not built, does not load, or this runtime's
 * WebAssembly has no SIMD.
 */
export async function createWasmSimdKernel(options: WasmSimdKernelOptions = {}): Promise<WasmSimdKernel> {
  const wasmPath = options.wasmPath ?? WASM_SIMD_MODULE_PATH;
  const api = webAssemblyApi();
  if (api === undefined) throw new PhsyncError('KERNEL_UNAVAILABLE', 'the WebAssembly SIMD hash kernel cannot run: this runtime has no WebAssembly');
  if (!api.validate(SIMD_PROBE)) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', "the WebAssembly SIMD hash kernel cannot run: this runtime's WebAssembly has no SIMD");
  }

  let bytes: Uint8Array;
  try {
    bytes = await readFile(wasmPath);
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new PhsyncError(
      'KERNEL_UNAVAILABLE',
      missing
        ? `the WebAssembly SIMD hash kernel is not built (${wasmPath} is missing); run npm run build:kernels (or ${WASM_SIMD_BUILD_COMMAND})`
        : `the WebAssembly SIMD hash kernel (${wasmPath}) cannot be read: ${errorMessage(err)}`,
      { cause: err },
    );
  }
  if (!api.validate(bytes)) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', `${wasmPath} is not a valid WebAssembly module; rebuild it: npm run build:kernels (or ${WASM_SIMD_BUILD_COMMAND})`);
  }
  let exports: ModuleExports;
  try {
    exports = moduleExports((await api.instantiate(bytes, {})).instance.exports);
  } catch (err) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', `the WebAssembly SIMD hash kernel (${wasmPath}) cannot be loaded: ${errorMessage(err)}`, { cause: err });
  }

  const { memory, layout } = exports;
  const { inputPtr, saltPtr, outPtr, chunkUsers, scratchPtr, scratchEnd } = layout;
  const wipe = (bytes: Uint8Array): void => {
    bytes.fill(0, scratchPtr, scratchEnd);
    bytes.fill(0, inputPtr, inputPtr + chunkUsers * PBKDF2_INPUT_BYTES);
    bytes.fill(0, outPtr, outPtr + chunkUsers * HASH_BYTES);
  };

  if (options.warmUp ?? true) {
    const bytes = new Uint8Array(memory.buffer);
    try {
      for (let i = 0; i < WARM_UP_ROUNDS; i++) exports.hashBatch(inputPtr, saltPtr, outPtr, WARM_UP_USERS, WARM_UP_ITERATIONS);
    } finally {
      wipe(bytes);
    }
  }

  return {
    name: 'wasm-simd',
    memory,
    layout,
    async hashBatch(input, salts, count, iterations, out) {
      assertBatchShape(input, salts, count, iterations, out);
      if (iterations > MAX_ITERATIONS) {
        throw new PhsyncError('HASH_BATCH_INVALID', `the WebAssembly SIMD hash kernel takes at most ${MAX_ITERATIONS} iterations, got ${iterations}`);
      }
      const bytes = new Uint8Array(memory.buffer);
      for (let start = 0; start < count; start += chunkUsers) {
        const users = Math.min(chunkUsers, count - start);
        try {
          bytes.set(input.subarray(start * PBKDF2_INPUT_BYTES, (start + users) * PBKDF2_INPUT_BYTES), inputPtr);
          bytes.set(salts.subarray(start * SALT_BYTES, (start + users) * SALT_BYTES), saltPtr);
          exports.hashBatch(inputPtr, saltPtr, outPtr, lanesFor(users), iterations);
          out.set(bytes.subarray(outPtr, outPtr + users * HASH_BYTES), start * HASH_BYTES);
        } finally {
          wipe(bytes);
        }
      }
    },
  };
}

/**
 * How many users to hand the module for `users` real ones. A group of four costs the module about
 * as much as 1.2 scalar users (measured: 0.60 and 0.50 ms at 1000 iterations), so a tail of two or
 * three runs as one more group of four, its spare lanes hashing the zeroed input area (their output
 * is not copied out); only a single leftover user takes the scalar path. Never exceeds chunkUsers,
 * a multiple of four.
 */
function lanesFor(users: number): number {
  const tail = users % LANES;
  return tail >= 2 ? users - tail + LANES : users;
}

function moduleExports(raw: Readonly<Record<string, unknown>>): ModuleExports {
  const memory = raw['memory'];
  const hashBatch = raw['hashBatch'];
  if (typeof memory !== 'object' || memory === null || !('buffer' in memory) || !(memory.buffer instanceof ArrayBuffer)) {
    throw new Error('the module exports no memory');
  }
  if (typeof hashBatch !== 'function') throw new Error('the module exports no hashBatch function');
  const address = (name: keyof WasmSimdLayout): number => {
    const global = raw[name];
    const value = typeof global === 'object' && global !== null && 'value' in global ? global.value : undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new Error(`the module exports no ${name}`);
    return value;
  };
  const layout: WasmSimdLayout = Object.freeze({
    inputPtr: address('inputPtr'),
    saltPtr: address('saltPtr'),
    outPtr: address('outPtr'),
    chunkUsers: address('chunkUsers'),
    scratchPtr: address('scratchPtr'),
    scratchEnd: address('scratchEnd'),
  });
  if (layout.chunkUsers < LANES || layout.chunkUsers % LANES !== 0 || layout.outPtr + layout.chunkUsers * HASH_BYTES > memory.buffer.byteLength) {
    throw new Error('the module has an unexpected memory layout');
  }
  return { memory: memory as { buffer: ArrayBuffer }, hashBatch: hashBatch as ModuleExports['hashBatch'], layout };
}

import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PhsyncError, errorMessage } from '../errors.ts';
import { assertBatchShape } from './hash-kernel.ts';
import type { HashKernel } from './hash-kernel.ts';
import { NATIVE_ADDON_PATH, NATIVE_BUILD_COMMAND } from './native/build-native.ts';

export { NATIVE_ADDON_PATH, NATIVE_BUILD_COMMAND };

/** What native/pbkdf2_sha256.c exports. */
export interface NativeAddon {
  /** Whether this CPU has the SHA extensions (and SSSE3/SSE4.1); hashBatch throws without them. */
  readonly shaNi: boolean;
  /** Synchronous; throws TypeError/RangeError on bad arguments. */
  hashBatch(input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): void;
  /**
   * out[16i, 16i+16) = HMAC-SHA256(key, messages[16i, 16i+16)) truncated to 16 bytes (key ≤ 64
   * bytes): the state store's fingerprints. Absent from an addon built before it existed.
   */
  hmacBatch?(key: Uint8Array, messages: Uint8Array, count: number, out: Uint8Array): void;
}

export interface NativeKernelOptions {
  /** The compiled addon; the build script's output by default. */
  readonly addonPath?: string;
}

// The addon takes the iteration count as a 32-bit unsigned integer.
const MAX_ITERATIONS = 0xffff_ffff;

/**
 * Loads the compiled addon. Throws KERNEL_UNAVAILABLE when it is missing (it is optional at
 * install: no compiler, or not x86-64), does not load, or cannot run on this CPU.
 */
export function loadNativeAddon(addonPath: string = NATIVE_ADDON_PATH): NativeAddon {
  if (!existsSync(addonPath)) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', `the native hash kernel is not built (${addonPath} is missing); build it with \`${NATIVE_BUILD_COMMAND}\` (needs gcc)`);
  }
  let addon: unknown;
  try {
    addon = createRequire(import.meta.url)(addonPath);
  } catch (err) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', `the native hash kernel (${addonPath}) cannot be loaded: ${errorMessage(err)}; rebuild it with \`${NATIVE_BUILD_COMMAND}\``, { cause: err });
  }
  if (!isNativeAddon(addon)) {
    throw new PhsyncError('KERNEL_UNAVAILABLE', `${addonPath} is not the native hash kernel; rebuild it with \`${NATIVE_BUILD_COMMAND}\``);
  }
  if (!addon.shaNi) throw new PhsyncError('KERNEL_UNAVAILABLE', 'the native hash kernel cannot run: this CPU has no SHA extensions');
  return addon;
}

function isNativeAddon(value: unknown): value is NativeAddon {
  return typeof value === 'object' && value !== null && 'hashBatch' in value && typeof value.hashBatch === 'function' && 'shaNi' in value && typeof value.shaNi === 'boolean';
}

/**
 * PBKDF2 in C with the x86 SHA extensions, several users' compressions interleaved (see
 * native/pbkdf2_sha256.c). Synchronous inside, like the node kernel: kernels run in pool workers.
 */
export async function createNativeKernel(options: NativeKernelOptions = {}): Promise<HashKernel> {
  const addon = loadNativeAddon(options.addonPath);
  return {
    name: 'native',
    async hashBatch(input, salts, count, iterations, out) {
      assertBatchShape(input, salts, count, iterations, out);
      if (iterations > MAX_ITERATIONS) {
        throw new PhsyncError('HASH_BATCH_INVALID', `the native hash kernel takes at most ${MAX_ITERATIONS} iterations, got ${iterations}`);
      }
      addon.hashBatch(input, salts, count, iterations, out);
    },
  };
}

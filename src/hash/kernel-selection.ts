import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { PhsyncError, errorMessage } from '../errors.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES, writePbkdf2Input } from '../phs/credential.ts';
import type { HashKernel, KernelName } from './hash-kernel.ts';
import { KERNEL_NAMES, createKernel } from './kernels.ts';

/**
 * Known answers that every kernel must reproduce before it is used: a kernel that is fast but wrong
 * would write credentials nobody can sign in with, and nothing downstream would notice. Copied from
 * fixtures/phs-known-answers.json (src must not read test files; a test checks that the two agree).
 * The 1000-iteration rows are the production setting; the 100-iteration row catches a kernel that
 * ignores its `iterations` argument.
 */
export const KERNEL_KNOWN_ANSWERS: readonly Readonly<{ ntHash: string; salt: string; iterations: number; hash: string }>[] = Object.freeze([
  // DSInternals OrgIdHashTester vector ("Pa$$w0rd")
  { ntHash: '92937945b518814341de3f726500d4ff', salt: '181a3024085fcee2f70e', iterations: 1000, hash: 'b39525c3bc72a1136fcf7c8a338e0c14313d0450d1a4c98ef0a6ddada3bc5b0a' },
  // empty password (NT hash of nothing); DSInternals vector
  { ntHash: '31d6cfe0d16ae931b73c59d7e0c089c0', salt: '01cda06eceb9d9bc2621', iterations: 1000, hash: '9d4fc778add44776555d3fa6ccb4f9637f25e34a62dbc5fa0f782ef8c762c902' },
  // ASCII ("Summer2026!")
  { ntHash: '41aed72cec76816423703d8e545eea31', salt: '00112233445566778899', iterations: 1000, hash: 'ee0a572ba118bb28cb59a7b6b8013381b8f8fc637d600cfa8ee62e08b7476cc9' },
  // Latin-1 and BMP characters ("Pässwörd€")
  { ntHash: '04e9d4087e1303bea8e5239aa5ddd064', salt: 'a0a1a2a3a4a5a6a7a8a9', iterations: 1000, hash: '8a3b2cb7a6e36c9a1e8f46cd7318ba4cfb900a7b8218eed13eaeca7a46c18632' },
  // legacy 100-iteration DirSync vector (DSInternals)
  { ntHash: '92937945b518814341de3f726500d4ff', salt: '317ee9d1dec6508fa510', iterations: 100, hash: 'f4a257ffec53809081a605ce8ddedfbc9df9777b80256763bc0a6dd895ef404f' },
].map((v) => Object.freeze(v)));

export type KernelChoice = 'auto' | KernelName;

export interface KernelSelection {
  readonly name: KernelName;
  /** Single-thread hashes per second at the requested iterations; only filled in by 'auto'. */
  readonly measured: Readonly<Partial<Record<KernelName, number>>>;
  /** Kernels that 'auto' left out because they could not be created or failed the self-test. */
  readonly rejected: readonly KernelName[];
  /** Why, for each rejected kernel (e.g. "the native kernel is not built…"). */
  readonly reasons: Readonly<Partial<Record<KernelName, string>>>;
}

export interface SelectKernelOptions {
  /** Where kernels come from; tests substitute broken ones. */
  readonly createKernel?: (name: KernelName) => Promise<HashKernel>;
}

// Timing budget for 'auto', per kernel. The self-test (4,100 PBKDF2 iterations) already runs the
// kernel's hot loop enough for V8 to start optimising it, so the explicit warm-up is short. Two
// kernels × (self-test + warm-up + timed loop) stay under ~150 ms even for the slow WASM kernel
// (~3 ms a hash at 1000 iterations).
// Multiples of 4: the wasm-simd kernel hashes 4 users per SIMD group, and a batch of 2 costs it as
// much as 4 (it would be timed at half its rate).
const WARMUP_USERS = 8;
const TIMED_BATCH_USERS = 8;
const TIMED_BUDGET_MS = 15;
const MAX_TIMED_ITERATIONS = 1000;

/**
 * Runs the known answers through a kernel, in batches (one per iteration count) so that the
 * kernel's offset arithmetic is exercised too. Throws KERNEL_SELF_TEST_FAILED on any difference
 * or error; returns normally only if every answer matched.
 */
export async function selfTestKernel(kernel: HashKernel): Promise<void> {
  const byIterations = Map.groupBy(KERNEL_KNOWN_ANSWERS, (v) => v.iterations);
  for (const [iterations, vectors] of byIterations) {
    const count = vectors.length;
    const input = new Uint8Array(count * PBKDF2_INPUT_BYTES);
    const salts = new Uint8Array(count * SALT_BYTES);
    const out = new Uint8Array(count * HASH_BYTES);
    vectors.forEach((v, i) => {
      writePbkdf2Input(Buffer.from(v.ntHash, 'hex'), input, i * PBKDF2_INPUT_BYTES);
      salts.set(Buffer.from(v.salt, 'hex'), i * SALT_BYTES);
    });
    try {
      await kernel.hashBatch(input, salts, count, iterations, out);
    } catch (err) {
      throw new PhsyncError('KERNEL_SELF_TEST_FAILED', `hash kernel "${kernel.name}" failed its self-test: ${errorMessage(err)}`, { cause: err });
    }
    vectors.forEach((v, i) => {
      const got = Buffer.from(out.buffer, out.byteOffset + i * HASH_BYTES, HASH_BYTES).toString('hex');
      if (got !== v.hash) {
        throw new PhsyncError(
          'KERNEL_SELF_TEST_FAILED',
          `hash kernel "${kernel.name}" gave a wrong answer for NT hash ${v.ntHash}, salt ${v.salt}, ${iterations} iterations: ${got}, expected ${v.hash}`,
        );
      }
    });
  }
}

/**
 * Picks the kernel the pool will use. An explicit choice is only self-tested (and throws if it
 * fails: the operator asked for it, so silently using another would hide a broken build). 'auto'
 * self-tests every kernel, drops the ones that fail, and times the rest on this machine, because
 * which one wins depends on the CPU and on how Node's OpenSSL was built.
 */
export async function selectKernel(choice: KernelChoice, iterations: number, options: SelectKernelOptions = {}): Promise<KernelSelection> {
  if (!Number.isSafeInteger(iterations) || iterations < 1) {
    throw new PhsyncError('HASH_BATCH_INVALID', `iterations must be a positive integer, got ${String(iterations)}`);
  }
  const create = options.createKernel ?? createKernel;

  if (choice !== 'auto') {
    let kernel: HashKernel;
    try {
      kernel = await create(choice);
    } catch (err) {
      throw new PhsyncError('KERNEL_UNAVAILABLE', `hash kernel "${choice}" cannot be created: ${errorMessage(err)}`, { cause: err });
    }
    await selfTestKernel(kernel);
    return Object.freeze({ name: choice, measured: Object.freeze({}), rejected: Object.freeze([]), reasons: Object.freeze({}) });
  }

  const measured: Partial<Record<KernelName, number>> = {};
  const rejected: KernelName[] = [];
  const reasons: Partial<Record<KernelName, string>> = {};
  for (const name of KERNEL_NAMES) {
    let kernel: HashKernel;
    try {
      kernel = await create(name);
      await selfTestKernel(kernel);
    } catch (err) {
      rejected.push(name);
      reasons[name] = errorMessage(err);
      continue;
    }
    measured[name] = await measureRate(kernel, iterations);
  }

  let best: KernelName | undefined;
  for (const name of KERNEL_NAMES) {
    const rate = measured[name];
    if (rate !== undefined && (best === undefined || rate > (measured[best] ?? 0))) best = name;
  }
  if (best === undefined) {
    throw new PhsyncError('KERNEL_SELF_TEST_FAILED', `no hash kernel passed its self-test (${Object.entries(reasons).map(([n, why]) => `${n}: ${why}`).join('; ')})`);
  }
  return Object.freeze({ name: best, measured: Object.freeze(measured), rejected: Object.freeze(rejected), reasons: Object.freeze(reasons) });
}

/**
 * Hashes per second at `iterations` on this thread, after a warm-up. The inputs are random, not
 * secrets. Above MAX_TIMED_ITERATIONS the kernels are timed at that count and the rate scaled:
 * PBKDF2's cost is linear in the iterations, and this keeps selection quick whatever is configured.
 */
async function measureRate(kernel: HashKernel, iterations: number): Promise<number> {
  const timedIterations = Math.min(iterations, MAX_TIMED_ITERATIONS);
  const users = Math.max(WARMUP_USERS, TIMED_BATCH_USERS);
  const input = randomFillSync(new Uint8Array(users * PBKDF2_INPUT_BYTES));
  const salts = randomFillSync(new Uint8Array(users * SALT_BYTES));
  const out = new Uint8Array(users * HASH_BYTES);

  // V8 first runs WebAssembly (and JS) in a baseline tier and swaps in optimised code once it is
  // hot; timing from a cold start would measure the baseline compiler, not the steady state.
  await kernel.hashBatch(input, salts, WARMUP_USERS, timedIterations, out);

  let hashed = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    await kernel.hashBatch(input, salts, TIMED_BATCH_USERS, timedIterations, out);
    hashed += TIMED_BATCH_USERS;
    elapsed = performance.now() - start;
  } while (elapsed < TIMED_BUDGET_MS);
  return ((hashed * 1000) / elapsed) * (timedIterations / iterations);
}

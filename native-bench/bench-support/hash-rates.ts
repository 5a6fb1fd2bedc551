/**
 * Hashing rates, shared by hash.bench.ts and e2e.bench.ts: each kernel on this thread, and the
 * HashPool end to end (transfer, salts, input expansion, hashing, transfer back).
 *
 * Fairness on a shared, noisy machine: every configuration is warmed up first, then rounds
 * alternate between configurations (rotating which goes first), and each is reported as the median
 * and range of its rounds. The inputs are random bytes, never a real NT hash.
 */
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../src/errors.ts';
import type { HashKernel, KernelName } from '../../src/hash/hash-kernel.ts';
import { HashPool } from '../../src/hash/hash-pool.ts';
import { selfTestKernel } from '../../src/hash/kernel-selection.ts';
import { createKernel } from '../../src/hash/kernels.ts';
import { HASH_BYTES, NT_HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES, writePbkdf2Input } from '../../src/phs/credential.ts';
import { summarize } from './stats.ts';
import type { Summary } from './stats.ts';

/**
 * How a kernel relates to the x86 SHA extensions, for the "without SHA-NI" measurement:
 *  - 'required': uses them directly (checks CPUID itself), so it cannot run on a CPU without them;
 *  - 'none': WebAssembly has no SHA instructions, so masking them changes nothing;
 *  - 'openssl': goes through OpenSSL, which honours OPENSSL_ia32cap: re-measured with them masked.
 * A kernel this table does not know is treated as 'openssl' (re-measured): measuring too much is
 * only slower, assuming too little would be wrong.
 */
export type ShaNiUse = 'required' | 'openssl' | 'none';

export function shaNiUse(kernel: string): ShaNiUse {
  if (kernel === 'native') return 'required';
  if (/wasm/.test(kernel)) return 'none';
  return 'openssl';
}

/** Masks the SHA extensions (CPUID leaf 7 EBX bit 29) from OpenSSL; read by OpenSSL at process start. */
export const NO_SHA_NI_IA32CAP = ':~0x20000000';

export interface KernelRateOptions {
  /** Users per round (the batch handed to hashBatch). */
  readonly users: number;
  readonly rounds: number;
  readonly iterations: number;
  /**
   * A kernel so slow that `users` would take longer than this per round gets a smaller batch
   * (at least MIN_USERS), so that one slow kernel does not make the bench take minutes.
   */
  readonly maxRoundSeconds: number;
  /** Called before each step, for a progress line. */
  readonly progress?: (message: string) => void;
}

export type KernelRate =
  | { readonly kernel: KernelName; readonly available: true; readonly usersPerRound: number; readonly reduced: boolean; readonly rates: readonly number[]; readonly summary: Summary }
  | { readonly kernel: KernelName; readonly available: false; readonly reason: string };

const MIN_USERS = 16;
const WARMUP_BATCH = 8;
const WARMUP_MS = 400;

/** Random PBKDF2 inputs as the worker prepares them (UTF-16LE hex of random "NT hashes"), salts and an output buffer. */
export function randomBatch(users: number): { input: Uint8Array; salts: Uint8Array; out: Uint8Array } {
  const nt = randomFillSync(new Uint8Array(users * NT_HASH_BYTES));
  const input = new Uint8Array(users * PBKDF2_INPUT_BYTES);
  for (let i = 0; i < users; i++) writePbkdf2Input(nt.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), input, i * PBKDF2_INPUT_BYTES);
  return { input, salts: randomFillSync(new Uint8Array(users * SALT_BYTES)), out: new Uint8Array(users * HASH_BYTES) };
}

/** Creates and self-tests a kernel; the reason it cannot be used otherwise (KERNEL_UNAVAILABLE's message, a failed self-test). */
export async function openKernel(name: KernelName): Promise<HashKernel | string> {
  let kernel: HashKernel;
  try {
    kernel = await createKernel(name);
  } catch (err) {
    return errorMessage(err);
  }
  try {
    await selfTestKernel(kernel);
  } catch (err) {
    return errorMessage(err);
  }
  return kernel;
}

/** Something measured in rounds; a round returns hashes per second. */
export interface Contender {
  readonly label: string;
  round(): Promise<number>;
}

/**
 * `rounds` rounds of every contender, alternating (round r starts at contender r mod n, so none is
 * always first after a pause or always last after the others heated the CPU). Returns each one's rates.
 */
export async function alternateRounds(contenders: readonly Contender[], rounds: number, progress?: (message: string) => void): Promise<number[][]> {
  const rates: number[][] = contenders.map(() => []);
  for (let r = 0; r < rounds; r++) {
    progress?.(`round ${r + 1}/${rounds}`);
    for (let k = 0; k < contenders.length; k++) {
      const i = (k + r) % contenders.length;
      rates[i]!.push(await contenders[i]!.round());
    }
  }
  return rates;
}

export interface PreparedKernel extends Contender {
  readonly kernel: HashKernel;
  readonly usersPerRound: number;
  /** usersPerRound is below the requested users because the kernel is slow. */
  readonly reduced: boolean;
  /** Hashes per second estimated from the end of the warm-up. */
  readonly estimate: number;
}

/**
 * Creates, self-tests and warms up a kernel on this thread: long enough for V8 to tier WebAssembly
 * (and the JS around it) up from its baseline compiler. The second half of the warm-up gives a rate estimate
 * that sizes the rounds. Returns why the kernel cannot be used instead, when it cannot.
 */
export async function prepareKernel(name: KernelName, options: KernelRateOptions): Promise<PreparedKernel | string> {
  const { users, iterations, maxRoundSeconds } = options;
  const kernel = await openKernel(name);
  if (typeof kernel === 'string') return kernel;
  const batch = randomBatch(users);
  // The estimate is the rate over the second half of the warm-up (past the baseline tier), at least
  // a few batches, so that one preempted batch does not decide it.
  const start = performance.now();
  let half = 0;
  let hashed = 0;
  let batches = 0;
  for (;;) {
    await kernel.hashBatch(batch.input, batch.salts, WARMUP_BATCH, iterations, batch.out);
    const elapsed = performance.now() - start;
    if (half === 0 && elapsed >= WARMUP_MS / 2) half = elapsed;
    else if (half !== 0) {
      hashed += WARMUP_BATCH;
      batches++;
      if (elapsed >= WARMUP_MS && batches >= 3) break;
    }
  }
  const estimate = (hashed * 1000) / Math.max(performance.now() - start - half, 1e-3);
  const usersPerRound = Math.min(users, Math.max(MIN_USERS, Math.floor(estimate * maxRoundSeconds)));
  return {
    label: `kernel ${name}`,
    kernel,
    usersPerRound,
    reduced: usersPerRound < users,
    estimate,
    async round() {
      const t = performance.now();
      await kernel.hashBatch(batch.input, batch.salts, usersPerRound, iterations, batch.out);
      return (usersPerRound * 1000) / (performance.now() - t);
    },
  };
}

/** Each kernel's single-thread rate, on this thread: warm-up, then rounds alternating between kernels. */
export async function measureKernelRates(names: readonly KernelName[], options: KernelRateOptions): Promise<KernelRate[]> {
  const prepared: (PreparedKernel | string)[] = [];
  for (const name of names) {
    options.progress?.(`kernel ${name}: self-test and warm-up`);
    prepared.push(await prepareKernel(name, options));
  }
  const live = prepared.filter((p): p is PreparedKernel => typeof p !== 'string');
  const rates = await alternateRounds(live, options.rounds, options.progress);
  return names.map((name, i) => {
    const p = prepared[i]!;
    if (typeof p === 'string') return { kernel: name, available: false, reason: p };
    return kernelRate(p, rates[live.indexOf(p)]!);
  });
}

export function kernelRate(p: PreparedKernel, rates: readonly number[]): KernelRate {
  return { kernel: p.kernel.name, available: true, usersPerRound: p.usersPerRound, reduced: p.reduced, rates, summary: summarize(rates) };
}

export interface PoolConfig {
  readonly kernel: KernelName;
  readonly workers: number;
  /** Users hashed per round. */
  readonly users: number;
  /** Users per hash() call: the engine's --batch-size (DEFAULT_BATCH_SIZE by default). */
  readonly batchSize: number;
}

/**
 * One round through a pool, as the pipeline drives it: batches of `batchSize`, at most 2 × workers
 * in flight. The NT hash buffers are made before the clock starts (hash() takes ownership of them).
 * Returns hashes per second.
 */
export async function poolRound(pool: HashPool, users: number, batchSize: number): Promise<number> {
  const batches: { buffer: Uint8Array; count: number }[] = [];
  for (let start = 0; start < users; start += batchSize) {
    const count = Math.min(batchSize, users - start);
    batches.push({ buffer: randomFillSync(new Uint8Array(count * NT_HASH_BYTES)), count });
  }
  const inFlight = new Set<Promise<unknown>>();
  const t = performance.now();
  for (const b of batches) {
    while (inFlight.size >= 2 * pool.workers) await Promise.race(inFlight);
    const p: Promise<unknown> = pool.hash(b.buffer, b.count).finally(() => inFlight.delete(p));
    inFlight.add(p);
  }
  await Promise.all(inFlight);
  return (users * 1000) / (performance.now() - t);
}

export interface OpenPool extends Contender, AsyncDisposable {
  readonly config: PoolConfig;
  readonly pool: HashPool;
}

/** Starts a pool with the config's kernel and workers and warms every thread up (kernel creation, self-test, tier-up). */
export async function openPool(config: PoolConfig, iterations: number): Promise<OpenPool> {
  const pool = await HashPool.create({ workers: config.workers, kernel: config.kernel, iterations });
  try {
    const warmUsers = Math.min(config.users, Math.max(config.workers * config.batchSize * 2, Math.ceil(config.users / 4)));
    await poolRound(pool, warmUsers, config.batchSize);
  } catch (err) {
    await pool.close();
    throw err;
  }
  return {
    label: `pool ${config.kernel} × ${config.workers}`,
    config,
    pool,
    round: () => poolRound(pool, config.users, config.batchSize),
    [Symbol.asyncDispose]: () => pool.close(),
  };
}

import { randomFillSync } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { inspect } from 'node:util';
import { Piscina } from 'piscina';
import { PhsyncError, errorMessage } from '../errors.ts';
import { publish } from '../observe/engine-events.ts';
import { DEFAULT_ITERATIONS, HASH_BYTES, NT_HASH_BYTES, SALT_BYTES, deriveHash } from '../phs/credential.ts';
import type { KernelName } from './hash-kernel.ts';
import { MAX_ITERATIONS } from './hash-protocol.ts';
import type { HashResult, HashTask } from './hash-protocol.ts';
import { LeakedStore } from '../leaked/leaked-store.ts';
import type { LeakedStoreMode } from '../leaked/leaked-store.ts';
import { LEAKED_LOOKUP_MODES } from './leaked-lookup.ts';
import type { LeakedLookupMode } from './leaked-lookup.ts';
import { selectKernel } from './kernel-selection.ts';
import { KERNEL_NAMES } from './kernels.ts';
import type { KernelChoice } from './kernel-selection.ts';

/**
 * A fixed pool of worker threads that turn NT hashes into (salt, PBKDF2 hash) pairs, so that the
 * CPU-bound hashing runs on every core and never blocks the main thread's I/O.
 *
 * Back-pressure: piscina's queue is bounded (2 batches per thread), which is enough to keep every
 * thread busy between batches but is not a buffer. Callers bound their own in-flight batches (e.g.
 * to 2 × workers); a hash() call that finds the queue full waits for room (piscina's 'drain', or
 * one of this pool's batches finishing) instead of failing.
 */

export interface HashPoolOptions {
  /** Worker threads; default os.availableParallelism(). */
  readonly workers?: number;
  /** 'auto' (default) self-tests and times every kernel and keeps the fastest correct one. */
  readonly kernel?: KernelChoice;
  /** PBKDF2 iterations; default 1000, the reference system's setting. */
  readonly iterations?: number;
  /**
   * A leaked-hash store (`phsync leaked import`): every NT hash is also looked up in it, in the
   * worker that hashes it, and each result says which users were found.
   */
  readonly leakedStore?: string;
  /** How the workers read the store: `auto` (LeakedStore's choice: memory, else mmap, else pread), `mmap` or `pread`. */
  readonly leakedLookup?: LeakedLookupMode;
}

export interface HashBatchResult {
  /** count * 10 bytes: user i's salt at [10i, 10i+10). */
  readonly salts: Uint8Array;
  /** count * 32 bytes: user i's PBKDF2 hash at [32i, 32i+32). */
  readonly hashes: Uint8Array;
  /** With a leaked-hash store: count bytes, 1 where user i's NT hash is in it. */
  readonly leaked?: Uint8Array;
}

const MAX_WORKERS = 1024;
const WORKER_YOUNG_GENERATION_MB = 4;
/**
 * Batches handed to each thread at once. With 2, the next batch waits in the thread's message port
 * while one hashes, and the thread goes on to it at once instead of idling for a round trip through
 * the main thread (result out, next task in: ~0.6 ms between batches on this VM, 6% of a native
 * batch of 256). A thread still hashes one batch at a time: the kernels are synchronous inside,
 * and hash-wasm, which awaits, queues its batches (test/hash/kernels.test.ts checks two at once).
 */
const TASKS_PER_THREAD = 2;
const KERNEL_CHOICES: readonly KernelChoice[] = ['auto', ...KERNEL_NAMES];
const OPTION_NAMES: readonly string[] = ['workers', 'kernel', 'iterations', 'leakedStore', 'leakedLookup'];
// Node 24 strips the types when piscina's worker imports this file; no build step, no loader.
const WORKER_URL = new URL('./hash-worker.ts', import.meta.url);

interface ResolvedOptions {
  readonly workers: number;
  readonly kernel: KernelChoice;
  readonly iterations: number;
  readonly leakedStore: string | undefined;
  readonly leakedLookup: LeakedLookupMode;
}

export class HashPool {
  /** The kernel every worker uses (what 'auto' picked, or the explicit choice). */
  readonly kernel: KernelName;
  readonly workers: number;
  readonly iterations: number;
  /** Single-thread hashes per second measured by 'auto' for each kernel that passed its self-test. */
  readonly kernelRates: Readonly<Record<string, number>>;
  /** Kernels 'auto' could not use here, and why (not built, no SHA extensions, a failed self-test). */
  readonly kernelsUnavailable: Readonly<Record<string, string>>;
  /** Batches each thread holds at once: one hashing, the next waiting for it. */
  readonly tasksPerThread = TASKS_PER_THREAD;
  /** Most batches piscina holds waiting for a thread. */
  readonly maxQueue: number;
  /** The leaked-hash store every batch is looked up in, and how many hashes it holds. */
  readonly leakedStore: { readonly path: string; readonly hashCount: number; readonly mode: LeakedStoreMode } | undefined;

  readonly #piscina: Piscina<HashTask, HashResult>;
  readonly #leakedLookup: LeakedLookupMode;
  /** hash() calls waiting for room in piscina's queue; called to make them look again. */
  readonly #waiters = new Set<() => void>();
  #closing: Promise<void> | undefined;
  #workerError: Error | undefined;

  /** Validates the options, selects the kernel, starts the threads and proves one of them works. */
  static async create(options: HashPoolOptions = {}): Promise<HashPool> {
    const resolved = resolveOptions(options);
    // Opened here once so that a missing or corrupt store stops the start with its own error, not
    // every batch; the workers open their own handles.
    let leaked: { path: string; hashCount: number; mode: LeakedStoreMode } | undefined;
    if (resolved.leakedStore !== undefined) {
      const store = LeakedStore.open(resolved.leakedStore, { mode: resolved.leakedLookup });
      leaked = { path: store.path, hashCount: store.hashCount, mode: store.mode };
      store.close();
    }
    // Select before starting the threads: their start-up would disturb the timing.
    const selection = await selectKernel(resolved.kernel, resolved.iterations);
    const pool = new HashPool(resolved, selection.name, selection.measured, selection.reasons, leaked);
    try {
      await pool.#probe();
    } catch (err) {
      await pool.#piscina.destroy();
      throw err;
    }
    publish('kernelSelected', { kernel: pool.kernel, workers: pool.workers, rates: pool.kernelRates, unavailable: pool.kernelsUnavailable });
    return pool;
  }

  private constructor(
    options: ResolvedOptions,
    kernel: KernelName,
    rates: Readonly<Partial<Record<KernelName, number>>>,
    unavailable: Readonly<Partial<Record<KernelName, string>>>,
    leaked: { path: string; hashCount: number; mode: LeakedStoreMode } | undefined,
  ) {
    this.kernel = kernel;
    this.leakedStore = leaked === undefined ? undefined : Object.freeze(leaked);
    this.#leakedLookup = options.leakedLookup;
    this.kernelsUnavailable = Object.freeze({ ...unavailable });
    this.workers = options.workers;
    this.iterations = options.iterations;
    this.kernelRates = Object.freeze({ ...rates });
    this.maxQueue = options.workers * 2;
    this.#piscina = new Piscina<HashTask, HashResult>({
      filename: WORKER_URL.href,
      // A fixed set of threads: hashing is steady CPU work, and starting a thread per burst would
      // cost more than it saves.
      minThreads: options.workers,
      maxThreads: options.workers,
      idleTimeout: Infinity,
      maxQueue: this.maxQueue,
      concurrentTasksPerWorker: TASKS_PER_THREAD,
      // The batches live in ArrayBuffers, outside the JavaScript heap; a worker's heap holds little
      // and a small young generation keeps each thread's resident memory small.
      resourceLimits: { maxYoungGenerationSizeMb: WORKER_YOUNG_GENERATION_MB },
    });
    this.#piscina.on('drain', () => this.#wakeWaiters());
    // Without a listener an 'error' event (a thread failing while idle) would crash the process;
    // piscina replaces the thread, and tasks that were running on it fail on their own.
    this.#piscina.on('error', (err: unknown) => {
      this.#workerError = err instanceof Error ? err : new Error(String(err));
      this.#wakeWaiters();
    });
  }

  /**
   * Hashes `count` users. `ntHashes` holds count × 16 bytes and must own its whole ArrayBuffer
   * (offset 0, nothing else in it), because that buffer is transferred: once the arguments are
   * valid the caller's view is detached before hash() returns its promise, the NT hashes exist only
   * in the pool, and they are zeroed after use (by the worker, or here if the batch never reached
   * one). Salts are fresh random bytes per user, generated in the worker.
   *
   * Rejects with a PhsyncError: HASH_INPUT_INVALID or HASH_POOL_CLOSED before the transfer (the
   * caller's buffer is left untouched), or after it HASH_ABORTED (the signal fired),
   * HASH_POOL_CLOSED, HASH_WORKER_FAILED (a thread died) or the code a worker reported
   * (e.g. KERNEL_SELF_TEST_FAILED).
   */
  async hash(ntHashes: Uint8Array, count: number, signal?: AbortSignal): Promise<HashBatchResult> {
    assertHashInput(ntHashes, count);
    this.#assertOpen();
    // Take ownership now (synchronously, before any await), so the caller cannot read or modify
    // the NT hashes while the batch waits, and so that every later failure path can zero them.
    const owned = ntHashes.buffer.transfer();
    try {
      // Wait while the queue is full. The last check and run() must happen in one synchronous
      // step (no await in between): otherwise several callers could see the same free slot, and
      // piscina would reject the overflow with "Task queue is at limit".
      for (;;) {
        this.#assertOpen();
        if (signal?.aborted === true) throw abortedError(signal);
        if (this.#piscina.queueSize < this.maxQueue) break;
        await this.#nextWake(signal);
      }
      const task: HashTask = { kernel: this.kernel, iterations: this.iterations, count, ntHashes: owned, ...(this.leakedStore === undefined ? {} : { leakedStore: this.leakedStore.path, leakedLookup: this.#leakedLookup }) };
      let result: HashResult;
      try {
        result = await this.#piscina.run(task, { transferList: [owned], signal: signal ?? null });
      } catch (err) {
        throw this.#translateRunError(err, signal);
      } finally {
        // A batch finishing frees a slot even when piscina does not announce 'drain'.
        this.#wakeWaiters();
      }
      if (!result.ok) throw new PhsyncError(result.code, result.message);
      if (result.salts.byteLength !== count * SALT_BYTES || result.hashes.byteLength !== count * HASH_BYTES) {
        throw new PhsyncError('HASH_RESULT_INVALID', `a worker returned ${result.salts.byteLength} salt and ${result.hashes.byteLength} hash bytes for ${count} users`);
      }
      if (this.leakedStore !== undefined && result.leaked?.byteLength !== count) {
        throw new PhsyncError('HASH_RESULT_INVALID', `a worker returned no leaked-hash finding for each of ${count} users`);
      }
      return { salts: new Uint8Array(result.salts), hashes: new Uint8Array(result.hashes), ...(result.leaked === undefined ? {} : { leaked: new Uint8Array(result.leaked) }) };
    } finally {
      // Still attached means it never left this thread (aborted or closed while queued): zero it.
      // If a thread was terminated mid-batch (abort), its copy went with the thread's heap.
      if (!owned.detached) new Uint8Array(owned).fill(0);
    }
  }

  /** Batches accepted but not yet running: in piscina's queue, or waiting for room in it. */
  get queueDepth(): number {
    return this.#piscina.queueSize + this.#waiters.size;
  }

  /** Piscina's estimate of the share of thread time spent on tasks since the pool started (0..1). */
  get utilization(): number {
    return this.#piscina.utilization;
  }

  /** Threads currently alive; 0 after close(). */
  get liveThreads(): number {
    return this.#piscina.threads.length;
  }

  /**
   * Lets queued and running batches finish, then ends the threads. Calls waiting for queue room
   * and later hash() calls reject with HASH_POOL_CLOSED. Idempotent.
   */
  close(): Promise<void> {
    if (this.#closing === undefined) {
      this.#closing = this.#piscina.close();
      this.#wakeWaiters();
    }
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #assertOpen(): void {
    if (this.#closing !== undefined) throw new PhsyncError('HASH_POOL_CLOSED', 'the hash pool is closed');
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  /**
   * Resolves at the next moment room may have appeared in piscina's queue ('drain', one of this
   * pool's batches settling, or close()); rejects if the signal fires first.
   */
  #nextWake(signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const done = (): void => {
        this.#waiters.delete(wake);
        signal?.removeEventListener('abort', onAbort);
      };
      const wake = (): void => {
        done();
        resolve();
      };
      const onAbort = (): void => {
        done();
        reject(abortedError(signal));
      };
      this.#waiters.add(wake);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  #translateRunError(err: unknown, signal: AbortSignal | undefined): PhsyncError {
    if (err instanceof PhsyncError) return err;
    if (signal?.aborted === true) return abortedError(signal);
    if (this.#closing !== undefined) return new PhsyncError('HASH_POOL_CLOSED', `the hash pool closed during the batch: ${errorMessage(err)}`, { cause: err });
    return new PhsyncError('HASH_WORKER_FAILED', `a hash worker failed: ${errorMessage(err)}`, { cause: err });
  }

  /**
   * One user through a real thread, checked against the reference computation here: proves that
   * the worker file loads, the protocol matches and the thread's kernel is correct before anyone
   * relies on the pool. Fails fast if a thread dies before answering (e.g. the worker cannot load).
   */
  async #probe(): Promise<void> {
    const ntHash = randomFillSync(new Uint8Array(NT_HASH_BYTES)); // random, not a user's secret
    const expectedInput = ntHash.slice();
    let onError: ((err: unknown) => void) | undefined;
    const threadFailed = new Promise<never>((_, reject) => {
      onError = (err) => reject(new PhsyncError('HASH_POOL_START_FAILED', `a hash worker failed to start: ${errorMessage(err)}`, { cause: err }));
      this.#piscina.once('error', onError);
    });
    let result: HashBatchResult;
    try {
      result = await Promise.race([this.hash(ntHash, 1), threadFailed]);
    } catch (err) {
      if (err instanceof PhsyncError && err.code === 'HASH_POOL_START_FAILED') throw err;
      throw new PhsyncError('HASH_POOL_START_FAILED', `the hash pool failed its start-up probe: ${errorMessage(err)}`, { cause: err });
    } finally {
      if (onError !== undefined) this.#piscina.off('error', onError);
    }
    if (this.#workerError !== undefined) throw new PhsyncError('HASH_POOL_START_FAILED', `a hash worker failed to start: ${this.#workerError.message}`);
    const expected = deriveHash(expectedInput, result.salts, this.iterations);
    if (!expected.equals(result.hashes)) {
      throw new PhsyncError('HASH_POOL_START_FAILED', `the hash pool's "${this.kernel}" kernel gave a wrong answer in a worker thread`);
    }
  }
}

function abortedError(signal: AbortSignal | undefined): PhsyncError {
  return new PhsyncError('HASH_ABORTED', 'the hash batch was aborted', { cause: signal?.reason });
}

/** "-1 (number)", "'4' (string)", "null (null)": the value as written and its type. */
function describeValue(value: unknown): string {
  const type = value === null ? 'null' : Array.isArray(value) ? 'array' : typeof value;
  return `${inspect(value, { depth: 0, breakLength: Infinity })} (${type})`;
}

function optionError(name: string, expected: string, value: unknown): PhsyncError {
  return new PhsyncError('HASH_POOL_OPTION_INVALID', `HashPool option "${name}" must be ${expected}, got ${describeValue(value)}`);
}

/**
 * Checks the options once, up front, with errors that name the option, the value and its type, and
 * returns a frozen copy so that later changes to the caller's object cannot reach the pool.
 * Unknown keys are rejected: a misspelt option would otherwise silently fall back to a default.
 */
function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new PhsyncError('HASH_POOL_OPTION_INVALID', `HashPool options must be an object, got ${describeValue(options)}`);
  }
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!OPTION_NAMES.includes(key)) {
      throw new PhsyncError('HASH_POOL_OPTION_INVALID', `unknown HashPool option "${key}" (known: ${OPTION_NAMES.join(', ')})`);
    }
  }

  const { workers = availableParallelism(), kernel = 'auto', iterations = DEFAULT_ITERATIONS, leakedStore, leakedLookup = 'auto' } = record;
  if (typeof workers !== 'number' || !Number.isSafeInteger(workers) || workers < 1 || workers > MAX_WORKERS) {
    throw optionError('workers', `an integer from 1 to ${MAX_WORKERS}`, workers);
  }
  if (typeof kernel !== 'string' || !(KERNEL_CHOICES as readonly string[]).includes(kernel)) {
    throw optionError('kernel', `one of ${KERNEL_CHOICES.map((k) => `'${k}'`).join(', ')}`, kernel);
  }
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    throw optionError('iterations', `an integer from 1 to ${MAX_ITERATIONS}`, iterations);
  }
  if (leakedStore !== undefined && (typeof leakedStore !== 'string' || leakedStore.length === 0)) {
    throw optionError('leakedStore', 'the path of a leaked-hash store', leakedStore);
  }
  if (!(LEAKED_LOOKUP_MODES as readonly unknown[]).includes(leakedLookup)) throw optionError('leakedLookup', `one of ${LEAKED_LOOKUP_MODES.join(', ')}`, leakedLookup);
  return Object.freeze({ workers, kernel: kernel as KernelChoice, iterations, leakedStore, leakedLookup: leakedLookup as LeakedLookupMode });
}

/** Checked before the buffer is taken, so a rejected call leaves the caller's buffer as it was. */
function assertHashInput(ntHashes: unknown, count: unknown): asserts ntHashes is Uint8Array<ArrayBuffer> {
  if (!(ntHashes instanceof Uint8Array)) {
    throw new PhsyncError('HASH_INPUT_INVALID', `ntHashes must be a Uint8Array, got ${describeValue(ntHashes)}`);
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) {
    throw new PhsyncError('HASH_INPUT_INVALID', `count must be a positive integer, got ${describeValue(count)}`);
  }
  if (!(ntHashes.buffer instanceof ArrayBuffer)) {
    throw new PhsyncError('HASH_INPUT_INVALID', 'ntHashes must be backed by an ArrayBuffer (a SharedArrayBuffer cannot be transferred)');
  }
  if (ntHashes.buffer.detached) {
    throw new PhsyncError('HASH_INPUT_INVALID', 'ntHashes is detached (was its buffer already passed to hash()?)');
  }
  if (ntHashes.length !== count * NT_HASH_BYTES) {
    throw new PhsyncError('HASH_INPUT_INVALID', `${count} users need ${count * NT_HASH_BYTES} bytes of NT hashes, got ${ntHashes.length}`);
  }
  if (ntHashes.byteOffset !== 0 || ntHashes.buffer.byteLength !== ntHashes.byteLength) {
    throw new PhsyncError(
      'HASH_INPUT_INVALID',
      `ntHashes must own its whole ArrayBuffer (its buffer is transferred), but it is a view of ${ntHashes.byteLength} bytes at offset ` +
        `${ntHashes.byteOffset} in a buffer of ${ntHashes.buffer.byteLength}; copy it with slice() first`,
    );
  }
}

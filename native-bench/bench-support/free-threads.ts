/**
 * N threads hashing at once with no pool: each a worker thread that calls the kernel directly on its
 * own batch. What they reach against N × one thread's rate is this machine's floor under the pool's
 * overhead (two busy cores of a shared VM run slower than one; the thread that feeds a pool adds to
 * it). hash.bench.ts shows it beside the pool with the same kernel and threads.
 */
import { once } from 'node:events';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import type { KernelName } from '../../src/hash/hash-kernel.ts';
import type { Contender } from './hash-rates.ts';

export interface FreeThreads extends Contender, AsyncDisposable {
  readonly kernel: KernelName;
  readonly threads: number;
  /** Users each thread hashes a round. */
  readonly users: number;
}

const WORKER_URL = new URL('./free-thread-worker.ts', import.meta.url);

/** Starts the threads and waits until each has self-tested and warmed up its kernel. */
export async function openFreeThreads(kernel: KernelName, threads: number, users: number, iterations: number): Promise<FreeThreads> {
  const workers = Array.from({ length: threads }, () => new Worker(WORKER_URL, { workerData: { kernel, users, iterations } }));
  const close = async (): Promise<void> => {
    await Promise.all(workers.map((w) => w.terminate()));
  };
  try {
    // once() rejects on the thread's 'error' event: a kernel that cannot load stops the bench here.
    await Promise.all(workers.map((w) => once(w, 'message')));
  } catch (err) {
    await close();
    throw err;
  }
  return {
    label: `free threads ${kernel} × ${threads}`,
    kernel,
    threads,
    users,
    async round() {
      const done = workers.map((w) => once(w, 'message'));
      const t = performance.now();
      for (const w of workers) w.postMessage('go');
      await Promise.all(done);
      return (threads * users * 1000) / (performance.now() - t);
    },
    [Symbol.asyncDispose]: close,
  };
}

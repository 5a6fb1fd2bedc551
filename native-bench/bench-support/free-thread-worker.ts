/**
 * One of free-threads.ts's threads: a kernel hashing on its own worker thread with no pool around it
 * (no tasks, no transfers, nothing between batches). Ready once the kernel passed its self-test and
 * warmed up; then each message hashes `users` users in one call and answers.
 */
import { performance } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import type { KernelName } from '../../src/hash/hash-kernel.ts';
import { openKernel, randomBatch } from './hash-rates.ts';

const { kernel: name, users, iterations } = workerData as { kernel: KernelName; users: number; iterations: number };
const port = parentPort;
if (port === null) throw new Error('free-thread-worker.ts runs as a worker thread');
const kernel = await openKernel(name);
if (typeof kernel === 'string') throw new Error(`kernel ${name}: ${kernel}`);
const batch = randomBatch(users);
// As prepareKernel: long enough for V8 to tier the kernel (and the JS around it) up.
const until = performance.now() + 400;
while (performance.now() < until) await kernel.hashBatch(batch.input, batch.salts, Math.min(8, users), iterations, batch.out);
port.on('message', () => {
  void kernel.hashBatch(batch.input, batch.salts, users, iterations, batch.out).then(() => port.postMessage('done'));
});
port.postMessage('ready');

import { randomFillSync } from 'node:crypto';
import { move, transferableSymbol, valueSymbol } from 'piscina';
import { PhsyncError, errorMessage } from '../errors.ts';
import { HASH_BYTES, NT_HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES, writePbkdf2Input } from '../phs/credential.ts';
import type { HashKernel, KernelName } from './hash-kernel.ts';
import { describeInvalidTask } from './hash-protocol.ts';
import type { HashFailure, HashSuccess, HashTask } from './hash-protocol.ts';
import { selfTestKernel } from './kernel-selection.ts';
import { createKernel } from './kernels.ts';
import { lookUpLeaked } from './leaked-lookup.ts';

/**
 * The piscina worker: NT hashes in, salts and PBKDF2 hashes out. Loaded by piscina in each pool
 * thread (Node 24 strips the TypeScript types on import); also callable directly, which the tests do.
 */

/**
 * One kernel instance per name per thread, created on first use and self-tested before its first
 * batch: the main thread's selection tested other instances, and a WASM instance or a thread's
 * OpenSSL state is per thread. A kernel that fails stays failed (the rejected promise is cached), so
 * it is never used, and every task asking for it reports why.
 */
const kernels = new Map<KernelName, Promise<HashKernel>>();

function kernelFor(name: KernelName): Promise<HashKernel> {
  let kernel = kernels.get(name);
  if (kernel === undefined) {
    kernel = createKernel(name).then(async (k) => {
      await selfTestKernel(k);
      return k;
    });
    // The failure is reported through the task that awaits it; this only keeps an unobserved
    // rejection from being reported as unhandled.
    kernel.catch(() => {});
    kernels.set(name, kernel);
  }
  return kernel;
}

/**
 * A success is handed to piscina wrapped as a Transferable and marked with move(), so that piscina
 * posts it with both buffers in the transfer list (move() on a bare ArrayBuffer would transfer only
 * that one). A failure is plain data.
 */
export type WorkerReply = HashFailure | { readonly [valueSymbol]: HashSuccess; readonly [transferableSymbol]: ArrayBuffer[] };

export default async function hashWorker(task: HashTask): Promise<WorkerReply> {
  const problem = describeInvalidTask(task);
  if (problem !== undefined) {
    // Even a malformed task may carry secrets: zero what we can recognise.
    const maybeBuffer = (task as { ntHashes?: unknown } | null)?.ntHashes;
    if (maybeBuffer instanceof ArrayBuffer) new Uint8Array(maybeBuffer).fill(0);
    return { ok: false, code: 'HASH_TASK_INVALID', message: problem };
  }

  const { count, iterations } = task;
  const ntHashes = new Uint8Array(task.ntHashes);
  // Fresh allocations, not Buffer.alloc: those may come from a shared pool slab, and we want the
  // secrets in memory that nobody else has a view of.
  const inputs = new Uint8Array(count * PBKDF2_INPUT_BYTES);
  try {
    // Looked up here, beside the hashing, so that a leaked-hash store costs the pipeline no thread of
    // its own and the NT hashes never leave this one.
    const leaked = task.leakedStore === undefined ? undefined : lookUpLeaked(task.leakedStore, task.leakedLookup ?? 'auto', ntHashes, count);
    for (let i = 0; i < count; i++) {
      writePbkdf2Input(ntHashes.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), inputs, i * PBKDF2_INPUT_BYTES);
    }
    // The NT hashes are not needed past this point; don't keep them around while hashing.
    ntHashes.fill(0);

    // A fresh CSPRNG salt per user (OpenSSL's RAND_bytes): never reused, never derived from the
    // user, so equal NT hashes give unrelated credentials.
    const salts = randomFillSync(new Uint8Array(count * SALT_BYTES));
    const hashes = new Uint8Array(count * HASH_BYTES);
    const kernel = await kernelFor(task.kernel);
    await kernel.hashBatch(inputs, salts, count, iterations, hashes);

    const transfer = leaked === undefined ? [salts.buffer, hashes.buffer] : [salts.buffer, hashes.buffer, leaked.buffer];
    const reply = {
      [valueSymbol]: { ok: true, salts: salts.buffer, hashes: hashes.buffer, ...(leaked === undefined ? {} : { leaked: leaked.buffer }) } satisfies HashSuccess,
      [transferableSymbol]: transfer,
    };
    move(reply);
    return reply;
  } catch (err) {
    const code = err instanceof PhsyncError ? err.code : 'HASH_WORKER_ERROR';
    return { ok: false, code, message: errorMessage(err) };
  } finally {
    // Secrets hygiene: both the NT hashes and their hex expansion are password equivalents.
    ntHashes.fill(0);
    inputs.fill(0);
  }
}

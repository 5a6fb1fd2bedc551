import { NT_HASH_BYTES } from '../phs/credential.ts';
import type { KernelName } from './hash-kernel.ts';
import { isKernelName } from './kernels.ts';
import { LEAKED_LOOKUP_MODES } from './leaked-lookup.ts';
import type { LeakedLookupMode } from './leaked-lookup.ts';

/**
 * The messages between HashPool (main thread) and hash-worker (pool thread). One file for both
 * sides so that a change to the shape is a type error on both ends, not a silent mismatch.
 *
 * Every buffer is an ArrayBuffer that is moved (transferred), never copied: the NT hashes leave the
 * caller's thread and exist in exactly one place, where they are zeroed after use; the results come
 * back without a copy.
 */

/** The credential format allows 1..7 decimal digits of iterations. */
export const MAX_ITERATIONS = 9_999_999;

export interface HashTask {
  readonly kernel: KernelName;
  readonly iterations: number;
  readonly count: number;
  /** count * 16 bytes; transferred to the worker, which zeroes it before replying. */
  readonly ntHashes: ArrayBuffer;
  /** A leaked-hash store (`phsync leaked import`) to look each NT hash up in, beside the hashing. */
  readonly leakedStore?: string;
  /** How the worker reads it (default auto). */
  readonly leakedLookup?: LeakedLookupMode;
}

export interface HashSuccess {
  readonly ok: true;
  /** count * 10 bytes, fresh CSPRNG salts, one per user. */
  readonly salts: ArrayBuffer;
  /** count * 32 bytes, PBKDF2-HMAC-SHA256 of user i at [32i, 32i+32). */
  readonly hashes: ArrayBuffer;
  /**
   * With a leaked-hash store: count bytes, 1 where user i's NT hash is in the store, else 0. Only the
   * finding: never how often the list has seen the hash, which with the list at hand would narrow
   * down the password itself.
   */
  readonly leaked?: ArrayBuffer;
}

/**
 * A failure travels as data: an Error thrown in a worker is structured-cloned across the thread
 * boundary and loses its class and `code`, so the worker reports the code explicitly and the pool
 * turns it back into a PhsyncError.
 */
export interface HashFailure {
  readonly ok: false;
  readonly code: string;
  readonly message: string;
}

export type HashResult = HashSuccess | HashFailure;

/**
 * Returns what is wrong with a task, or undefined if it is well-formed. Used by the worker, which
 * must not trust a message just because it came from its own process: a malformed one would
 * otherwise hash garbage or read out of range.
 */
export function describeInvalidTask(task: unknown): string | undefined {
  if (typeof task !== 'object' || task === null) return `a hash task is an object, got ${task === null ? 'null' : typeof task}`;
  const { kernel, iterations, count, ntHashes, leakedStore, leakedLookup } = task as Record<string, unknown>;
  if (!isKernelName(kernel)) return `unknown kernel ${String(kernel)}`;
  if (typeof iterations !== 'number' || !Number.isSafeInteger(iterations) || iterations < 1 || iterations > MAX_ITERATIONS) {
    return `iterations must be an integer in 1..${MAX_ITERATIONS}, got ${String(iterations)}`;
  }
  if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1) return `count must be a positive integer, got ${String(count)}`;
  if (!(ntHashes instanceof ArrayBuffer)) return 'ntHashes must be an ArrayBuffer';
  if (ntHashes.byteLength !== count * NT_HASH_BYTES) {
    return `ntHashes must hold ${count} NT hashes (${count * NT_HASH_BYTES} bytes), got ${ntHashes.byteLength} bytes`;
  }
  if (leakedStore !== undefined && (typeof leakedStore !== 'string' || leakedStore.length === 0)) return 'leakedStore must be a file path';
  if (leakedLookup !== undefined && !(LEAKED_LOOKUP_MODES as readonly unknown[]).includes(leakedLookup)) return `leakedLookup must be one of ${LEAKED_LOOKUP_MODES.join(', ')}`;
  return undefined;
}

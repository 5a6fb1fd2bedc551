import { setTimeout as sleep } from 'node:timers/promises';

/** Retries as data, as undici's RetryAgent has them: how many, how long to wait, how fast it grows. */
export interface RetryPolicy {
  /** Attempts after the first one fails; 0 never retries. */
  readonly maxRetries: number;
  readonly minDelayMs: number;
  readonly maxDelayMs: number;
  readonly factor: number;
}

export const DEFAULT_RETRY: RetryPolicy = Object.freeze({ maxRetries: 8, minDelayMs: 250, maxDelayMs: 15_000, factor: 2 });

/**
 * The wait before retry number `retry` (1-based): exponential, capped, with full jitter so that many
 * engines restarted by one outage do not all come back in the same instant.
 */
export function retryDelay(policy: RetryPolicy, retry: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.minDelayMs * policy.factor ** (retry - 1));
  return Math.round(policy.minDelayMs / 2 + random() * (ceiling - policy.minDelayMs / 2));
}

export async function waitBeforeRetry(policy: RetryPolicy, retry: number, signal?: AbortSignal): Promise<void> {
  await sleep(retryDelay(policy, retry), undefined, signal === undefined ? {} : { signal });
}

/** Waits before retry `retry`; false when the signal ended the wait (stopping: the caller returns quietly). */
export async function waitBeforeRetryUnlessStopped(policy: RetryPolicy, retry: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await waitBeforeRetry(policy, retry, signal);
    return true;
  } catch (err) {
    if (signal?.aborted === true) return false;
    throw err;
  }
}

import { upnKey } from '../tenant-store.ts';

export interface LockoutPolicy {
  /** Failures within `windowMs` that lock a sign-in name out. */
  readonly maxFailures: number;
  readonly windowMs: number;
  /** The answer to a failed sign-in waits baseDelayMs × 2^(failures − 1), at most MAX_DELAY_MS. */
  readonly baseDelayMs: number;
}

export const DEFAULT_LOCKOUT: LockoutPolicy = Object.freeze({ maxFailures: 10, windowMs: 5 * 60_000, baseDelayMs: 50 });
export const MAX_DELAY_MS = 2_000;
/** Sign-in names tracked at once; the least recently failed is forgotten first. */
export const DEFAULT_MAX_TRACKED = 10_000;

/**
 * A per-user lockout for the sign-in route, keyed by the lowercased sign-in name whether or not the
 * user exists (so it tells nobody who does). An attempt counts as a failure from the moment it
 * starts, so guesses sent in parallel are counted too; a success forgets the user's failures. Once
 * `maxFailures` failures fall within `windowMs`, attempts are refused unchecked until the oldest of
 * them leaves the window. At most `maxTracked` names are held (least recently failed forgotten first),
 * so a stream of made-up names cannot grow it without limit.
 */
export class SignInLockout {
  readonly #policy: LockoutPolicy;
  readonly #maxTracked: number;
  readonly #now: () => number;
  /** Failure times per name, oldest first, at most maxFailures of them. Map order = least recent first. */
  readonly #failures = new Map<string, number[]>();

  constructor(policy: LockoutPolicy, options: { maxTracked?: number; now?: () => number } = {}) {
    if (!(policy.maxFailures >= 1) || !(policy.windowMs > 0) || !(policy.baseDelayMs >= 0)) {
      throw new RangeError('lockout needs maxFailures ≥ 1, windowMs > 0 and baseDelayMs ≥ 0');
    }
    this.#policy = policy;
    this.#maxTracked = options.maxTracked ?? DEFAULT_MAX_TRACKED;
    this.#now = options.now ?? Date.now;
  }

  /** Failures of this name still inside the window (dropping older ones). */
  #recent(key: string, now: number): number[] {
    const times = this.#failures.get(key);
    if (times === undefined) return [];
    const cutoff = now - this.#policy.windowMs;
    while (times.length > 0 && times[0]! <= cutoff) times.shift();
    if (times.length === 0) this.#failures.delete(key);
    return times;
  }

  /** Milliseconds until this name may try again, or 0 when it may now. */
  retryAfterMs(userPrincipalName: string): number {
    const now = this.#now();
    const times = this.#recent(upnKey(userPrincipalName), now);
    if (times.length < this.#policy.maxFailures) return 0;
    return Math.max(1, times[times.length - this.#policy.maxFailures]! + this.#policy.windowMs - now);
  }

  /** Counts an attempt as a failure (until `succeeded` says otherwise); returns how long to delay a failed answer. */
  attempt(userPrincipalName: string): number {
    const key = upnKey(userPrincipalName);
    const now = this.#now();
    const times = this.#recent(key, now);
    times.push(now);
    if (times.length > this.#policy.maxFailures) times.shift();
    this.#failures.delete(key);
    this.#failures.set(key, times);
    while (this.#failures.size > this.#maxTracked) {
      const oldest = this.#failures.keys().next().value;
      if (oldest === undefined) break;
      this.#failures.delete(oldest);
    }
    return Math.min(MAX_DELAY_MS, this.#policy.baseDelayMs * 2 ** (times.length - 1));
  }

  succeeded(userPrincipalName: string): void {
    this.#failures.delete(upnKey(userPrincipalName));
  }

  /** Names currently tracked (for tests). */
  get size(): number {
    return this.#failures.size;
  }
}

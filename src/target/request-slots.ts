/**
 * A small counting semaphore: at most `size` holders at once, the others wait in arrival order. An
 * aborted waiter leaves the queue and rejects with the signal's reason.
 */
export class RequestSlots {
  readonly size: number;
  #held = 0;
  readonly #waiting: { grant: () => void }[] = [];

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`request slots: size must be a positive integer, got ${size}`);
    this.size = size;
  }

  get held(): number {
    return this.#held;
  }

  /** Waits for a slot; the returned function gives it back (once; later calls do nothing). */
  async acquire(signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    if (this.#held < this.size) {
      this.#held++;
      return this.#releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter = {
        grant: (): void => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = (): void => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(waiter);
    });
    // The slot was handed over by release(): #held already counts it.
    return this.#releaser();
  }

  #releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const next = this.#waiting.shift();
      if (next === undefined) this.#held--;
      else next.grant();
    };
  }
}

/**
 * Asks an async iterator for up to `ahead` items before they are needed. ldapts' paged search sends
 * the request for the next page only when the consumer asks for it, so the engine, busy with a page,
 * and the directory server, building the next, took turns; asking ahead lets them work at once (the
 * server on another core). Holds at most `ahead` items beyond the one being consumed.
 *
 * An async generator queues concurrent next() calls and runs them in order, so asking early is safe.
 * Errors arrive in order, at the item where they happened.
 */
export async function* readAhead<T>(source: AsyncIterable<T>, ahead: number): AsyncGenerator<T, void, undefined> {
  if (!Number.isInteger(ahead) || ahead < 1) throw new RangeError(`ahead must be a positive integer, got ${ahead}`);
  const iterator = source[Symbol.asyncIterator]();
  const queued: Promise<IteratorResult<T>>[] = [];
  let finished = false;
  try {
    for (;;) {
      while (!finished && queued.length < ahead + 1) {
        const next = iterator.next();
        queued.push(next);
        // Stop asking past the end or an error: a finished generator answers done at once anyway.
        next.then(
          (r) => {
            if (r.done === true) finished = true;
          },
          () => {
            finished = true;
          },
        );
      }
      const result = await queued.shift()!;
      if (result.done === true) return;
      yield result.value;
    }
  } finally {
    // Requests already made and not consumed: their outcome no longer matters to anyone.
    for (const pending of queued) pending.catch(() => undefined);
    await iterator.return?.();
  }
}

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readAhead } from '../../src/util/read-ahead.ts';

/** A source that records when each item is fetched, and whether it was closed. */
function recordedSource(count: number, failAt?: number) {
  const events: string[] = [];
  let cleanedUp = false;
  async function* source(): AsyncGenerator<number> {
    try {
      for (let i = 0; i < count; i++) {
        events.push(`fetch ${i}`);
        await sleep(5);
        if (i === failAt) throw new Error(`page ${i} failed`);
        yield i;
      }
    } finally {
      cleanedUp = true;
    }
  }
  return { source: source(), events, cleanedUp: () => cleanedUp };
}

describe('readAhead', () => {
  it("yields every item in order while fetching the next one during the consumer's work", async () => {
    const { source, events } = recordedSource(5);
    const got: number[] = [];
    for await (const item of readAhead(source, 1)) {
      await sleep(20); // the consumer's work: the next item is fetched meanwhile
      events.push(`consumed ${item}`);
      got.push(item);
    }
    assert.deepEqual(got, [0, 1, 2, 3, 4]);
    assert.ok(events.indexOf('fetch 1') < events.indexOf('consumed 0'), events.join(', '));
  });

  it('holds at most `ahead` items beyond the one being consumed', async () => {
    const { source, events } = recordedSource(10);
    const iterator = readAhead(source, 2)[Symbol.asyncIterator]();
    assert.equal((await iterator.next()).value, 0);
    await sleep(100);
    assert.deepEqual(events, ['fetch 0', 'fetch 1', 'fetch 2'], 'item 0 handed over, items 1 and 2 asked for ahead, nothing more');
    await iterator.return(undefined);
  });

  it('passes an error on at the item where it happened, after the items before it', async () => {
    const { source } = recordedSource(5, 2);
    const got: number[] = [];
    await assert.rejects(
      (async () => {
        for await (const item of readAhead(source, 2)) got.push(item);
      })(),
      /page 2 failed/,
    );
    assert.deepEqual(got, [0, 1]);
  });

  it('closes the source when the consumer stops early', async () => {
    const recorded = recordedSource(100);
    for await (const item of readAhead(recorded.source, 2)) {
      if (item === 3) break;
    }
    assert.equal(recorded.cleanedUp(), true);
  });
});

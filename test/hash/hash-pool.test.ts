import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { PhsyncError } from '../../src/errors.ts';
import { HashPool } from '../../src/hash/hash-pool.ts';
import type { HashPoolOptions } from '../../src/hash/hash-pool.ts';
import { KERNEL_NAMES } from '../../src/hash/kernels.ts';
import { HASH_BYTES, NT_HASH_BYTES, SALT_BYTES, deriveHash } from '../../src/phs/credential.ts';

function isCode(code: string, message?: RegExp) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PhsyncError, `expected a PhsyncError, got ${String(err)}`);
    assert.equal(err.code, code);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  };
}

/** Checks every user's hash against the reference with the salt the pool returned. */
function assertVerifies(ntHashes: Uint8Array, result: { salts: Uint8Array; hashes: Uint8Array }, count: number, iterations = 1000): void {
  assert.equal(result.salts.length, count * SALT_BYTES);
  assert.equal(result.hashes.length, count * HASH_BYTES);
  for (let i = 0; i < count; i++) {
    const reference = deriveHash(ntHashes.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), result.salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES), iterations);
    assert.deepEqual(Buffer.from(result.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), reference, `user ${i}`);
  }
}

describe('HashPool', () => {
  let pool: HashPool;
  before(async () => {
    pool = await HashPool.create({ workers: 2 });
  });
  after(async () => {
    await pool.close();
  });

  it('starts the requested threads with a self-tested, measured kernel', () => {
    assert.equal(pool.workers, 2);
    assert.equal(pool.liveThreads, 2);
    assert.equal(pool.iterations, 1000);
    assert.ok(KERNEL_NAMES.includes(pool.kernel));
    assert.ok((pool.kernelRates[pool.kernel] ?? 0) > 0, JSON.stringify(pool.kernelRates));
    assert.ok(Object.isFrozen(pool.kernelRates));
    assert.equal(pool.maxQueue, 4);
  });

  it('hashes 64 users in worker threads; every hash verifies with deriveHash and its returned salt', async () => {
    const count = 64;
    const ntHashes = randomFillSync(new Uint8Array(count * NT_HASH_BYTES));
    const copy = ntHashes.slice();
    const result = await pool.hash(ntHashes, count);
    assertVerifies(copy, result, count);
    // piscina only records run time for tasks that ran on its threads.
    assert.ok(pool.utilization > 0);
  });

  it('gives every user its own salt, and the same NT hash new salts on every run', async () => {
    const count = 64;
    const ntHashes = new Uint8Array(count * NT_HASH_BYTES);
    const one = randomFillSync(new Uint8Array(NT_HASH_BYTES));
    for (let i = 0; i < count; i++) ntHashes.set(one, i * NT_HASH_BYTES); // 64 users, one password
    const copy = ntHashes.slice();
    const first = await pool.hash(ntHashes, count);
    const second = await pool.hash(copy.slice(), count);
    assertVerifies(copy, first, count);
    assertVerifies(copy, second, count);
    const salts = new Set<string>();
    const hashes = new Set<string>();
    for (const run of [first, second]) {
      for (let i = 0; i < count; i++) {
        salts.add(Buffer.from(run.salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES)).toString('hex'));
        hashes.add(Buffer.from(run.hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)).toString('hex'));
      }
    }
    assert.equal(salts.size, 2 * count);
    assert.equal(hashes.size, 2 * count);
  });

  it('takes the NT hash buffer: detached as soon as hash() returns, and afterwards', async () => {
    const ntHashes = randomFillSync(new Uint8Array(4 * NT_HASH_BYTES));
    const { buffer } = ntHashes;
    const pending = pool.hash(ntHashes, 4);
    assert.equal(buffer.detached, true);
    assert.equal(ntHashes.length, 0);
    await pending;
    assert.equal(buffer.detached, true);
  });

  it('waits for room instead of failing when more batches arrive than the queue holds', async () => {
    const batches = 5 * pool.maxQueue;
    const inputs = Array.from({ length: batches }, () => randomFillSync(new Uint8Array(2 * NT_HASH_BYTES)));
    const copies = inputs.map((b) => b.slice());
    const pending = inputs.map((b) => pool.hash(b, 2));
    await Promise.resolve();
    assert.ok(pool.queueDepth > pool.maxQueue, `queueDepth ${pool.queueDepth}`);
    const results = await Promise.all(pending);
    results.forEach((r, i) => assertVerifies(copies[i]!, r, 2));
    assert.equal(pool.queueDepth, 0);
  });

  it('rejects with HASH_ABORTED when the signal fires, before or while the batch waits', async () => {
    await assert.rejects(pool.hash(randomFillSync(new Uint8Array(NT_HASH_BYTES)), 1, AbortSignal.abort()), isCode('HASH_ABORTED'));

    const controller = new AbortController();
    const fillers = Array.from({ length: pool.workers * pool.tasksPerThread + pool.maxQueue }, () => pool.hash(randomFillSync(new Uint8Array(8 * NT_HASH_BYTES)), 8));
    const waiting = pool.hash(randomFillSync(new Uint8Array(NT_HASH_BYTES)), 1, controller.signal);
    assert.equal(pool.queueDepth, pool.maxQueue + 1, 'the last batch waits for room');
    controller.abort();
    await assert.rejects(waiting, isCode('HASH_ABORTED'));
    await Promise.all(fillers);
  });

  it('refuses input it cannot take, leaving the caller’s buffer alone', async () => {
    const big = randomFillSync(new Uint8Array(3 * NT_HASH_BYTES));
    const view = big.subarray(NT_HASH_BYTES);
    await assert.rejects(pool.hash(view, 2), isCode('HASH_INPUT_INVALID', /own its whole ArrayBuffer/));
    assert.equal(big.buffer.detached, false);
    await assert.rejects(pool.hash(big, 2), isCode('HASH_INPUT_INVALID', /2 users need 32 bytes/));
    await assert.rejects(pool.hash(big, 0), isCode('HASH_INPUT_INVALID', /count/));
    await assert.rejects(pool.hash(new Uint8Array(new SharedArrayBuffer(16)), 1), isCode('HASH_INPUT_INVALID', /SharedArrayBuffer/));
    await assert.rejects(pool.hash([1, 2] as unknown as Uint8Array, 1), isCode('HASH_INPUT_INVALID', /Uint8Array/));
    assert.equal(big.buffer.detached, false);
  });
});

describe('HashPool with an explicit kernel', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`hashes through a worker thread with the ${kernel} kernel`, async () => {
      await using pool = await HashPool.create({ workers: 1, kernel, iterations: 100 });
      assert.equal(pool.kernel, kernel);
      assert.deepEqual(pool.kernelRates, {});
      const ntHashes = randomFillSync(new Uint8Array(8 * NT_HASH_BYTES));
      const copy = ntHashes.slice();
      assertVerifies(copy, await pool.hash(ntHashes, 8), 8, 100);
    });
  }
});

describe('HashPool options', () => {
  const cases: [options: unknown, option: string, shown: RegExp][] = [
    [{ workers: 0 }, 'workers', /got 0 \(number\)/],
    [{ workers: -1 }, 'workers', /got -1 \(number\)/],
    [{ workers: 1.5 }, 'workers', /got 1\.5 \(number\)/],
    [{ workers: Number.NaN }, 'workers', /got NaN \(number\)/],
    [{ workers: '2' }, 'workers', /got '2' \(string\)/],
    [{ workers: null }, 'workers', /got null \(null\)/],
    [{ workers: 100_000 }, 'workers', /got 100000 \(number\)/],
    [{ kernel: 'gpu' }, 'kernel', /got 'gpu' \(string\)/],
    [{ kernel: 1 }, 'kernel', /got 1 \(number\)/],
    [{ iterations: 0 }, 'iterations', /got 0 \(number\)/],
    [{ iterations: 10_000_000 }, 'iterations', /got 10000000 \(number\)/],
    [{ iterations: 1000n }, 'iterations', /got 1000n \(bigint\)/],
    [{ iterations: [1000] }, 'iterations', /got \[ 1000 \] \(array\)/],
  ];
  for (const [options, option, shown] of cases) {
    it(`rejects ${inspect(options)}, naming "${option}", the value and its type`, async () => {
      await assert.rejects(HashPool.create(options as HashPoolOptions), isCode('HASH_POOL_OPTION_INVALID', new RegExp(`option "${option}"`)));
      await assert.rejects(HashPool.create(options as HashPoolOptions), isCode('HASH_POOL_OPTION_INVALID', shown));
    });
  }

  it('rejects a misspelt option by name rather than ignoring it', async () => {
    await assert.rejects(HashPool.create({ worker: 2 } as HashPoolOptions), isCode('HASH_POOL_OPTION_INVALID', /unknown HashPool option "worker"/));
  });

  it('rejects options that are not an object', async () => {
    await assert.rejects(HashPool.create(4 as unknown as HashPoolOptions), isCode('HASH_POOL_OPTION_INVALID', /got 4 \(number\)/));
  });
});

describe('HashPool.close', () => {
  it('ends the threads, refuses new batches, and can be called again', async () => {
    const pool = await HashPool.create({ workers: 2, kernel: 'node' });
    assert.equal(pool.liveThreads, 2);
    const inFlight = pool.hash(randomFillSync(new Uint8Array(4 * NT_HASH_BYTES)), 4);
    await pool.close();
    await inFlight; // a batch already accepted finishes before the threads go
    assert.equal(pool.liveThreads, 0);
    const ntHashes = randomFillSync(new Uint8Array(NT_HASH_BYTES));
    await assert.rejects(pool.hash(ntHashes, 1), isCode('HASH_POOL_CLOSED'));
    assert.equal(ntHashes.buffer.detached, false);
    await pool.close();
  });

  it('closes on `await using`', async () => {
    let escaped: HashPool;
    {
      await using pool = await HashPool.create({ workers: 1, kernel: 'node' });
      escaped = pool;
      assert.equal(pool.liveThreads, 1);
    }
    assert.equal(escaped.liveThreads, 0);
  });
});

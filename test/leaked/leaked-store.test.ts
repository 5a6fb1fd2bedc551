import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, truncateSync, writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { importHibp } from '../../src/leaked/hibp-import.ts';
import { LeakedStore } from '../../src/leaked/leaked-store.ts';
import { HEADER_BYTES, RECORDS_OFFSET } from '../../src/leaked/leaked-store-format.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { tempDir } from '../support/temp-dir.ts';
import { expectedCounts, hex, knownEntries, line, randomEntries, shuffled } from './hibp-text.ts';
import type { Entry } from './hibp-text.ts';

const quiet = { onWarning: () => undefined };

/** Hashes built around edge cases: the first and last possible, and neighbours sharing long prefixes. */
function edgeEntries(): Entry[] {
  const h = (s: string): Buffer => Buffer.from(s, 'hex');
  return [
    { hash: h('00000000000000000000000000000000'), count: 7 },
    { hash: h('ffffffffffffffffffffffffffffffff'), count: 9 },
    // The same 2-byte bucket, and the same first 6 bytes (interpolation cannot tell them apart).
    { hash: h('abcd0000000000000000000000000001'), count: 1 },
    { hash: h('abcd0000000000000000000000000003'), count: 3 },
    { hash: h('abcd0000000000000000000000000005'), count: 5 },
    { hash: h('abcd1234567800000000000000000000'), count: 11 },
    { hash: h('abcd12345678ffffffffffffffffffff'), count: 12 },
    { hash: h('abcdffffffffffffffffffffffffffff'), count: 13 },
  ];
}

const ABSENT = ['00000000000000000000000000000001', 'fffffffffffffffffffffffffffffffe', 'abcd0000000000000000000000000000', 'abcd0000000000000000000000000002', 'abcd0000000000000000000000000006', 'abcd12345678fffffffffffffffffffe', 'abce0000000000000000000000000000'].map((s) => Buffer.from(s, 'hex'));

async function buildStore(dir: { file(name: string): string }, entries: readonly Entry[]): Promise<string> {
  writeFileSync(dir.file('list.txt'), shuffled(entries).map((e) => line(e)).join(''));
  await importHibp({ input: dir.file('list.txt'), storePath: dir.file('store.phsleak'), ...quiet });
  return dir.file('store.phsleak');
}

describe('LeakedStore', () => {
  it('finds every imported hash with its count, in memory and by pread, and nothing else', async () => {
    using dir = tempDir();
    const known = await knownEntries();
    const entries = [...known, ...edgeEntries(), ...randomEntries(20_000)];
    const path = await buildStore(dir, entries);
    const expected = expectedCounts(entries);
    for (const inMemoryMaxBytes of [undefined, 0]) {
      using store = LeakedStore.open(path, inMemoryMaxBytes === undefined ? {} : { inMemoryMaxBytes });
      assert.equal(store.inMemory, inMemoryMaxBytes === undefined);
      assert.equal(store.hashCount, expected.size);
      assert.ok(Math.abs(store.createdAt.getTime() - Date.now()) < 60_000);
      for (const e of entries) assert.equal(store.lookup(e.hash, 0), expected.get(hex(e.hash)), hex(e.hash));
      for (const k of known) assert.equal(store.lookup(await ntHash(k.password), 0), k.count, k.password);
      assert.equal(store.lookup(await ntHash('not in the list, surely'), 0), 0);
      for (const a of ABSENT) assert.equal(store.lookup(a, 0), 0, hex(a));
      for (let i = 0; i < 2000; i++) assert.equal(store.lookup(randomBytes(16), 0), 0);
      // A hash at an offset inside a larger buffer (how the engine passes a batch).
      const batch = Buffer.concat([randomBytes(16), entries[3]!.hash, randomBytes(16)]);
      assert.equal(store.lookup(batch, 16), expected.get(hex(entries[3]!.hash)));
      assert.throws(() => store.lookup(batch, 40), RangeError);
    }
  });

  it('finds keys by pread when interpolation misses: a skewed bucket far larger than a window', async () => {
    using dir = tempDir();
    // 12,000 hashes in one bucket, all with the same first 6 bytes: every estimate is the bucket's start.
    const skewed = Array.from({ length: 12_000 }, (_, i) => {
      const hash = Buffer.alloc(16);
      hash.write('77770102030405', 'hex');
      hash.writeUInt32BE(i * 3 + 1, 8);
      randomBytes(4).copy(hash, 12);
      return { hash, count: 1 + (i % 500) };
    });
    const entries = [...skewed, ...randomEntries(3000)];
    const path = await buildStore(dir, entries);
    using store = LeakedStore.open(path, { inMemoryMaxBytes: 0 });
    for (const e of entries) assert.equal(store.lookup(e.hash, 0), e.count);
    for (let i = 0; i < 12_000; i += 37) {
      const absent = Buffer.from(skewed[i]!.hash);
      absent.writeUInt32BE(i * 3 + 2, 8);
      assert.equal(store.lookup(absent, 0), 0);
    }
  });

  it('is opened by several worker threads at once, each with its own descriptor', async () => {
    using dir = tempDir();
    const entries = randomEntries(5000);
    const path = await buildStore(dir, entries);
    const keys = Buffer.concat(entries.map((e) => e.hash));
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(({ LeakedStore }) => {
        const store = LeakedStore.open(workerData.path, { inMemoryMaxBytes: workerData.inMemory ? 1e9 : 0 });
        const keys = Buffer.from(workerData.keys);
        let sum = 0;
        for (let i = 0; i < keys.length; i += 16) sum += store.lookup(keys, i);
        store.close();
        parentPort.postMessage(sum);
      });`;
    const module = new URL('../../src/leaked/leaked-store.ts', import.meta.url).href;
    const sums = await Promise.all(
      [true, false, false, true].map(
        (inMemory) =>
          new Promise<number>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: { module, path, keys, inMemory } });
            worker.once('message', (sum: number) => resolve(sum));
            worker.once('error', reject);
          }),
      ),
    );
    const total = entries.reduce((sum, e) => sum + e.count, 0);
    assert.deepEqual(sums, [total, total, total, total]);
  });

  it('refuses a damaged store with LEAKED_STORE_INVALID and a missing one with LEAKED_STORE_UNREADABLE, naming the path', async () => {
    using dir = tempDir();
    const entries = randomEntries(1000);
    const path = await buildStore(dir, entries);
    const good = readFileSync(path);
    const damaged = (name: string, bytes: Buffer): string => {
      writeFileSync(dir.file(name), bytes);
      return dir.file(name);
    };
    const flip = (at: number): Buffer => {
      const copy = Buffer.from(good);
      copy[at]! ^= 0x40;
      return copy;
    };
    const cases: [string, string, RegExp][] = [
      ['magic', damaged('magic', flip(0)), /bad magic/],
      ['version', damaged('version', flip(8)), /format version/],
      ['count', damaged('count', flip(16)), /checksum/],
      ['index', damaged('index', flip(HEADER_BYTES + 4 * 4000)), /checksum/],
      ['truncated', damaged('truncated', good.subarray(0, good.length - 8)), /truncated/],
      ['header only', damaged('header', good.subarray(0, 40)), /truncated/],
      ['no records', damaged('norecords', good.subarray(0, RECORDS_OFFSET - 1)), /truncated/],
      ['trailing', damaged('trailing', Buffer.concat([good, Buffer.alloc(16)])), /trailing bytes/],
      ['empty', damaged('empty', Buffer.alloc(0)), /truncated/],
      ['text', damaged('text', Buffer.from('0123456789ABCDEF0123456789ABCDEF:12\n'.repeat(10))), /bad magic/],
    ];
    for (const [what, file, message] of cases) {
      assert.throws(
        () => LeakedStore.open(file),
        (err: unknown) => {
          const e = err as { code?: string; message: string };
          assert.equal(e.code, 'LEAKED_STORE_INVALID', `${what}: ${e.message}`);
          assert.match(e.message, message, what);
          assert.ok(e.message.includes(file), e.message);
          return true;
        },
      );
    }
    mkdirSync(dir.file('a-directory'));
    for (const file of [dir.file('missing.phsleak'), dir.file('a-directory')]) {
      assert.throws(() => LeakedStore.open(file), (err: unknown) => (err as { code?: string }).code === 'LEAKED_STORE_UNREADABLE' && (err as Error).message.includes(file));
    }
    // Truncated after it was opened (a store replaced badly under a running engine): said, not a wrong answer.
    const late = damaged('late', good);
    const store = LeakedStore.open(late, { inMemoryMaxBytes: 0 });
    truncateSync(late, RECORDS_OFFSET);
    assert.throws(() => store.lookup(entries[0]!.hash, 0), (err: unknown) => (err as { code?: string }).code === 'LEAKED_STORE_INVALID' && /truncated since it was opened/.test((err as Error).message));
    store.close();
    assert.throws(() => store.lookup(randomBytes(16), 0), (err: unknown) => (err as { code?: string }).code === 'LEAKED_STORE_CLOSED');
  });
});

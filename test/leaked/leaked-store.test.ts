import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { randomBytes, randomFillSync } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { importHibp } from '../../src/leaked/hibp-import.ts';
import { IN_MEMORY_MAX_BYTES, LeakedStore } from '../../src/leaked/leaked-store.ts';
import type { LeakedStoreMode } from '../../src/leaked/leaked-store.ts';
import { HEADER_BYTES, INDEX_ENTRIES, RECORDS_OFFSET, RECORD_BYTES } from '../../src/leaked/leaked-store-format.ts';
import { LEAKED_ADDON_PATH, loadLeakedLookupAddon } from '../../src/leaked/native-lookup.ts';
import { LEAKED_SOURCE_PATH } from '../../src/leaked/native/build-leaked-native.ts';
import { StoreWriter } from '../../src/leaked/store-writer.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { tempDir } from '../support/temp-dir.ts';
import { expectedCounts, hex, knownEntries, line, randomEntries, shuffled } from './hibp-text.ts';
import type { Entry } from './hibp-text.ts';

const quiet = { onWarning: () => undefined };
const MODES: readonly LeakedStoreMode[] = ['pread', 'mmap', 'memory'];
const BUILD_SCRIPT = LEAKED_SOURCE_PATH.replace(/leaked_lookup\.c$/, 'build-leaked-native.ts');

/** Builds the mmap addon when it is missing or older than its source, so the tests never run a stale build. */
before(() => {
  if (existsSync(LEAKED_ADDON_PATH) && statSync(LEAKED_ADDON_PATH).mtimeMs >= statSync(LEAKED_SOURCE_PATH).mtimeMs) return;
  const result = spawnSync(process.execPath, [BUILD_SCRIPT, '--strict'], { encoding: 'utf8' });
  assert.equal(result.status, 0, `the leaked-hash lookup addon build failed (CI needs gcc and libc6-dev):\n${result.stdout}${result.stderr}`);
});

/** found[i] = 1 when the i-th 16-byte hash of `keys` is in the store, by single lookups. */
function expectedFound(store: LeakedStore, keys: Uint8Array): Uint8Array {
  return Uint8Array.from({ length: keys.length / 16 }, (_, i) => (store.lookup(keys, i * 16) > 0 ? 1 : 0));
}

/**
 * A store of `count` random hashes written straight through StoreWriter (no HIBP text: fast enough
 * for a store above IN_MEMORY_MAX_BYTES). Hash i's first 4 bytes are a whole number in
 * [i, i + 1) · 2^32 / count, so the hashes come out sorted; returns every 997th of them.
 */
function writeLargeStore(dir: { path: string; file(name: string): string }, count: number): Buffer {
  const hashes = randomFillSync(Buffer.allocUnsafe(count * 16));
  for (let i = 0; i < count; i++) {
    // Somewhere in [i, i + 1) · 2^32 / count, in whole numbers: strictly increasing, so sorted.
    const lo = Math.floor((i / count) * 2 ** 32);
    hashes.writeUInt32BE(lo + Math.floor(Math.random() * (Math.floor(((i + 1) / count) * 2 ** 32) - lo)), i * 16);
  }
  const writer = StoreWriter.open(dir.file('large.phsleak'), dir.path, 0, 0);
  let first = 0;
  for (let bucket = 0; bucket < 256; bucket++) {
    let end = first;
    while (end < count && hashes[end * 16] === bucket) end++;
    const records = Buffer.allocUnsafe((end - first) * RECORD_BYTES);
    const counts = new Uint32Array(256);
    for (let i = first; i < end; i++) {
      const at = (i - first) * RECORD_BYTES;
      hashes.copy(records, at, i * 16 + 2, i * 16 + 16);
      records.writeUInt16LE(1 + (i % 1000), at + 14);
      counts[hashes[i * 16 + 1]!]!++;
    }
    writer.appendBucket(bucket, records, counts);
    first = end;
  }
  writer.finish(Date.now());
  const sample = Buffer.allocUnsafe(Math.ceil(count / 997) * 16);
  for (let i = 0, j = 0; i < count; i += 997, j++) hashes.copy(sample, j * 16, i * 16, i * 16 + 16);
  return sample;
}

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
  it('finds every imported hash with its count, in every mode (pread, mmap, memory), and nothing else', async () => {
    using dir = tempDir();
    const known = await knownEntries();
    const entries = [...known, ...edgeEntries(), ...randomEntries(20_000)];
    const path = await buildStore(dir, entries);
    const expected = expectedCounts(entries);
    for (const mode of MODES) {
      using store = LeakedStore.open(path, { mode });
      assert.equal(store.mode, mode);
      assert.equal(store.inMemory, mode === 'memory');
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

      // The batch path, as the hash workers call it: every entry, every absent edge hash, random misses.
      const keys = Buffer.concat([...entries.map((e) => e.hash), ...ABSENT, randomBytes(16 * 1000)]);
      const count = keys.length / 16;
      const out = new Uint8Array(count + 3).fill(7);
      assert.equal(store.lookupBatch(keys, count, out), entries.length, mode);
      assert.ok(out.subarray(0, entries.length).every((f) => f === 1), mode);
      assert.ok(out.subarray(entries.length, count).every((f) => f === 0), mode);
      assert.deepEqual([...out.subarray(count)], [7, 7, 7], 'nothing past count is written');
      assert.equal(store.lookupBatch(keys, 0, new Uint8Array(0)), 0);
      assert.equal(store.lookupBatch(keys.subarray(16 * 3), 1, out), 1, 'a view at an offset');
      assert.throws(() => store.lookupBatch(keys, count + 1, new Uint8Array(count + 1)), RangeError);
      assert.throws(() => store.lookupBatch(keys, count, new Uint8Array(count - 1)), RangeError);
      for (const bad of [-1, 1.5, Number.NaN]) assert.throws(() => store.lookupBatch(keys, bad, out), RangeError);
    }
  });

  it('answers the same in every mode: random hits and misses, 0000… and FFFF…, one by one and in batches of 256', async () => {
    using dir = tempDir();
    const entries = [...edgeEntries(), ...randomEntries(30_000)];
    const path = await buildStore(dir, entries);
    const stores = MODES.map((mode) => LeakedStore.open(path, { mode }));
    try {
      // Hits, misses that share a hit's first 14 bytes, all-zero and all-one, random: shuffled together.
      const nearMisses = entries.slice(0, 2000).map((e) => {
        const h = Buffer.from(e.hash);
        h[15]! ^= 0x01;
        return h;
      });
      const edges = ['00000000000000000000000000000000', 'ffffffffffffffffffffffffffffffff', '00000000000000000000000000000001', 'fffffffffffffffffffffffffffffffe', '0000ffffffffffffffffffffffffffff', 'ffff0000000000000000000000000000'];
      const keys = Buffer.concat(shuffled([...entries.slice(0, 5000).map((e) => e.hash), ...nearMisses, ...edges.map((s) => Buffer.from(s, 'hex')), ...Array.from({ length: 3000 }, () => randomBytes(16))]));
      const reference = expectedFound(stores[0]!, keys);
      assert.ok(reference.filter((f) => f === 1).length >= 5001, 'the sample holds the hits');
      for (const store of stores) {
        assert.deepEqual(expectedFound(store, keys), reference, `${store.mode}: single lookups`);
        const batched = new Uint8Array(keys.length / 16);
        let found = 0;
        for (let first = 0; first < batched.length; first += 256) {
          const n = Math.min(256, batched.length - first);
          found += store.lookupBatch(keys.subarray(first * 16, (first + n) * 16), n, batched.subarray(first, first + n));
        }
        assert.deepEqual(batched, reference, `${store.mode}: batches of 256`);
        assert.equal(found, reference.filter((f) => f === 1).length);
      }
      for (const s of edges.slice(0, 2)) {
        const counts = stores.map((store) => store.lookup(Buffer.from(s, 'hex'), 0));
        assert.deepEqual(counts, [counts[0], counts[0], counts[0]], s);
        assert.ok(counts[0]! > 0, `${s} is in the store`);
      }
    } finally {
      for (const store of stores) store.close();
    }
  });

  it('maps a store above the in-memory limit when the addon is built (auto), and falls back to pread without it', async () => {
    using dir = tempDir();
    const count = Math.floor(IN_MEMORY_MAX_BYTES / RECORD_BYTES) + 50_000;
    const sample = writeLargeStore(dir, count);
    const path = dir.file('large.phsleak');
    assert.doesNotThrow(() => loadLeakedLookupAddon(), 'the addon is built and loads');
    using auto = LeakedStore.open(path);
    assert.equal(auto.mode, 'mmap');
    assert.equal(auto.inMemory, false);
    assert.equal(auto.hashCount, count);
    const missing = dir.file('no-such-addon.node');
    using fallback = LeakedStore.open(path, { addonPath: missing });
    assert.equal(fallback.mode, 'pread');
    assert.throws(() => LeakedStore.open(path, { mode: 'mmap', addonPath: missing }), { code: 'LEAKED_MMAP_UNAVAILABLE' });
    // A small store stays in memory unless told otherwise.
    const small = await buildStore(dir, randomEntries(100));
    for (const [options, mode] of [[{}, 'memory'], [{ inMemoryMaxBytes: 0 }, 'mmap']] as const) {
      using store = LeakedStore.open(small, options);
      assert.equal(store.mode, mode);
    }
    assert.throws(() => LeakedStore.open(small, { mode: 'fast' as 'auto' }), TypeError);

    const keys = Buffer.concat([sample, randomBytes(16 * 2000)]);
    const hits = sample.length / 16;
    const byMapping = new Uint8Array(keys.length / 16);
    assert.equal(auto.lookupBatch(keys, byMapping.length, byMapping), hits + byMapping.subarray(hits).filter((f) => f === 1).length);
    assert.ok(byMapping.subarray(0, hits).every((f) => f === 1));
    assert.deepEqual(expectedFound(fallback, keys), byMapping);
    for (let i = 0; i < hits; i += 7) assert.equal(auto.lookup(keys, i * 16), fallback.lookup(keys, i * 16));
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
    for (const mode of MODES) {
      using store = LeakedStore.open(path, { mode });
      for (const e of entries) assert.equal(store.lookup(e.hash, 0), e.count, mode);
      const absent: Buffer[] = [];
      for (let i = 0; i < 12_000; i += 37) {
        const a = Buffer.from(skewed[i]!.hash);
        a.writeUInt32BE(i * 3 + 2, 8);
        absent.push(a);
        assert.equal(store.lookup(a, 0), 0, mode);
      }
      const keys = Buffer.concat([...entries.map((e) => e.hash), ...absent]);
      const out = new Uint8Array(keys.length / 16);
      assert.equal(store.lookupBatch(keys, out.length, out), entries.length, mode);
    }
  });

  it('is opened by several worker threads at once, each with its own descriptor or mapping', async () => {
    using dir = tempDir();
    const entries = randomEntries(5000);
    const path = await buildStore(dir, entries);
    const keys = Buffer.concat(entries.map((e) => e.hash));
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(({ LeakedStore }) => {
        const store = LeakedStore.open(workerData.path, { mode: workerData.mode });
        const keys = Buffer.from(workerData.keys);
        let sum = 0;
        for (let i = 0; i < keys.length; i += 16) sum += store.lookup(keys, i);
        const found = store.lookupBatch(keys, keys.length / 16, new Uint8Array(keys.length / 16));
        store.close();
        parentPort.postMessage([store.mode, sum, found]);
      });`;
    const module = new URL('../../src/leaked/leaked-store.ts', import.meta.url).href;
    const modes = ['memory', 'pread', 'mmap', 'mmap', 'pread', 'memory'] as const;
    const answers = await Promise.all(
      modes.map(
        (mode) =>
          new Promise<unknown>((resolve, reject) => {
            const worker = new Worker(source, { eval: true, workerData: { module, path, keys, mode } });
            worker.once('message', resolve);
            worker.once('error', reject);
          }),
      ),
    );
    const total = entries.reduce((sum, e) => sum + e.count, 0);
    assert.deepEqual(
      answers,
      modes.map((mode) => [mode, total, entries.length]),
    );
  });

  it('maps a store once per process however many threads open it, and unmaps it with the last handle', async () => {
    using dir = tempDir();
    const entries = randomEntries(3000);
    const path = await buildStore(dir, entries);
    const mappingsOf = (): number => readFileSync('/proc/self/maps', 'utf8').split('\n').filter((line) => line.endsWith(path)).length;
    const here = LeakedStore.open(path, { mode: 'mmap' });
    assert.equal(mappingsOf(), 1);
    // Two worker threads open it too, look every key up, and wait for the word to close.
    const source = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.module).then(({ LeakedStore }) => {
        const store = LeakedStore.open(workerData.path, { mode: 'mmap' });
        const keys = Buffer.from(workerData.keys);
        const found = store.lookupBatch(keys, keys.length / 16, new Uint8Array(keys.length / 16));
        parentPort.postMessage(found);
        parentPort.once('message', () => {
          store.close();
          parentPort.postMessage('closed');
        });
      });`;
    const module = new URL('../../src/leaked/leaked-store.ts', import.meta.url).href;
    const keys = Buffer.concat(entries.map((e) => e.hash));
    const workers = [0, 1].map(() => new Worker(source, { eval: true, workerData: { module, path, keys } }));
    try {
      const found = await Promise.all(workers.map((w) => once(w, 'message').then(([m]) => m as number)));
      assert.deepEqual(found, [entries.length, entries.length]);
      assert.equal(mappingsOf(), 1, 'three handles in three threads, one mapping');
      here.close();
      assert.equal(mappingsOf(), 1, 'still used by the workers');
      for (const w of workers) w.postMessage('close');
      await Promise.all(workers.map((w) => once(w, 'message')));
      assert.equal(mappingsOf(), 0, 'unmapped with the last handle');
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
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
    // Truncated in place after it was opened (a store replaced badly under a running engine): said, not
    // a wrong answer. Mapped, only the batch path checks (a single lookup there would die of SIGBUS).
    const isTruncated = (err: unknown): boolean => (err as { code?: string }).code === 'LEAKED_STORE_INVALID' && /truncated since it was opened/.test((err as Error).message);
    for (const mode of ['pread', 'mmap'] as const) {
      const late = damaged(`late-${mode}`, good);
      const store = LeakedStore.open(late, { mode });
      assert.equal(store.lookupBatch(entries[0]!.hash, 1, new Uint8Array(1)), 1);
      truncateSync(late, RECORDS_OFFSET);
      if (mode === 'pread') assert.throws(() => store.lookup(entries[0]!.hash, 0), isTruncated);
      assert.throws(() => store.lookupBatch(entries[0]!.hash, 1, new Uint8Array(1)), isTruncated, mode);
      store.close();
    }
    for (const mode of MODES) {
      const store = LeakedStore.open(path, { mode });
      store.close();
      store.close();
      assert.throws(() => store.lookup(randomBytes(16), 0), (err: unknown) => (err as { code?: string }).code === 'LEAKED_STORE_CLOSED', mode);
      assert.throws(() => store.lookupBatch(randomBytes(16), 1, new Uint8Array(1)), (err: unknown) => (err as { code?: string }).code === 'LEAKED_STORE_CLOSED', mode);
    }
  });

  it('never reads outside the mapping, whatever the index says (the addon checks nothing but the size)', () => {
    using dir = tempDir();
    const addon = loadLeakedLookupAddon();
    // 10 records, and an index that points far past them, goes backwards and ends beyond the file.
    const file = Buffer.alloc(RECORDS_OFFSET + 10 * RECORD_BYTES);
    randomFillSync(file, RECORDS_OFFSET);
    for (let p = 0; p < INDEX_ENTRIES; p++) file.writeUInt32LE(p % 3 === 0 ? 0xffff_ffff : p % 3 === 1 ? (p * 2_654_435_761) >>> 0 : p % 11, HEADER_BYTES + 4 * p);
    writeFileSync(dir.file('corrupt'), file);
    const fd = openSync(dir.file('corrupt'), 'r');
    const handle = addon.open(fd);
    closeSync(fd);
    const keys = randomBytes(16 * 65_536);
    for (let p = 0; p < 65_536; p++) keys.writeUInt16BE(p, p * 16); // every bucket
    const out = new Uint32Array(65_536);
    addon.lookupBatch(handle, keys, 65_536, out);
    for (let i = 0; i < 65_536; i += 101) assert.equal(addon.lookup(handle, keys, i * 16), out[i]);
    addon.close(handle);
    addon.close(handle);
    assert.throws(() => addon.lookup(handle, keys, 0), { code: 'LEAKED_STORE_CLOSED' });
    assert.throws(() => addon.lookupBatch(handle, keys, 1, out), { code: 'LEAKED_STORE_CLOSED' });
    // Not a handle, a file too short to hold the index, arguments out of range.
    const notHandle = {} as Parameters<typeof addon.lookup>[0];
    assert.throws(() => addon.lookup(notHandle, keys, 0), TypeError);
    writeFileSync(dir.file('short'), file.subarray(0, RECORDS_OFFSET - 1));
    const shortFd = openSync(dir.file('short'), 'r');
    try {
      assert.throws(() => addon.open(shortFd), { code: 'LEAKED_STORE_INVALID' });
    } finally {
      closeSync(shortFd);
    }
    const good = openSync(dir.file('corrupt'), 'r');
    const again = addon.open(good);
    closeSync(good);
    assert.throws(() => addon.lookup(again, keys.subarray(0, 15), 0), RangeError);
    assert.throws(() => addon.lookupBatch(again, keys, 65_537, new Uint8Array(65_537)), RangeError);
    assert.throws(() => addon.lookupBatch(again, keys, 2, new Uint8Array(1)), RangeError);
    assert.throws(() => addon.lookupBatch(again, keys, 1, new Uint16Array(1) as unknown as Uint8Array), TypeError);
    // Left for the garbage collector: its finalizer unmaps it.
  });
});

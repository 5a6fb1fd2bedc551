/**
 * The leaked-hash store: HIBP import rate, store size, lookups per second. `npm run bench:leaked`.
 *
 *   node native-bench/leaked.bench.ts [--hashes 10000000] [--order shuffled|sorted] [--runs 5]
 *        [--lookups 1000000] [--dir DIR] [--json PATH]
 *
 * 1. Writes an HIBP-format text file (`HASH:COUNT`, CRLF, like the real one) of --hashes random
 *    hashes, in random order (shuffled, the harder case: the importer buckets it anyway) or sorted
 *    like the real file, into a temp directory (--dir to put it on another disk).
 * 2. Imports it with importHibp, timing the reading phase and the sorting and writing phase.
 * 3. Reads the store once (warm page cache), then on this thread: --runs rounds, alternating, of
 *    --lookups lookups each of hashes in the store (a shuffled sample) and of random hashes (misses),
 *    in each mode LeakedStore has: by pread (no addon), through the native addon's mapping (the
 *    default above IN_MEMORY_MAX_BYTES when it is built; skipped when it is not) and with the
 *    records read into memory (the default up to IN_MEMORY_MAX_BYTES; skipped above 2 GiB). Each
 *    both one lookup() per hash and lookupBatch() of 256 hashes per call, as the hash workers do.
 * 4. Prints a table, writes --json, deletes everything it made.
 *
 * Numbers, not assertions. The machine is shared: read the ranges, not only the medians.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { importHibp } from '../src/leaked/hibp-import.ts';
import type { ImportSummary } from '../src/leaked/hibp-import.ts';
import { LeakedStore } from '../src/leaked/leaked-store.ts';
import type { LeakedStoreMode } from '../src/leaked/leaked-store.ts';
import { positive } from './bench-support/args.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { fmtInt, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';
import type { Summary } from './bench-support/stats.ts';

const { values } = parseArgs({
  options: {
    hashes: { type: 'string', default: '10000000' },
    order: { type: 'string', default: 'shuffled' },
    runs: { type: 'string', default: '5' },
    lookups: { type: 'string', default: '1000000' },
    dir: { type: 'string' },
    json: { type: 'string' },
  },
});
const hashes = positive('hashes', values.hashes);
const runs = positive('runs', values.runs);
const lookups = positive('lookups', values.lookups);
const order = values.order;
if (order !== 'shuffled' && order !== 'sorted') throw new Error(`--order must be shuffled or sorted, got ${order}`);
const progress = (m: string): void => void process.stderr.write(`  ${m}\n`);
const MiB = 1024 * 1024;
const HEX = Buffer.from('0123456789ABCDEF', 'latin1');
/** Hashes per lookupBatch call: a hash worker's batch (hash-pool.ts). */
const BATCH = 256;
const MODE_NAMES: Record<LeakedStoreMode, string> = { pread: 'pread', mmap: 'mmap', memory: 'in memory' };

const dir = mkdtempSync(join(values.dir ?? tmpdir(), 'phsync-leaked-bench-'));
try {
  const textPath = join(dir, 'pwned-passwords-ntlm.txt');
  const storePath = join(dir, 'leaked.phsleak');
  progress(`writing ${fmtInt(hashes)} ${order} random hashes to ${textPath}`);
  const t0 = performance.now();
  const hits = writeHibpText(textPath, hashes, order === 'sorted', Math.min(lookups, hashes));
  const textBytes = statSync(textPath).size;
  progress(`  ${(textBytes / MiB).toFixed(0)} MiB in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  progress('importing');
  const phases = new Map<string, number>();
  const importStart = performance.now();
  const summary: ImportSummary = await importHibp({
    input: textPath,
    storePath,
    onProgress: (p) => {
      if (!phases.has(p.phase)) phases.set(p.phase, performance.now());
    },
  });
  const importSeconds = (performance.now() - importStart) / 1000;
  const readingSeconds = ((phases.get('sorting') ?? performance.now()) - importStart) / 1000;
  const sortWriteSeconds = importSeconds - readingSeconds;
  rmSync(textPath);
  if (summary.hashes !== hashes) progress(`note: ${hashes - summary.hashes} random hashes collided (merged)`);

  progress('warming the page cache (one read of the store)');
  readThrough(storePath);
  const misses = Buffer.allocUnsafe(hits.length);
  randomFillSync(misses);
  const memoryOk = summary.storeBytes <= 2 * 1024 * MiB;
  const stores: LeakedStore[] = [LeakedStore.open(storePath, { mode: 'pread' })];
  let noMmap: string | undefined;
  try {
    stores.push(LeakedStore.open(storePath, { mode: 'mmap' }));
  } catch (err) {
    noMmap = err instanceof Error ? err.message : String(err);
  }
  if (memoryOk) stores.push(LeakedStore.open(storePath, { mode: 'memory' }));
  const hitBatches = batches(hits);
  const missBatches = batches(misses);
  const contenders = stores.flatMap((store) =>
    (['single', 'batch'] as const).flatMap((how) =>
      [true, false].map((expectHits) => ({
        name: `${MODE_NAMES[store.mode]}, ${how === 'single' ? 'lookup()' : `lookupBatch(${BATCH})`}, ${expectHits ? 'hits' : 'misses'}`,
        mode: store.mode,
        how,
        expectHits,
        round: how === 'single' ? () => lookupRound(store, expectHits ? hits : misses, expectHits) : () => batchRound(store, expectHits ? hitBatches : missBatches, expectHits),
      })),
    ),
  );
  const rates = contenders.map(() => [] as number[]);
  for (const c of contenders) c.round(); // warm-up: also faults the mapping's pages in
  for (let r = 0; r < runs; r++) {
    progress(`lookup round ${r + 1} of ${runs}`);
    contenders.forEach((c, i) => rates[i]!.push(c.round()));
  }
  for (const store of stores) store.close();

  const lookupRows = contenders.map((c, i) => ({ ...c, summary: summarize(rates[i]!) }));
  const preadMedian = (how: string, expectHits: boolean): number => lookupRows.find((r) => r.mode === 'pread' && r.how === how && r.expectHits === expectHits)!.summary.median;
  const bytesPerHash = summary.storeBytes / summary.hashes;
  console.log(describeForHumans(describeMachine(), versions()));
  console.log(`Leaked-hash store: ${fmtInt(hashes)} random hashes, ${order} input, ${(textBytes / MiB).toFixed(0)} MiB of HIBP text (CRLF)`);
  console.log('');
  console.log(
    renderTable(
      ['import', 'seconds', 'hashes/s', 'MB/s of text'],
      [
        ['reading (parse, spill to 256 buckets)', readingSeconds.toFixed(1), fmtInt(hashes / readingSeconds), (textBytes / 1e6 / readingSeconds).toFixed(0)],
        ['sorting and writing the store', sortWriteSeconds.toFixed(1), fmtInt(hashes / sortWriteSeconds), ''],
        ['total', importSeconds.toFixed(1), fmtInt(hashes / importSeconds), (textBytes / 1e6 / importSeconds).toFixed(0)],
      ],
    ),
  );
  console.log(`store: ${fmtInt(summary.storeBytes)} bytes, ${bytesPerHash.toFixed(3)} bytes per hash`);
  console.log('');
  console.log(`Lookups on this thread, page cache warm: ${runs} rounds of ${fmtInt(hits.length / 16)} lookups, alternating, after a warm-up; median (min–max)`);
  console.log(
    renderTable(
      ['lookups', 'per second (min–max)', 'µs each', '× pread'],
      lookupRows.map((r) => [r.name, fmtSummary(r.summary), (1e6 / r.summary.median).toFixed(3), (r.summary.median / preadMedian(r.how, r.expectHits)).toFixed(2)]),
    ),
  );
  if (noMmap !== undefined) console.log(`(no mmap rows: ${noMmap})`);
  if (!memoryOk) console.log('(no in-memory rows: the store is over 2 GiB)');

  if (values.json !== undefined) {
    const machine = describeMachine();
    const rate = (s: Summary) => ({ median: Math.round(s.median), range: [Math.round(s.min), Math.round(s.max)], rounds: s.n });
    const report = {
      date: new Date().toISOString(),
      machine: { cpuModel: machine.cpuModel, cores: machine.cores, os: machine.os, totalmem: machine.totalmemBytes },
      node: process.versions.node,
      settings: { hashes, order, runs, lookups: hits.length / 16 },
      text: { bytes: textBytes },
      import: { seconds: importSeconds, readingSeconds, sortWriteSeconds, hashesPerSecond: Math.round(hashes / importSeconds), textMBPerSecond: textBytes / 1e6 / importSeconds, summary },
      store: { bytes: summary.storeBytes, hashes: summary.hashes, bytesPerHash },
      lookups: Object.fromEntries(lookupRows.map((r) => [r.name, rate(r.summary)])),
    };
    writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** Lookups per second for one pass over `keys`; checks every answer is what the keys are. */
function lookupRound(store: LeakedStore, keys: Buffer, expectHits: boolean): number {
  const n = keys.length / 16;
  let found = 0;
  const start = performance.now();
  for (let i = 0; i < n; i++) if (store.lookup(keys, i * 16) > 0) found++;
  const seconds = (performance.now() - start) / 1000;
  if (found !== (expectHits ? n : 0) && !(!expectHits && found <= 1)) throw new Error(`expected ${expectHits ? n : 0} hits, got ${found}`);
  return n / seconds;
}

/** Lookups per second for one pass over `keys` in lookupBatch calls of BATCH hashes, as the hash workers make them. */
function batchRound(store: LeakedStore, keys: readonly Buffer[], expectHits: boolean): number {
  const out = new Uint8Array(BATCH);
  let n = 0;
  let found = 0;
  const start = performance.now();
  for (const batch of keys) {
    const count = batch.length / 16;
    found += store.lookupBatch(batch, count, out);
    n += count;
  }
  const seconds = (performance.now() - start) / 1000;
  if (found !== (expectHits ? n : 0) && !(!expectHits && found <= 1)) throw new Error(`expected ${expectHits ? n : 0} hits, got ${found}`);
  return n / seconds;
}

/** `keys` cut into views of BATCH hashes, made before the clock starts. */
function batches(keys: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < keys.length; at += BATCH * 16) out.push(keys.subarray(at, Math.min(keys.length, at + BATCH * 16)));
  return out;
}

/**
 * Writes `count` random hashes as HIBP lines and returns `sample` of them, shuffled. Sorted: the
 * first 4 bytes of hash i are stratified, floor((i + u) · 2^32 / count), the rest random.
 */
function writeHibpText(path: string, count: number, sorted: boolean, sample: number): Buffer {
  const fd = openSync(path, 'w', 0o600);
  const LINES = 65_536;
  const random = Buffer.allocUnsafe(LINES * 20);
  const out = Buffer.allocUnsafe(LINES * 44);
  const picked = Buffer.allocUnsafe(sample * 16);
  const every = count / sample;
  let nextPick = 0;
  let picks = 0;
  try {
    for (let first = 0; first < count; first += LINES) {
      const lines = Math.min(LINES, count - first);
      randomFillSync(random, 0, lines * 20);
      let o = 0;
      for (let l = 0; l < lines; l++) {
        const r = l * 20;
        if (sorted) {
          const top = Math.floor(((first + l + random.readUInt32LE(r) / 2 ** 32) * 2 ** 32) / count);
          random.writeUInt32BE(top, r);
        }
        if (first + l >= nextPick && picks < sample) {
          random.copy(picked, picks * 16, r, r + 16);
          picks++;
          nextPick = Math.floor(picks * every);
        }
        for (let i = 0; i < 16; i++) {
          const b = random[r + i]!;
          out[o++] = HEX[b >>> 4]!;
          out[o++] = HEX[b & 15]!;
        }
        out[o++] = 58;
        // Counts like HIBP's: mostly small, a long tail.
        const seen = 1 + Math.floor(1 / (random.readUInt32LE(r + 16) / 2 ** 32 + 1e-6));
        o += out.write(String(seen), o, 'latin1');
        out[o++] = 13;
        out[o++] = 10;
      }
      let done = 0;
      while (done < o) done += writeSync(fd, out, done, o - done);
    }
  } finally {
    closeSync(fd);
  }
  shuffle(picked, picks);
  return picked.subarray(0, picks * 16);
}

function shuffle(keys: Buffer, n: number): void {
  const tmp = Buffer.allocUnsafe(16);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    keys.copy(tmp, 0, i * 16, i * 16 + 16);
    keys.copy(keys, i * 16, j * 16, j * 16 + 16);
    tmp.copy(keys, j * 16);
  }
}

function readThrough(path: string): void {
  const fd = openSync(path, 'r');
  const buffer = Buffer.allocUnsafe(8 * MiB);
  try {
    let position = 0;
    for (;;) {
      const got = readSync(fd, buffer, 0, buffer.length, position);
      if (got === 0) break;
      position += got;
    }
  } finally {
    closeSync(fd);
  }
}

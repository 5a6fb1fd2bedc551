/**
 * Hash throughput: single-thread rates of node:crypto and of each kernel through the kernel API,
 * then the pool end to end (transfer, salt generation, input expansion, hashing, transfer back)
 * with one worker and with all of them. Prints the median of several rounds.
 *
 *   node native-bench/kernels.bench.ts [--users N] [--rounds R] [--iterations I] [--batch B]
 *
 * Numbers, not assertions: the tests check correctness, this shows which kernel to expect 'auto'
 * to pick on a machine and how close the pool gets to cores × single-thread rate.
 */
import { pbkdf2Sync, randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { HashPool } from '../src/hash/hash-pool.ts';
import { KERNEL_NAMES, createKernel } from '../src/hash/kernels.ts';
import { HASH_BYTES, NT_HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES, writePbkdf2Input } from '../src/phs/credential.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '256' },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '1000' },
    batch: { type: 'string', default: '32' },
  },
});
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const users = positive('users', values.users);
const rounds = positive('rounds', values.rounds);
const iterations = positive('iterations', values.iterations);
const batchSize = positive('batch', values.batch);

// Random NT hashes: the bench never sees a real one.
const ntHashes = randomFillSync(new Uint8Array(users * NT_HASH_BYTES));
const inputs = new Uint8Array(users * PBKDF2_INPUT_BYTES);
for (let i = 0; i < users; i++) writePbkdf2Input(ntHashes.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), inputs, i * PBKDF2_INPUT_BYTES);
const salts = randomFillSync(new Uint8Array(users * SALT_BYTES));
const out = new Uint8Array(users * HASH_BYTES);

type Run = () => Promise<void>;
interface Row {
  readonly label: string;
  readonly threads: number;
  readonly rates: number[];
}

async function timeRounds(label: string, threads: number, run: Run, prepare?: () => void): Promise<Row> {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    prepare?.();
    const start = performance.now();
    await run();
    rates.push((users * 1000) / (performance.now() - start));
  }
  return { label, threads, rates };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

const rows: Row[] = [];

// 1. node:crypto directly: the baseline every other row is compared with.
rows.push(
  await timeRounds('node:crypto pbkdf2Sync (direct)', 1, async () => {
    for (let i = 0; i < users; i++) {
      out.set(pbkdf2Sync(inputs.subarray(i * PBKDF2_INPUT_BYTES, (i + 1) * PBKDF2_INPUT_BYTES), salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES), iterations, HASH_BYTES, 'sha256'), i * HASH_BYTES);
    }
  }),
);

// 2. Each kernel through the kernel API, after a warm-up (V8 starts WASM in its baseline
//    compiler and tiers up once the code is hot).
for (const name of KERNEL_NAMES) {
  const kernel = await createKernel(name);
  await kernel.hashBatch(inputs, salts, Math.min(users, 16), iterations, out);
  rows.push(await timeRounds(`kernel ${name}`, 1, () => kernel.hashBatch(inputs, salts, users, iterations, out)));
}

// 3. The pool end to end, as the pipeline uses it: batches of `batchSize`, at most 2 × workers in
//    flight, fresh NT hash buffers each round (hash() takes them).
async function poolRow(workers: number): Promise<Row> {
  await using pool = await HashPool.create({ workers, iterations });
  const batches: { buffer: Uint8Array; count: number }[] = [];
  const prepare = (): void => {
    batches.length = 0;
    for (let start = 0; start < users; start += batchSize) {
      const count = Math.min(batchSize, users - start);
      batches.push({ buffer: ntHashes.slice(start * NT_HASH_BYTES, (start + count) * NT_HASH_BYTES), count });
    }
  };
  const run = async (): Promise<void> => {
    const inFlight = new Set<Promise<unknown>>();
    for (const b of batches) {
      if (inFlight.size >= 2 * workers) await Promise.race(inFlight);
      const p: Promise<unknown> = pool.hash(b.buffer, b.count).finally(() => inFlight.delete(p));
      inFlight.add(p);
    }
    await Promise.all(inFlight);
  };
  prepare();
  await run(); // warm-up: every thread creates and self-tests its kernel
  // `return await`: the pool must stay open (not be disposed) until the rounds finish.
  return await timeRounds(`pool ${workers} worker${workers === 1 ? '' : 's'} (${pool.kernel})`, workers, run, prepare);
}

const cores = availableParallelism();
rows.push(await poolRow(1));
if (cores > 1) rows.push(await poolRow(cores));

// Report.
const hashWasmVersion = (JSON.parse(readFileSync(new URL('../node_modules/hash-wasm/package.json', import.meta.url), 'utf8')) as { version: string }).version;
console.log(`Node ${process.versions.node}, OpenSSL ${process.versions.openssl}, V8 ${process.versions.v8}, hash-wasm ${hashWasmVersion}`);
console.log(`${cpus()[0]?.model ?? 'unknown CPU'}, availableParallelism ${cores}, ${process.platform}/${process.arch}`);
console.log(`PBKDF2-HMAC-SHA256, ${iterations} iterations; ${users} users per round, ${rounds} rounds, pool batches of ${batchSize}\n`);

const baseline = median(rows[0]!.rates);
const table = rows.map((row) => {
  const m = median(row.rates);
  return [row.label, fmt(m), fmt(m / row.threads), fmt(Math.min(...row.rates)), fmt(Math.max(...row.rates)), `${(m / baseline).toFixed(2)}×`];
});
const header = ['', 'median h/s', 'per thread', 'min', 'max', 'vs node:crypto'];
const widths = header.map((h, c) => Math.max(h.length, ...table.map((r) => r[c]!.length)));
const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
console.log(line(header));
for (const r of table) console.log(line(r));

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

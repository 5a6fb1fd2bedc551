/**
 * PBKDF2 hashing throughput against the machine's limit: `npm run bench`.
 *
 *   node native-bench/hash.bench.ts [--users 16384] [--rounds 5] [--json PATH]
 *        [--batch-size 1024] [--max-round-seconds 2] [--pool-kernels quick|best|all] [--skip-no-sha-ni]
 *
 * 1. The limit: one thread's SHA-256 compressions per second (`openssl speed -evp sha256 -bytes 16384
 *    -seconds 2`; node:crypto's SHA-256 when there is no openssl program), ÷ 2002 compressions per
 *    PBKDF2 (1000 iterations × inner + outer, plus the two pad states).
 * 2. Each kernel in KERNEL_NAMES on this thread (one instance, a batch of --users users a round, a
 *    kernel too slow for that gets fewer, shown in the table), and the HashPool with 1..cores workers
 *    for the best kernel (and every kernel fast enough: --pool-kernels). Everything is warmed up,
 *    then the rounds alternate between all of them, so that the pool's overhead against
 *    workers × single-thread rate compares figures taken side by side. Beside them, as many threads
 *    as cores hashing with the best kernel and no pool (free-threads.ts): the machine's own loss
 *    when all its cores are busy, the floor under the pool's overhead.
 * 3. Without SHA-NI: a child process started with OPENSSL_ia32cap=":~0x20000000" re-measures the
 *    limit and the OpenSSL-backed kernels. The native kernel cannot run on such a CPU and is shown as
 *    unavailable; WebAssembly kernels do not use the SHA extensions and are not re-measured.
 *
 * Numbers, not assertions. The machine is shared: read the ranges, not only the medians.
 */
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { KernelName } from '../src/hash/hash-kernel.ts';
import { KERNEL_NAMES } from '../src/hash/kernels.ts';
import { DEFAULT_ITERATIONS } from '../src/phs/credential.ts';
import { DEFAULT_BATCH_SIZE } from '../src/pipeline/hash-batch.ts';
import { positive } from './bench-support/args.ts';
import { NO_SHA_NI_IA32CAP, alternateRounds, kernelRate, openPool, prepareKernel, shaNiUse } from './bench-support/hash-rates.ts';
import type { Contender, KernelRate, OpenPool, PoolConfig, PreparedKernel } from './bench-support/hash-rates.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { clockTicks, machineCpuTimes } from './bench-support/proc.ts';
import type { NoShaNiRequest, NoShaNiResult } from './bench-support/no-sha-ni-child.ts';
import { openFreeThreads } from './bench-support/free-threads.ts';
import type { FreeThreads } from './bench-support/free-threads.ts';
import { measurePbkdf2Limit } from './bench-support/sha256-limit.ts';
import type { Pbkdf2Limit } from './bench-support/sha256-limit.ts';
import { fmtInt, fmtPercent, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';
import type { Summary } from './bench-support/stats.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '16384' },
    rounds: { type: 'string', default: '5' },
    json: { type: 'string' },
    iterations: { type: 'string', default: String(DEFAULT_ITERATIONS) },
    'batch-size': { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
    'max-round-seconds': { type: 'string', default: '2' },
    'pool-kernels': { type: 'string', default: 'quick' },
    'skip-no-sha-ni': { type: 'boolean', default: false },
  },
});
const users = positive('users', values.users);
const rounds = positive('rounds', values.rounds);
const iterations = positive('iterations', values.iterations);
const batchSize = positive('batch-size', values['batch-size']);
const maxRoundSeconds = positive('max-round-seconds', values['max-round-seconds'], false);
const poolKernels = values['pool-kernels'];
if (!['quick', 'best', 'all'].includes(poolKernels)) throw new Error(`--pool-kernels must be quick, best or all, got ${poolKernels}`);
const cores = availableParallelism();
const progress = (m: string): void => void process.stderr.write(`  ${m}\n`);

if (process.env['OPENSSL_ia32cap'] !== undefined) {
  process.stderr.write(`warning: OPENSSL_ia32cap=${process.env['OPENSSL_ia32cap']} is set: the "SHA-NI" rows are measured under that mask\n`);
}
const machine = describeMachine();
const versionInfo = versions();

// 1. The limit, in this process's environment.
progress('measuring the limit (openssl speed, 2 s; node:crypto SHA-256, 1 s)');
const limit = measurePbkdf2Limit(iterations);

// 2. Kernels on this thread, then pools, all warmed up before any round is timed.
const prepared = new Map<KernelName, PreparedKernel | string>();
for (const name of KERNEL_NAMES) {
  progress(`kernel ${name}: self-test and warm-up`);
  prepared.set(name, await prepareKernel(name, { users, rounds, iterations, maxRoundSeconds }));
}
const live = [...prepared.values()].filter((p): p is PreparedKernel => typeof p !== 'string');
if (live.length === 0) throw new Error(`no kernel is available: ${[...prepared].map(([n, why]) => `${n}: ${String(why)}`).join('; ')}`);
// The best by the warm-up estimate (the pools must start before the rounds); the tables say which
// kernel the rounds found fastest.
const bestByEstimate = live.reduce((a, b) => (b.estimate > a.estimate ? b : a));
const poolKernelList = live.filter((p) => p === bestByEstimate || poolKernels === 'all' || (poolKernels === 'quick' && !p.reduced));
// Each worker gets at least MIN_BATCHES_PER_WORKER whole batches a round, as many as the others:
// otherwise a worker that finishes early idles while another still hashes, and the table would show
// that tail instead of the pool. A slow kernel's short rounds therefore get smaller batches (shown).
const MIN_BATCHES_PER_WORKER = 4;
const poolConfigs: PoolConfig[] = poolKernelList.flatMap((p) =>
  Array.from({ length: cores }, (_, i) => {
    const workers = i + 1;
    const batch = Math.max(1, Math.min(batchSize, Math.floor((p.usersPerRound * workers) / (workers * MIN_BATCHES_PER_WORKER))));
    // Whole batches, as many for every worker: a last short or odd batch is a tail, not the pool.
    const users = Math.ceil((p.usersPerRound * workers) / (workers * batch)) * workers * batch;
    return { kernel: p.kernel.name, workers, users, batchSize: batch };
  }),
);
const pools: OpenPool[] = [];
// The machine's floor under the pool's overhead: as many threads as cores hashing with the best
// kernel at once, with no pool (see free-threads.ts). Not with one core: that is the single thread.
let free: FreeThreads | undefined;
let freeRates: number[] | undefined;
let poolRates: number[][];
let singleRates: number[][];
/** CPU the rest of the machine used during the rounds, in cores (it is shared). */
let otherLoadCores: number | undefined;
try {
  for (const c of poolConfigs) {
    progress(`pool ${c.kernel} × ${c.workers}: start and warm-up`);
    pools.push(await openPool(c, iterations));
  }
  if (cores > 1) {
    progress(`free threads ${bestByEstimate.kernel.name} × ${cores}: start and warm-up`);
    free = await openFreeThreads(bestByEstimate.kernel.name, cores, bestByEstimate.usersPerRound, iterations);
  }
  const contenders: Contender[] = [...live, ...pools, ...(free === undefined ? [] : [free])];
  const machine0 = machineCpuTimes();
  const self0 = process.cpuUsage();
  const start = performance.now();
  const rates = await alternateRounds(contenders, rounds, progress);
  const seconds = (performance.now() - start) / 1000;
  const self = process.cpuUsage(self0);
  const machine1 = machineCpuTimes();
  if (machine0 !== undefined && machine1 !== undefined) {
    // This process's CPU includes its pool threads; nothing else of ours runs during the rounds.
    // Clamped at 0: the two clocks tick at different resolutions.
    otherLoadCores = Math.max(0, ((machine1.busy - machine0.busy) / clockTicks() - (self.user + self.system) / 1e6) / seconds);
  }
  singleRates = rates.slice(0, live.length);
  poolRates = rates.slice(live.length, live.length + pools.length);
  freeRates = free === undefined ? undefined : rates[live.length + pools.length];
} finally {
  await Promise.all([...pools.map((p) => p.pool.close()), free?.[Symbol.asyncDispose]()]);
}

const kernels: KernelRate[] = KERNEL_NAMES.map((name) => {
  const p = prepared.get(name)!;
  return typeof p === 'string' ? { kernel: name, available: false, reason: p } : kernelRate(p, singleRates[live.indexOf(p)]!);
});
const singleMedian = (name: KernelName): number | undefined => {
  const k = kernels.find((r) => r.kernel === name);
  return k?.available === true ? k.summary.median : undefined;
};

// 3. Without SHA-NI, in a child started with the mask.
const remeasure = kernels.filter((k) => k.available && shaNiUse(k.kernel) === 'openssl').map((k) => k.kernel);
let noShaNi: NoShaNiResult | undefined;
let noShaNiError: string | undefined;
if (!values['skip-no-sha-ni']) {
  progress(`without SHA-NI: child process with OPENSSL_ia32cap="${NO_SHA_NI_IA32CAP}" (limit; kernels ${remeasure.join(', ') || 'none'})`);
  try {
    noShaNi = await runNoShaNiChild({ kernels: remeasure, users, rounds, iterations, maxRoundSeconds });
  } catch (err) {
    noShaNiError = err instanceof Error ? err.message : String(err);
    process.stderr.write(`warning: the measurement without SHA-NI failed: ${noShaNiError}\n`);
  }
}

function runNoShaNiChild(request: NoShaNiRequest): Promise<NoShaNiResult> {
  const script = fileURLToPath(new URL('./bench-support/no-sha-ni-child.ts', import.meta.url));
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, JSON.stringify(request)], {
      env: { ...process.env, OPENSSL_ia32cap: NO_SHA_NI_IA32CAP },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code !== 0) return reject(new Error(`the child exited with ${signal ?? code}`));
      try {
        resolve(JSON.parse(stdout) as NoShaNiResult);
      } catch (err) {
        reject(err instanceof Error ? err : new Error(String(err)));
      }
    });
  });
}

// Report.
const limitLine = (l: Pbkdf2Limit): string =>
  `${(l.basis.compressionsPerSecond / 1e6).toFixed(1)}M compressions/s (${l.basis.source}` +
  `${l.basis.source === 'openssl speed' ? `, OpenSSL ${l.openssl?.version ?? '?'}` : ', no openssl program'}) ÷ ${l.compressionsPerHash} = ` +
  `${fmtInt(l.hashesPerSecond)} PBKDF2/s per thread; node:crypto SHA-256 (OpenSSL ${process.versions.openssl}): ${(l.nodeCrypto.compressionsPerSecond / 1e6).toFixed(1)}M compressions/s`;

console.log(describeForHumans(machine, versionInfo));
console.log(`PBKDF2-HMAC-SHA256, ${iterations} iterations; ${rounds} rounds alternating between all rows below, after a warm-up; median (min–max)`);
if (otherLoadCores !== undefined) console.log(`Other processes used ${otherLoadCores.toFixed(2)} of ${cores} cores on average during the rounds (the machine is shared)`);
console.log('');
console.log(`Limit with SHA-NI:    ${limitLine(limit)}`);
if (noShaNi !== undefined) console.log(`Limit without SHA-NI: ${limitLine(noShaNi.limit)}; OpenSSL sees ${noShaNi.limit.openssl?.cpuinfo ?? '?'}`);
else if (noShaNiError !== undefined) console.log(`Limit without SHA-NI: not measured (${noShaNiError})`);
console.log('');

interface KernelRow {
  readonly kernel: KernelName;
  readonly shaNi: boolean;
  readonly available: boolean;
  readonly reason?: string;
  readonly measured: boolean;
  readonly note?: string;
  readonly usersPerRound?: number;
  readonly summary?: Summary;
  readonly percentOfLimit?: number;
}
const rows: KernelRow[] = [];
for (const k of kernels) {
  rows.push(
    k.available
      ? { kernel: k.kernel, shaNi: true, available: true, measured: true, usersPerRound: k.usersPerRound, summary: k.summary, percentOfLimit: (k.summary.median / limit.hashesPerSecond) * 100 }
      : { kernel: k.kernel, shaNi: true, available: false, measured: false, reason: k.reason },
  );
}
if (noShaNi !== undefined) {
  for (const k of kernels) {
    const use = shaNiUse(k.kernel);
    const ofLimit = (rate: number): number => (rate / noShaNi.limit.hashesPerSecond) * 100;
    if (use === 'required') {
      rows.push({ kernel: k.kernel, shaNi: false, available: false, measured: false, reason: 'no SHA extensions (the kernel needs them; OPENSSL_ia32cap masks them from OpenSSL only, so it is not run)' });
    } else if (!k.available) {
      rows.push({ kernel: k.kernel, shaNi: false, available: false, measured: false, reason: k.reason });
    } else if (use === 'none') {
      rows.push({ kernel: k.kernel, shaNi: false, available: true, measured: false, note: 'not re-measured: WebAssembly has no SHA instructions', usersPerRound: k.usersPerRound, summary: k.summary, percentOfLimit: ofLimit(k.summary.median) });
    } else {
      const c = noShaNi.kernels.find((r) => r.kernel === k.kernel);
      if (c === undefined) rows.push({ kernel: k.kernel, shaNi: false, available: false, measured: false, reason: 'not measured by the child' });
      else if (!c.available) rows.push({ kernel: k.kernel, shaNi: false, available: false, measured: true, reason: c.reason });
      else rows.push({ kernel: k.kernel, shaNi: false, available: true, measured: true, usersPerRound: c.usersPerRound, summary: c.summary, percentOfLimit: ofLimit(c.summary.median) });
    }
  }
}

console.log('Single thread: one kernel instance on this thread (% of the limit of the same mode)');
console.log(
  renderTable(
    ['kernel', 'SHA-NI', 'users/round', 'hashes/s (min–max)', '% of limit', 'note'],
    rows.map((r) => [
      r.kernel,
      r.shaNi ? 'yes' : 'masked',
      r.usersPerRound === undefined ? '' : fmtInt(r.usersPerRound),
      r.available && r.summary !== undefined ? fmtSummary(r.summary) : 'unavailable',
      r.percentOfLimit === undefined ? '' : `${r.percentOfLimit.toFixed(0)}%`,
      r.reason !== undefined ? r.reason : (r.note ?? (r.usersPerRound !== undefined && r.usersPerRound < users ? `slow: ${r.usersPerRound} users a round, not ${users}` : '')),
    ]),
    'lllrrl',
  ),
);
console.log('');

const poolRows = poolConfigs.map((config, i) => {
  const summary = summarize(poolRates[i]!);
  const single = singleMedian(config.kernel)!;
  const ideal = single * config.workers;
  return { config, summary, perWorker: summary.median / config.workers, single, ideal, efficiency: summary.median / ideal };
});
console.log(`HashPool: ${cores} cores, batches of ${batchSize} (smaller when a round would give a worker fewer than ${MIN_BATCHES_PER_WORKER}), 2 × workers batches in flight; ideal = workers × the kernel's single-thread median above`);
console.log(
  renderTable(
    ['kernel', 'workers', 'users/round', 'batch', 'hashes/s (min–max)', 'per worker', 'ideal', 'of ideal', 'overhead'],
    poolRows.map((r) => [
      r.config.kernel,
      String(r.config.workers),
      fmtInt(r.config.users),
      fmtInt(r.config.batchSize),
      fmtSummary(r.summary),
      fmtInt(r.perWorker),
      fmtInt(r.ideal),
      fmtPercent(r.efficiency),
      fmtPercent(1 - r.efficiency),
    ]),
  ),
);
// The same kernel and threads as a pool row, with no pool: how much of the overhead is the machine's.
const freeRow = (() => {
  if (free === undefined || freeRates === undefined) return undefined;
  const summary = summarize(freeRates);
  const ideal = singleMedian(free.kernel)! * free.threads;
  const pool = poolRows.find((r) => r.config.kernel === free.kernel && r.config.workers === free.threads);
  return { summary, ideal, ofIdeal: summary.median / ideal, poolOfFree: pool === undefined ? undefined : pool.summary.median / summary.median };
})();
if (free !== undefined && freeRow !== undefined) {
  console.log(
    `${free.threads} threads hashing at once with no pool (${free.kernel}, ${fmtInt(free.users)} users each a round): ${fmtSummary(freeRow.summary)} hashes/s, ` +
      `${fmtPercent(freeRow.ofIdeal)} of ${free.threads} × single thread: the machine's own loss with ${free.threads} busy threads is ${fmtPercent(1 - freeRow.ofIdeal)}` +
      (freeRow.poolOfFree === undefined ? '' : `; the pool reaches ${fmtPercent(freeRow.poolOfFree)} of these threads`),
  );
}
const skipped = live.filter((p) => !poolKernelList.includes(p)).map((p) => p.kernel.name);
if (skipped.length > 0) console.log(`(no pool rows for ${skipped.join(', ')}: too slow for --users ${users} a round; --pool-kernels all to include)`);
const measuredBest = kernels.filter((k) => k.available).reduce((a, b) => (b.summary.median > a.summary.median ? b : a));
if (measuredBest.kernel !== bestByEstimate.kernel.name) console.log(`(the warm-up estimate picked ${bestByEstimate.kernel.name}; the rounds found ${measuredBest.kernel} fastest)`);

if (values.json !== undefined) {
  const limitJson = (l: Pbkdf2Limit) => ({
    source: l.basis.source,
    command: l.basis.command,
    opensslVersion: l.basis.source === 'openssl speed' ? (l.openssl?.version ?? null) : null,
    opensslCpuinfo: l.openssl?.cpuinfo ?? null,
    bytesPerSecond: Math.round(l.basis.bytesPerSecond),
    compressionsPerSecond: Math.round(l.basis.compressionsPerSecond),
    compressionsPerHash: l.compressionsPerHash,
    hashesPerSecond: Math.round(l.hashesPerSecond),
    nodeCryptoCompressionsPerSecond: Math.round(l.nodeCrypto.compressionsPerSecond),
  });
  const report = {
    date: new Date().toISOString(),
    machine: { cpuModel: machine.cpuModel, cores: machine.cores, logicalCpus: machine.logicalCpus, flags: machine.flags, os: machine.os, totalmem: machine.totalmemBytes },
    node: process.versions.node,
    versions: { openssl: versionInfo.opensslNode, opensslProgram: versionInfo.opensslProgram ?? null, piscina: versionInfo.piscina ?? null, 'hash-wasm': versionInfo['hash-wasm'] ?? null, 'better-sqlite3': versionInfo['better-sqlite3'] ?? null, v8: versionInfo.v8 },
    settings: { users, rounds, iterations, batchSize, maxRoundSeconds, poolKernels },
    otherLoadCores: otherLoadCores === undefined ? null : Math.round(otherLoadCores * 100) / 100,
    limit: {
      ...limitJson(limit),
      withoutShaNi: noShaNi === undefined ? null : { ia32cap: noShaNi.ia32cap ?? null, ...limitJson(noShaNi.limit) },
    },
    kernels: rows.map((r) => ({
      kernel: r.kernel,
      shaNi: r.shaNi,
      available: r.available,
      ...(r.reason === undefined ? {} : { reason: r.reason }),
      measured: r.measured,
      ...(r.note === undefined ? {} : { note: r.note }),
      hashesPerSecondPerCore: r.summary === undefined ? null : Math.round(r.summary.median),
      range: r.summary === undefined ? null : [Math.round(r.summary.min), Math.round(r.summary.max)],
      rounds: r.summary?.n ?? 0,
      usersPerRound: r.usersPerRound ?? null,
      percentOfLimit: r.percentOfLimit === undefined ? null : Math.round(r.percentOfLimit * 10) / 10,
    })),
    pool: poolRows.map((r) => ({
      kernel: r.config.kernel,
      workers: r.config.workers,
      usersPerRound: r.config.users,
      batchSize: r.config.batchSize,
      hashesPerSecond: Math.round(r.summary.median),
      range: [Math.round(r.summary.min), Math.round(r.summary.max)],
      perWorker: Math.round(r.perWorker),
      singleThreadHashesPerSecond: Math.round(r.single),
      idealHashesPerSecond: Math.round(r.ideal),
      efficiency: Math.round(r.efficiency * 1000) / 1000,
      overheadPercent: Math.round((1 - r.efficiency) * 1000) / 10,
    })),
    freeThreads:
      free === undefined || freeRow === undefined
        ? null
        : {
            kernel: free.kernel,
            threads: free.threads,
            usersPerRound: free.users * free.threads,
            hashesPerSecond: Math.round(freeRow.summary.median),
            range: [Math.round(freeRow.summary.min), Math.round(freeRow.summary.max)],
            efficiency: Math.round(freeRow.ofIdeal * 1000) / 1000,
            poolOfFreeThreads: freeRow.poolOfFree === undefined ? null : Math.round(freeRow.poolOfFree * 1000) / 1000,
          },
  };
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${values.json}`);
}

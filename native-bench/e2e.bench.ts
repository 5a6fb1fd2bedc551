/**
 * End to end: a real slapd with N generated users → `phsync sync` (the real CLI, a child process) →
 * the SQLite target and/or an HTTP tenant (`phsync tenant serve`, another child process).
 * `npm run bench:e2e -- --users 1000000`.
 *
 *   node native-bench/e2e.bench.ts [--users 100000] [--target sqlite|http|both] [--json PATH]
 *        [--rounds 1] [--workers N] [--kernel auto|NAME] [--batch-size N] [--page-size N]
 *        [--pool-rounds 3] [--pool-users N] [--ldif FILE] [--seed S]
 *
 * Per sync: the engine's wall time (spawn to exit), users/s, its CPU seconds per 1,000 users
 * (exact: the reaped child's utime + stime), its peak RSS (the summary's maxRssMiB and VmHWM polled
 * from /proc), its CPU by kind of thread (main, hash workers, the embedded tenant, V8's helpers;
 * polled from /proc/PID/task), slapd's CPU during the sync (and the tenant's, for http), and how much CPU the rest of
 * the machine used meanwhile (the machine is shared: that is the noise). After each sync, the
 * HashPool's pure hashing rate with the kernel and workers that sync used, and the ratio end-to-end
 * users/s ÷ pool rate (the goal is ≥ 85%), next to the most these cores allowed for that ratio
 * (bench-support/cpu-budget.ts). With --rounds R, the targets alternate R times and the
 * table shows medians and ranges.
 *
 * The directory is loaded with test/support/slapd.ts (the fixture generator, then slapadd; about
 * 50 s for 1,000,000 users here) once, and every sync reads it into a fresh state store and target.
 * slapd, the tenant and the engine are stopped and the temp directories removed on success, failure,
 * Ctrl-C and SIGTERM; if this process is killed outright, watchdogs kill the children.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HashPool } from '../src/hash/hash-pool.ts';
import type { KernelName } from '../src/hash/hash-kernel.ts';
import { isKernelName } from '../src/hash/kernels.ts';
import { DEFAULT_ITERATIONS } from '../src/phs/credential.ts';
import { startSlapd } from '../test/support/slapd.ts';
import type { Slapd } from '../test/support/slapd.ts';
import { phsyncEnv, positive } from './bench-support/args.ts';
import { cpuBudget } from './bench-support/cpu-budget.ts';
import type { CpuBudget } from './bench-support/cpu-budget.ts';
import { poolRound } from './bench-support/hash-rates.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { childPids, clockTicks, cpuSeconds, machineCpuTimes, runMeasured } from './bench-support/proc.ts';
import type { MeasuredChild, MeasuredRun } from './bench-support/proc.ts';
import { fmtInt, fmtPercent, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';
import type { Summary } from './bench-support/stats.ts';
import { DEFAULT_BATCH_SIZE } from '../src/pipeline/hash-batch.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    target: { type: 'string', default: 'both' },
    json: { type: 'string' },
    workers: { type: 'string', default: String(availableParallelism()) },
    kernel: { type: 'string', default: 'auto' },
    'batch-size': { type: 'string' },
    'page-size': { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'pool-rounds': { type: 'string', default: '3' },
    'pool-users': { type: 'string' },
    ldif: { type: 'string' },
    seed: { type: 'string', default: 'phsync-e2e-bench' },
  },
});
const users = positive('users', values.users);
const workers = positive('workers', values.workers);
const rounds = positive('rounds', values.rounds);
const poolRounds = positive('pool-rounds', values['pool-rounds']);
const poolUsers = values['pool-users'] === undefined ? Math.min(users, 50_000) : positive('pool-users', values['pool-users']);
const batchSize = values['batch-size'] === undefined ? DEFAULT_BATCH_SIZE : positive('batch-size', values['batch-size']);
if (values['page-size'] !== undefined) positive('page-size', values['page-size']);
const kernelChoice = values.kernel;
if (kernelChoice !== 'auto' && !isKernelName(kernelChoice)) throw new Error(`--kernel must be auto or a kernel name, got ${kernelChoice}`);
const targets: readonly ('sqlite' | 'http')[] | undefined = values.target === 'both' ? ['sqlite', 'http'] : values.target === 'sqlite' || values.target === 'http' ? [values.target] : undefined;
if (targets === undefined) throw new Error(`--target must be sqlite, http or both, got ${values.target}`);
// Run as installed: the executable with its shebang (which sets V8 flags), this Node first on the PATH.
const bin = fileURLToPath(new URL('../bin/phsync.js', import.meta.url));
const binEnv = phsyncEnv();
const progress = (m: string): void => void process.stderr.write(`  ${m}\n`);

// ---- Cleanup: whatever happens, stop what we started and remove what we made. ----
let slapd: Slapd | undefined;
const children = new Set<ChildProcess>();
const dirs = new Set<string>();
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(
      [...children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            const timer = setTimeout(() => c.kill('SIGKILL'), 5000);
            c.once('exit', () => {
              clearTimeout(timer);
              resolve();
            });
          }),
      ),
    );
    try {
      await slapd?.[Symbol.asyncDispose]();
    } finally {
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: stopping the engine, the tenant and slapd, removing temp files\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
process.on('exit', () => {
  // Last resort (an uncaught error): nothing async here.
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}
function track(m: MeasuredChild): MeasuredChild {
  children.add(m.child);
  m.child.once('exit', () => children.delete(m.child));
  return m;
}

// ---- The measurements. ----
interface EngineSummary {
  status: string;
  kernel: string;
  workers: number;
  elapsedMs: number;
  usersPerSecond: number;
  maxRssMiB: number;
  counts: { scanned: number; hashed: number; synced: number; failed: Record<string, number> };
}

interface TargetResult {
  readonly target: 'sqlite' | 'http';
  readonly summary: EngineSummary;
  readonly engine: MeasuredRun;
  readonly slapdCpuSeconds: number | undefined;
  readonly tenantCpuSeconds: number | undefined;
  /** CPU seconds the machine spent on anything but the engine, slapd, the tenant and this process during the sync. */
  readonly otherCpuSeconds: number | undefined;
  readonly machineBusyCores: number | undefined;
}

async function measurePool(kernel: KernelName, label: string): Promise<{ kernel: KernelName; rates: number[] }> {
  progress(`pool ${label}: ${workers} workers, kernel ${kernel}, ${poolRounds} rounds of ${fmtInt(poolUsers)} users`);
  await using pool = await HashPool.create({ workers, kernel, iterations: DEFAULT_ITERATIONS });
  await poolRound(pool, Math.min(poolUsers, workers * batchSize * 4), batchSize); // warm-up
  const rates: number[] = [];
  for (let r = 0; r < poolRounds; r++) rates.push(await poolRound(pool, poolUsers, batchSize));
  return { kernel: pool.kernel, rates };
}

async function startTenant(dir: string, token: string): Promise<{ tenant: MeasuredChild; url: string }> {
  const tokenFile = join(dir, 'tenant-token');
  writeFileSync(tokenFile, `${token}\n`, { mode: 0o600 });
  let resolveUrl: (url: string) => void = () => undefined;
  const url = new Promise<string>((resolve) => (resolveUrl = resolve));
  let stderr = '';
  const tenant = track(
    runMeasured(bin, ['tenant', 'serve', '--db', join(dir, 'tenant.db'), '--listen', '127.0.0.1:0', '--token-file', tokenFile], {
      env: binEnv,
      onStderr: (chunk) => {
        stderr += chunk;
        const m = /listening on (\S+)/.exec(stderr);
        if (m?.[1] !== undefined) resolveUrl(m[1]);
      },
    }),
  );
  const failed = tenant.done.then((r) => Promise.reject(new Error(`the tenant exited before listening (${r.signal ?? r.code}): ${r.stderr}`)));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`the tenant did not listen within 20 s: ${stderr}`)), 20_000)));
  try {
    return { tenant, url: await Promise.race([url, failed, timeout]) };
  } finally {
    clearTimeout(timer);
    failed.catch(() => undefined);
  }
}

async function syncOnce(target: 'sqlite' | 'http', directory: Slapd, slapdPid: number | undefined): Promise<TargetResult> {
  const dir = tempDir(`phsync-e2e-${target}-`);
  const token = `bench-${Math.random().toString(36).slice(2)}${Math.random().toString(36).slice(2)}`;
  let tenant: MeasuredChild | undefined;
  let spec = `sqlite:${join(dir, 'tenant.db')}`;
  if (target === 'http') {
    const started = await startTenant(dir, token);
    tenant = started.tenant;
    spec = started.url;
  }
  const args = ['sync', '--source', directory.url, '--base-dn', directory.baseDn, '--bind-dn', directory.syncDn, '--target', spec, '--state', join(dir, 'state.db'), '--workers', String(workers), '--kernel', kernelChoice, '--json'];
  if (values['batch-size'] !== undefined) args.push('--batch-size', values['batch-size']);
  if (values['page-size'] !== undefined) args.push('--page-size', values['page-size']);
  if (target === 'http') args.push('--target-token-file', join(dir, 'tenant-token'));

  const tenantCpu0 = tenant?.child.pid === undefined ? undefined : cpuSeconds(tenant.child.pid);
  const slapdCpu0 = slapdPid === undefined ? undefined : cpuSeconds(slapdPid);
  const self0 = process.cpuUsage();
  const machine0 = machineCpuTimes();
  progress(`sync → ${target} (${spec.startsWith('sqlite:') ? 'sqlite' : spec})`);
  const engine = await track(runMeasured(bin, args, { env: { ...binEnv, PHSYNC_BIND_PASSWORD: directory.syncPassword } })).done;
  const machine1 = machineCpuTimes();
  const self1 = process.cpuUsage(self0);
  const slapdCpu1 = slapdPid === undefined ? undefined : cpuSeconds(slapdPid);
  const tenantCpu1 = tenant?.child.pid === undefined ? undefined : cpuSeconds(tenant.child.pid);

  if (tenant !== undefined) {
    tenant.child.kill('SIGTERM');
    const ended = await tenant.done;
    if (ended.code !== 0) process.stderr.write(`warning: the tenant exited with ${ended.signal ?? ended.code}: ${ended.stderr.slice(-2000)}\n`);
  }
  if (engine.code !== 0) throw new Error(`phsync sync → ${target} exited with ${engine.signal ?? engine.code}:\n${engine.stderr.slice(-4000)}`);
  const summary = JSON.parse(engine.stdout) as EngineSummary;
  if (summary.status !== 'succeeded' || summary.counts.scanned !== users || summary.counts.hashed === 0) {
    throw new Error(`phsync sync → ${target} did not sync the directory: status ${summary.status}, scanned ${summary.counts.scanned} of ${users}, hashed ${summary.counts.hashed}, failed ${JSON.stringify(summary.counts.failed)}`);
  }
  rmSync(dir, { recursive: true, force: true });
  dirs.delete(dir);

  const slapdCpuSeconds = slapdCpu0 === undefined || slapdCpu1 === undefined ? undefined : slapdCpu1 - slapdCpu0;
  const tenantCpuSeconds = tenantCpu0 === undefined || tenantCpu1 === undefined ? undefined : tenantCpu1 - tenantCpu0;
  let otherCpuSeconds: number | undefined;
  let machineBusyCores: number | undefined;
  if (machine0 !== undefined && machine1 !== undefined) {
    const busy = (machine1.busy - machine0.busy) / clockTicks(); // /proc/stat counts in USER_HZ
    machineBusyCores = busy / engine.wallSeconds;
    // Clamped at 0: /proc/stat and the processes' times tick separately.
    otherCpuSeconds = Math.max(0, busy - engine.cpuSeconds - (slapdCpuSeconds ?? 0) - (tenantCpuSeconds ?? 0) - (self1.user + self1.system) / 1e6);
  }
  return { target, summary, engine, slapdCpuSeconds, tenantCpuSeconds, otherCpuSeconds, machineBusyCores };
}

// ---- Run. ----
const machine = describeMachine();
const versionInfo = versions();
let loadSeconds = 0;
const results: TargetResult[] = [];
/** Pool rates by kernel: measured after each sync with the kernel that sync used. */
const poolRates = new Map<KernelName, number[]>();
try {
  progress(values.ldif === undefined ? `slapd: generating ${fmtInt(users)} users and loading them with slapadd` : `slapd: loading ${values.ldif} with slapadd`);
  const loadStart = performance.now();
  slapd = await startSlapd(values.ldif === undefined ? { users, seed: values.seed } : { ldif: values.ldif });
  loadSeconds = (performance.now() - loadStart) / 1000;
  const slapdPid = childPids(process.pid, 'slapd')[0];
  if (slapdPid === undefined) process.stderr.write('warning: slapd\'s pid not found: its CPU time is not measured\n');
  progress(`slapd ready in ${loadSeconds.toFixed(1)} s at ${slapd.url}`);

  for (let r = 0; r < rounds; r++) {
    // Alternate the order, so that neither target always runs first.
    for (const target of r % 2 === 0 ? targets : [...targets].reverse()) {
      const result = await syncOnce(target, slapd, slapdPid);
      results.push(result);
      // The pool alone, with the kernel and workers this sync used (what 'auto' picks can vary).
      const kernel = result.summary.kernel as KernelName;
      const measured = await measurePool(kernel, `after the ${target} sync`);
      poolRates.set(kernel, [...(poolRates.get(kernel) ?? []), ...measured.rates]);
    }
  }
} finally {
  await cleanup();
}

// ---- Report. ----
const poolFor = (kernel: string): Summary | undefined => {
  const rates = poolRates.get(kernel as KernelName);
  return rates === undefined || rates.length === 0 ? undefined : summarize(rates);
};
/** A run's CPU per user by part, and the e2e ÷ pool ratio its cores allowed (see cpu-budget.ts). */
const budgetOf = (r: TargetResult): CpuBudget | undefined => {
  const threads = r.engine.threadCpuSeconds;
  const pool = poolFor(r.summary.kernel);
  if (threads === undefined || pool === undefined) return undefined;
  const tenant = r.target === 'sqlite' ? threads.tenant : r.tenantCpuSeconds;
  return cpuBudget({ hashing: threads.workers, tenant, directory: r.slapdCpuSeconds, engineOwn: threads.main + threads.v8Helpers + threads.other }, users, machine.cores, pool.median);
};
interface TargetFigures {
  readonly target: 'sqlite' | 'http';
  readonly kernels: string;
  readonly runs: readonly TargetResult[];
  readonly wall: Summary;
  readonly usersPerSecond: Summary;
  readonly runUsersPerSecond: Summary;
  readonly ratio: Summary | undefined;
  readonly ceiling: Summary | undefined;
  readonly engineCpuPer1000: Summary;
  readonly maxRssMiB: number;
  readonly vmHwmMiB: number | undefined;
  readonly slapdCpuPer1000: Summary | undefined;
  readonly tenantCpuPer1000: Summary | undefined;
  readonly otherCores: Summary | undefined;
}
const defined = (xs: readonly (number | undefined)[]): number[] | undefined => (xs.every((x) => x !== undefined) && xs.length > 0 ? (xs as number[]) : undefined);
const maybeSummary = (xs: readonly (number | undefined)[]): Summary | undefined => {
  const d = defined(xs);
  return d === undefined ? undefined : summarize(d);
};
const figures: TargetFigures[] = targets.map((target) => {
  const runs = results.filter((r) => r.target === target);
  const e2e = runs.map((r) => users / r.engine.wallSeconds);
  const ratios = runs.map((r, i) => {
    const p = poolFor(r.summary.kernel);
    return p === undefined ? undefined : e2e[i]! / p.median;
  });
  const hwm = defined(runs.map((r) => r.engine.peakRssKiB));
  return {
    target,
    kernels: [...new Set(runs.map((r) => r.summary.kernel))].join(','),
    runs,
    wall: summarize(runs.map((r) => r.engine.wallSeconds)),
    usersPerSecond: summarize(e2e),
    runUsersPerSecond: summarize(runs.map((r) => r.summary.usersPerSecond)),
    ratio: maybeSummary(ratios),
    ceiling: maybeSummary(runs.map((r) => budgetOf(r)?.ceilingRatioToPool)),
    engineCpuPer1000: summarize(runs.map((r) => (r.engine.cpuSeconds * 1000) / users)),
    maxRssMiB: Math.max(...runs.map((r) => r.summary.maxRssMiB)),
    vmHwmMiB: hwm === undefined ? undefined : Math.max(...hwm) / 1024,
    slapdCpuPer1000: maybeSummary(runs.map((r) => (r.slapdCpuSeconds === undefined ? undefined : (r.slapdCpuSeconds * 1000) / users))),
    tenantCpuPer1000: target === 'http' ? maybeSummary(runs.map((r) => (r.tenantCpuSeconds === undefined ? undefined : (r.tenantCpuSeconds * 1000) / users))) : undefined,
    otherCores: maybeSummary(runs.map((r) => (r.otherCpuSeconds === undefined ? undefined : r.otherCpuSeconds / r.engine.wallSeconds))),
  };
});

const f1 = (n: number): string => n.toFixed(1);
const f2 = (n: number): string => n.toFixed(2);
const f3 = (n: number): string => n.toFixed(3);
const pct = (n: number): string => fmtPercent(n);
const opt = (s: Summary | undefined, fmt: (n: number) => string): string => (s === undefined ? '?' : fmtSummary(s, fmt));
const budgetNote = (b: CpuBudget | undefined): string => {
  if (b === undefined) return '';
  const u = b.perUser;
  const part = (name: string, micros: number | undefined): string => (micros === undefined ? '' : `, ${name} ${Math.round(micros)}`);
  return `\n    CPU µs a user: hashing ${Math.round(u.hashing)}${part('tenant', u.tenant)}${part('slapd', u.directory)}, the engine's own ${Math.round(u.engineOwn)}; these ${machine.cores} cores allowed at most ${fmtInt(b.ceilingUsersPerSecond)} users/s without the engine's own work, ${pct(b.ceilingRatioToPool)} of the pool`;
};
console.log(describeForHumans(machine, versionInfo));
console.log(
  `phsync sync from slapd: ${fmtInt(users)} users (generated and loaded in ${loadSeconds.toFixed(1)} s), a full sync into an empty target; ` +
    `${workers} workers, --kernel ${kernelChoice}; ${rounds} round${rounds === 1 ? '' : 's'} per target${rounds > 1 ? ', median (min–max)' : ''}`,
);
console.log('');
console.log(
  renderTable(
    ['target', 'kernel', 'wall s', 'users/s', 'run users/s', 'vs pool', 'ceiling', 'engine CPU s/1k users', 'peak RSS MiB', 'slapd CPU s/1k', 'tenant CPU s/1k', 'other load (cores)'],
    figures.map((f) => [
      f.target,
      f.kernels,
      fmtSummary(f.wall, f1),
      fmtSummary(f.usersPerSecond),
      fmtSummary(f.runUsersPerSecond),
      opt(f.ratio, pct),
      opt(f.ceiling, pct),
      fmtSummary(f.engineCpuPer1000, f3),
      `${f.maxRssMiB} / ${f.vmHwmMiB === undefined ? '?' : fmtInt(f.vmHwmMiB)}`,
      opt(f.slapdCpuPer1000, f3),
      f.target === 'http' ? opt(f.tenantCpuPer1000, f3) : '',
      opt(f.otherCores, f2),
    ]),
  ),
);
console.log('');
for (const [kernel, rates] of poolRates) {
  console.log(`HashPool alone (${kernel}, ${workers} workers, batches of ${batchSize}, ${fmtInt(poolUsers)} users a round, after each sync): ${fmtSummary(summarize(rates))} hashes/s over ${rates.length} rounds`);
}
console.log('wall s = engine process start to exit; users/s = users ÷ wall s; run users/s = the engine\'s own figure (its run, without process start and kernel selection)');
console.log('vs pool = users/s ÷ the pool\'s median with the same kernel (goal ≥ 85%); peak RSS = the summary\'s maxRssMiB / VmHWM polled from /proc');
console.log('ceiling = the most "vs pool" these cores allowed if the engine\'s own work (main thread, V8 helpers) cost nothing: cores ÷ (hashing + tenant + slapd CPU per user) ÷ the pool\'s rate');
console.log('CPU s/1k = CPU seconds (user + system) per 1,000 users; other load = CPU the rest of the machine used during the sync (it is shared), in cores');
for (const r of results) {
  console.log(
    `  ${r.target}: ${fmtInt(r.summary.counts.hashed)} hashed, ${fmtInt(r.summary.counts.synced)} synced in ${f1(r.engine.wallSeconds)} s; engine CPU ${f1(r.engine.cpuSeconds)} s ` +
      `(${f2(r.engine.cpuSeconds / r.engine.wallSeconds)} cores); slapd ${r.slapdCpuSeconds === undefined ? '?' : f1(r.slapdCpuSeconds)} s` +
      `${r.tenantCpuSeconds === undefined ? '' : `; tenant ${f1(r.tenantCpuSeconds)} s`}; machine busy ${r.machineBusyCores === undefined ? '?' : f2(r.machineBusyCores)} of ${machine.cores} cores` +
      (r.engine.threadCpuSeconds === undefined
        ? ''
        : `\n    engine threads (CPU s): main ${f1(r.engine.threadCpuSeconds.main)}, hash workers ${f1(r.engine.threadCpuSeconds.workers)}${r.target === 'sqlite' ? `, embedded tenant ${f1(r.engine.threadCpuSeconds.tenant)}` : ''}, V8 helpers (GC, compilers) ${f1(r.engine.threadCpuSeconds.v8Helpers)}, other ${f1(r.engine.threadCpuSeconds.other)}`) +
      budgetNote(budgetOf(r)),
  );
}

if (values.json !== undefined) {
  const round3 = (n: number | undefined): number | null => (n === undefined ? null : Math.round(n * 1000) / 1000);
  const sj = (s: Summary | undefined, digits = 0) => {
    if (s === undefined) return null;
    const k = 10 ** digits;
    const r = (n: number): number => Math.round(n * k) / k;
    return { median: r(s.median), range: [r(s.min), r(s.max)], n: s.n };
  };
  const report = {
    date: new Date().toISOString(),
    machine: { cpuModel: machine.cpuModel, cores: machine.cores, logicalCpus: machine.logicalCpus, flags: machine.flags, os: machine.os, totalmem: machine.totalmemBytes },
    node: process.versions.node,
    versions: { openssl: versionInfo.opensslNode, opensslProgram: versionInfo.opensslProgram ?? null, piscina: versionInfo.piscina ?? null, 'hash-wasm': versionInfo['hash-wasm'] ?? null, 'better-sqlite3': versionInfo['better-sqlite3'] ?? null, ldapts: versionInfo.ldapts ?? null },
    settings: { users, rounds, targets, workers, kernel: kernelChoice, batchSize: values['batch-size'] === undefined ? null : batchSize, pageSize: values['page-size'] ?? null, seed: values.seed, ldif: values.ldif ?? null },
    directory: { users, loadSeconds: Math.round(loadSeconds * 10) / 10 },
    pool: [...poolRates].map(([kernel, rates]) => ({ kernel, workers, batchSize, usersPerRound: poolUsers, hashesPerSecond: sj(summarize(rates)) })),
    targets: figures.map((f) => ({
      target: f.target,
      kernel: f.kernels,
      wallSeconds: sj(f.wall, 2),
      usersPerSecond: sj(f.usersPerSecond),
      runUsersPerSecond: sj(f.runUsersPerSecond),
      ratioToPool: sj(f.ratio, 3),
      ceilingRatioToPool: sj(f.ceiling, 3),
      engineCpuSecondsPer1000Users: sj(f.engineCpuPer1000, 3),
      enginePeakRssMiB: f.maxRssMiB,
      engineVmHwmMiB: f.vmHwmMiB === undefined ? null : Math.round(f.vmHwmMiB),
      slapdCpuSecondsPer1000Users: sj(f.slapdCpuPer1000, 3),
      tenantCpuSecondsPer1000Users: sj(f.tenantCpuPer1000, 3),
      otherLoadCores: sj(f.otherCores, 2),
    })),
    runs: results.map((r) => ({
      target: r.target,
      kernel: r.summary.kernel,
      workers: r.summary.workers,
      counts: r.summary.counts,
      wallSeconds: round3(r.engine.wallSeconds),
      runSeconds: round3(r.summary.elapsedMs / 1000),
      usersPerSecond: Math.round(users / r.engine.wallSeconds),
      runUsersPerSecond: Math.round(r.summary.usersPerSecond),
      engineCpuSeconds: round3(r.engine.cpuSeconds),
      engineCpuSecondsLastPoll: round3(r.engine.cpuSecondsLastPoll),
      engineThreadCpuSeconds:
        r.engine.threadCpuSeconds === undefined
          ? null
          : { main: round3(r.engine.threadCpuSeconds.main), hashWorkers: round3(r.engine.threadCpuSeconds.workers), tenantThread: round3(r.engine.threadCpuSeconds.tenant), v8Helpers: round3(r.engine.threadCpuSeconds.v8Helpers), other: round3(r.engine.threadCpuSeconds.other) },
      cpuBudget: ((b) => (b === undefined ? null : { microsecondsPerUser: { hashing: round3(b.perUser.hashing), tenant: round3(b.perUser.tenant), slapd: round3(b.perUser.directory), engineOwn: round3(b.perUser.engineOwn) }, ceilingUsersPerSecond: Math.round(b.ceilingUsersPerSecond), ceilingRatioToPool: round3(b.ceilingRatioToPool) }))(budgetOf(r)),
      enginePeakRssMiB: r.summary.maxRssMiB,
      engineVmHwmMiB: r.engine.peakRssKiB === undefined ? null : Math.round(r.engine.peakRssKiB / 1024),
      slapdCpuSeconds: round3(r.slapdCpuSeconds),
      tenantCpuSeconds: round3(r.tenantCpuSeconds),
      otherCpuSeconds: round3(r.otherCpuSeconds),
      machineBusyCores: round3(r.machineBusyCores),
    })),
  };
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\nwrote ${values.json}`);
}

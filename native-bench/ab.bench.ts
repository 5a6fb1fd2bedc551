/**
 * A/B: two versions of phsync syncing the same real slapd, in alternating rounds of one session.
 * The machine is shared and noisy (the same code has varied by ±15% between runs), so a change is
 * judged by running both versions side by side, not by comparing two bench runs.
 *
 *   node native-bench/ab.bench.ts --a REV [--b REV] [--users 100000] [--rounds 4] [--dry-run]
 *        [--ldif FILE] [--seed S] [--json PATH]
 *
 * A and B are git revisions, checked out beside the repository and built (bench-support/worktree.ts);
 * without --b, B is the working tree as it is, uncommitted changes included. Each round runs
 * `phsync sync` of each version (the executable, with its shebang flags) into a fresh state store and
 * embedded tenant, A first in odd rounds and B first in even ones; --dry-run reads, maps and screens
 * without hashing or writing. Per run: wall time, the engine's CPU (exact, from the reaped child) and
 * its CPU by kind of thread (main, hash workers, tenant, V8's helpers; /proc/PID/task), peak RSS.
 * The table gives medians and ranges, and B against A.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSlapd } from '../test/support/slapd.ts';
import type { Slapd } from '../test/support/slapd.ts';
import { phsyncEnv, positive } from './bench-support/args.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { runMeasured } from './bench-support/proc.ts';
import type { MeasuredRun } from './bench-support/proc.ts';
import { fmtInt, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';
import type { Summary } from './bench-support/stats.ts';
import { checkoutRevision, resolveCommit } from './bench-support/worktree.ts';
import type { Checkout } from './bench-support/worktree.ts';

const { values } = parseArgs({
  options: {
    a: { type: 'string' },
    b: { type: 'string' },
    users: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '4' },
    'dry-run': { type: 'boolean', default: false },
    ldif: { type: 'string' },
    seed: { type: 'string', default: 'phsync-ab-bench' },
    json: { type: 'string' },
  },
});
if (values.a === undefined) throw new Error('--a REV is required: the version to compare against (a commit, a branch, HEAD~1…)');
const users = positive('users', values.users);
const rounds = positive('rounds', values.rounds);
const repo = fileURLToPath(new URL('..', import.meta.url));
const progress = (m: string): void => void process.stderr.write(`  ${m}\n`);

interface Side {
  readonly name: 'A' | 'B';
  readonly label: string;
  readonly dir: string;
}
interface Run {
  readonly measured: MeasuredRun;
  readonly summary: { status: string; counts: { scanned: number; hashed: number; synced: number }; maxRssMiB: number };
}

// ---- Cleanup: the checkouts, temp dirs and slapd go whatever happens. ----
const checkouts: Checkout[] = [];
const dirs = new Set<string>();
let slapd: Slapd | undefined;
let cleaning: Promise<void> | undefined;
function cleanup(): Promise<void> {
  cleaning ??= (async () => {
    try {
      await slapd?.[Symbol.asyncDispose]();
    } finally {
      for (const c of checkouts) c.remove();
      for (const d of dirs) rmSync(d, { recursive: true, force: true });
    }
  })();
  return cleaning;
}
for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.once(signal, () => {
    process.stderr.write(`\n${signal}: removing the checkouts and temp files, stopping slapd\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  });
}
function tempDir(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.add(d);
  return d;
}

async function syncOnce(side: Side, directory: Slapd): Promise<Run> {
  const dir = tempDir('phsync-ab-run-');
  try {
    const args = ['sync', '--source', directory.url, '--base-dn', directory.baseDn, '--bind-dn', directory.syncDn, '--target', `sqlite:${join(dir, 'tenant.db')}`, '--state', join(dir, 'state.db'), '--no-progress', '--json'];
    if (values['dry-run']) args.push('--dry-run');
    const measured = await runMeasured(join(side.dir, 'bin', 'phsync.js'), args, { env: phsyncEnv({ PHSYNC_BIND_PASSWORD: directory.syncPassword }) }).done;
    if (measured.code !== 0) throw new Error(`${side.name} (${side.label}) exited with ${measured.code ?? measured.signal}: ${measured.stderr.trim().split('\n').slice(-3).join(' / ')}`);
    return { measured, summary: JSON.parse(measured.stdout) as Run['summary'] };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    dirs.delete(dir);
  }
}

const results = new Map<'A' | 'B', Run[]>([
  ['A', []],
  ['B', []],
]);
let sides: Side[] = [];
let loadSeconds = 0;
try {
  const parent = tempDir('phsync-ab-');
  const a = values.a;
  progress(`checking out and building A = ${a}`);
  const checkoutA = checkoutRevision(repo, a, join(parent, 'a'), process.execPath);
  checkouts.push(checkoutA);
  let sideB: Side;
  if (values.b === undefined) {
    sideB = { name: 'B', label: `the working tree (${resolveCommit(repo, 'HEAD').slice(0, 10)} and any uncommitted changes)`, dir: repo };
  } else {
    progress(`checking out and building B = ${values.b}`);
    const checkoutB = checkoutRevision(repo, values.b, join(parent, 'b'), process.execPath);
    checkouts.push(checkoutB);
    sideB = { name: 'B', label: `${values.b} (${checkoutB.commit.slice(0, 10)})`, dir: checkoutB.dir };
  }
  sides = [{ name: 'A', label: `${a} (${checkoutA.commit.slice(0, 10)})`, dir: checkoutA.dir }, sideB];

  progress(values.ldif === undefined ? `slapd: generating ${fmtInt(users)} users and loading them with slapadd` : `slapd: loading ${values.ldif}`);
  const loadStart = performance.now();
  slapd = await startSlapd(values.ldif === undefined ? { users, seed: values.seed } : { ldif: values.ldif });
  loadSeconds = (performance.now() - loadStart) / 1000;
  for (let r = 0; r < rounds; r++) {
    for (const side of r % 2 === 0 ? sides : [...sides].reverse()) {
      progress(`round ${r + 1}/${rounds}: ${side.name}`);
      results.get(side.name)!.push(await syncOnce(side, slapd));
    }
  }
} finally {
  await cleanup();
}

// ---- Report. ----
const counts = new Set([...results.values()].flat().map((r) => JSON.stringify({ scanned: r.summary.counts.scanned, hashed: r.summary.counts.hashed, synced: r.summary.counts.synced })));
const figures = sides.map((side) => {
  const runs = results.get(side.name)!;
  const thread = (pick: (t: NonNullable<MeasuredRun['threadCpuSeconds']>) => number): Summary | undefined =>
    runs.every((r) => r.measured.threadCpuSeconds !== undefined) ? summarize(runs.map((r) => pick(r.measured.threadCpuSeconds!))) : undefined;
  return {
    side,
    wall: summarize(runs.map((r) => r.measured.wallSeconds)),
    cpu: summarize(runs.map((r) => r.measured.cpuSeconds)),
    main: thread((t) => t.main),
    hashWorkers: thread((t) => t.workers),
    tenant: thread((t) => t.tenant),
    v8Helpers: thread((t) => t.v8Helpers),
    peakRssMiB: summarize(runs.map((r) => r.summary.maxRssMiB)),
  };
});
const f2 = (n: number): string => n.toFixed(2);
const opt = (s: Summary | undefined): string => (s === undefined ? '?' : fmtSummary(s, f2));
const [fa, fb] = figures as [(typeof figures)[0], (typeof figures)[0]];
const change = (a: Summary | undefined, b: Summary | undefined): string => (a === undefined || b === undefined ? '?' : a.median === 0 ? '–' : `${b.median >= a.median ? '+' : ''}${((b.median / a.median - 1) * 100).toFixed(1)}%`);

console.log(describeForHumans(describeMachine(), versions()));
console.log(`A/B: phsync sync${values['dry-run'] ? ' --dry-run' : ''} from slapd, ${values.ldif ?? `${fmtInt(users)} generated users`} (loaded in ${loadSeconds.toFixed(1)} s), into a fresh embedded tenant; ${rounds} rounds alternating, median (min–max)`);
for (const f of figures) console.log(`  ${f.side.name} = ${f.side.label}`);
console.log('');
console.log(
  renderTable(
    ['', 'wall s', 'CPU s', 'main thread s', 'hash workers s', 'tenant thread s', 'V8 helpers s', 'peak RSS MiB'],
    [
      ...figures.map((f) => [f.side.name, fmtSummary(f.wall, f2), fmtSummary(f.cpu, f2), opt(f.main), opt(f.hashWorkers), opt(f.tenant), opt(f.v8Helpers), fmtSummary(f.peakRssMiB)]),
      ['B vs A', change(fa.wall, fb.wall), change(fa.cpu, fb.cpu), change(fa.main, fb.main), change(fa.hashWorkers, fb.hashWorkers), change(fa.tenant, fb.tenant), change(fa.v8Helpers, fb.v8Helpers), change(fa.peakRssMiB, fb.peakRssMiB)],
    ],
  ),
);
console.log('CPU = the engine process\'s user + system time (exact); by thread from /proc/PID/task (lower bounds, polled); peak RSS = the engine\'s own maxRssMiB');
if (counts.size !== 1) console.log(`warning: the runs did not read and sync the same users: ${[...counts].join(' ')}`);

if (values.json !== undefined) {
  const sj = (s: Summary | undefined) => (s === undefined ? null : { median: Math.round(s.median * 1000) / 1000, range: [Math.round(s.min * 1000) / 1000, Math.round(s.max * 1000) / 1000], n: s.n });
  const report = {
    date: new Date().toISOString(),
    node: process.versions.node,
    settings: { users: values.ldif === undefined ? users : null, ldif: values.ldif ?? null, rounds, dryRun: values['dry-run'] },
    sides: figures.map((f) => ({ side: f.side.name, version: f.side.label, wallSeconds: sj(f.wall), cpuSeconds: sj(f.cpu), mainThreadSeconds: sj(f.main), hashWorkerSeconds: sj(f.hashWorkers), tenantThreadSeconds: sj(f.tenant), v8HelperSeconds: sj(f.v8Helpers), peakRssMiB: sj(f.peakRssMiB) })),
    runs: sides.flatMap((side) => results.get(side.name)!.map((r) => ({ side: side.name, wallSeconds: r.measured.wallSeconds, cpuSeconds: r.measured.cpuSeconds, threadCpuSeconds: r.measured.threadCpuSeconds ?? null, counts: r.summary.counts, maxRssMiB: r.summary.maxRssMiB }))),
  };
  writeFileSync(values.json, `${JSON.stringify(report, null, 2)}\n`);
  progress(`wrote ${values.json}`);
}

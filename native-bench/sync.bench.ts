/**
 * End-to-end sync throughput: the real CLI, a generated directory, a fresh state store and target
 * per round. Compares targets and worker counts in the same run, so that a noisy machine shows up
 * as spread, not as a wrong ratio. Prints medians.
 *
 *   node native-bench/sync.bench.ts [--users 100000] [--rounds 3] [--workers 1,2] [--kernel auto]
 *
 * The directory is generated once per (users, seed) into the system temp directory and reused.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { generateFixture } from '../src/fixture/generate-fixture.ts';
import { DEFAULT_BATCH_SIZE } from '../src/pipeline/hash-batch.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    rounds: { type: 'string', default: '3' },
    workers: { type: 'string', default: [...new Set([1, availableParallelism()])].join(',') },
    kernel: { type: 'string', default: 'auto' },
    'batch-size': { type: 'string', default: String(DEFAULT_BATCH_SIZE) },
  },
});
const users = Number(values.users);
const rounds = Number(values.rounds);
const workerCounts = values.workers.split(',').map(Number);
const bin = fileURLToPath(new URL('../bin/phsync.js', import.meta.url));

const fixture = join(tmpdir(), `phsync-bench-${users}.ldif`);
if (!existsSync(fixture)) {
  process.stderr.write(`generating ${users} users into ${fixture}\n`);
  await generateFixture({ users, out: fixture, seed: 'phsync-bench' });
}

interface Summary {
  status: string;
  kernel: string;
  elapsedMs: number;
  usersPerSecond: number;
  counts: { hashed: number; synced: number };
}

function runOnce(target: string, workers: number): Summary {
  const dir = mkdtempSync(join(tmpdir(), 'phsync-bench-run-'));
  try {
    const spec = target === 'sqlite' ? `sqlite:${join(dir, 'tenant.db')}` : 'ndjson:/dev/null';
    const args = [bin, 'sync', '--source', fixture, '--target', spec, '--state', join(dir, 'state.db'), '--workers', String(workers), '--kernel', values.kernel, '--batch-size', values['batch-size'], '--json'];
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    if (result.status !== 0) throw new Error(`sync failed (${result.status}): ${result.stderr}`);
    const summary = JSON.parse(result.stdout) as Summary;
    // A round that synced nothing measured nothing: stop rather than print a misleading median.
    if (summary.status !== 'succeeded' || summary.counts.hashed === 0) throw new Error(`round did not sync: ${summary.status}, ${summary.counts.hashed} hashed`);
    return summary;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

const rows: { target: string; workers: number; kernel: string; seconds: number[]; usersPerSecond: number[]; hashesPerSecond: number[] }[] = [];
for (const target of ['sqlite', 'ndjson:/dev/null']) {
  for (const workers of workerCounts) {
    const row = { target, workers, kernel: '', seconds: [] as number[], usersPerSecond: [] as number[], hashesPerSecond: [] as number[] };
    for (let r = 0; r < rounds; r++) {
      const s = runOnce(target, workers);
      row.kernel = s.kernel;
      row.seconds.push(s.elapsedMs / 1000);
      row.usersPerSecond.push(s.usersPerSecond);
      row.hashesPerSecond.push(s.counts.hashed / (s.elapsedMs / 1000));
    }
    rows.push(row);
  }
}

const cpu = cpus()[0]?.model ?? 'unknown CPU';
console.log(`phsync sync, ${users} users (full sync into an empty target), ${rounds} rounds, median`);
console.log(`Node ${process.versions.node}, OpenSSL ${process.versions.openssl}, ${cpu}, ${availableParallelism()} cores`);
console.log('');
const header = ['target', 'workers', 'kernel', 'seconds', 'users/s', 'hashes/s', 'min–max users/s'];
const table = rows.map((r) => [r.target, String(r.workers), r.kernel, median(r.seconds).toFixed(2), Math.round(median(r.usersPerSecond)).toLocaleString('en'), Math.round(median(r.hashesPerSecond)).toLocaleString('en'), `${Math.round(Math.min(...r.usersPerSecond)).toLocaleString('en')}–${Math.round(Math.max(...r.usersPerSecond)).toLocaleString('en')}`]);
const widths = header.map((h, i) => Math.max(h.length, ...table.map((t) => t[i]!.length)));
const fmt = (cells: string[]): string => cells.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
console.log(fmt(header));
for (const t of table) console.log(fmt(t));

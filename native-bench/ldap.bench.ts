/**
 * The LDAP source against a real slapd: throughput and the engine's peak memory for directories of
 * different sizes, to show that paging keeps memory flat. Each size gets its own slapd (loaded with
 * slapadd), then `phsync sync` reads it through the real CLI.
 *
 *   node native-bench/ldap.bench.ts [--users 100000,1000000] [--mode dry-run|sync] [--page-size 500]
 *
 * --mode dry-run reads, maps and screens every user but hashes nothing (the source's own cost and
 * memory); --mode sync is a full sync into NDJSON on /dev/null. Needs slapd (see .ci/run).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startSlapd } from '../test/support/slapd.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000,1000000' },
    mode: { type: 'string', default: 'dry-run' },
    'page-size': { type: 'string', default: '500' },
  },
});
const sizes = values.users.split(',').map(Number);
const bin = fileURLToPath(new URL('../bin/phsync.js', import.meta.url));

interface Summary {
  status: string;
  elapsedMs: number;
  usersPerSecond: number;
  maxRssMiB: number;
  counts: { scanned: number; hashed: number };
}

const rows: string[][] = [];
for (const users of sizes) {
  const loadStart = performance.now();
  await using slapd = await startSlapd({ users, seed: 'phsync-ldap-bench' });
  const loadSeconds = (performance.now() - loadStart) / 1000;
  const dir = mkdtempSync(join(tmpdir(), 'phsync-ldap-bench-'));
  try {
    const args = [bin, 'sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--page-size', values['page-size'], '--target', 'ndjson:/dev/null', '--state', join(dir, 'state.db'), '--json'];
    if (values.mode === 'dry-run') args.push('--dry-run');
    const result = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword }, maxBuffer: 64 << 20 });
    if (result.status !== 0) throw new Error(`sync failed (${result.status}): ${result.stderr}`);
    const s = JSON.parse(result.stdout) as Summary;
    if (s.counts.scanned !== users) throw new Error(`scanned ${s.counts.scanned} of ${users}`);
    rows.push([users.toLocaleString('en'), values.mode, loadSeconds.toFixed(1), (s.elapsedMs / 1000).toFixed(1), Math.round(s.usersPerSecond).toLocaleString('en'), String(s.maxRssMiB)]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(`phsync sync from slapd (page size ${values['page-size']}), Node ${process.versions.node}, ${cpus()[0]?.model ?? ''}, ${availableParallelism()} cores`);
const header = ['users', 'mode', 'generate+load s', 'sync s', 'users/s', 'peak RSS MiB'];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
console.log(header.map((h, i) => h.padStart(widths[i]!)).join('  '));
for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));

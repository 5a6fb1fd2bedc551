/**
 * What a leaked-hash store costs a sync: the same full sync (the real CLI, a generated directory, a
 * fresh state store and SQLite target per round) with and without `--leaked-store`, alternating, so
 * that the machine's noise falls on both alike. The store holds --hashes random NT hashes plus the
 * NT hashes of one user in --leaked-every (from the fixture's passwords), so each sync with it must
 * flag exactly those users: checked every round.
 *
 *   node native-bench/leaked-sync.bench.ts [--users 100000] [--hashes 10000000] [--rounds 5]
 *        [--leaked-every 100] [--lookup auto|mmap|pread] [--json PATH]
 *
 * The goal (issue 8): with the store, ≥ 95% of the users/s without it. Prints a table of medians and
 * ranges and the ratio of the medians.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { generateFixture } from '../src/fixture/generate-fixture.ts';
import { importHibp } from '../src/leaked/hibp-import.ts';
import { ntHash } from '../src/phs/nt-hash.ts';
import { readPasswordsCsv } from '../test/support/passwords-csv.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { fmtInt, fmtPercent, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '100000' },
    hashes: { type: 'string', default: '10000000' },
    rounds: { type: 'string', default: '5' },
    'leaked-every': { type: 'string', default: '100' },
    lookup: { type: 'string', default: 'auto' },
    json: { type: 'string' },
  },
});
const users = Number(values.users);
const randomHashes = Number(values.hashes);
const rounds = Number(values.rounds);
const every = Number(values['leaked-every']);
for (const [name, n] of Object.entries({ users, hashes: randomHashes, rounds, 'leaked-every': every })) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}
const bin = fileURLToPath(new URL('../bin/phsync.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'phsync-leaked-sync-bench-'));
const cleanUp = (): void => rmSync(work, { recursive: true, force: true });
process.once('SIGINT', () => {
  cleanUp();
  process.exit(130);
});

try {
  const ldif = join(work, 'directory.ldif');
  process.stderr.write(`generating ${users} users…\n`);
  await generateFixture({ users, out: ldif, passwords: join(work, 'passwords.csv'), seed: 'phsync-leaked-sync-bench' });
  const inScope = readPasswordsCsv(join(work, 'passwords.csv')).filter((p) => !p.disabled && !p.empty && !p.mustChange);
  const leaked = inScope.filter((_, i) => i % every === 0);
  // Generated passwords repeat now and then at this scale: every user in scope with a listed password is flagged.
  const listed = new Set(leaked.map((p) => p.password));
  const expectedFlagged = inScope.filter((p) => listed.has(p.password)).length;

  process.stderr.write(`writing a list of ${randomHashes + leaked.length} hashes (unsorted) and importing it…\n`);
  const listPath = join(work, 'pwned.txt');
  const out = createWriteStream(listPath);
  for (const p of leaked) out.write(`${Buffer.from(await ntHash(p.password)).toString('hex').toUpperCase()}:7\n`);
  const chunk = 10_000;
  for (let done = 0; done < randomHashes; done += chunk) {
    const n = Math.min(chunk, randomHashes - done);
    const bytes = randomBytes(16 * n);
    let text = '';
    for (let i = 0; i < n; i++) text += `${bytes.toString('hex', 16 * i, 16 * i + 16).toUpperCase()}:${1 + (i % 1000)}\n`;
    if (!out.write(text)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  const store = join(work, 'pwned.phsleak');
  const imported = await importHibp({ input: listPath, storePath: store });
  rmSync(listPath);

  interface RunSummary { status: string; elapsedMs: number; usersPerSecond: number; maxRssMiB: number; counts: { leaked: number; synced: number; hashed: number } }
  const runOnce = (withStore: boolean): RunSummary => {
    const dir = mkdtempSync(join(work, 'run-'));
    try {
      const args = [bin, 'sync', '--source', ldif, '--target', `sqlite:${join(dir, 'tenant.db')}`, '--state', join(dir, 'state.db'), '--json', ...(withStore ? ['--leaked-store', store, '--leaked-lookup', values.lookup] : [])];
      const result = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
      if (result.status !== 0) throw new Error(`sync failed (${result.status}): ${result.stderr}`);
      const s = JSON.parse(result.stdout) as RunSummary;
      if (s.status !== 'succeeded' || s.counts.synced !== inScope.length) throw new Error(`round did not sync every user in scope: ${s.status}, ${s.counts.synced} of ${inScope.length}`);
      const expected = withStore ? expectedFlagged : 0;
      if (s.counts.leaked !== expected) throw new Error(`round flagged ${s.counts.leaked} users, expected ${expected}`);
      return s;
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  };

  const without: RunSummary[] = [];
  const withIt: RunSummary[] = [];
  for (let r = 0; r < rounds; r++) {
    // Alternate which goes first, so neither always runs on a warmer page cache.
    const order = r % 2 === 0 ? [false, true] : [true, false];
    for (const w of order) (w ? withIt : without).push(runOnce(w));
    process.stderr.write(`round ${r + 1}/${rounds}: without ${Math.round(without.at(-1)!.usersPerSecond)} users/s, with ${Math.round(withIt.at(-1)!.usersPerSecond)} users/s\n`);
  }

  const a = summarize(without.map((s) => s.usersPerSecond));
  const b = summarize(withIt.map((s) => s.usersPerSecond));
  const machine = describeMachine();
  const v = versions();
  console.log(describeForHumans(machine, v));
  console.log(`full sync of ${users} users (${inScope.length} in scope) into SQLite; store of ${fmtInt(imported.hashes)} hashes (${(statSync(store).size / imported.hashes).toFixed(2)} bytes each); ${leaked.length} users' passwords listed, ${expectedFlagged} users in scope with one of them; ${rounds} alternating rounds\n`);
  console.log(
    renderTable(
      ['sync', 'users/s median (range)', 'peak RSS MiB median', 'flagged'],
      [
        ['without --leaked-store', fmtSummary(a), fmtInt(summarize(without.map((s) => s.maxRssMiB)).median), '0'],
        [`with --leaked-store (--leaked-lookup ${values.lookup})`, fmtSummary(b), fmtInt(summarize(withIt.map((s) => s.maxRssMiB)).median), String(expectedFlagged)],
      ],
    ),
  );
  console.log(`\nwith ÷ without (medians): ${fmtPercent(b.median / a.median, 1)} (goal ≥ 95%)`);
  if (values.json !== undefined) {
    writeFileSync(values.json, `${JSON.stringify({ machine, versions: v, users, inScope: inScope.length, storeHashes: imported.hashes, storeBytes: statSync(store).size, leakedUsers: expectedFlagged, lookup: values.lookup, rounds, without: a, with: b, ratio: b.median / a.median }, null, 2)}\n`);
  }
} finally {
  cleanUp();
}

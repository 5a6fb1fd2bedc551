/**
 * Active Directory by replication (issue 10): a full sync of a real Samba AD domain over MS-DRSR
 * (the real CLI: replication, decryption, hashing, a SQLite tenant) against Samba's own
 * `samba-tool user syncpasswords`, the open peer, which reads the same users' unicodePwd over the
 * DC's privileged socket (DirSync) and hands each to a script. Both read the same domain, started
 * once from the harness's cached archive; rounds alternate which goes first.
 *
 *   node native-bench/ad-replication.bench.ts [--users 10000] [--rounds 3] [--objects-per-call 1000] [--json PATH]
 *
 * Every round checks its own work: phsync must sync every enabled, non-must-change user, and the
 * script must be handed an object per user. Prints medians and ranges, and phsync's peak RSS at two
 * chunk sizes (memory follows the chunk, not the domain).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startSambaDc } from '../test/support/samba-dc.ts';
import type { SambaDc } from '../test/support/samba-dc.ts';
import { describeForHumans, describeMachine, versions } from './bench-support/machine.ts';
import { runMeasured } from './bench-support/proc.ts';
import { fmtInt, fmtSummary, renderTable, summarize } from './bench-support/stats.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '10000' },
    rounds: { type: 'string', default: '3' },
    'objects-per-call': { type: 'string', default: '1000' },
    json: { type: 'string' },
  },
});
const users = Number(values.users);
const rounds = Number(values.rounds);
const perCall = Number(values['objects-per-call']);
for (const [name, n] of Object.entries({ users, rounds, 'objects-per-call': perCall })) {
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
}
const bin = fileURLToPath(new URL('../bin/phsync.js', import.meta.url));
const work = mkdtempSync(join(tmpdir(), 'phsync-ad-bench-'));

interface Round {
  readonly seconds: number;
  readonly usersPerSecond: number;
  readonly peakRssMiB: number | undefined;
}

interface SyncSummary {
  readonly status: string;
  readonly counts: { readonly synced: number };
  readonly maxRssMiB: number;
}

async function phsyncRound(dc: SambaDc, expected: number, objectsPerCall: number): Promise<Round> {
  const dir = mkdtempSync(join(work, 'phsync-'));
  try {
    const run = await runMeasured(process.execPath, [bin, 'sync', '--source', `ad://${dc.host}`, '--preset', 'ad', '--bind-dn', `TEST\\${dc.syncUser}`, '--page-size', String(objectsPerCall), '--target', `sqlite:${join(dir, 'tenant.db')}`, '--state', join(dir, 'state.db'), '--json'], {
      env: { ...process.env, PHSYNC_BIND_PASSWORD: dc.syncPassword },
    }).done;
    // Exit 2 is "partial": the domain's built-in accounts have no sign-in name and fail by name.
    if (run.code !== 0 && run.code !== 2) throw new Error(`phsync failed (${run.code}): ${run.stderr}`);
    const s = JSON.parse(run.stdout) as SyncSummary;
    if (s.counts.synced < expected) throw new Error(`phsync synced ${s.counts.synced} users, expected at least ${expected}`);
    return { seconds: run.wallSeconds, usersPerSecond: s.counts.synced / run.wallSeconds, peakRssMiB: s.maxRssMiB };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function syncpasswordsRound(dc: SambaDc, minimum: number): Promise<Round> {
  const dir = mkdtempSync(join(work, 'syncpasswords-'));
  try {
    const counter = join(dir, 'handed');
    const script = join(dir, 'hand-off.sh');
    // What a real hand-off script would at least do: read the object, note it, and say it is done
    // (syncpasswords stops at a script that does not answer DONE-EXIT).
    writeFileSync(script, `#!/bin/sh\ncat > /dev/null\necho x >> '${counter}'\necho 'DONE-EXIT: ok'\n`);
    chmodSync(script, 0o755);
    const ldapi = `ldapi://${encodeURIComponent(join(dc.dir, 'private', 'ldap_priv', 'ldapi'))}`;
    const conf = join(dc.dir, 'etc', 'smb.conf');
    const cache = join(dir, 'cache.ldb');
    const init = await runMeasured('samba-tool', ['user', 'syncpasswords', '--cache-ldb-initialize', '-s', conf, '-H', ldapi, `--cache-ldb=${cache}`, '--attributes=objectGUID,sAMAccountName,userPrincipalName,userAccountControl,pwdLastSet,unicodePwd', `--script=${script}`]).done;
    if (init.code !== 0) throw new Error(`syncpasswords --cache-ldb-initialize failed (${init.code}): ${init.stderr}`);
    const run = await runMeasured('samba-tool', ['user', 'syncpasswords', '-s', conf, `--cache-ldb=${cache}`, '--no-wait']).done;
    if (run.code !== 0) throw new Error(`syncpasswords failed (${run.code}): ${run.stderr}`);
    const handed = existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean).length : 0;
    if (handed < minimum) throw new Error(`syncpasswords handed ${handed} objects to its script, expected at least ${minimum}`);
    const seconds = init.wallSeconds + run.wallSeconds;
    return { seconds, usersPerSecond: handed / seconds, peakRssMiB: run.peakRssKiB === undefined ? undefined : run.peakRssKiB / 1024 };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const sambaVersion = spawnSync('samba', ['--version'], { encoding: 'utf8' }).stdout.trim();
// The harness's default seed: its cached domain of this size is reused (populating 10,000 users takes minutes).
const dc = await startSambaDc({ users });
try {
  const expected = dc.users.filter((u) => u.disabled !== true && u.mustChange !== true).length;
  const ours: Round[] = [];
  const theirs: Round[] = [];
  for (let r = 0; r < rounds; r++) {
    const order = r % 2 === 0 ? ['phsync', 'samba'] : ['samba', 'phsync'];
    for (const who of order) {
      if (who === 'phsync') ours.push(await phsyncRound(dc, expected, perCall));
      else theirs.push(await syncpasswordsRound(dc, dc.users.length));
    }
    process.stderr.write(`round ${r + 1}/${rounds}: phsync ${ours.at(-1)!.seconds.toFixed(1)} s, syncpasswords ${theirs.at(-1)!.seconds.toFixed(1)} s\n`);
  }
  // Memory follows the chunk: the same sync with chunks a tenth the size.
  const small = await phsyncRound(dc, expected, Math.max(1, Math.floor(perCall / 10)));

  const ourTime = summarize(ours.map((x) => x.seconds));
  const theirTime = summarize(theirs.map((x) => x.seconds));
  const fmt1 = (n: number): string => n.toFixed(1);
  const machine = describeMachine();
  const v = versions();
  console.log(describeForHumans(machine, v));
  console.log(`${sambaVersion} AD DC on loopback, ${users} generated users (${expected} enabled and not must-change); ${rounds} alternating rounds\n`);
  console.log(
    renderTable(
      ['run', 'seconds median (range)', 'users/s median', 'peak RSS MiB'],
      [
        [`phsync sync (MS-DRSR, ${perCall} objects per call, hashing, SQLite tenant)`, fmtSummary(ourTime, fmt1), fmtInt(summarize(ours.map((x) => x.usersPerSecond)).median), fmtInt(summarize(ours.map((x) => x.peakRssMiB ?? 0)).median)],
        [`phsync sync, ${Math.max(1, Math.floor(perCall / 10))} objects per call (1 round)`, fmt1(small.seconds), fmtInt(small.usersPerSecond), fmtInt(small.peakRssMiB ?? 0)],
        ['samba-tool user syncpasswords (DirSync, one script per object)', fmtSummary(theirTime, fmt1), fmtInt(summarize(theirs.map((x) => x.usersPerSecond)).median), fmtInt(summarize(theirs.map((x) => x.peakRssMiB ?? 0)).median)],
      ],
    ),
  );
  console.log(`\nsyncpasswords ÷ phsync time (medians): ${(theirTime.median / ourTime.median).toFixed(2)}×`);
  if (values.json !== undefined) writeFileSync(values.json, `${JSON.stringify({ machine, versions: v, users, expected, rounds, objectsPerCall: perCall, phsync: ours, syncpasswords: theirs, smallChunks: small }, null, 2)}\n`);
} finally {
  await dc.stop();
  rmSync(work, { recursive: true, force: true });
}

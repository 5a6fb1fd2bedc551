/**
 * Crash at any instant (issue 9): a real slapd → `phsync sync` → `phsync tenant serve`, the engine
 * SIGKILLed at seeded moments spread over the whole run and started again each time, the tenant
 * SIGKILLed and restarted now and then while the engine writes to it, then one run to the end; then
 * the tenant and the state store are checked against the fixture, and the hashing the kills cost is
 * counted. The orchestrator; `crash-campaign.ts` is its command line, `crash-campaign.test.ts` its CI
 * version.
 *
 * Extra hashing: a killed run records no counts (it never finishes), so each run's hashing is taken
 * as the largest of what the state store shows of it: its last progress sample (`run_samples.hashed`,
 * written at most once a second) and the users of its acknowledged batches (`batch_log`) plus those
 * of the batches it left in flight (snapshotted after each kill; whether each landed is read from the
 * tenant's `tenant_batches`). Its useful hashing is its acknowledged batches plus its in-flight
 * batches that landed (the next run acknowledges those without hashing them again). The difference is
 * its extra hashing. What no file shows: a batch hashed (or half hashed) in a worker when the kill
 * came, not yet recorded, and not in the last sample: that is a lower bound, bounded above by the
 * batches in flight (batch size × workers × 2).
 */
import Database from 'better-sqlite3';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { SeededRandom } from '../../src/fixture/seeded-random.ts';
import { BIND_PASSWORD_ENV } from '../../src/cli/source-options.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';
import { TenantProcess, signalIfAlive, spawnCli } from './campaign-processes.ts';
import type { RunningCli } from './campaign-processes.ts';
import { inScopeUsers, verifyCampaign } from './campaign-verify.ts';
import type { Verification } from './campaign-verify.ts';

export interface CrashCampaignOptions {
  readonly users: number;
  /** SIGKILLs that must land on a live engine before the last run. */
  readonly kills: number;
  readonly seed: string;
  /** SIGKILL and restart the tenant during every Nth round; 0: never. */
  readonly killTenantEvery: number;
  readonly workers: number;
  readonly batchSize: number;
  /** Credentials also checked with the independent (slow) implementation. */
  readonly independentSample: number;
  readonly log?: (message: string) => void;
}

export type KillPhase =
  | 'startup (before the run began: process start, state, kernel selection)'
  | 'reading, before the first write'
  | 'a write in flight (not applied)'
  | 'a write applied, not yet acknowledged'
  | 'between writes'
  | 'end of run (every user written)'
  | 'a run with nothing to hash';

export interface RoundRecord {
  readonly round: number;
  readonly outcome: 'killed' | 'completed' | 'failed';
  readonly phase: KillPhase | undefined;
  /** When the kill was planned, in words. */
  readonly plan: string;
  readonly aliveMs: number;
  readonly runId: number | undefined;
  readonly tenantBefore: number;
  readonly tenantAfter: number;
  readonly tenantRestarted: boolean;
  /** Whether the tenant was killed while this engine was still running. */
  readonly tenantKilledUnderEngine: boolean;
  readonly error?: string;
}

export interface RunHashing {
  readonly runId: number;
  readonly status: string;
  readonly hashed: number;
  readonly useful: number;
  readonly extra: number;
  readonly droppedInFlight: number;
  readonly landedInFlight: number;
}

export interface CrashCampaignResult {
  readonly options: Omit<CrashCampaignOptions, 'log'>;
  readonly inScope: number;
  readonly batchWindow: number;
  readonly rounds: readonly RoundRecord[];
  readonly killsLanded: number;
  readonly tenantRestarts: number;
  readonly failedRuns: number;
  readonly finalRun: { readonly hashed: number; readonly synced: number; readonly recoveredBatches: number; readonly droppedBatches: number; readonly tenantBefore: number };
  readonly runs: readonly RunHashing[];
  readonly totalHashed: number;
  /** Sum over runs of each run's useful hashing; equals inScope when every user was hashed usefully exactly once. */
  readonly usefulHashed: number;
  readonly extraHashed: number;
  readonly maxExtraPerKill: number;
  readonly verification: Verification;
  readonly loadSeconds: number;
  readonly wallSeconds: number;
}

interface InFlightBatch {
  readonly batchId: string;
  readonly runId: number;
  readonly users: number;
}

const POLL_MS = 20;
const FINE_POLL_MS = 3;
const MAX_ROUNDS_PER_KILL = 4;

export async function runCrashCampaign(options: CrashCampaignOptions): Promise<CrashCampaignResult> {
  const log = options.log ?? (() => undefined);
  const wallStart = performance.now();
  const random = SeededRandom.derive(options.seed, 'kill-moments');
  const dir = mkdtempSync(join(tmpdir(), 'phsync-crash-'));
  let slapd: Slapd | undefined;
  let tenant: TenantProcess | undefined;
  let engine: RunningCli | undefined;
  const stopSignals = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
  const cleanup = async (): Promise<void> => {
    if (engine !== undefined) {
      signalIfAlive(engine, 'SIGKILL');
      await engine.done;
    }
    await tenant?.stop();
    await slapd?.[Symbol.asyncDispose]();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = (signal: NodeJS.Signals): void => {
    process.stderr.write(`\n${signal}: stopping the engine, the tenant and slapd, removing temp files\n`);
    void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  for (const s of stopSignals) process.once(s, onSignal);

  try {
    const loadStart = performance.now();
    slapd = await startSlapd({ users: options.users, seed: options.seed });
    const loadSeconds = (performance.now() - loadStart) / 1000;
    const passwords = readPasswordsCsv(slapd.passwordsCsv!);
    const inScope = inScopeUsers(passwords).length;
    log(`slapd: ${options.users} users (${inScope} in scope) loaded in ${loadSeconds.toFixed(1)} s at ${slapd.url}`);

    const tokenFile = join(dir, 'tenant-token');
    writeFileSync(tokenFile, `${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
    const tenantDb = join(dir, 'tenant.db');
    const stateDb = join(dir, 'state.db');
    const tenantProc = new TenantProcess(tenantDb, tokenFile);
    tenant = tenantProc;
    const url = await tenantProc.start();
    log(`tenant at ${url}`);

    const engineArgs = [
      'sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn,
      '--target', url, '--target-token-file', tokenFile, '--state', stateDb,
      '--workers', String(options.workers), '--batch-size', String(options.batchSize), '--no-progress', '--json',
    ];
    const env = { ...process.env, [BIND_PASSWORD_ENV]: slapd.syncPassword };
    const batchWindow = options.batchSize * 2 * options.workers;

    const tenantView = new TenantView(tenantDb);
    const rounds: RoundRecord[] = [];
    const inFlightSeen = new Map<string, InFlightBatch>();
    // What the engine's timing looks like here, learned as the campaign goes (to spread the kills).
    const timing: Timing = { startupMs: 700, firstWriteMs: 300, tailMs: 300, noopRunMs: 1500 };
    let killsLanded = 0;
    let tenantRestarts = 0;

    for (let round = 1; killsLanded < options.kills; round++) {
      if (round > options.kills * MAX_ROUNDS_PER_KILL + 10) throw new Error(`${round - 1} rounds landed only ${killsLanded} kills: the engine ends before the kill moments`);
      const tenantBefore = tenantView.count();
      const remaining = inScope - tenantBefore;
      const killsLeft = options.kills - killsLanded;
      const lastRunBefore = stateMaxRunId(stateDb);

      // When to kill: some in startup, some while the run reads before its first write, most while
      // users are written (at a seeded tenant size, paced so that the sync spreads over the kills),
      // some at the end of the run once every user is written.
      const plan = planKill(random, { remaining, killsLeft, batchWindow, batchSize: options.batchSize, timing });
      const tenantRound = options.killTenantEvery > 0 && round % options.killTenantEvery === 0;
      // The tenant goes down about when the first writes go out (or later), for 0.1–1.5 s.
      const tenantKillAt = tenantRound ? timing.startupMs + timing.firstWriteMs * (0.5 + random.float()) : Infinity;
      const tenantDownMs = 100 + random.float() * 1400;
      // The engine outlives the tenant's outage, so that it has to retry through it, and is killed
      // soon after (or it would often finish the whole sync in that round).
      const notBeforeMs = tenantRound ? tenantKillAt + tenantDownMs + random.float() * 150 : 0;

      const started = performance.now();
      const cli = spawnCli(engineArgs, env);
      engine = cli;
      let runStartAt: number | undefined;
      let firstGrowthAt: number | undefined;
      let fullAt: number | undefined;
      let dueAt: number | undefined = plan.kind === 'time' ? plan.ms : undefined;
      let tenantKilled = false;
      let tenantKilledUnderEngine = false;
      let tenantRestart: Promise<void> | undefined;
      for (;;) {
        const t = performance.now() - started;
        if (!cli.alive()) break;
        if (tenantRound && !tenantKilled && t >= tenantKillAt) {
          tenantKilled = true;
          tenantKilledUnderEngine = true;
          tenantRestart = (async () => {
            await tenantProc.kill();
            await sleep(tenantDownMs);
            await tenantProc.start();
            tenantRestarts++;
          })();
        }
        if (runStartAt === undefined && stateMaxRunId(stateDb) > lastRunBefore) {
          runStartAt = t;
          if (plan.kind === 'after-run-start') dueAt = t + plan.ms;
        }
        const n = tenantView.count();
        if (n > tenantBefore && firstGrowthAt === undefined) firstGrowthAt = t;
        if (n >= inScope && fullAt === undefined) {
          fullAt = t;
          if (plan.kind === 'after-full') dueAt = t + plan.ms;
        }
        if (plan.kind === 'tenant-size' && dueAt === undefined && n >= Math.min(inScope, tenantBefore + plan.users)) dueAt = t + plan.ms;
        if (dueAt !== undefined && t >= Math.max(dueAt, notBeforeMs)) break;
        // Finely while waiting on the tenant's size: the engine writes thousands of users a second.
        const pollMs = plan.kind === 'tenant-size' && dueAt === undefined ? FINE_POLL_MS : POLL_MS;
        await sleep(Math.max(1, Math.min(pollMs, (dueAt ?? Infinity) - t)));
      }
      const landed = signalIfAlive(cli, 'SIGKILL');
      const end = await cli.done;
      engine = undefined;
      const aliveMs = performance.now() - started;
      if (tenantRestart !== undefined) await tenantRestart;
      if (tenantRound && !tenantKilled) {
        // The engine ended before the tenant's moment: kill the tenant now anyway (between runs).
        await tenantProc.kill();
        await sleep(tenantDownMs);
        await tenantProc.start();
        tenantRestarts++;
        tenantKilled = true;
      }

      // Learn the timing from what was seen.
      const ewma = (old: number, seen: number): number => 0.5 * old + 0.5 * seen;
      if (runStartAt !== undefined) timing.startupMs = ewma(timing.startupMs, runStartAt);
      if (runStartAt !== undefined && firstGrowthAt !== undefined && !tenantRound) timing.firstWriteMs = ewma(timing.firstWriteMs, Math.max(POLL_MS, firstGrowthAt - runStartAt));
      if (end.code === 0 && fullAt !== undefined && remaining > 0) timing.tailMs = ewma(timing.tailMs, Math.max(POLL_MS, aliveMs - fullAt));
      if (end.code === 0 && remaining <= 0) timing.noopRunMs = ewma(timing.noopRunMs, aliveMs);
      const outcome: RoundRecord['outcome'] = landed && end.signal === 'SIGKILL' ? 'killed' : end.code === 0 ? 'completed' : 'failed';

      const runId = stateMaxRunId(stateDb) > lastRunBefore ? stateMaxRunId(stateDb) : undefined;
      const inFlight = stateInFlight(stateDb);
      for (const b of inFlight) inFlightSeen.set(b.batchId, b);
      const tenantAfter = tenantView.count();
      let phase: KillPhase | undefined;
      if (outcome === 'killed') {
        killsLanded++;
        phase = classify({ runId, remaining, inScope, tenantAfter, inFlight, tenantView, batchesLogged: runId === undefined ? 0 : stateBatchesLogged(stateDb, runId) });
      }
      const record: RoundRecord = {
        round,
        outcome,
        phase,
        plan: describePlan(plan),
        aliveMs: Math.round(aliveMs),
        runId,
        tenantBefore,
        tenantAfter,
        tenantRestarted: tenantKilled,
        tenantKilledUnderEngine,
        // 20 lines: a V8 abort's message is ~10 lines above its native stack (3 showed only the stack).
        ...(outcome === 'failed' ? { error: `exit ${end.signal ?? end.code}: ${end.stderr.trim().split('\n').slice(-20).join(' | ')}` } : {}),
      };
      rounds.push(record);
      log(
        `round ${round}: ${outcome}${phase === undefined ? '' : ` (${phase})`} after ${record.aliveMs} ms; tenant ${tenantBefore} → ${tenantAfter}` +
          `${tenantKilled ? `; tenant killed${tenantKilledUnderEngine ? ' under the engine' : ' between runs'} and restarted` : ''}${record.error === undefined ? '' : `; ${record.error}`}`,
      );
    }

    // The last run, to the end.
    const tenantBeforeFinal = tenantView.count();
    const last = spawnCli(engineArgs, env);
    engine = last;
    const end = await last.done;
    engine = undefined;
    if (end.code !== 0) throw new Error(`the last run failed (${end.signal ?? end.code}): ${end.stderr.slice(-3000)}`);
    const summary = JSON.parse(end.stdout) as { target: string; counts: { hashed: number; synced: number; recoveredBatches: number; droppedBatches: number } };
    log(`last run: ${summary.counts.hashed} hashed, ${summary.counts.synced} synced, ${summary.counts.recoveredBatches} batches recovered, ${summary.counts.droppedBatches} dropped`);
    tenantView.close();
    await tenantProc.stop();

    const runs = runHashing(stateDb, tenantDb, [...inFlightSeen.values()]);
    const killedRunIds = new Set(rounds.filter((r) => r.outcome === 'killed' && r.runId !== undefined).map((r) => r.runId!));
    const verification = await verifyCampaign({ tenantDb, stateDb, target: summary.target, passwords, independentSample: options.independentSample, seed: options.seed });
    const totalHashed = runs.reduce((a, r) => a + r.hashed, 0);
    const usefulHashed = runs.reduce((a, r) => a + r.useful, 0);
    const { log: _log, ...kept } = options;
    return {
      options: kept,
      inScope,
      batchWindow,
      rounds,
      killsLanded,
      tenantRestarts,
      failedRuns: rounds.filter((r) => r.outcome === 'failed').length,
      finalRun: { ...summary.counts, tenantBefore: tenantBeforeFinal },
      runs,
      totalHashed,
      usefulHashed,
      extraHashed: totalHashed - inScope,
      maxExtraPerKill: Math.max(0, ...runs.filter((r) => killedRunIds.has(r.runId)).map((r) => r.extra)),
      verification,
      loadSeconds,
      wallSeconds: (performance.now() - wallStart) / 1000,
    };
  } finally {
    for (const s of stopSignals) process.off(s, onSignal);
    await cleanup();
  }
}

interface Timing {
  /** Spawn to the run's row in the state store: process start, state, target, kernel selection. */
  startupMs: number;
  /** The run's start to its first write landing at the tenant (reading and the first hashes). */
  firstWriteMs: number;
  /** Every user written to the process's exit (the end-of-run merge and the out-of-scope pass). */
  tailMs: number;
  /** A whole run with nothing to hash. */
  noopRunMs: number;
}

type KillPlan =
  | { readonly kind: 'time'; readonly ms: number }
  | { readonly kind: 'after-run-start'; readonly ms: number }
  | { readonly kind: 'tenant-size'; readonly users: number; readonly ms: number }
  | { readonly kind: 'after-full'; readonly ms: number };

function planKill(random: SeededRandom, o: { remaining: number; killsLeft: number; batchWindow: number; batchSize: number; timing: Timing }): KillPlan {
  const { timing } = o;
  if (o.remaining <= 0) return { kind: 'time', ms: random.float() * (timing.noopRunMs + 200) };
  if (o.remaining <= 2 * o.batchWindow && random.chance(0.5)) return { kind: 'after-full', ms: random.float() * timing.tailMs * 1.2 };
  const p = random.float();
  if (p < 0.2) return { kind: 'time', ms: random.float() * timing.startupMs };
  if (p < 0.35) return { kind: 'after-run-start', ms: random.float() * timing.firstWriteMs };
  // Paced: on average the tenant gains remaining ÷ kills left per round; the kill comes a few ms
  // (seeded) after the tenant reached the size, so it falls anywhere among the batch steps.
  const gain = Math.max(1, o.remaining / o.killsLeft);
  return { kind: 'tenant-size', users: 1 + Math.floor(random.float() * 2 * gain), ms: random.float() * 15 };
}

function describePlan(plan: KillPlan): string {
  switch (plan.kind) {
    case 'time':
      return `${Math.round(plan.ms)} ms after spawn`;
    case 'after-run-start':
      return `${Math.round(plan.ms)} ms after the run began`;
    case 'tenant-size':
      return `${Math.round(plan.ms)} ms after the tenant gained ${plan.users}`;
    case 'after-full':
      return `${Math.round(plan.ms)} ms after the tenant was full`;
  }
}

function classify(o: { runId: number | undefined; remaining: number; inScope: number; tenantAfter: number; inFlight: readonly InFlightBatch[]; tenantView: TenantView; batchesLogged: number }): KillPhase {
  if (o.runId === undefined) return 'startup (before the run began: process start, state, kernel selection)';
  if (o.remaining <= 0) return 'a run with nothing to hash';
  const own = o.inFlight.filter((b) => b.runId === o.runId);
  if (own.some((b) => o.tenantView.landed(b.batchId))) return 'a write applied, not yet acknowledged';
  if (own.length > 0) return 'a write in flight (not applied)';
  if (o.tenantAfter >= o.inScope) return 'end of run (every user written)';
  if (o.batchesLogged === 0) return 'reading, before the first write';
  return 'between writes';
}

/** Read-only looks at the tenant's SQLite file while the tenant runs (WAL: readers do not block it). */
class TenantView {
  readonly #path: string;
  #db: Database.Database | undefined;

  constructor(path: string) {
    this.#path = path;
  }

  #open(): Database.Database | undefined {
    if (this.#db === undefined) {
      try {
        this.#db = new Database(this.#path, { readonly: true, fileMustExist: true });
      } catch {
        return undefined;
      }
    }
    return this.#db;
  }

  count(): number {
    try {
      return (this.#open()?.prepare('SELECT count(*) AS n FROM tenant_users').get() as { n: number } | undefined)?.n ?? 0;
    } catch {
      return 0;
    }
  }

  landed(batchId: string): boolean {
    return tenantLanded(this.#open(), batchId);
  }

  close(): void {
    this.#db?.close();
    this.#db = undefined;
  }
}

function tenantLanded(db: Database.Database | undefined, batchId: string): boolean {
  if (db === undefined) return false;
  // A batch larger than one request is stored per part, under ids that begin with the batch's.
  return db.prepare('SELECT 1 FROM tenant_batches WHERE batch_id = ? OR batch_id LIKE ? LIMIT 1').get(batchId, `${batchId}%`) !== undefined;
}

function withState<T>(path: string, read: (db: Database.Database) => T, otherwise: T): T {
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch {
    return otherwise;
  }
  try {
    return read(db);
  } catch {
    return otherwise; // not yet migrated: the first run was killed before it made its tables
  } finally {
    db.close();
  }
}

function stateMaxRunId(path: string): number {
  return withState(path, (db) => (db.prepare('SELECT coalesce(max(id), 0) AS n FROM runs').get() as { n: number }).n, 0);
}

function stateBatchesLogged(path: string, runId: number): number {
  return withState(path, (db) => (db.prepare(`SELECT count(*) AS n FROM batch_log WHERE run_id = ? AND kind = 'credential'`).get(runId) as { n: number }).n, 0);
}

function stateInFlight(path: string): InFlightBatch[] {
  return withState(
    path,
    (db) =>
      (db.prepare('SELECT batch_id, run_id, members FROM batches').all() as { batch_id: string; run_id: number; members: string }[]).map((r) => ({
        batchId: r.batch_id,
        runId: r.run_id,
        users: (JSON.parse(r.members) as unknown[]).length,
      })),
    [],
  );
}

/** Each run's hashing, useful and extra (see the module comment for the method). */
function runHashing(statePath: string, tenantPath: string, inFlight: readonly InFlightBatch[]): RunHashing[] {
  const tenant = new Database(tenantPath, { readonly: true, fileMustExist: true });
  const landed = new Map(inFlight.map((b) => [b.batchId, tenantLanded(tenant, b.batchId)]));
  tenant.close();
  return withState(
    statePath,
    (db) => {
      const runs = db.prepare('SELECT id, status, counts FROM runs ORDER BY id').all() as { id: number; status: string; counts: string | null }[];
      const logged = db.prepare(`SELECT coalesce(sum(users), 0) AS n FROM batch_log WHERE run_id = ? AND kind = 'credential'`);
      const sampled = db.prepare('SELECT coalesce(max(hashed), 0) AS n FROM run_samples WHERE run_id = ?');
      return runs.map((r) => {
        const acked = (logged.get(r.id) as { n: number }).n;
        const mine = inFlight.filter((b) => b.runId === r.id);
        const landedUsers = mine.filter((b) => landed.get(b.batchId) === true).reduce((a, b) => a + b.users, 0);
        const droppedUsers = mine.filter((b) => landed.get(b.batchId) !== true).reduce((a, b) => a + b.users, 0);
        const useful = acked + landedUsers;
        const counted = r.counts === null ? undefined : (JSON.parse(r.counts) as { hashed?: number }).hashed;
        const hashed = counted ?? Math.max((sampled.get(r.id) as { n: number }).n, useful + droppedUsers);
        return { runId: r.id, status: r.status, hashed, useful, extra: hashed - useful, droppedInFlight: droppedUsers, landedInFlight: landedUsers };
      });
    },
    [],
  );
}

/**
 * The crash campaign from the command line (issue 9), printing a table:
 *
 *   node test/reliability/crash-campaign.ts [--users 20000] [--kills 50] [--seed S]
 *        [--kill-tenant-every 5] [--workers 2] [--batch-size 256] [--independent-sample 2000] [--json PATH]
 *
 * Exits 1 when a user is lost or duplicated, a credential does not verify, the state store disagrees
 * with the tenant, or a run failed. See crash-harness.ts for what it does and how hashing is counted.
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { fmtInt, renderTable } from '../../native-bench/bench-support/stats.ts';
import { runCrashCampaign } from './crash-harness.ts';
import type { CrashCampaignResult } from './crash-harness.ts';

/** The problems a result shows; none for a campaign that passed. */
export function campaignProblems(r: CrashCampaignResult): string[] {
  const v = r.verification;
  const problems: string[] = [];
  if (r.killsLanded < r.options.kills) problems.push(`only ${r.killsLanded} of ${r.options.kills} kills landed`);
  if (v.missing > 0) problems.push(`${v.missing} users lost`);
  if (v.duplicates > 0) problems.push(`${v.duplicates} duplicates`);
  if (v.extra > 0) problems.push(`${v.extra} users in the tenant not in scope`);
  if (v.disabledAtTenant > 0) problems.push(`${v.disabledAtTenant} users disabled at the tenant`);
  if (v.credentialsFailed > 0 || v.independentlyFailed > 0) problems.push(`${v.credentialsFailed} credentials fail, ${v.independentlyFailed} fail the independent check`);
  if (v.stateDisagrees > 0 || v.stateExtra > 0) problems.push(`the state store disagrees with the tenant about ${v.stateDisagrees + v.stateExtra} users`);
  if (v.batchesLeftInFlight > 0) problems.push(`${v.batchesLeftInFlight} batches left in flight`);
  if (v.ackLogRows > 0) problems.push(`${v.ackLogRows} acknowledgements not merged`);
  if (v.badRuns.length > 0) problems.push(`runs neither succeeded nor aborted: ${v.badRuns.map((b) => `#${b.id} ${b.status}${b.error === null ? '' : ` (${b.error})`}`).join('; ')}`);
  if (r.failedRuns > 0) problems.push(`${r.failedRuns} engine runs exited with an error`);
  return problems;
}

export function formatCampaign(r: CrashCampaignResult): string {
  const v = r.verification;
  const kills = r.killsLanded;
  const byPhase = new Map<string, number>();
  for (const round of r.rounds) if (round.phase !== undefined) byPhase.set(round.phase, (byPhase.get(round.phase) ?? 0) + 1);
  const windows = (n: number): string => (n / r.batchWindow).toFixed(2);
  const perKill = kills === 0 ? 0 : r.extraHashed / kills;
  const lines = [
    `crash campaign: ${fmtInt(r.options.users)} users (${fmtInt(r.inScope)} in scope), seed ${r.options.seed}, ${r.options.workers} workers, batches of ${r.options.batchSize}: ` +
      `batch window ${fmtInt(r.batchWindow)} users (batch size × 2 × workers)`,
    '',
    renderTable(
      ['', 'value'],
      [
        ['engine kills landed (SIGKILL on a live engine)', fmtInt(kills)],
        ['rounds (killed + ended on their own + failed)', `${r.rounds.length} (${kills} + ${r.rounds.filter((x) => x.outcome === 'completed').length} + ${r.failedRuns})`],
        ['tenant restarts (SIGKILL; under a running engine)', `${r.tenantRestarts} (${r.rounds.filter((x) => x.tenantKilledUnderEngine).length})`],
        ['users lost', fmtInt(v.missing)],
        ['duplicates', fmtInt(v.duplicates)],
        ['users in the tenant not in scope', fmtInt(v.extra)],
        [`credentials verified (all; independent check of ${fmtInt(v.independentlyChecked)})`, `${fmtInt(v.credentialsChecked - v.credentialsFailed)} / ${fmtInt(v.credentialsChecked)}; ${fmtInt(v.independentlyChecked - v.independentlyFailed)} / ${fmtInt(v.independentlyChecked)}`],
        ['state store disagrees with the tenant (users)', fmtInt(v.stateDisagrees + v.stateExtra)],
        ['batches left in flight', fmtInt(v.batchesLeftInFlight)],
        ['users hashed, all runs', fmtInt(r.totalHashed)],
        ['extra hashing, total (users)', `${fmtInt(r.extraHashed)} (${windows(r.extraHashed)} windows)`],
        ['extra hashing per kill, mean (users)', `${perKill.toFixed(1)} (${windows(perKill)} windows)`],
        ['extra hashing per kill, max (users)', `${fmtInt(r.maxExtraPerKill)} (${windows(r.maxExtraPerKill)} windows)`],
        ['last run: hashed / tenant lacked before it', `${fmtInt(r.finalRun.hashed)} / ${fmtInt(r.inScope - r.finalRun.tenantBefore)}`],
        ['wall time (directory load)', `${r.wallSeconds.toFixed(1)} s (${r.loadSeconds.toFixed(1)} s)`],
      ],
      'lr',
    ),
    '',
    renderTable(['kills by phase', 'kills'], [...byPhase].sort((a, b) => b[1] - a[1]).map(([phase, n]) => [phase, String(n)]), 'lr'),
    '',
    'Extra hashing = users hashed across all runs − users in scope. A killed run records no counts: its hashing is the larger of its last',
    'progress sample (at most 1 s old) and its acknowledged batches + the batches it left in flight; a batch in a worker at the kill that was',
    'neither recorded nor sampled is not seen, so per-kill figures are lower bounds (at most one window unseen per kill).',
  ];
  if (r.usefulHashed !== r.inScope) {
    // Not a correctness failure (the checks above are): a batch acknowledged by a run killed before
    // it wrote that batch's batch_log row is seen neither as acknowledged nor as in flight.
    lines.push(`note: the runs' acknowledged + landed batches account for ${fmtInt(r.usefulHashed)} users, not ${fmtInt(r.inScope)}: ${fmtInt(r.inScope - r.usefulHashed)} acknowledged without a batch_log row (killed between the two writes)`);
  }
  const problems = campaignProblems(r);
  lines.push('', problems.length === 0 ? 'PASS: every in-scope user exactly once, every credential verifies, the state store agrees' : `FAIL: ${problems.join('; ')}`);
  if (v.examples.length > 0) lines.push(...v.examples.map((e) => `  ${e}`));
  for (const round of r.rounds.filter((x) => x.outcome === 'failed')) lines.push(`  round ${round.round} failed: ${round.error ?? ''}`);
  return lines.join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      users: { type: 'string', default: '20000' },
      kills: { type: 'string', default: '50' },
      seed: { type: 'string', default: 'crash-campaign' },
      'kill-tenant-every': { type: 'string', default: '5' },
      workers: { type: 'string', default: '2' },
      'batch-size': { type: 'string', default: '256' },
      'independent-sample': { type: 'string', default: '2000' },
      json: { type: 'string' },
      quiet: { type: 'boolean', default: false },
    },
  });
  const whole = (name: string, raw: string, min: number): number => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n < min) throw new Error(`--${name} must be a whole number ≥ ${min}, got ${raw}`);
    return n;
  };
  const result = await runCrashCampaign({
    users: whole('users', values.users, 1),
    kills: whole('kills', values.kills, 0),
    seed: values.seed,
    killTenantEvery: whole('kill-tenant-every', values['kill-tenant-every'], 0),
    workers: whole('workers', values.workers, 1),
    batchSize: whole('batch-size', values['batch-size'], 1),
    independentSample: whole('independent-sample', values['independent-sample'], 0),
    ...(values.quiet ? {} : { log: (m: string) => void process.stderr.write(`  ${m}\n`) }),
  });
  console.log(formatCampaign(result));
  if (values.json !== undefined) {
    writeFileSync(values.json, `${JSON.stringify({ date: new Date().toISOString(), node: process.versions.node, problems: campaignProblems(result), ...result }, null, 2)}\n`);
    console.log(`\nwrote ${values.json}`);
  }
  if (campaignProblems(result).length > 0) process.exitCode = 1;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    process.stderr.write(`crash campaign failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}

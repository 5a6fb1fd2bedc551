import type { Argv } from 'yargs';
import { FatalError } from '../errors.ts';
import type { CycleRequest } from '../pipeline/cycle-plan.ts';
import type { SyncSummary } from '../pipeline/sync-counts.ts';
import { runCycle } from './cycle-runner.ts';
import { log } from '../observe/logger.ts';
import { engineOptions, openEngine } from './engine-session.ts';
import { EXIT } from './exit-codes.ts';
import { formatSummary } from './format-summary.ts';

export function syncOptions<T>(y: Argv<T>) {
  return engineOptions(y)
    .option('full', { type: 'boolean', describe: 'force a full password sync of every user in scope' })
    .option('delta', { type: 'boolean', describe: 'only what changed since the last cycle (LDAP and ad:// sources; needs an earlier cycle with the same scope)' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and filter, report what would be synced; hash, write and record nothing' })
    .conflicts('full', 'delta');
}

type SyncArgs = Awaited<ReturnType<typeof syncOptions>['argv']>;

/** One cycle per source (full, or delta when the state allows), then exit with the worst outcome. */
export async function syncCommand(args: SyncArgs): Promise<number> {
  const requested: CycleRequest = args.full === true ? 'full' : args.delta === true ? 'delta' : 'auto';
  await using engine = await openEngine(args);
  const summaries: SyncSummary[] = [];
  // One run per source: a forest that fails does not stop the others.
  for (const source of engine.config.sources) {
    if (engine.ctx.signal.aborted) break;
    const { plan, summary } = await runCycle(source, requested, engine.ctx);
    if (!args.json) log().info({ source: source.name, kind: plan.kind, reason: plan.reason }, `${source.name}: ${plan.kind} sync (${plan.reason})`);
    summaries.push(summary);
  }
  await engine.observability.push();
  const code = report(summaries, args.json);
  // Stopped before a source's run began (during start-up, kernel selection): interrupted, not done.
  return engine.ctx.signal.aborted && summaries.length < engine.config.sources.length && code === EXIT.ok ? EXIT.interrupted : code;
}

/** Prints the summaries and turns them into the exit code of the worst run. */
function report(summaries: readonly SyncSummary[], json: boolean): number {
  if (json) process.stdout.write(`${JSON.stringify(summaries.length === 1 ? summaries[0] : { runs: summaries }, null, 2)}\n`);
  for (const summary of summaries) {
    // A run that stopped before reading a user has nothing to summarise: the one-line cause says it all.
    if (!json && (summary.fatal === undefined || summary.counts.scanned > 0)) process.stderr.write(formatSummary(summary));
  }
  const fatal = summaries.filter((s) => s.fatal !== undefined);
  if (fatal.length === 1 && summaries.length === 1) throw new FatalError(fatal[0]!.fatal!.code, fatal[0]!.fatal!.message);
  for (const s of fatal) log().error({ source: s.source, code: s.fatal!.code }, `${s.source}: ${s.fatal!.message} [${s.fatal!.code}]`);
  if (fatal.length > 0) return EXIT.fatal;
  if (summaries.some((s) => s.status === 'interrupted')) return EXIT.interrupted;
  return summaries.some((s) => s.status === 'partial') ? EXIT.someFailed : EXIT.ok;
}

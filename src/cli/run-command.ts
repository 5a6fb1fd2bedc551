import { setTimeout as sleep } from 'node:timers/promises';
import type { Argv } from 'yargs';
import { errorMessage } from '../errors.ts';
import { total } from '../pipeline/sync-counts.ts';
import type { SyncSummary } from '../pipeline/sync-counts.ts';
import type { CyclePlan } from '../pipeline/cycle-plan.ts';
import { runCycle } from './cycle-runner.ts';
import { log } from '../observe/logger.ts';
import { engineOptions, openEngine } from './engine-session.ts';
import { EXIT } from './exit-codes.ts';
import { parseDuration } from './parse-duration.ts';

export function runOptions<T>(y: Argv<T>) {
  return engineOptions(y).option('interval', { type: 'string', default: '2m', describe: 'time between the starts of two cycles' });
}

type RunArgs = Awaited<ReturnType<typeof runOptions>['argv']>;

function cycleLine(source: string, plan: CyclePlan, s: SyncSummary): string {
  const c = s.counts;
  // The time in the text: a daemon's text log has no other.
  return `${new Date().toISOString()} run ${s.runId} ${source} ${plan.kind} (${plan.reason}): ${s.status}, scanned ${c.scanned}, synced ${c.synced}, skipped ${total(c.skipped)}, failed ${total(c.failed)}, ${(s.elapsedMs / 1000).toFixed(1)} s${s.fatal === undefined ? '' : ` — ${s.fatal.message} [${s.fatal.code}]`}`;
}

/**
 * The long-running engine: a full sync when there is no state, then a delta cycle every interval
 * (and a full scan as often as --full-scan-every says). A cycle that fails is logged and the next one
 * comes on time; SIGTERM/SIGINT finish the batches in flight, checkpoint, and exit 0.
 */
export async function runCommand(args: RunArgs): Promise<number> {
  const intervalMs = parseDuration('interval', args.interval);
  await using engine = await openEngine(args);
  const { signal } = engine.ctx;
  log().info(`engine started: ${engine.config.sources.length} source(s), a cycle every ${args.interval}`);
  while (!signal.aborted) {
    const cycleStart = Date.now();
    for (const source of engine.config.sources) {
      if (signal.aborted) break;
      try {
        const { plan, summary } = await runCycle(source, 'auto', engine.ctx);
        if (args.json) process.stdout.write(`${JSON.stringify({ plan, summary })}\n`);
        else log().info({ runId: summary.runId, source: source.name, kind: plan.kind, status: summary.status }, cycleLine(source.name, plan, summary));
      } catch (err) {
        // A source that cannot even be opened (a missing password file…) is retried next cycle.
        log().error({ source: source.name }, `${source.name}: cycle failed: ${errorMessage(err)}`);
      }
    }
    await engine.observability.push();
    const wait = Math.max(0, intervalMs - (Date.now() - cycleStart));
    try {
      await sleep(wait, undefined, { signal });
    } catch {
      break; // aborted: stop between cycles
    }
  }
  log().info('engine stopped');
  return EXIT.ok;
}

import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { FatalError } from '../errors.ts';
import { total } from '../pipeline/sync-counts.ts';
import type { SyncCounts } from '../pipeline/sync-counts.ts';
import { StateStore } from '../state/state-store.ts';
import { EXIT } from './exit-codes.ts';

export function statusOptions<T>(y: Argv<T>) {
  return y
    .option('state', { type: 'string', default: './phsync-state.db', describe: 'state store (SQLite)' })
    .option('runs', { type: 'number', default: 10, describe: 'how many of the last runs' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON' });
}

type StatusArgs = Awaited<ReturnType<typeof statusOptions>['argv']>;

export async function statusCommand(args: StatusArgs): Promise<number> {
  if (!existsSync(args.state)) throw new FatalError('STATE_NOT_FOUND', `no state store at ${args.state}: nothing has been synced with it yet`);
  using state = StateStore.open(args.state);
  const runs = state.runs(args.runs);
  if (args.json) {
    process.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
    return EXIT.ok;
  }
  for (const run of runs) {
    const c = run.counts as Partial<SyncCounts> | undefined;
    const took = run.finishedAt === undefined ? '' : ` in ${((run.finishedAt - run.startedAt) / 1000).toFixed(1)} s`;
    const numbers = c === undefined ? '' : `: scanned ${c.scanned ?? 0}, synced ${c.synced ?? 0}, skipped ${total(c.skipped ?? {})}, failed ${total(c.failed ?? {})}`;
    process.stdout.write(`run ${run.id} ${run.kind} ${run.status} ${new Date(run.startedAt).toISOString()}${took}${numbers}${run.error === undefined ? '' : ` (${run.error})`}\n`);
  }
  if (runs.length === 0) process.stdout.write('no runs yet\n');
  return EXIT.ok;
}

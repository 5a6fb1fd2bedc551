import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { FatalError } from '../errors.ts';
import { DEFAULT_FAILED_LIMIT } from '../state/run-report.ts';
import { StateStore } from '../state/state-store.ts';
import { EXIT } from './exit-codes.ts';
import { formatReportMarkdown, formatReportText } from './format-report.ts';
import { integerOption } from './parse-options.ts';

export function reportOptions<T>(y: Argv<T>) {
  return y
    .option('state', { type: 'string', default: './phsync-state.db', describe: 'state store (SQLite)' })
    .option('run', { type: 'number', describe: 'the run to report (default: the newest, even one still running)' })
    .option('format', { choices: ['text', 'json', 'md'] as const, default: 'text' as const, describe: 'text for a terminal, json (the report as is), md (Markdown tables)' })
    .option('failed', { type: 'number', default: DEFAULT_FAILED_LIMIT, describe: 'list at most this many failed users (they are all counted)' })
    .epilog('Reads the state store only: no engine lock is needed, and an engine may be running. Batches, samples and user events are kept for the history retention (7 days by default). The state store holds no hash or credential, so none is ever shown.');
}

type ReportArgs = Awaited<ReturnType<typeof reportOptions>['argv']>;

/** `phsync report`: what one run did: counts by status and reason, throughput, batches, failed users and errors. */
export async function reportCommand(args: ReportArgs): Promise<number> {
  const failedLimit = integerOption('failed', args.failed, 0, 1_000_000);
  const runId = args.run === undefined ? undefined : integerOption('run', args.run, 1, Number.MAX_SAFE_INTEGER);
  if (!existsSync(args.state)) throw new FatalError('STATE_NOT_FOUND', `no state store at ${args.state}: nothing has been synced with it yet`);
  using state = StateStore.open(args.state);
  const report = state.runReport({ failedLimit, ...(runId === undefined ? {} : { runId }) });
  if (report === undefined) {
    throw new FatalError('RUN_NOT_FOUND', runId === undefined ? `no runs in the state store ${args.state} yet` : `no run ${runId} in the state store ${args.state} (phsync status lists the last runs)`);
  }
  const text = args.format === 'json' ? `${JSON.stringify(report, null, 2)}\n` : args.format === 'md' ? formatReportMarkdown(report) : formatReportText(report);
  process.stdout.write(text);
  return EXIT.ok;
}

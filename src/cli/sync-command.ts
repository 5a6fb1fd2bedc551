import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import { FatalError } from '../errors.ts';
import { HashPool } from '../hash/hash-pool.ts';
import { DEFAULT_ITERATIONS } from '../phs/credential.ts';
import { runSync } from '../pipeline/sync-run.ts';
import type { SyncSummary } from '../pipeline/sync-counts.ts';
import { LdifSource } from '../source/ldif-source.ts';
import { PRESET_NAMES, presetByName } from '../source/presets/presets.ts';
import { EngineLock } from '../state/engine-lock.ts';
import { StateStore } from '../state/state-store.ts';
import { TARGET_FORMS, openTarget } from '../target/open-target.ts';
import { EXIT } from './exit-codes.ts';
import { formatSummary } from './format-summary.ts';
import { SAMPLE_DIRECTORY } from './package-paths.ts';
import { assertReadable, integerOption } from './parse-options.ts';
import { shutdownSignal } from './shutdown-signal.ts';

export function syncOptions<T>(y: Argv<T>) {
  return y
    .option('source', { type: 'string', default: SAMPLE_DIRECTORY, defaultDescription: 'the bundled sample directory', describe: 'LDIF file to read (slapcat or ldifde output)' })
    .option('source-name', { type: 'string', default: 'default', describe: 'name of the source; anchors are unique per source, and it must stay the same from run to run' })
    .option('preset', { type: 'string', default: 'openldap-samba', choices: PRESET_NAMES, describe: 'attribute mapping' })
    .option('target', { type: 'string', default: 'sqlite:./phsync-tenant.db', describe: `where credentials go: ${TARGET_FORMS}` })
    .option('state', { type: 'string', default: './phsync-state.db', describe: 'state store (SQLite)' })
    .option('kernel', { choices: ['auto', 'node', 'wasm'] as const, default: 'auto' as const, describe: 'PBKDF2 kernel; auto measures and picks the fastest' })
    .option('workers', { type: 'number', default: availableParallelism(), defaultDescription: 'one per core', describe: 'hash worker threads' })
    .option('batch-size', { type: 'number', default: 256, describe: 'users per hash task and per target write' })
    .option('sync-empty-passwords', { type: 'boolean', default: false, describe: 'also sync users whose password is empty' })
    .option('force-password-change-on-logon', { type: 'boolean', default: false, describe: 'sync "must change password" users, flagged to change it at next sign-in' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and filter, report what would be synced; hash, write and record nothing' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout' });
}

type SyncArgs = Awaited<ReturnType<typeof syncOptions>['argv']>;

export async function syncCommand(args: SyncArgs): Promise<number> {
  const workers = integerOption('workers', args.workers, 1, 256);
  const batchSize = integerOption('batch-size', args['batch-size'], 1, 100_000);
  if (args.json && args.target === 'ndjson:-') throw new FatalError('OPTION_INVALID', '--json and --target ndjson:- would both write to stdout; write the NDJSON to a file');
  await assertReadable(args.source, 'source');
  const signal = shutdownSignal();
  const lock = args['dry-run'] ? undefined : EngineLock.acquire(args.state);
  try {
    const state = StateStore.open(args.state);
    try {
      const target = await openTarget(args.target);
      try {
        const source = new LdifSource({ path: args.source, name: args['source-name'], mapping: presetByName(args.preset), signal });
        const pool = await HashPool.create({ workers, kernel: args.kernel, iterations: DEFAULT_ITERATIONS });
        let summary: SyncSummary;
        try {
          summary = await runSync({
            source,
            target,
            state,
            hasher: pool,
            policy: { syncEmptyPasswords: args['sync-empty-passwords'], forcePasswordChangeOnLogon: args['force-password-change-on-logon'] },
            iterations: DEFAULT_ITERATIONS,
            batchSize,
            maxBatchesInFlight: workers * 2,
            dryRun: args['dry-run'],
            signal,
          });
        } finally {
          await pool.close();
        }
        // A run that stopped before reading a user has nothing to summarise: the one-line cause says it all.
        const worthSummary = summary.fatal === undefined || summary.counts.scanned > 0;
        if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        else if (worthSummary) process.stderr.write(formatSummary(summary));
        if (summary.fatal !== undefined) throw new FatalError(summary.fatal.code, summary.fatal.message);
        if (summary.status === 'interrupted') return EXIT.interrupted;
        return summary.status === 'partial' ? EXIT.someFailed : EXIT.ok;
      } finally {
        await target.close();
      }
    } finally {
      state.close();
    }
  } finally {
    lock?.release();
  }
}

import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import type { SourceConfig } from '../config/config-types.ts';
import { FatalError } from '../errors.ts';
import { HashPool } from '../hash/hash-pool.ts';
import { DEFAULT_ITERATIONS } from '../phs/credential.ts';
import { runSync } from '../pipeline/sync-run.ts';
import type { SyncSummary } from '../pipeline/sync-counts.ts';
import { createSource } from '../source/create-source.ts';
import { EngineLock } from '../state/engine-lock.ts';
import { StateStore } from '../state/state-store.ts';
import type { CredentialTarget } from '../target/credential-target.ts';
import { TARGET_FORMS, openTarget } from '../target/open-target.ts';
import type { OpenTargetOptions } from '../target/open-target.ts';
import { readSecret } from './read-secret.ts';
import { readCaFile } from '../util/read-ca-file.ts';
import { DEFAULT_RETRY } from '../util/retry-policy.ts';
import { EXIT } from './exit-codes.ts';
import { formatSummary } from './format-summary.ts';
import { integerOption } from './parse-options.ts';
import { shutdownSignal } from './shutdown-signal.ts';
import { readBindPassword, sourceOptions, sourcesFromArgs } from './source-options.ts';

const DEFAULT_TARGET = 'sqlite:./phsync-tenant.db';
const TARGET_TOKEN_ENV = 'PHSYNC_TARGET_TOKEN';
const DEFAULT_STATE = './phsync-state.db';

export function syncOptions<T>(y: Argv<T>) {
  return sourceOptions(y)
    .option('target', { type: 'string', defaultDescription: DEFAULT_TARGET, describe: `where credentials go: ${TARGET_FORMS}` })
    .option('target-token-file', { type: 'string', describe: `file holding the tenant API's bearer token (else ${TARGET_TOKEN_ENV}); never the command line` })
    .option('target-ca', { type: 'string', describe: 'CA certificate(s) (PEM) that sign the tenant\'s certificate' })
    .option('target-insecure', { type: 'boolean', default: false, describe: 'do not verify the tenant\'s certificate (prints a warning)' })
    .option('state', { type: 'string', defaultDescription: DEFAULT_STATE, describe: 'state store (SQLite)' })
    .option('kernel', { choices: ['auto', 'node', 'wasm'] as const, default: 'auto' as const, describe: 'PBKDF2 kernel; auto measures and picks the fastest' })
    .option('workers', { type: 'number', default: availableParallelism(), defaultDescription: 'one per core', describe: 'hash worker threads' })
    .option('batch-size', { type: 'number', default: 256, describe: 'users per hash task and per target write' })
    .option('sync-empty-passwords', { type: 'boolean', default: false, describe: 'also sync users whose password is empty' })
    .option('force-password-change-on-logon', { type: 'boolean', default: false, describe: 'sync "must change password" users, flagged to change it at next sign-in' })
    .option('dry-run', { type: 'boolean', default: false, describe: 'read and filter, report what would be synced; hash, write and record nothing' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout (with several sources: { runs: [...] })' });
}

type SyncArgs = Awaited<ReturnType<typeof syncOptions>['argv']>;

const warn = (message: string): void => {
  process.stderr.write(`phsync: ${message}\n`);
};

export async function syncCommand(args: SyncArgs): Promise<number> {
  const workers = integerOption('workers', args.workers, 1, 256);
  const batchSize = integerOption('batch-size', args['batch-size'], 1, 100_000);
  const retries = integerOption('ldap-retries', args['ldap-retries'], 0, 1000);
  const timeoutSeconds = integerOption('ldap-timeout', args['ldap-timeout'], 1, 86_400);
  integerOption('page-size', args['page-size'], 1, 100_000);
  const config = await sourcesFromArgs(args);
  const targetSpec = args.target ?? config.target ?? DEFAULT_TARGET;
  const statePath = args.state ?? config.state ?? DEFAULT_STATE;
  if (args.json && targetSpec === 'ndjson:-') throw new FatalError('OPTION_INVALID', '--json and --target ndjson:- would both write to stdout; write the NDJSON to a file');
  for (const s of config.sources) {
    if (s.kind === 'ldif' && !existsSync(s.path)) throw new FatalError('SOURCE_NOT_FOUND', `${s.name}: no such LDIF file: ${s.path}`);
  }
  const signal = shutdownSignal();
  const lock = args['dry-run'] ? undefined : EngineLock.acquire(statePath);
  try {
    using state = StateStore.open(statePath);
    const target = await openTarget(targetSpec, targetOptions(args, targetSpec));
    try {
      const pool = await HashPool.create({ workers, kernel: args.kernel, iterations: DEFAULT_ITERATIONS });
      const summaries: SyncSummary[] = [];
      try {
        // One run per source: a forest that fails does not stop the others.
        for (const sourceConfig of config.sources) {
          if (signal.aborted) break;
          summaries.push(await syncSource(sourceConfig, { args, state, target, pool, batchSize, workers, signal, retries, timeoutMs: timeoutSeconds * 1000 }));
        }
      } finally {
        await pool.close();
      }
      return report(summaries, args.json);
    } finally {
      await target.close();
    }
  } finally {
    lock?.release();
  }
}

/** Token and TLS settings for an HTTP target; the token from a file or the environment, never argv. */
function targetOptions(args: SyncArgs, spec: string): OpenTargetOptions {
  const http = /^https?:\/\//i.test(spec);
  if (!http) {
    if (args['target-token-file'] !== undefined || args['target-ca'] !== undefined || args['target-insecure']) {
      throw new FatalError('OPTION_INVALID', '--target-token-file, --target-ca and --target-insecure are for an http(s):// target');
    }
    return {};
  }
  const token = readSecret({ file: args['target-token-file'], env: TARGET_TOKEN_ENV, what: 'target token', warn });
  if (args['target-insecure']) warn(`warning: the TLS certificate of ${new URL(spec).origin} is not verified (--target-insecure): anyone on the path can read the credentials`);
  const ca = args['target-ca'] === undefined ? undefined : readCaFile(args['target-ca']);
  return { token: token?.trim(), ca, insecure: args['target-insecure'] };
}

interface RunContext {
  readonly args: SyncArgs;
  readonly state: StateStore;
  readonly target: CredentialTarget;
  readonly pool: HashPool;
  readonly batchSize: number;
  readonly workers: number;
  readonly signal: AbortSignal;
  readonly retries: number;
  readonly timeoutMs: number;
}

async function syncSource(sourceConfig: SourceConfig, ctx: RunContext): Promise<SyncSummary> {
  const opened = await createSource(sourceConfig, {
    signal: ctx.signal,
    readBindPassword: (from) => readBindPassword(from, warn),
    warn,
    retry: { ...DEFAULT_RETRY, maxRetries: ctx.retries },
    timeoutMs: ctx.timeoutMs,
  });
  try {
    return await runSync({
      source: opened.source,
      target: ctx.target,
      state: ctx.state,
      hasher: ctx.pool,
      policy: { syncEmptyPasswords: ctx.args['sync-empty-passwords'], forcePasswordChangeOnLogon: ctx.args['force-password-change-on-logon'] },
      iterations: DEFAULT_ITERATIONS,
      batchSize: ctx.batchSize,
      maxBatchesInFlight: ctx.workers * 2,
      dryRun: ctx.args['dry-run'],
      signal: ctx.signal,
    });
  } finally {
    opened.close();
  }
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
  for (const s of fatal) process.stderr.write(`phsync: ${s.source}: ${s.fatal!.message} [${s.fatal!.code}]\n`);
  if (fatal.length > 0) return EXIT.fatal;
  if (summaries.some((s) => s.status === 'interrupted')) return EXIT.interrupted;
  return summaries.some((s) => s.status === 'partial') ? EXIT.someFailed : EXIT.ok;
}

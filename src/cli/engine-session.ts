import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { Argv } from 'yargs';
import type { PhsyncConfig } from '../config/config-types.ts';
import { FatalError } from '../errors.ts';
import { HashPool } from '../hash/hash-pool.ts';
import type { KernelChoice } from '../hash/kernel-selection.ts';
import { KERNEL_NAMES } from '../hash/kernels.ts';
import { DEFAULT_ITERATIONS } from '../phs/credential.ts';
import { LEAKED_PASSWORD_POLICIES } from '../pipeline/sync-policy.ts';
import { LEAKED_LOOKUP_MODES } from '../hash/leaked-lookup.ts';
import type { LeakedLookupMode } from '../hash/leaked-lookup.ts';
import type { LeakedPasswordPolicy } from '../pipeline/sync-policy.ts';
import { EngineLock } from '../state/engine-lock.ts';
import { StateStore } from '../state/state-store.ts';
import { WatermarkStore } from '../state/watermark-store.ts';
import { TARGET_FORMS, openTarget } from '../target/open-target.ts';
import type { OpenTargetOptions } from '../target/open-target.ts';
import { log, logFormat } from '../observe/logger.ts';
import { readCaFile } from '../util/read-ca-file.ts';
import type { EngineContext } from './cycle-runner.ts';
import { observabilityOptions, startObservability } from './observability.ts';
import type { Observability } from './observability.ts';
import { parseDuration } from './parse-duration.ts';
import { integerOption } from './parse-options.ts';
import { readSecret } from './read-secret.ts';
import { shutdownSignal } from './shutdown-signal.ts';
import { sourceOptions, sourcesFromArgs } from './source-options.ts';
import { DEFAULT_BATCH_SIZE } from '../pipeline/hash-batch.ts';

const DEFAULT_TARGET = 'sqlite:./phsync-tenant.db';
const DEFAULT_STATE = './phsync-state.db';
const TARGET_TOKEN_ENV = 'PHSYNC_TARGET_TOKEN';

/** The options of every command that runs the engine (sync, run). */
export function engineOptions<T>(y: Argv<T>) {
  return observabilityOptions(sourceOptions(y))
    .option('target', { type: 'string', defaultDescription: DEFAULT_TARGET, describe: `where credentials go: ${TARGET_FORMS}` })
    .option('target-token-file', { type: 'string', describe: `file holding the tenant API's bearer token (else ${TARGET_TOKEN_ENV}); never the command line` })
    .option('target-ca', { type: 'string', describe: 'CA certificate(s) (PEM) that sign the tenant\'s certificate' })
    .option('target-insecure', { type: 'boolean', default: false, describe: 'do not verify the tenant\'s certificate (prints a warning)' })
    .option('state', { type: 'string', defaultDescription: DEFAULT_STATE, describe: 'state store (SQLite)' })
    .option('kernel', { choices: ['auto', ...KERNEL_NAMES] as KernelChoice[], default: 'auto' as KernelChoice, describe: 'PBKDF2 kernel; auto self-tests and times each available one and picks the fastest' })
    .option('workers', { type: 'number', default: availableParallelism(), defaultDescription: 'one per core', describe: 'hash worker threads' })
    .option('batch-size', { type: 'number', default: DEFAULT_BATCH_SIZE, describe: 'users per hash task and per target write' })
    .option('sync-empty-passwords', { type: 'boolean', default: false, describe: 'also sync users whose password is empty' })
    .option('force-password-change-on-logon', { type: 'boolean', default: false, describe: 'sync "must change password" users, flagged to change it at next sign-in' })
    .option('leaked-store', { type: 'string', describe: 'look every NT hash up in this leaked-hash store (phsync leaked import) while hashing' })
    .option('leaked-lookup', { choices: LEAKED_LOOKUP_MODES, default: 'auto' as LeakedLookupMode, describe: 'how the workers read the store: auto (mmap when the native addon is built, else pread), mmap, or pread (no store pages in the resident memory)' })
    .option('leaked-policy', { choices: LEAKED_PASSWORD_POLICIES, default: 'flag' as LeakedPasswordPolicy, describe: 'a user found in the leaked store: flag = sync with riskLevel high; skip = do not sync' })
    .option('max-out-of-scope-disables', { type: 'number', default: 500, describe: 'stop a full sync from disabling more users than this at the target as out of scope (a wrong filter, an empty dump)' })
    .option('full-scan-every', { type: 'string', default: '24h', describe: 'a full scan at least this often, to find users deleted from the directory' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout (with several sources: { runs: [...] })' });
}

export type EngineArgs = Awaited<ReturnType<typeof engineOptions>['argv']> & { readonly 'dry-run'?: boolean };

export const warn = (message: string): void => {
  log().warn(message);
};

export interface EngineSession extends AsyncDisposable {
  readonly config: PhsyncConfig;
  readonly ctx: EngineContext;
  /** Metrics, progress and run logs; `push()` after each run for a Pushgateway. */
  readonly observability: Observability;
}

/**
 * Everything an engine holds for its lifetime: the lock, the state store, the target and the hash
 * pool, opened once (a daemon keeps them across cycles) and closed in reverse order.
 */
export async function openEngine(args: EngineArgs): Promise<EngineSession> {
  const workers = integerOption('workers', args.workers, 1, 256);
  const batchSize = integerOption('batch-size', args['batch-size'], 1, 100_000);
  const ldapRetries = integerOption('ldap-retries', args['ldap-retries'], 0, 1000);
  const ldapTimeoutSeconds = integerOption('ldap-timeout', args['ldap-timeout'], 1, 86_400);
  if (args['page-size'] !== undefined) integerOption('page-size', args['page-size'], 1, 100_000);
  const fullScanEveryMs = parseDuration('full-scan-every', args['full-scan-every']);
  const maxOutOfScopeDisables = integerOption('max-out-of-scope-disables', args['max-out-of-scope-disables'], 0, 100_000_000);
  const dryRun = args['dry-run'] === true;
  const config = await sourcesFromArgs(args);
  const targetSpec = args.target ?? config.target ?? DEFAULT_TARGET;
  const statePath = args.state ?? config.state ?? DEFAULT_STATE;
  if (args.json && targetSpec === 'ndjson:-') throw new FatalError('OPTION_INVALID', '--json and --target ndjson:- would both write to stdout; write the NDJSON to a file');
  for (const s of config.sources) {
    if (s.kind === 'ldif' && !existsSync(s.path)) throw new FatalError('SOURCE_NOT_FOUND', `${s.name}: no such LDIF file: ${s.path}`);
  }
  const signal = shutdownSignal();
  const closers: (() => Promise<void> | void)[] = [];
  const close = async (): Promise<void> => {
    for (const c of closers.reverse()) await c();
  };
  try {
    // First: the metrics must be listening when the pool announces its kernel.
    const observability = await startObservability(args, { textLogs: logFormat() === 'text' });
    closers.push(async () => observability[Symbol.asyncDispose]());
    if (!dryRun) {
      const lock = EngineLock.acquire(statePath);
      closers.push(() => lock.release());
    }
    const state = StateStore.open(statePath);
    closers.push(() => state.close());
    const watermarks = new WatermarkStore(statePath);
    closers.push(() => watermarks.close());
    const target = await openTarget(targetSpec, targetOptions(args, targetSpec));
    closers.push(() => target.close());
    const leakedStore = args['leaked-store'] ?? config.leakedStore;
    if ((args['leaked-policy'] !== 'flag' || args['leaked-lookup'] !== 'auto') && leakedStore === undefined) {
      throw new FatalError('OPTION_INVALID', '--leaked-policy and --leaked-lookup need a leaked-hash store (--leaked-store)');
    }
    const pool = await HashPool.create({ workers, kernel: args.kernel, iterations: DEFAULT_ITERATIONS, ...(leakedStore === undefined ? {} : { leakedStore, leakedLookup: args['leaked-lookup'] }) });
    if (pool.leakedStore !== undefined) log().info(`leaked-hash store ${pool.leakedStore.path}: ${pool.leakedStore.hashCount.toLocaleString('en-US')} hashes, looked up by ${pool.leakedStore.mode}; a user found is ${args['leaked-policy'] === 'skip' ? 'not synced' : 'synced with riskLevel high'}`);
    closers.push(() => pool.close());
    observability.observePool(pool);
    const ctx: EngineContext = {
      state,
      watermarks,
      target,
      pool,
      batchSize,
      workers,
      policy: { syncEmptyPasswords: args['sync-empty-passwords'], forcePasswordChangeOnLogon: args['force-password-change-on-logon'], leakedPasswords: args['leaked-policy'] },
      dryRun,
      signal,
      ldapRetries,
      ldapTimeoutMs: ldapTimeoutSeconds * 1000,
      fullScanEveryMs,
      maxOutOfScopeDisables,
      warn,
    };
    return { config, ctx, observability, [Symbol.asyncDispose]: close };
  } catch (err) {
    await close();
    throw err;
  }
}

/** Token and TLS settings for an HTTP target; the token from a file or the environment, never argv. */
function targetOptions(args: EngineArgs, spec: string): OpenTargetOptions {
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

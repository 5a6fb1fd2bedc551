import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PhsyncError, errorMessage } from '../errors.ts';
import { configureLogging, log } from '../observe/logger.ts';
import type { LogFormat, LogLevel } from '../observe/logger.ts';
import type { Argv } from 'yargs';
import { EXIT } from './exit-codes.ts';

/** Runs a command and turns its outcome into the documented exit code; fatal errors get one line. */
async function run(command: () => Promise<number>): Promise<void> {
  try {
    process.exitCode = await command();
  } catch (err) {
    const code = err instanceof PhsyncError ? err.code : undefined;
    log().error(code === undefined ? {} : { code }, `${errorMessage(err)}${code === undefined ? '' : ` [${code}]`}`);
    if (!(err instanceof PhsyncError)) log().debug({ stack: (err as Error).stack }, `${(err as Error).stack ?? ''}`);
    process.exitCode = EXIT.fatal;
  }
}

/**
 * Each command's module, loaded only when that command runs: a sync then never loads the tenant's
 * HTTP server, the AD replication stack, the leaked-list importer or the audit, and every thread's
 * memory is the smaller for it.
 */
const LOADERS = {
  sync: () => import('./sync-command.ts'),
  run: () => import('./run-command.ts'),
  signin: () => import('./signin-command.ts'),
  status: () => import('./status-command.ts'),
  report: () => import('./report-command.ts'),
  explain: () => import('./explain-command.ts'),
  audit: () => import('./audit-command.ts'),
  fixture: () => import('./fixture-command.ts'),
  tenant: () => import('./tenant-command.ts'),
  leaked: () => import('./leaked-command.ts'),
};
type CommandModules = { [K in keyof typeof LOADERS]?: Awaited<ReturnType<(typeof LOADERS)[K]>> };

/**
 * yargs calls a command's builder, which needs the module, synchronously, and only for the command
 * named on the command line: so every command word that appears in the arguments is loaded first
 * (a word that is really an option's value costs a module load, nothing more).
 */
async function loadNamedCommands(args: readonly string[]): Promise<CommandModules> {
  const modules: CommandModules = {};
  const load = async <K extends keyof typeof LOADERS>(name: K): Promise<void> => {
    modules[name] = (await LOADERS[name]()) as CommandModules[K];
  };
  for (const name of Object.keys(LOADERS) as (keyof typeof LOADERS)[]) {
    if (args.includes(name)) await load(name);
  }
  return modules;
}

/** Loads every command's module (bin/warm-compile-cache.js: so that all of them are in the cache). */
export async function loadEveryCommand(): Promise<void> {
  await loadNamedCommands(Object.keys(LOADERS));
}

function loaded<T>(module: T | undefined, name: string): T {
  // Unreachable: yargs only builds or runs a command named in the arguments, and those are loaded.
  if (module === undefined) throw new Error(`internal: the ${name} command's module was not loaded`);
  return module;
}

/** The command line; `argv` is process.argv. Importing this module runs nothing (bin/warm-compile-cache.js relies on that). */
export async function main(argv: readonly string[]): Promise<void> {
  const args = hideBin([...argv]);
  const m = await loadNamedCommands(args);
  await yargs(args)
    .scriptName('phsync')
    .usage('$0 <command> [options]\n\nPassword hash synchronization: directory NT hashes to salted PBKDF2 credentials at a cloud tenant.')
    .option('log-level', { choices: ['debug', 'info', 'warn', 'error', 'silent'] as const, default: 'info' as const, global: true, describe: 'least important log lines shown (on stderr)' })
    .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, global: true, describe: 'log lines for people, or JSON lines (pino) for a log collector' })
    .middleware((parsed) => {
      configureLogging({ level: parsed['log-level'] as LogLevel, format: parsed['log-format'] as LogFormat });
    })
    .command('sync', 'run one sync cycle: full, or delta when an earlier cycle allows', (y) => loaded(m.sync, 'sync').syncOptions(y), (a) => run(() => loaded(m.sync, 'sync').syncCommand(a)))
    .command('run', 'keep the tenant current: a full sync, then a delta cycle every interval', (y) => loaded(m.run, 'run').runOptions(y), (a) => run(() => loaded(m.run, 'run').runCommand(a)))
    .command('signin', 'sign a user in at the embedded tenant (password on stdin)', (y) => loaded(m.signin, 'signin').signinOptions(y), (a) => run(() => loaded(m.signin, 'signin').signinCommand(a)))
    .command('status', 'show the last runs recorded in a state store', (y) => loaded(m.status, 'status').statusOptions(y), (a) => run(() => loaded(m.status, 'status').statusCommand(a)))
    .command('report', 'report one run: counts by status and reason, throughput over time, the slowest batches, the users that failed', (y) => loaded(m.report, 'report').reportOptions(y), (a) => run(() => loaded(m.report, 'report').reportCommand(a)))
    .command('explain', 'explain one user: its status, where it is synced, what the last cycles did to it', (y) => loaded(m.explain, 'explain').explainOptions(y), (a) => run(() => loaded(m.explain, 'explain').explainCommand(a)))
    .command('audit', 'password quality report over the directory, without syncing: leaked, empty, shared passwords, disabled accounts with one, must-change accounts', (y) => loaded(m.audit, 'audit').auditOptions(y), (a) => run(() => loaded(m.audit, 'audit').auditCommand(a)))
    .command('fixture', 'write a synthetic directory with known passwords', (y) => loaded(m.fixture, 'fixture').fixtureOptions(y), (a) => run(() => loaded(m.fixture, 'fixture').fixtureCommand(a)))
    .command('tenant', 'run the cloud side: tenant serve (the HTTP API)', (y: Argv) => loaded(m.tenant, 'tenant').tenantCommands(y, run))
    .command('leaked', 'leaked-password list: leaked import (HIBP NTLM list to a store), info, check', (y: Argv) => loaded(m.leaked, 'leaked').leakedCommands(y, run))
    .demandCommand(1, 'name a command: sync, run, status, report, explain, audit, leaked, signin, tenant or fixture')
    .strict()
    .help()
    .alias('help', 'h')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((message, err) => {
      if (err !== undefined && err !== null) throw err;
      process.stderr.write(`phsync: ${message}\nRun phsync --help for usage.\n`);
      process.exit(EXIT.fatal);
    })
    .parseAsync();
}

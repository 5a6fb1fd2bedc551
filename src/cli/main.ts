import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { PhsyncError, errorMessage } from '../errors.ts';
import { configureLogging, log } from '../observe/logger.ts';
import type { LogFormat, LogLevel } from '../observe/logger.ts';
import { auditCommand, auditOptions } from './audit-command.ts';
import { EXIT } from './exit-codes.ts';
import { fixtureCommand, fixtureOptions } from './fixture-command.ts';
import { signinCommand, signinOptions } from './signin-command.ts';
import { explainCommand, explainOptions } from './explain-command.ts';
import { reportCommand, reportOptions } from './report-command.ts';
import { statusCommand, statusOptions } from './status-command.ts';
import { runCommand, runOptions } from './run-command.ts';
import { syncCommand, syncOptions } from './sync-command.ts';
import { tenantCommands } from './tenant-command.ts';
import { leakedCommands } from './leaked-command.ts';

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

await yargs(hideBin(process.argv))
  .scriptName('phsync')
  .usage('$0 <command> [options]\n\nPassword hash synchronization: directory NT hashes to salted PBKDF2 credentials at a cloud tenant.')
  .option('log-level', { choices: ['debug', 'info', 'warn', 'error', 'silent'] as const, default: 'info' as const, global: true, describe: 'least important log lines shown (on stderr)' })
  .option('log-format', { choices: ['text', 'json'] as const, default: 'text' as const, global: true, describe: 'log lines for people, or JSON lines (pino) for a log collector' })
  .middleware((args) => {
    configureLogging({ level: args['log-level'] as LogLevel, format: args['log-format'] as LogFormat });
  })
  .command('sync', 'run one sync cycle: full, or delta when an earlier cycle allows', syncOptions, (args) => run(() => syncCommand(args)))
  .command('run', 'keep the tenant current: a full sync, then a delta cycle every interval', runOptions, (args) => run(() => runCommand(args)))
  .command('signin', 'sign a user in at the embedded tenant (password on stdin)', signinOptions, (args) => run(() => signinCommand(args)))
  .command('status', 'show the last runs recorded in a state store', statusOptions, (args) => run(() => statusCommand(args)))
  .command('report', 'report one run: counts by status and reason, throughput over time, the slowest batches, the users that failed', reportOptions, (args) => run(() => reportCommand(args)))
  .command('explain', 'explain one user: its status, where it is synced, what the last cycles did to it', explainOptions, (args) => run(() => explainCommand(args)))
  .command('audit', 'password quality report over the directory, without syncing: leaked, empty, shared passwords, disabled accounts with one, must-change accounts', auditOptions, (args) => run(() => auditCommand(args)))
  .command('fixture', 'write a synthetic directory with known passwords', fixtureOptions, (args) => run(() => fixtureCommand(args)))
  .command('tenant', 'run the cloud side: tenant serve (the HTTP API)', (y) => tenantCommands(y, run))
  .command('leaked', 'leaked-password list: leaked import (HIBP NTLM list to a store), info, check', (y) => leakedCommands(y, run))
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

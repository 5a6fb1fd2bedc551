import { statSync } from 'node:fs';
import type { Argv } from 'yargs';
import { PhsyncError } from '../errors.ts';
import { importHibp } from '../leaked/hibp-import.ts';
import type { ImportProgress, ImportSummary } from '../leaked/hibp-import.ts';
import { LeakedStore } from '../leaked/leaked-store.ts';
import { FORMAT_VERSION } from '../leaked/leaked-store-format.ts';
import { log } from '../observe/logger.ts';
import { ntHash } from '../phs/nt-hash.ts';
import { EXIT } from './exit-codes.ts';
import { readPassword } from './read-password.ts';

/** Progress lines at most this often: a 28 GB import takes minutes, a line per chunk would flood. */
const PROGRESS_EVERY_MS = 5000;

export function leakedImportOptions<T>(y: Argv<T>) {
  return y
    .option('hibp', { type: 'string', demandOption: true, describe: "Have I Been Pwned's Pwned Passwords NTLM list: one HASH:COUNT file, or a directory of range files XXXXX.txt (haveibeenpwned-downloader)" })
    .option('store', { type: 'string', demandOption: true, describe: 'the leaked-hash store to write (replaced atomically when the import completes)' })
    .option('work-dir', { type: 'string', describe: 'where the import keeps its bucket files and checkpoint (default: STORE.import; needs ~18 bytes per input line)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the summary as JSON on stdout' })
    .epilog('Resumable: stopped (SIGINT, SIGTERM) or killed, the same command goes on from its last checkpoint. Malformed lines are reported and skipped.');
}

export function leakedStoreOptions<T>(y: Argv<T>) {
  return y.option('store', { type: 'string', demandOption: true, describe: 'a leaked-hash store (phsync leaked import)' });
}

export function leakedCheckOptions<T>(y: Argv<T>) {
  return leakedStoreOptions(y).epilog('The password is read from stdin (a prompt without echo on a terminal), never from the command line; exit 0 whether it is leaked or not.');
}

type ImportArgs = Awaited<ReturnType<typeof leakedImportOptions>['argv']>;
type StoreArgs = Awaited<ReturnType<typeof leakedStoreOptions>['argv']>;

/** `phsync leaked <subcommand>`: registered in main.ts with main's runner, which maps outcomes to exit codes. */
export function leakedCommands<T>(y: Argv<T>, run: (command: () => Promise<number>) => Promise<void>): Argv<T> {
  return y
    .command('import', "import Have I Been Pwned's NTLM list into a leaked-hash store", leakedImportOptions, (args) => run(() => leakedImportCommand(args)))
    .command('info', 'describe a leaked-hash store', leakedStoreOptions, (args) => run(() => leakedInfoCommand(args)))
    .command('check', 'look a password (on stdin) up in a leaked-hash store', leakedCheckOptions, (args) => run(() => leakedCheckCommand(args)))
    .demandCommand(1, 'name a leaked subcommand: import, info or check');
}

/** Aborted at the first SIGINT or SIGTERM (the import checkpoints and stops); a second exits at once. */
function stopOnSignal(): { signal: AbortSignal; dispose(): void } {
  const controller = new AbortController();
  const onSignal = (name: NodeJS.Signals): void => {
    if (controller.signal.aborted) process.exit(EXIT.interrupted);
    log().warn(`${name} received: stopping at the next checkpoint (again to stop at once)`);
    controller.abort(new Error(name));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

const size = (bytes: number): string => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(bytes < 1e10 ? 2 : 1)} GB` : `${(bytes / 1e6).toFixed(1)} MB`);
const int = (n: number): string => n.toLocaleString('en-US');

function progressLogger(): (p: ImportProgress) => void {
  const started = performance.now();
  let last = started;
  let lastPhase: ImportProgress['phase'] | undefined;
  return (p) => {
    const now = performance.now();
    // Every phase change is shown once; within a phase, a line every PROGRESS_EVERY_MS.
    const sortingNow = p.phase !== 'reading';
    const changed = sortingNow && lastPhase === 'reading';
    lastPhase = p.phase;
    if (!changed && now - last < PROGRESS_EVERY_MS) return;
    last = now;
    const seconds = (now - started) / 1000;
    if (!sortingNow) {
      const percent = p.bytesTotal === 0 ? 100 : (p.bytesRead / p.bytesTotal) * 100;
      log().info(`leaked import: reading ${percent.toFixed(1)}% (${size(p.bytesRead)} of ${size(p.bytesTotal)}), ${int(p.hashes)} hashes, ${(p.bytesRead / 1e6 / Math.max(seconds, 1e-3)).toFixed(0)} MB/s`);
    } else if (changed) {
      log().info(`leaked import: read ${size(p.bytesRead)}; sorting and writing the store`);
    } else {
      log().info(`leaked import: sorting and writing the store, ${int(p.hashes)} distinct hashes written`);
    }
  };
}

export async function leakedImportCommand(args: ImportArgs): Promise<number> {
  const stop = stopOnSignal();
  let summary: ImportSummary;
  try {
    summary = await importHibp({
      input: args.hibp,
      storePath: args.store,
      ...(args['work-dir'] === undefined ? {} : { workDir: args['work-dir'] }),
      onProgress: progressLogger(),
      signal: stop.signal,
      onWarning: (message) => log().warn(`warning: ${message}`),
    });
  } catch (err) {
    if (err instanceof PhsyncError && err.code === 'LEAKED_IMPORT_INTERRUPTED') {
      log().warn(err.message);
      return EXIT.interrupted;
    }
    throw err;
  } finally {
    stop.dispose();
  }
  if (args.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else process.stderr.write(formatImportSummary(summary, args.store));
  return EXIT.ok;
}

export function formatImportSummary(s: ImportSummary, store: string): string {
  const lines = [
    `phsync leaked import: ${store}${s.resumed ? ' (resumed)' : ''}`,
    `  hashes        ${int(s.hashes)} distinct, from ${int(s.lines)} lines in ${int(s.inputs)} file${s.inputs === 1 ? '' : 's'} (${size(s.bytesRead)})`,
    `  duplicates    ${int(s.duplicatesMerged)} merged (counts summed)`,
    `  malformed     ${int(s.malformed)} lines skipped`,
    ...s.malformedSamples.map((m) => `                ${m.file}:${m.line}: ${m.reason}`),
    ...(s.malformed > s.malformedSamples.length ? [`                (and ${int(s.malformed - s.malformedSamples.length)} more)`] : []),
    `  store         ${int(s.storeBytes)} bytes, ${(s.storeBytes / s.hashes).toFixed(3)} bytes per hash`,
    `  elapsed       ${s.seconds.toFixed(1)} s${s.resumed ? ' (this run)' : ''}`,
  ];
  return `${lines.join('\n')}\n`;
}

export async function leakedInfoCommand(args: StoreArgs): Promise<number> {
  using store = LeakedStore.open(args.store);
  const bytes = statSync(args.store).size;
  const lines = [
    `store         ${store.path}`,
    `format        PHSLEAK1 version ${FORMAT_VERSION}`,
    `hashes        ${int(store.hashCount)}`,
    `created       ${store.createdAt.toISOString()}`,
    `size          ${int(bytes)} bytes, ${store.hashCount === 0 ? '-' : (bytes / store.hashCount).toFixed(3)} bytes per hash`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return EXIT.ok;
}

/** Says whether a password is in the store; never prints the password or its hash. */
export async function leakedCheckCommand(args: StoreArgs): Promise<number> {
  using store = LeakedStore.open(args.store);
  const password = await readPassword('password: ');
  const hash = await ntHash(password);
  const seen = store.lookup(hash, 0);
  hash.fill(0);
  process.stdout.write(seen === 0 ? 'not found\n' : `leaked (seen ${seen === 65_535 ? '65535 or more' : String(seen)} times)\n`);
  return EXIT.ok;
}

import type { Argv } from 'yargs';
import { generateFixture } from '../fixture/generate-fixture.ts';
import { EXIT } from './exit-codes.ts';
import { integerOption } from './parse-options.ts';
import { log } from '../observe/logger.ts';

export function fixtureOptions<T>(y: Argv<T>) {
  return y
    .option('users', { type: 'number', demandOption: true, describe: 'how many users' })
    .option('out', { type: 'string', demandOption: true, describe: 'LDIF file to write (slapcat style)' })
    .option('passwords', { type: 'string', describe: 'CSV of each user\'s password, for sign-in tests and demos' })
    .option('seed', { type: 'string', default: 'phsync', describe: 'same seed, same directory' });
}

type FixtureArgs = Awaited<ReturnType<typeof fixtureOptions>['argv']>;

export async function fixtureCommand(args: FixtureArgs): Promise<number> {
  const users = integerOption('users', args.users, 0, 100_000_000);
  const started = performance.now();
  const result = await generateFixture({ users, out: args.out, seed: args.seed, ...(args.passwords === undefined ? {} : { passwords: args.passwords }) });
  const seconds = (performance.now() - started) / 1000;
  log().info(`wrote ${result.users} users (${result.entries} entries, ${(result.bytes / 1e6).toFixed(1)} MB) to ${args.out} in ${seconds.toFixed(1)} s`);
  return EXIT.ok;
}

import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { FatalError } from '../errors.ts';
import { signIn } from '../tenant/sign-in.ts';
import { TenantStore } from '../tenant/tenant-store.ts';
import { EXIT } from './exit-codes.ts';
import { readPassword } from './read-password.ts';

export function signinOptions<T>(y: Argv<T>) {
  return y
    .option('tenant', { type: 'string', default: './phsync-tenant.db', describe: 'embedded tenant store (SQLite)' })
    .option('user', { type: 'string', demandOption: true, describe: 'user principal name' })
    .epilog('The password is read from stdin (a prompt without echo on a terminal), never from the command line.');
}

type SigninArgs = Awaited<ReturnType<typeof signinOptions>['argv']>;

/** Signs in as the cloud would: exit 0 signed in, 1 refused (the reason on stderr). */
export async function signinCommand(args: SigninArgs): Promise<number> {
  if (!existsSync(args.tenant)) throw new FatalError('TENANT_NOT_FOUND', `no tenant store at ${args.tenant}; run phsync sync first, or name it with --tenant`);
  const password = await readPassword(`password for ${args.user}: `);
  using store = TenantStore.open(args.tenant);
  const result = await signIn(store, args.user, password);
  if (result.ok) {
    process.stdout.write(`signed in as ${args.user}${result.forceChangePassword ? ' (the password must be changed now)' : ''}\n`);
    return EXIT.ok;
  }
  process.stderr.write(`sign-in refused for ${args.user}: ${result.reason}\n`);
  return EXIT.fatal;
}

import { existsSync } from 'node:fs';
import type { Argv } from 'yargs';
import { FatalError } from '../errors.ts';
import { readCaFile } from '../util/read-ca-file.ts';
import { isLoopback } from '../util/listen-address.ts';
import { signInOverHttp } from '../tenant/http/signin-client.ts';
import { signIn } from '../tenant/sign-in.ts';
import type { SignInResult } from '../tenant/sign-in.ts';
import { TenantStore } from '../tenant/tenant-store.ts';
import { EXIT } from './exit-codes.ts';
import { readPassword } from './read-password.ts';
import { log } from '../observe/logger.ts';

export function signinOptions<T>(y: Argv<T>) {
  return y
    .option('tenant', { type: 'string', default: './phsync-tenant.db', describe: 'the tenant: an embedded store (SQLite path) or an HTTP tenant (http:// or https:// URL)' })
    .option('user', { type: 'string', demandOption: true, describe: 'user principal name' })
    .option('tls-ca', { type: 'string', describe: 'for an https:// tenant: trust this CA (PEM) instead of the system CAs' })
    .option('tls-insecure', { type: 'boolean', default: false, describe: 'for an https:// tenant: do not verify its certificate (tests only; prints a warning)' })
    .epilog('The password is read from stdin (a prompt without echo on a terminal), never from the command line.');
}

type SigninArgs = Awaited<ReturnType<typeof signinOptions>['argv']>;

const isUrl = (tenant: string): boolean => /^https?:\/\//iu.test(tenant);

async function signInAt(args: SigninArgs, password: string): Promise<SignInResult> {
  if (!isUrl(args.tenant)) {
    using store = TenantStore.open(args.tenant);
    return await signIn(store, args.user, password);
  }
  let url: URL;
  try {
    url = new URL(args.tenant);
  } catch {
    throw new FatalError('TENANT_URL_INVALID', `--tenant ${args.tenant} is not a URL`);
  }
  const ca = args['tls-ca'] === undefined ? undefined : readCaFile(args['tls-ca']);
  if (args['tls-insecure']) log().warn('warning: --tls-insecure: the tenant\'s certificate is not verified, so anyone in between can read the password');
  if (url.protocol === 'http:' && !isLoopback(url.hostname.replace(/^\[|\]$/gu, ''))) {
    log().warn('warning: the password crosses the network unencrypted (http://); use an https:// tenant');
  }
  return await signInOverHttp(args.tenant, args.user, password, { ...(ca === undefined ? {} : { ca }), insecure: args['tls-insecure'] });
}

/** Signs in as the cloud would: exit 0 signed in, 1 refused (the reason on stderr). */
export async function signinCommand(args: SigninArgs): Promise<number> {
  const overHttp = isUrl(args.tenant);
  if (!overHttp && !existsSync(args.tenant)) throw new FatalError('TENANT_NOT_FOUND', `no tenant store at ${args.tenant}; run phsync sync first, or name it with --tenant`);
  if (!overHttp && (args['tls-ca'] !== undefined || args['tls-insecure'])) throw new FatalError('OPTION_INVALID', '--tls-ca and --tls-insecure are for an https:// tenant');
  const password = await readPassword(`password for ${args.user}: `);
  const result = await signInAt(args, password);
  if (result.ok) {
    process.stdout.write(`signed in as ${args.user}${result.forceChangePassword ? ' (the password must be changed now)' : ''}\n`);
    return EXIT.ok;
  }
  // An HTTP tenant never says why (invalid_grant), so neither does this.
  process.stderr.write(`sign-in refused for ${args.user}: ${result.reason === 'refused' ? 'the user name or password is incorrect (invalid_grant)' : result.reason}\n`);
  return EXIT.fatal;
}

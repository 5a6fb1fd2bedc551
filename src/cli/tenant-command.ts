import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import type { Argv } from 'yargs';
import { FatalError } from '../errors.ts';
import { isLoopback, parseListenAddress } from '../util/listen-address.ts';
import { DEFAULT_MAX_BODY_BYTES, DEFAULT_MAX_ITEMS, startTenantServer } from '../tenant/http/tenant-server.ts';
import { TenantStore } from '../tenant/tenant-store.ts';
import { EXIT } from './exit-codes.ts';
import { integerOption } from './parse-options.ts';
import { readSecret } from './read-secret.ts';
import { log } from '../observe/logger.ts';

const TOKEN_ENV = 'PHSYNC_TENANT_TOKEN';

const warn = (message: string): void => {
  log().warn(`warning: ${message}`);
};

export function tenantServeOptions<T>(y: Argv<T>) {
  return y
    .option('db', { type: 'string', default: './phsync-tenant.db', describe: 'the tenant store (SQLite; made if missing)' })
    .option('listen', { type: 'string', default: '127.0.0.1:8443', describe: 'HOST:PORT to listen on (port 0: any free port)' })
    .option('token-file', { type: 'string', describe: `file holding the bearer token that batch writes need (or env ${TOKEN_ENV}; never on the command line)` })
    .option('tls-cert', { type: 'string', describe: 'serve HTTPS with this certificate chain (PEM); needs --tls-key' })
    .option('tls-key', { type: 'string', describe: 'the private key (PEM) of --tls-cert' })
    .option('max-body-bytes', { type: 'number', default: DEFAULT_MAX_BODY_BYTES, describe: 'a larger batch request is refused (413)' })
    .option('max-items', { type: 'number', default: DEFAULT_MAX_ITEMS, describe: 'a batch with more items is refused (413)' })
    .epilog(`Runs until SIGINT or SIGTERM. Without a token (--token-file or ${TOKEN_ENV}) it listens only on a loopback address, and warns that writes are unauthenticated.`);
}

type ServeArgs = Awaited<ReturnType<typeof tenantServeOptions>['argv']>;

/** `phsync tenant <subcommand>`: registered in main.ts with main's runner, which maps outcomes to exit codes. */
export function tenantCommands<T>(y: Argv<T>, run: (command: () => Promise<number>) => Promise<void>): Argv<T> {
  return y
    .command('serve', 'serve the tenant HTTP API over a tenant store', tenantServeOptions, (args) => run(() => tenantServeCommand(args)))
    .demandCommand(1, 'name a tenant subcommand: serve');
}

function readPem(path: string, option: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new FatalError('TLS_FILE_UNREADABLE', `--${option} ${path}: ${(err as { code?: string }).code ?? String(err)}`, { cause: err });
  }
}

/** Resolves with the signal's name at the first SIGINT or SIGTERM; a second one exits at once. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      const again = (): void => process.exit(EXIT.interrupted);
      process.once('SIGINT', again);
      process.once('SIGTERM', again);
      resolve(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
}

export async function tenantServeCommand(args: ServeArgs): Promise<number> {
  const listen = parseListenAddress(args.listen);
  if (listen === undefined) throw new FatalError('OPTION_INVALID', `--listen must be HOST:PORT (e.g. 127.0.0.1:8443 or [::1]:8443), got ${JSON.stringify(args.listen)}`);
  const maxBodyBytes = integerOption('max-body-bytes', args['max-body-bytes'], 1024, 1024 ** 3);
  const maxItems = integerOption('max-items', args['max-items'], 1, 1_000_000);
  const token = readSecret({ file: args['token-file'], env: TOKEN_ENV, what: 'tenant token', warn });
  if (token !== undefined && token.trim().length === 0) throw new FatalError('TENANT_TOKEN_EMPTY', `the tenant token (${args['token-file'] ?? TOKEN_ENV}) is empty`);
  if (token === undefined) {
    if (!isLoopback(listen.host)) {
      throw new FatalError('TENANT_TOKEN_REQUIRED', `a tenant on ${listen.host} needs a token for writes: give --token-file FILE or ${TOKEN_ENV} (only a loopback address may run without one)`);
    }
    warn(`no token (--token-file or ${TOKEN_ENV}): batch writes are unauthenticated; anyone on this machine can write credentials`);
  }
  if ((args['tls-cert'] === undefined) !== (args['tls-key'] === undefined)) throw new FatalError('OPTION_INVALID', '--tls-cert and --tls-key go together');
  const tls = args['tls-cert'] !== undefined && args['tls-key'] !== undefined ? { cert: readPem(args['tls-cert'], 'tls-cert'), key: readPem(args['tls-key'], 'tls-key') } : undefined;
  if (tls !== undefined) {
    try {
      createSecureContext({ cert: tls.cert, key: tls.key });
    } catch (err) {
      throw new FatalError('TLS_INVALID', `--tls-cert/--tls-key cannot be used: ${(err as { code?: string }).code ?? String(err)} (PEM certificate chain and its private key?)`, { cause: err });
    }
  }
  if (tls === undefined && !isLoopback(listen.host)) warn('serving plain HTTP on a non-loopback address: tokens and sign-in passwords cross the network unencrypted; use --tls-cert and --tls-key');

  using store = TenantStore.open(args.db);
  const stopped = untilStopped();
  let server;
  try {
    server = await startTenantServer({
      store,
      listen,
      token,
      maxBodyBytes,
      maxItems,
      ...(tls === undefined ? {} : { tls }),
      log: (message) => log().info(message),
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new FatalError('TENANT_LISTEN_FAILED', `cannot listen on ${args.listen}: ${typeof code === 'string' ? code : String(err)}`, { cause: err });
  }
  log().info({ url: server.url }, `tenant listening on ${server.url}`);
  const signal = await stopped;
  log().info(`tenant: ${signal} received, closing`);
  await server.close();
  return EXIT.ok;
}

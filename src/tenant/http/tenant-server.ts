import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { errorMessage } from '../../errors.ts';
import type { TenantStore } from '../tenant-store.ts';
import { bearerTokenCheck } from './bearer-token.ts';
import type { FaultHook } from './faults.ts';
import type { HandlerContext } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { lingeringClose } from './lingering-close.ts';
import { sendError } from './responses.ts';
import { allowed, matchRoute, pathOf } from './route-table.ts';
import { DEFAULT_LOCKOUT, SignInLockout } from './signin-lockout.ts';
import type { LockoutPolicy } from './signin-lockout.ts';
import { TenantMetrics } from './tenant-metrics.ts';

export const DEFAULT_MAX_BODY_BYTES = 8 * 1024 * 1024;
export const DEFAULT_MAX_ITEMS = 5000;
/** How long close() lets requests in progress finish before it cuts their connections. */
const CLOSE_GRACE_MS = 5_000;
/** An error answered before the body was read keeps the connection only if the body is at most this. */
const UNREAD_BODY_KEPT_BYTES = 64 * 1024;

export interface TenantServerOptions {
  readonly store: TenantStore;
  /** Port 0: any free port (read it from `url`). */
  readonly listen: { readonly host: string; readonly port: number };
  /** Batch, leaked-credentials and risk routes need `Authorization: Bearer <token>`; undefined: no check (loopback use only). */
  readonly token: string | undefined;
  /** Serve HTTPS with this certificate chain and key (PEM). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** A larger batch body is refused with 413 (default 8 MiB). */
  readonly maxBodyBytes?: number;
  /** A batch with more items is refused with 413 (default 5000). */
  readonly maxItems?: number;
  /** Sign-in lockout per user principal name (default DEFAULT_LOCKOUT). */
  readonly lockout?: LockoutPolicy;
  /** TEST ONLY: fault injection on batch requests (see faults.ts). */
  readonly faults?: FaultHook;
  /** Where unexpected server errors are reported (never with a request body); default: nowhere. */
  readonly log?: (message: string) => void;
}

export interface TenantServer extends AsyncDisposable {
  /** The base URL, e.g. `http://127.0.0.1:43121` (no trailing slash). */
  readonly url: string;
  /** Stops accepting, lets requests in progress finish (cutting them after a grace period), closes idle connections. */
  close(): Promise<void>;
}

/** Node would read and discard an unread body to keep the connection: not worth it for a large one. */
function unreadBodyMayBeLarge(req: IncomingMessage): boolean {
  if (req.complete) return false;
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && Number(length) > UNREAD_BODY_KEPT_BYTES);
}

function urlHost(host: string): string {
  // An unspecified address listens everywhere; reach it over loopback.
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The tenant's HTTP API over a TenantStore (the store stays the caller's to close):
 *
 *   POST /v1/credentials:batch             apply a batch (token)
 *   GET  /v1/credentials:batch/{batchId}   the results of an applied batch, or 404 (token)
 *   POST /v1/signin                        sign a user in (no token; lockout per user)
 *   POST /v1/leaked-credentials            check leaked username/password pairs; a match marks the user high risk (token)
 *   GET  /v1/users/{upn}/risk              a user's risk, or 404 (token)
 *   GET  /healthz, GET /metrics
 *
 * Errors are JSON `{ error, message }`; nothing a client sent as a secret is ever logged or echoed.
 */
export async function startTenantServer(options: TenantServerOptions): Promise<TenantServer> {
  const maxBodyBytes = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  const maxItems = options.maxItems ?? DEFAULT_MAX_ITEMS;
  if (options.token !== undefined && options.token.length === 0) throw new RangeError('the tenant token is empty');
  const ctx: HandlerContext = {
    store: options.store,
    metrics: new TenantMetrics({ highRiskUsers: () => options.store.countHighRisk() }),
    checkToken: bearerTokenCheck(options.token),
    maxBodyBytes,
    maxItems,
    lockout: new SignInLockout(options.lockout ?? DEFAULT_LOCKOUT),
    faults: options.faults,
  };
  const log = options.log ?? (() => {});

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const started = performance.now();
    const method = req.method ?? 'GET';
    let routeName = 'unmatched';
    res.once('close', () => {
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      ctx.metrics.request(routeName, method, status, (performance.now() - started) / 1000);
    });
    try {
      const match = matchRoute(pathOf(req.url));
      if (match === undefined) throw new HttpError(404, 'not_found', 'no such route');
      routeName = match.route.name;
      const handler = match.route.methods[method];
      if (handler === undefined) {
        throw new HttpError(405, 'method_not_allowed', `${match.route.name} does not take ${method}`, { headers: { allow: allowed(match.route) } });
      }
      await handler(req, res, ctx, match.params);
    } catch (err) {
      if (res.headersSent || res.destroyed || req.socket.destroyed) {
        res.destroy();
        return;
      }
      if (err instanceof HttpError) {
        if (err.closeConnection || unreadBodyMayBeLarge(req)) lingeringClose(req, res);
        sendError(res, err);
        return;
      }
      log(`phsync tenant: internal error on ${method} ${routeName}: ${errorMessage(err)}`);
      sendError(res, new HttpError(500, 'internal_error', 'the tenant failed to handle the request'));
    }
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    void handle(req, res);
  };
  const server: HttpServer | HttpsServer = options.tls === undefined
    ? createHttpServer(onRequest)
    : createHttpsServer({ cert: options.tls.cert, key: options.tls.key, minVersion: 'TLSv1.2' }, onRequest);
  // Keep-alive stays on (Node's default); bound how long a client may take to send a request.
  server.keepAliveTimeout = 10_000;
  server.headersTimeout = 20_000;
  server.requestTimeout = 60_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      server.off('listening', onListening);
      reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(options.listen.port, options.listen.host);
  });
  const address = server.address() as AddressInfo;
  const url = `${options.tls === undefined ? 'http' : 'https'}://${urlHost(options.listen.host === 'localhost' ? 'localhost' : address.address)}:${address.port}`;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const cut = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      cut.unref();
      server.close(() => {
        clearTimeout(cut);
        resolve();
      });
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, close, [Symbol.asyncDispose]: close };
}

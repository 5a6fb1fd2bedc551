import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { FatalError } from '../errors.ts';
import { parseListenAddress } from '../util/listen-address.ts';

/** What the server serves: the exposition text, produced at each scrape. */
export interface Scrapeable {
  scrape(): Promise<string>;
  readonly contentType: string;
}

export interface MetricsServer extends AsyncDisposable {
  /** http://HOST:PORT/metrics, with the port actually bound (for --metrics-listen HOST:0). */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * `--metrics-listen HOST:PORT`: GET /metrics for Prometheus while a sync or the daemon runs. Read
 * only and unauthenticated, as exporters are; nothing it serves is a secret or a user's data. Its
 * scrapes run on the main thread between pipeline steps: the hashing is in the workers, so a scrape
 * is answered within a batch step even during a full sync.
 */
export async function serveMetrics(listen: string, metrics: Scrapeable): Promise<MetricsServer> {
  const address = parseListenAddress(listen);
  if (address === undefined) throw new FatalError('OPTION_INVALID', `--metrics-listen must be HOST:PORT (e.g. 127.0.0.1:9464 or [::1]:9464), got ${JSON.stringify(listen)}`);
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found: metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('method not allowed\n');
      return;
    }
    metrics.scrape().then(
      (text) => {
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`cannot collect metrics: ${String(err)}\n`);
      },
    );
  });
  // A scrape connection left open must not keep a finished batch job alive.
  server.keepAliveTimeout = 5_000;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(address.port, address.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw new FatalError('METRICS_LISTEN_FAILED', `cannot serve metrics on ${listen}: ${typeof code === 'string' ? code : String(err)}`, { cause: err });
  }
  const bound = server.address() as AddressInfo;
  const host = bound.family === 'IPv6' ? `[${bound.address}]` : bound.address;
  const close = async (): Promise<void> => {
    if (!server.listening) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://${host}:${bound.port}/metrics`, close, [Symbol.asyncDispose]: close };
}

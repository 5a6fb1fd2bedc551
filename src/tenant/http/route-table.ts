import { getBatchResults, postBatch } from './batch-routes.ts';
import type { Handler, RouteParams } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { getHealth, getMetrics } from './ops-routes.ts';
import { postSignIn } from './signin-route.ts';

export interface Route {
  /** The route's name as the metrics label it: its pattern, never a raw path. */
  readonly name: string;
  readonly methods: Readonly<Partial<Record<string, Handler>>>;
}

const BATCH_PREFIX = '/v1/credentials:batch/';

const routes = {
  batch: { name: '/v1/credentials:batch', methods: { POST: postBatch } },
  batchResults: { name: '/v1/credentials:batch/{batchId}', methods: { GET: getBatchResults, HEAD: getBatchResults } },
  signIn: { name: '/v1/signin', methods: { POST: postSignIn } },
  health: { name: '/healthz', methods: { GET: getHealth, HEAD: getHealth } },
  metrics: { name: '/metrics', methods: { GET: getMetrics, HEAD: getMetrics } },
} as const satisfies Record<string, Route>;

const EXACT = new Map<string, Route>([routes.batch, routes.signIn, routes.health, routes.metrics].map((route) => [route.name, route]));

/** The path of a request target: origin-form (`/a?b`) or absolute-form (`http://h/a`). */
export function pathOf(target: string | undefined): string {
  const raw = target ?? '/';
  if (raw.startsWith('/')) return raw.replace(/[?#].*$/su, '');
  return URL.parse(raw)?.pathname ?? raw;
}

export function matchRoute(path: string): { route: Route; params: RouteParams } | undefined {
  const exact = EXACT.get(path);
  if (exact !== undefined) return { route: exact, params: {} };
  if (path.startsWith(BATCH_PREFIX) && path.length > BATCH_PREFIX.length && !path.includes('/', BATCH_PREFIX.length)) {
    let batchId: string;
    try {
      batchId = decodeURIComponent(path.slice(BATCH_PREFIX.length));
    } catch {
      throw new HttpError(400, 'invalid_request', 'the batchId in the path is not valid percent-encoding');
    }
    return { route: routes.batchResults, params: { batchId } };
  }
  return undefined;
}

/** The Allow header of a route: its methods. */
export function allowed(route: Route): string {
  return Object.keys(route.methods).join(', ');
}

import { getBatchResults, postBatch } from './batch-routes.ts';
import type { Handler, RouteParams } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { postLeakedCredentials } from './leaked-credentials-route.ts';
import { getHealth, getMetrics } from './ops-routes.ts';
import { postSignIn } from './signin-route.ts';
import { getUserRisk } from './user-risk-route.ts';

export interface Route {
  /** The route's name as the metrics label it: its pattern, never a raw path. */
  readonly name: string;
  readonly methods: Readonly<Partial<Record<string, Handler>>>;
}

const routes = {
  batch: { name: '/v1/credentials:batch', methods: { POST: postBatch } },
  batchResults: { name: '/v1/credentials:batch/{batchId}', methods: { GET: getBatchResults, HEAD: getBatchResults } },
  signIn: { name: '/v1/signin', methods: { POST: postSignIn } },
  leakedCredentials: { name: '/v1/leaked-credentials', methods: { POST: postLeakedCredentials } },
  userRisk: { name: '/v1/users/{userPrincipalName}/risk', methods: { GET: getUserRisk, HEAD: getUserRisk } },
  health: { name: '/healthz', methods: { GET: getHealth, HEAD: getHealth } },
  metrics: { name: '/metrics', methods: { GET: getMetrics, HEAD: getMetrics } },
} as const satisfies Record<string, Route>;

const EXACT = new Map<string, Route>([routes.batch, routes.signIn, routes.leakedCredentials, routes.health, routes.metrics].map((route) => [route.name, route]));

/** Routes with one parameter: `prefix{param}suffix`, the parameter one non-empty, percent-encoded path segment. */
const PATTERNS: readonly { readonly route: Route; readonly prefix: string; readonly suffix: string; readonly param: string }[] = [
  { route: routes.batchResults, prefix: '/v1/credentials:batch/', suffix: '', param: 'batchId' },
  { route: routes.userRisk, prefix: '/v1/users/', suffix: '/risk', param: 'userPrincipalName' },
];

/** The path of a request target: origin-form (`/a?b`) or absolute-form (`http://h/a`). */
export function pathOf(target: string | undefined): string {
  const raw = target ?? '/';
  if (raw.startsWith('/')) return raw.replace(/[?#].*$/su, '');
  return URL.parse(raw)?.pathname ?? raw;
}

export function matchRoute(path: string): { route: Route; params: RouteParams } | undefined {
  const exact = EXACT.get(path);
  if (exact !== undefined) return { route: exact, params: {} };
  for (const { route, prefix, suffix, param } of PATTERNS) {
    if (!path.startsWith(prefix) || !path.endsWith(suffix)) continue;
    const segment = path.slice(prefix.length, path.length - suffix.length);
    if (segment.length === 0 || segment.includes('/')) continue;
    try {
      return { route, params: { [param]: decodeURIComponent(segment) } };
    } catch {
      throw new HttpError(400, 'invalid_request', `the ${param} in the path is not valid percent-encoding`);
    }
  }
  return undefined;
}

/** The Allow header of a route: its methods. */
export function allowed(route: Route): string {
  return Object.keys(route.methods).join(', ');
}

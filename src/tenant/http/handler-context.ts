import type { IncomingMessage, ServerResponse } from 'node:http';
import type { TenantStore } from '../tenant-store.ts';
import type { FaultHook } from './faults.ts';
import type { SignInLockout } from './signin-lockout.ts';
import type { TenantMetrics } from './tenant-metrics.ts';

/** What every route handler may use: one per server. */
export interface HandlerContext {
  readonly store: TenantStore;
  readonly metrics: TenantMetrics;
  /** Throws a 401 HttpError unless the request carries the tenant's bearer token. */
  readonly checkToken: (req: IncomingMessage) => void;
  readonly maxBodyBytes: number;
  readonly maxItems: number;
  readonly lockout: SignInLockout;
  readonly faults: FaultHook | undefined;
}

/** Path parameters of the matched route (percent-decoded). */
export type RouteParams = Readonly<Record<string, string>>;

/** Answers the request, or throws an HttpError for the server to answer. */
export type Handler = (req: IncomingMessage, res: ServerResponse, ctx: HandlerContext, params: RouteParams) => Promise<void>;

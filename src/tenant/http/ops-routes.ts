import type { Handler } from './handler-context.ts';
import { sendJson, sendText } from './responses.ts';

/** GET /healthz: the process answers (and its store is open). */
export const getHealth: Handler = async (_req, res) => {
  sendJson(res, 200, { status: 'ok' });
};

/** GET /metrics: Prometheus text format, from the tenant's own registry. */
export const getMetrics: Handler = async (_req, res, ctx) => {
  sendText(res, 200, await ctx.metrics.text(), ctx.metrics.contentType);
};

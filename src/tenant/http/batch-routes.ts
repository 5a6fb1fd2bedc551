import type { ItemResult } from '../../target/credential-batch.ts';
import { parseBatchRequest } from './batch-request.ts';
import { injectFault } from './faults.ts';
import type { Handler } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { parseJson, readBody, requireJsonContentType } from './request-body.ts';
import { sendJson } from './responses.ts';
import { storeBusyError } from './store-busy.ts';

function applyOrBusy(apply: () => ItemResult[]): ItemResult[] {
  try {
    return apply();
  } catch (err) {
    throw storeBusyError(err, 'batch') ?? err;
  }
}

/**
 * POST /v1/credentials:batch: applies a batch in one transaction and answers one result per item, in
 * order. Idempotent by batchId (the store's): the same batch again changes nothing and gets the
 * results it had the first time.
 */
export const postBatch: Handler = async (req, res, ctx) => {
  const fault = await injectFault(req, ctx.faults);
  if (fault === 'done') return;
  ctx.checkToken(req);
  requireJsonContentType(req);
  const batch = parseBatchRequest(parseJson(await readBody(req, ctx.maxBodyBytes)), ctx.maxItems);
  // Both calls are synchronous: nothing else runs between them, so `replayed` is exact.
  const replayed = ctx.store.batchResults(batch.batchId) !== undefined;
  const results = applyOrBusy(() => ctx.store.applyBatch(batch));
  ctx.metrics.batch(results, replayed);
  if (fault === 'reset-after-apply') {
    req.socket.destroy();
    return;
  }
  sendJson(res, 200, { batchId: batch.batchId, results });
};

/**
 * GET /v1/credentials:batch/{batchId}: the results a batch got when it was applied, or 404 when it
 * never was. The engine asks this on resume for the batches a killed run left in flight.
 */
export const getBatchResults: Handler = async (req, res, ctx, params) => {
  const fault = await injectFault(req, ctx.faults);
  if (fault === 'done') return;
  ctx.checkToken(req);
  const batchId = params['batchId'] ?? '';
  const results = ctx.store.batchResults(batchId);
  if (fault === 'reset-after-apply') {
    req.socket.destroy();
    return;
  }
  if (results === undefined) throw new HttpError(404, 'batch_not_found', 'no batch with this batchId was applied');
  sendJson(res, 200, { batchId, results });
};

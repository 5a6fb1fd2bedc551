import { checkLeakedPairs } from '../leaked-credentials.ts';
import type { Handler } from './handler-context.ts';
import { LEAKED_CREDENTIALS_MAX_BODY_BYTES, parseLeakedCredentialsRequest } from './leaked-credentials-request.ts';
import { parseJson, readBody, requireJsonContentType } from './request-body.ts';
import { sendJson } from './responses.ts';
import { storeBusyError } from './store-busy.ts';

/**
 * POST /v1/leaked-credentials (token): `{ pairs: [{ userPrincipalName, password }] }` from a leak
 * feed. Answers 200 `{ results: [{ userPrincipalName, result, reason? }] }`, one per pair in order;
 * a `match` marks the user high risk (see checkLeakedPairs). The passwords are never logged, stored
 * or echoed; they live in this request's memory until it is collected (strings cannot be wiped).
 */
export const postLeakedCredentials: Handler = async (req, res, ctx) => {
  // The time the pair reached the tenant: a credential stored after it is not checked against it.
  const receivedAt = Date.now();
  ctx.checkToken(req);
  requireJsonContentType(req);
  const pairs = parseLeakedCredentialsRequest(parseJson(await readBody(req, LEAKED_CREDENTIALS_MAX_BODY_BYTES)));
  let results;
  try {
    results = await checkLeakedPairs(ctx.store, pairs, receivedAt);
  } catch (err) {
    throw storeBusyError(err, 'request') ?? err;
  }
  ctx.metrics.leakedPairs(results);
  sendJson(res, 200, { results });
};

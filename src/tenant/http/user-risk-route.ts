import type { Handler } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { sendJson } from './responses.ts';

/**
 * GET /v1/users/{userPrincipalName}/risk (token): 200 `{ userPrincipalName, riskLevel, source?,
 * detectedAt? }` (the name as the tenant holds it, the time in ISO 8601), or 404 user_not_found. The
 * token is checked first, so that without it the answer does not tell who exists.
 */
export const getUserRisk: Handler = async (req, res, ctx, params) => {
  ctx.checkToken(req);
  const risk = ctx.store.riskOf(params['userPrincipalName'] ?? '');
  if (risk === undefined) throw new HttpError(404, 'user_not_found', 'no user with this userPrincipalName');
  const { userPrincipalName } = risk;
  sendJson(
    res,
    200,
    risk.riskLevel === 'none'
      ? { userPrincipalName, riskLevel: 'none' }
      : { userPrincipalName, riskLevel: 'high', source: risk.source, detectedAt: new Date(risk.detectedAt).toISOString() },
  );
};

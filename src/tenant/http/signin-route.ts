import { setTimeout as sleep } from 'node:timers/promises';
import { signIn } from '../sign-in.ts';
import { nameFields, unknownFields } from './batch-request.ts';
import type { Handler } from './handler-context.ts';
import { HttpError } from './http-error.ts';
import { parseJson, readBody, requireJsonContentType } from './request-body.ts';
import { sendJson } from './responses.ts';

/** A sign-in body is a name and a password: far less than this. */
export const SIGNIN_MAX_BODY_BYTES = 16 * 1024;
const SIGNIN_FIELDS = new Set(['userPrincipalName', 'password']);

function parseSignInRequest(body: unknown): { userPrincipalName: string; password: string } {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new HttpError(400, 'invalid_request', 'the body must be a JSON object { userPrincipalName, password }');
  }
  const fields = body as Record<string, unknown>;
  const extra = unknownFields(fields, SIGNIN_FIELDS);
  if (extra.length > 0) throw new HttpError(400, 'invalid_request', `unknown ${nameFields(extra)} (known: userPrincipalName, password)`);
  const { userPrincipalName, password } = fields;
  if (typeof userPrincipalName !== 'string' || userPrincipalName.length === 0) throw new HttpError(400, 'invalid_request', 'userPrincipalName must be a non-empty string');
  if (typeof password !== 'string') throw new HttpError(400, 'invalid_request', 'password must be a string');
  return { userPrincipalName, password };
}

const refused = (): HttpError => new HttpError(401, 'invalid_grant', 'the user name or password is incorrect');

/**
 * POST /v1/signin: 200 `{ forceChangePassword }`, or 401 invalid_grant whether the user is unknown,
 * disabled or gave a wrong password (the answer, and the work behind it, are the same). Failures for
 * one sign-in name are slowed down and, past the lockout policy's limit, refused with 429 and
 * Retry-After until its window passes. No token: this is the route users reach.
 */
export const postSignIn: Handler = async (req, res, ctx) => {
  let request: { userPrincipalName: string; password: string };
  try {
    requireJsonContentType(req);
    request = parseSignInRequest(parseJson(await readBody(req, SIGNIN_MAX_BODY_BYTES)));
  } catch (err) {
    ctx.metrics.signIn('bad_request');
    throw err;
  }
  const { userPrincipalName, password } = request;
  const waitMs = ctx.lockout.retryAfterMs(userPrincipalName);
  if (waitMs > 0) {
    ctx.metrics.signIn('locked_out');
    throw new HttpError(429, 'too_many_attempts', 'too many failed sign-ins for this user; try again later', {
      headers: { 'retry-after': String(Math.ceil(waitMs / 1000)) },
    });
  }
  const delayMs = ctx.lockout.attempt(userPrincipalName);
  const result = await signIn(ctx.store, userPrincipalName, password);
  if (result.ok) {
    ctx.lockout.succeeded(userPrincipalName);
    ctx.metrics.signIn('success');
    sendJson(res, 200, { forceChangePassword: result.forceChangePassword });
    return;
  }
  ctx.metrics.signIn('invalid_grant');
  if (delayMs > 0) await sleep(delayMs);
  throw refused();
};

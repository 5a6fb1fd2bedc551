import type { LeakedPair } from '../leaked-credentials.ts';
import { nameFields, unknownFields } from './batch-request.ts';
import { HttpError } from './http-error.ts';

/** Pairs in one request: at ~0.2 ms of hashing each, 1000 keep a request well under a second. */
export const MAX_PAIRS = 1000;
/** As the cloud bounds a password; a longer one is no one's password there. */
export const MAX_PASSWORD_CHARS = 256;
/**
 * 1000 pairs of the longest sign-in name (320 characters) and password (256), written as JSON escapes
 * at worst, fit in well under this; a real request is a few hundred KiB at most.
 */
export const LEAKED_CREDENTIALS_MAX_BODY_BYTES = 4 * 1024 * 1024;

const BODY_FIELDS = new Set(['pairs']);
const PAIR_FIELDS = new Set<string>(['userPrincipalName', 'password'] satisfies (keyof LeakedPair)[]);

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

/**
 * The shape of POST /v1/leaked-credentials: a 400 for what makes the request unreadable (not an
 * object, pairs not an array, a pair that is not an object, a field nobody knows, a name or password
 * that is not a string, a password over MAX_PASSWORD_CHARS), a 413 for too many pairs. Messages name
 * the pair by index and never quote a value: the values are passwords. A sign-in name that cannot be
 * one is answered per pair (`invalid`), and the other pairs are checked.
 */
export function parseLeakedCredentialsRequest(body: unknown): LeakedPair[] {
  if (!isObject(body)) throw invalid('the body must be a JSON object { pairs: [{ userPrincipalName, password }] }');
  const extra = unknownFields(body, BODY_FIELDS);
  if (extra.length > 0) throw invalid(`unknown ${nameFields(extra)} in the request (known: pairs)`);
  const pairs = body['pairs'];
  if (!Array.isArray(pairs)) throw invalid('pairs must be an array');
  if (pairs.length > MAX_PAIRS) {
    throw new HttpError(413, 'too_many_pairs', `the request has ${pairs.length} pairs; at most ${MAX_PAIRS} are accepted in one request`);
  }
  return pairs.map((pair: unknown, index): LeakedPair => {
    if (!isObject(pair)) throw invalid(`pairs[${index}] must be an object`);
    const unknown = unknownFields(pair, PAIR_FIELDS);
    if (unknown.length > 0) throw invalid(`pairs[${index}] has unknown ${nameFields(unknown)} (known: userPrincipalName, password)`);
    const { userPrincipalName, password } = pair;
    if (typeof userPrincipalName !== 'string') throw invalid(`pairs[${index}].userPrincipalName must be a string`);
    if (typeof password !== 'string') throw invalid(`pairs[${index}].password must be a string`);
    if (password.length > MAX_PASSWORD_CHARS) throw invalid(`pairs[${index}].password is longer than ${MAX_PASSWORD_CHARS} characters`);
    return { userPrincipalName, password };
  });
}

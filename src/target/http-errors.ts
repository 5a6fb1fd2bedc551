import { FatalError, PhsyncError, errorMessage } from '../errors.ts';

/**
 * A failure that a later attempt may cure (the network, a timeout, a 5xx, a 429): the HTTP target
 * retries it with backoff, and turns it into a FatalError with the same code once retries run out.
 */
export class TargetTransientError extends PhsyncError {
  override name = 'TargetTransientError';
  /** What the server's Retry-After asked for, when it said. */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options?: ErrorOptions & { retryAfterMs?: number | undefined }) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

/** The request ran past its deadline (thrown by the HTTP target's own timer). */
export class RequestTimeoutError extends Error {
  override name = 'RequestTimeoutError';
  readonly code = 'ETIMEDOUT';
}

// Node's TLS verification failures (err.code): retrying cannot fix a certificate.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);
// Lost or refused connections, including Node's "socket hang up" and "aborted" (both ECONNRESET).
const NETWORK_CODES = new Set([
  'ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'EPIPE', 'EHOSTUNREACH', 'EHOSTDOWN', 'ENETUNREACH', 'ENETDOWN', 'EAI_AGAIN',
  'ENOTFOUND', 'UND_ERR_SOCKET', 'ERR_STREAM_PREMATURE_CLOSE', 'HPE_INVALID_CONSTANT', 'HPE_INVALID_CHUNK_SIZE',
]);

/**
 * Translates what node:http throws for one request into a phsync error: transient for the network
 * and timeouts, fatal for TLS and anything unknown. `where` names the target (never the token).
 */
export function translateRequestError(err: unknown, where: string): PhsyncError {
  if (err instanceof PhsyncError) return err;
  if (err instanceof RequestTimeoutError) {
    return new TargetTransientError('TARGET_TIMEOUT', `${where}: no complete answer in ${err.message}`, { cause: err });
  }
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && TLS_CODES.has(code)) {
    return new FatalError('TARGET_TLS_FAILED', `${where}: TLS failed (${code}): the tenant's certificate is not trusted for this name; give its CA with --target-ca FILE`, { cause: err });
  }
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || code.startsWith('HPE_'))) {
    return new TargetTransientError('TARGET_UNREACHABLE', `${where}: connection failed or lost (${code}: ${errorMessage(err)})`, { cause: err });
  }
  if (/socket hang up|aborted|ECONNRESET/iu.test(errorMessage(err))) {
    return new TargetTransientError('TARGET_UNREACHABLE', `${where}: connection lost (${errorMessage(err)})`, { cause: err });
  }
  return new FatalError('TARGET_REQUEST_FAILED', `${where}: ${errorMessage(err)}`, { cause: err });
}

/** A short, printable excerpt of what a server said in an error body: its JSON message if it has one. */
export function serverMessage(body: Buffer): string {
  const text = body.toString('utf8');
  let message = text;
  try {
    const parsed: unknown = JSON.parse(text);
    const pick = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
    if (typeof parsed === 'object' && parsed !== null) {
      const o = parsed as Record<string, unknown>;
      const error = o['error'];
      message = pick(o['message']) ?? pick(error) ?? (typeof error === 'object' && error !== null ? pick((error as Record<string, unknown>)['message']) : undefined) ?? text;
    } else if (typeof parsed === 'string') {
      message = parsed;
    }
  } catch {
    // Not JSON: the text itself.
  }
  const clean = message.replace(/[\u0000-\u001f\u007f]+/gu, ' ').trim();
  if (clean.length === 0) return '(no message)';
  return clean.length > 300 ? `${clean.slice(0, 300)}…` : clean;
}

export interface StatusContext {
  /** The target, for messages: its id (never the token). */
  readonly where: string;
  /** What was asked, for messages: e.g. "batch 1234.0 (250 items, 81234 bytes)". */
  readonly what: string;
  readonly status: number;
  readonly body: Buffer;
  readonly retryAfterMs: number | undefined;
}

/**
 * The error for a non-success status. 429 and 5xx may pass (transient); 400, 401, 403 and 413 are
 * named fatal errors that say what to change; anything else is fatal and unexpected.
 */
export function statusError(ctx: StatusContext): PhsyncError {
  const { where, what, status } = ctx;
  if (status === 429) {
    return new TargetTransientError('TARGET_UNAVAILABLE', `${where}: the tenant is throttling (HTTP 429) ${what}`, { retryAfterMs: ctx.retryAfterMs });
  }
  if (status >= 500 && status <= 599) {
    return new TargetTransientError('TARGET_UNAVAILABLE', `${where}: the tenant failed (HTTP ${status}) ${what}: ${serverMessage(ctx.body)}`, { retryAfterMs: ctx.retryAfterMs });
  }
  if (status === 401 || status === 403) {
    return new FatalError('TARGET_UNAUTHORIZED', `${where}: the tenant refused the token (HTTP ${status}): check --target-token-file`);
  }
  if (status === 413) {
    return new FatalError('TARGET_TOO_LARGE', `${where}: the tenant found ${what} too large (HTTP 413): lower --batch-size`);
  }
  if (status === 400) {
    return new FatalError('TARGET_REJECTED_BATCH', `${where}: the tenant rejected ${what} (HTTP 400): ${serverMessage(ctx.body)}`);
  }
  return new FatalError('TARGET_HTTP_STATUS', `${where}: unexpected answer HTTP ${status} to ${what} (is the URL the tenant's API base?): ${serverMessage(ctx.body)}`);
}

import { request as httpRequest } from 'node:http';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { FatalError, errorMessage } from '../../errors.ts';
import type { SignInResult } from '../sign-in.ts';

const TIMEOUT_MS = 30_000;
const MAX_ANSWER_BYTES = 64 * 1024;

export interface SignInOverHttpOptions {
  /** Trust this CA (PEM) for an https:// tenant instead of the system's. */
  readonly ca?: Buffer;
  /** Skip certificate verification (a test tenant only). */
  readonly insecure?: boolean;
}

function signInUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new FatalError('TENANT_URL_INVALID', `not a tenant URL: ${base}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new FatalError('TENANT_URL_INVALID', `a tenant URL is http:// or https://, got ${url.protocol}`);
  if (url.username !== '' || url.password !== '') throw new FatalError('TENANT_URL_INVALID', 'a tenant URL carries no user name or password');
  url.pathname = `${url.pathname.replace(/\/+$/u, '')}/v1/signin`;
  url.search = '';
  url.hash = '';
  return url;
}

/** The error code of the server's `{ error, message }` body, for messages (never the body itself). */
function errorCode(body: Buffer): string {
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { error?: unknown; message?: unknown };
    const text = [parsed.error, parsed.message].filter((v) => typeof v === 'string').join(': ').replace(/[\u0000-\u001f\u007f]+/gu, ' ');
    return text.length > 300 ? `${text.slice(0, 300)}…` : text;
  } catch {
    return '(no JSON error body)';
  }
}

async function readAnswer(res: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of res) {
    size += (chunk as Buffer).length;
    if (size > MAX_ANSWER_BYTES) throw new Error(`the answer is larger than ${MAX_ANSWER_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Signs a user in at an HTTP tenant (POST {url}/v1/signin). 200 is `{ ok: true }`; 401 (invalid_grant)
 * is a refusal, reported as 'refused' because the tenant, by design, never says whether the
 * user is unknown, disabled or gave a wrong password; 429 (locked out) and every other answer throw
 * a FatalError that says what happened. The password travels only in the request body.
 */
export async function signInOverHttp(url: string, upn: string, password: string, options: SignInOverHttpOptions = {}): Promise<SignInResult> {
  const target = signInUrl(url);
  const body = JSON.stringify({ userPrincipalName: upn, password });
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const where = `tenant ${target.origin}`;
  const { status, headers, answer } = await new Promise<{ status: number; headers: IncomingMessage['headers']; answer: Buffer }>((resolve, reject) => {
    const req = request(target, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), accept: 'application/json' },
      agent: false,
      timeout: TIMEOUT_MS,
      ...(target.protocol === 'https:' ? { ...(options.ca === undefined ? {} : { ca: options.ca }), rejectUnauthorized: options.insecure !== true } : {}),
    }, (res) => {
      readAnswer(res).then((answer) => resolve({ status: res.statusCode ?? 0, headers: res.headers, answer }), reject);
    });
    req.on('timeout', () => req.destroy(new Error(`no answer in ${TIMEOUT_MS / 1000} s`)));
    req.on('error', reject);
    req.end(body);
  }).catch((err: unknown) => {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && /CERT|SELF_SIGNED|UNABLE_TO|ERR_TLS|ERR_SSL|EPROTO/u.test(code)) {
      throw new FatalError('TENANT_TLS_FAILED', `${where}: TLS failed (${code}): the tenant's certificate is not trusted for this name; give its CA with --tls-ca FILE`, { cause: err });
    }
    throw new FatalError('TENANT_UNREACHABLE', `${where}: ${typeof code === 'string' ? `${code}: ` : ''}${errorMessage(err)}`, { cause: err });
  });

  if (status === 200) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.toString('utf8'));
    } catch {
      parsed = undefined;
    }
    const force = (parsed as { forceChangePassword?: unknown } | undefined)?.forceChangePassword;
    if (typeof force !== 'boolean') throw new FatalError('TENANT_BAD_ANSWER', `${where}: a 200 answer without forceChangePassword (is the URL the tenant's API base?)`);
    return { ok: true, forceChangePassword: force };
  }
  if (status === 401) return { ok: false, reason: 'refused' };
  if (status === 429) {
    const retryAfter = headers['retry-after'];
    throw new FatalError('SIGNIN_LOCKED_OUT', `${where}: too many failed sign-ins for ${upn}; try again${retryAfter === undefined ? ' later' : ` in ${retryAfter} s`}`);
  }
  throw new FatalError('TENANT_HTTP_STATUS', `${where}: unexpected answer HTTP ${status} to a sign-in: ${errorCode(answer)}`);
}

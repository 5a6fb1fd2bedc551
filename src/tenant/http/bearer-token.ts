import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

/**
 * The check for `Authorization: Bearer <token>` on write (and batch-result) routes. Both sides are
 * hashed to the same length and compared with timingSafeEqual, so the time taken tells nothing about
 * the token, not even its length. With no token configured every request passes (a loopback tenant
 * for tests and local use; the CLI refuses that on any other address).
 */
export function bearerTokenCheck(token: string | undefined): (req: IncomingMessage) => void {
  if (token === undefined) return () => {};
  const expected = digest(token);
  return (req) => {
    const header = req.headers.authorization;
    const match = header === undefined ? null : /^Bearer[ ]+(\S+)\s*$/iu.exec(header);
    if (match === null) {
      throw new HttpError(401, 'unauthorized', 'this route needs Authorization: Bearer <token>', { headers: { 'www-authenticate': 'Bearer realm="phsync-tenant"' } });
    }
    if (!timingSafeEqual(digest(match[1]!), expected)) {
      throw new HttpError(401, 'unauthorized', 'the bearer token is not valid for this tenant', {
        headers: { 'www-authenticate': 'Bearer realm="phsync-tenant", error="invalid_token"' },
      });
    }
  };
}

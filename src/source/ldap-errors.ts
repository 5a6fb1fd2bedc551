import { ResultCodeError } from 'ldapts';
import { FatalError, PhsyncError, errorMessage } from '../errors.ts';

/** A directory error that a reconnect may cure: the run retries it with backoff before giving up. */
export class LdapTransientError extends PhsyncError {
  override name = 'LdapTransientError';
}

// Node's TLS verification failures (err.code), all answered the same way: check --tls-ca.
const TLS_CODES = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY', 'CERT_HAS_EXPIRED', 'CERT_NOT_YET_VALID', 'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_UNTRUSTED',
  'ERR_SSL_WRONG_VERSION_NUMBER', 'EPROTO',
]);
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN', 'ENOTFOUND']);

export interface LdapErrorContext {
  readonly url: string;
  readonly baseDn?: string;
  readonly bindDn?: string;
}

/**
 * Translates what ldapts and the socket throw into phsync errors with stable codes and a message that
 * says what to do. This is the one place that looks at ldapts' messages: its timeouts and closed
 * connections are plain Errors without a code.
 */
export function translateLdapError(err: unknown, ctx: LdapErrorContext): PhsyncError {
  if (err instanceof PhsyncError) return err;
  const where = `${ctx.url}${ctx.baseDn === undefined ? '' : ` (base ${ctx.baseDn})`}`;
  if (err instanceof ResultCodeError) {
    switch (err.code) {
      case 49:
        return new FatalError('LDAP_BIND_REFUSED', `${ctx.url}: the server refused the bind as ${ctx.bindDn ?? '(anonymous)'}: wrong DN or password (check PHSYNC_BIND_PASSWORD or --bind-password-file)`, { cause: err });
      case 32:
        return new FatalError('LDAP_NO_SUCH_BASE', `${where}: no such base DN on the server; check --base-dn`, { cause: err });
      case 34:
        return new FatalError('LDAP_INVALID_DN', `${where}: the server says a DN is malformed: ${err.message}`, { cause: err });
      case 4:
        return new FatalError('LDAP_SIZE_LIMIT', `${where}: the server's size limit stopped the search. Paged searches are capped by it too for non-root binds: give the sync account "limits dn.exact=\"${ctx.bindDn ?? '<sync account DN>'}\" size=unlimited" in slapd (olcLimits), or raise MaxPageSize/MaxResultSetSize on Active Directory`, { cause: err });
      case 3:
        return new FatalError('LDAP_TIME_LIMIT', `${where}: the server's time limit stopped the search; give the sync account "time=unlimited" in its limits`, { cause: err });
      case 11:
        return new FatalError('LDAP_ADMIN_LIMIT', `${where}: an administrative limit stopped the search (${err.message})`, { cause: err });
      case 50:
        return new FatalError('LDAP_INSUFFICIENT_ACCESS', `${where}: the bind account ${ctx.bindDn ?? '(anonymous)'} may not search here; grant it read access`, { cause: err });
      case 8:
      case 13:
        return new FatalError('LDAP_CONFIDENTIALITY_REQUIRED', `${ctx.url}: the server requires an encrypted connection: use ldaps:// or --starttls`, { cause: err });
      case 48:
      case 7:
        return new FatalError('LDAP_AUTH_METHOD', `${ctx.url}: the server does not accept this kind of bind: ${err.message}`, { cause: err });
      case 51:
      case 52:
        return new LdapTransientError('LDAP_UNAVAILABLE', `${where}: the server is busy or unavailable (result ${err.code})`, { cause: err });
      default:
        return new FatalError('LDAP_ERROR', `${where}: LDAP result ${err.code}: ${err.message}`, { cause: err });
    }
  }
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && TLS_CODES.has(code)) {
    return new FatalError('LDAP_TLS_FAILED', `${ctx.url}: TLS failed (${code}): the server's certificate is not trusted for this name; give its CA with --tls-ca FILE`, { cause: err });
  }
  if (typeof code === 'string' && NETWORK_CODES.has(code)) {
    return new LdapTransientError('LDAP_UNREACHABLE', `${ctx.url}: cannot reach the server (${code})`, { cause: err });
  }
  const message = errorMessage(err);
  if (/timed out|Connection timeout/i.test(message)) {
    return new LdapTransientError('LDAP_TIMEOUT', `${where}: the server did not answer in time`, { cause: err });
  }
  if (/Connection closed|Socket error|Socket connection not established|socket hang up/i.test(message)) {
    return new LdapTransientError('LDAP_CONNECTION_LOST', `${where}: the connection was lost`, { cause: err });
  }
  return new FatalError('LDAP_ERROR', `${where}: ${message}`, { cause: err });
}

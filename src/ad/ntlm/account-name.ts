import { FatalError } from '../../errors.ts';

/** The replication account as NTLM names it: a user name and the domain it belongs to. */
export interface NtlmAccount {
  readonly user: string;
  readonly domain: string;
}

/**
 * Characters a sAMAccountName or a NetBIOS/DNS domain name cannot contain. Refusing them here
 * turns a pasted LDAP DN ('CN=sync,CN=Users,DC=test') or a stray separator into a clear error now
 * instead of a logon failure from the DC later. A user name may contain inner spaces ('svc sync'),
 * a domain name none.
 */
const FORBIDDEN = /["/\\[\]:;|=,+*?<>@\p{Cc}]/u;

const ACCEPTED = 'name the replication account as DOMAIN\\user (NetBIOS domain) or user@dns.domain';

/**
 * Parses --bind-dn for NTLM: 'TEST\sync' → {user: 'sync', domain: 'TEST'} and 'sync@test.example'
 * → {user: 'sync', domain: 'test.example'}. NTLM accepts the DNS domain name as the domain, so it
 * is kept as given; the DC resolves either form.
 */
export function parseAccountName(text: string): NtlmAccount {
  const backslash = text.indexOf('\\');
  const at = text.indexOf('@');
  let user: string;
  let domain: string;
  if (backslash >= 0 && at < 0) {
    domain = text.slice(0, backslash);
    user = text.slice(backslash + 1);
  } else if (at >= 0 && backslash < 0) {
    user = text.slice(0, at);
    domain = text.slice(at + 1);
  } else {
    throw refuse(text);
  }
  if (user === '' || user.trim() !== user || FORBIDDEN.test(user)) throw refuse(text);
  if (domain === '' || /\s/u.test(domain) || FORBIDDEN.test(domain)) throw refuse(text);
  return { user, domain };
}

function refuse(text: string): FatalError {
  const hint = /^\s*(?:cn|ou|dc|uid)=/iu.test(text) ? ' (an LDAP DN is not accepted: NTLM needs a domain and a user name)' : '';
  return new FatalError('BIND_DN_INVALID', `--bind-dn ${JSON.stringify(text)}: ${ACCEPTED}${hint}`);
}

import type { NtHashMapping } from '../source/attribute-mapping.ts';

/**
 * Where an ad:// source's NT hash is found in the entry the replication source builds: the
 * decrypted unicodePwd, 16 raw bytes (src/ad/replicated-entry.ts puts it there).
 */
export const REPLICATED_NT_HASH: NtHashMapping = Object.freeze({ from: 'attribute' as const, attribute: 'unicodepwd', encoding: 'binary' as const });

/** The DCE/RPC endpoint mapper's well-known port. */
export const ENDPOINT_MAPPER_PORT = 135;

/** ad://host[:port] → host and endpoint-mapper port, or what is wrong with it. */
export function parseAdUrl(url: string): { readonly host: string; readonly port: number } | string {
  const shown = url.includes('@') ? '(a value with an @, not shown)' : JSON.stringify(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return `expected ad://HOST or ad://HOST:PORT (a domain controller), got ${shown}`;
  }
  if (parsed.protocol !== 'ad:' || parsed.hostname === '') return `expected ad://HOST or ad://HOST:PORT (a domain controller), got ${shown}`;
  if ((parsed.pathname !== '' && parsed.pathname !== '/') || parsed.search !== '' || parsed.username !== '' || parsed.password !== '') {
    return 'expected only ad://HOST[:PORT]: the account goes in bindDn, its password in bindPasswordFile or bindPasswordEnv';
  }
  const port = parsed.port === '' ? ENDPOINT_MAPPER_PORT : Number(parsed.port);
  // IPv6 literals come back in brackets; the socket wants them bare.
  return { host: parsed.hostname.replace(/^\[(.*)\]$/, '$1'), port };
}

import { Client } from 'ldapts';
import type { Entry } from 'ldapts';
import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { FatalError } from '../errors.ts';
import { publish } from '../observe/engine-events.ts';
import { readAhead } from '../util/read-ahead.ts';
import { DEFAULT_RETRY, waitBeforeRetryUnlessStopped } from '../util/retry-policy.ts';
import type { RetryPolicy } from '../util/retry-policy.ts';
import { binaryAttributes, ntHashAttribute, requestedAttributes } from './attribute-mapping.ts';
import type { AttributeMapping } from './attribute-mapping.ts';
import type { AttributeValue, DirectoryEntry } from './directory-entry.ts';
import type { SourceItem, UserSource } from './directory-user.ts';
import { LdapTransientError, translateLdapError } from './ldap-errors.ts';
import { decodeEntriesLean } from './lean-search-entry.ts';
import { mapEntry } from './map-entry.ts';
import type { HashLookup } from './map-entry.ts';

export interface LdapSourceOptions {
  readonly name: string;
  /** ldap://host:port or ldaps://host:port */
  readonly url: string;
  readonly baseDns: readonly string[];
  /** The whole LDAP filter (the preset's, ANDed with the user's). */
  readonly filter: string;
  /** A delta cycle's clause, such as (entryCSN>=…): only entries changed since the watermark. */
  readonly changedSince?: string;
  readonly mapping: AttributeMapping;
  /** NT hashes by account name, when the mapping takes them from a hash-export file (AD). */
  readonly hashes?: HashLookup;
  readonly bindDn: string | undefined;
  readonly bindPassword: string | undefined;
  readonly startTls: boolean;
  /** PEM of the CA(s) that sign the server's certificate; default: the system's. */
  readonly tlsCa: Buffer | undefined;
  /** Skip certificate verification: only with an explicit flag, and never silently. */
  readonly tlsInsecure: boolean;
  readonly pageSize: number;
  /** Per LDAP operation (a bind, one page of a search). */
  readonly timeoutMs: number;
  readonly connectTimeoutMs: number;
  readonly retry: RetryPolicy;
  /** Entries whose DN lies under one of these are out of scope (compared case-insensitively). */
  readonly isExcluded?: (dn: string) => boolean;
  readonly signal?: AbortSignal;
  /** Told of reconnects and other things an operator should see. */
  readonly onNotice?: (message: string) => void;
}

/** Pages asked for ahead of the one being read: one keeps the server busy while the engine works. */
const PAGES_AHEAD = 1;
export const LDAP_DEFAULTS = Object.freeze({ pageSize: 500, timeoutMs: 60_000, connectTimeoutMs: 10_000, retry: DEFAULT_RETRY });

// Entries read before deciding that the hash attribute is unreadable rather than merely absent.
const HASH_ACCESS_PROBE = 50;

// Attribute names as the server spells them → lower case. The same dozen names come with every
// entry, so this saves a string per attribute per user; bounded in case a server sends many.
const lowerNames = new Map<string, string>();
const MAX_LOWER_NAMES = 1024;

function lowerName(name: string): string {
  let lower = lowerNames.get(name);
  if (lower === undefined) {
    lower = name.toLowerCase();
    if (lowerNames.size < MAX_LOWER_NAMES) lowerNames.set(name, lower);
  }
  return lower;
}

/**
 * ldapts' entry as the pipeline's. The entry is ldapts' fresh object for this one result and nothing
 * else refers to it, so its value arrays are taken over rather than copied (this runs per user).
 */
function toDirectoryEntry(entry: Entry, origin: string): DirectoryEntry {
  const attributes = new Map<string, AttributeValue[]>();
  for (const name of Object.keys(entry)) {
    if (name === 'dn') continue;
    const value = entry[name] as AttributeValue | AttributeValue[];
    const key = lowerName(name);
    const existing = attributes.get(key);
    if (existing === undefined) attributes.set(key, Array.isArray(value) ? value : [value]);
    else if (Array.isArray(value)) existing.push(...value);
    else existing.push(value);
  }
  return { dn: entry.dn, origin, attributes };
}

/**
 * Users from an LDAP directory, read with one paged search per base DN (RFC 2696) through ldapts'
 * searchPaginated: it asks for the next page only when the pipeline pulls, so the client holds one
 * page however large the directory is. A connection lost mid-run is re-established with backoff and
 * the base is paged again from the start; the pipeline passes over entries it already has (same anchor,
 * same DN), and the users the target already acknowledged cost a read, not a hash.
 */
export class LdapSource implements UserSource {
  readonly name: string;
  readonly location: string;
  readonly #options: LdapSourceOptions;
  #passedOver = 0;
  #reconnects = 0;

  constructor(options: LdapSourceOptions) {
    if (options.baseDns.length === 0) throw new FatalError('OPTION_INVALID', 'an LDAP source needs at least one --base-dn');
    this.#options = options;
    this.name = options.name;
    this.location = options.url;
  }

  get entriesPassedOver(): number {
    return this.#passedOver;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceItem> {
    // After a reconnect, and where base DNs overlap, entries come again: the pipeline knows them by
    // anchor and DN and passes them over, so the source keeps no per-user memory of its own.
    for (const baseDn of this.#options.baseDns) {
      if (this.#options.signal?.aborted === true) return;
      yield* this.#readBase(baseDn);
    }
  }

  async *#readBase(baseDn: string): AsyncGenerator<SourceItem> {
    const o = this.#options;
    const ctx = { url: o.url, baseDn, ...(o.bindDn === undefined ? {} : { bindDn: o.bindDn }) };
    let retry = 0;
    let users = 0;
    let withoutHash = 0;
    for (;;) {
      const client = this.#client();
      try {
        await this.#connect(client);
        const pages = client.searchPaginated(baseDn, {
          scope: 'sub',
          filter: o.changedSince === undefined ? o.filter : `(&${o.filter}${o.changedSince})`,
          attributes: requestedAttributes(o.mapping),
          explicitBufferAttributes: binaryAttributes(o.mapping),
          paged: { pageSize: o.pageSize },
        });
        // The next page is asked for while this one is mapped and screened (see read-ahead.ts).
        for await (const page of readAhead(pages, PAGES_AHEAD)) {
          retry = 0;
          for (const entry of page.searchEntries) {
            if (o.isExcluded?.(entry.dn) === true) {
              this.#passedOver++;
              continue;
            }
            const item = mapEntry(toDirectoryEntry(entry, o.url), o.mapping, o.name, o.hashes);
            if (item === undefined) {
              this.#passedOver++;
              withoutHash++;
              this.#checkHashAccess(users, withoutHash);
              continue;
            }
            users++;
            yield item;
          }
          if (o.signal?.aborted === true) return;
        }
        this.#checkHashAccess(users, withoutHash, true);
        return;
      } catch (err) {
        const error = translateLdapError(err, ctx);
        // Stopping (SIGTERM): a connection lost or timed out since is no failure of the run, which
        // ends as interrupted; the next run reads the directory again anyway.
        if (error instanceof LdapTransientError && o.signal?.aborted === true) return;
        if (!(error instanceof LdapTransientError) || retry >= o.retry.maxRetries) throw error;
        retry++;
        publish('retry', { component: 'source', name: o.name, code: error.code });
        this.#reconnects++;
        o.onNotice?.(`${error.message} [${error.code}]; reconnecting (attempt ${retry} of ${o.retry.maxRetries}) and paging ${baseDn} again`);
        // Aborted while waiting to reconnect: stop reading, as above.
        if (!(await waitBeforeRetryUnlessStopped(o.retry, retry, o.signal))) return;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    }
  }

  /**
   * Active Directory's highestCommittedUSN from the RootDSE: read at the start of a cycle, it is the
   * watermark the next delta cycle starts from.
   */
  async highestCommittedUsn(): Promise<string> {
    const o = this.#options;
    const client = this.#client();
    try {
      await this.#connect(client);
      const { searchEntries } = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['highestCommittedUSN'] });
      const value = searchEntries[0]?.['highestCommittedUSN'];
      const usn = String(Array.isArray(value) ? value[0] : value ?? '');
      if (!/^\d+$/.test(usn)) throw new FatalError('LDAP_NO_USN', `${o.url}: the RootDSE has no highestCommittedUSN; is this Active Directory?`);
      return usn;
    } catch (err) {
      throw translateLdapError(err, { url: o.url, ...(o.bindDn === undefined ? {} : { bindDn: o.bindDn }) });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /**
   * An account without read access to the hash attribute sees users without it, which would look
   * like a directory of non-users: stop with the cause instead of syncing nobody.
   */
  #checkHashAccess(users: number, withoutHash: number, finished = false): void {
    if (users > 0 || (withoutHash < HASH_ACCESS_PROBE && !(finished && withoutHash > 0))) return;
    const attribute = ntHashAttribute(this.#options.mapping);
    // With a hash-export file (AD), a missing hash is that user's error, not a sign of access rights.
    if (attribute === undefined) return;
    throw new FatalError('LDAP_HASH_NOT_READABLE', `${this.#options.url}: ${withoutHash} entries matched the filter and none has ${attribute}: the bind account ${this.#options.bindDn ?? '(anonymous)'} cannot read it, or no user has one yet. Grant it read access (e.g. slapd: access to attrs=${attribute} by dn.exact="<sync account>" read)`);
  }

  #client(): Client {
    const o = this.#options;
    const tlsOptions: ConnectionOptions = { rejectUnauthorized: !o.tlsInsecure, ...(o.tlsCa === undefined ? {} : { ca: o.tlsCa }) };
    // ldapts speaks TLS from the first byte whenever tlsOptions is given, so only for ldaps://.
    const secure = o.url.toLowerCase().startsWith('ldaps:');
    const client = new Client({ url: o.url, timeout: o.timeoutMs, connectTimeout: o.connectTimeoutMs, ...(secure ? { tlsOptions } : {}), strictDN: false });
    decodeEntriesLean(client);
    return client;
  }

  async #connect(client: Client): Promise<void> {
    const o = this.#options;
    if (o.startTls) {
      // The name the certificate must carry; SNI takes host names only, so not for an IP address.
      const host = new URL(o.url).hostname.replace(/^\[|\]$/g, '');
      await client.startTLS({ rejectUnauthorized: !o.tlsInsecure, host, ...(isIP(host) === 0 ? { servername: host } : {}), ...(o.tlsCa === undefined ? {} : { ca: o.tlsCa }) });
    }
    if (o.bindDn !== undefined) await client.bind(o.bindDn, o.bindPassword ?? '');
  }
}

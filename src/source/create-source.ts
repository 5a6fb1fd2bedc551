import { AdSource, DEFAULT_BYTES_PER_CALL } from '../ad/ad-source.ts';
import { parseCursor } from '../ad/replication-cursor.ts';
import type { SourceConfig } from '../config/config-types.ts';
import { readCaFile } from '../util/read-ca-file.ts';
import type { RetryPolicy } from '../util/retry-policy.ts';
import type { UserSource } from './directory-user.ts';
import { readHashesFile } from './hashes-file.ts';
import type { HashesFile } from './hashes-file.ts';
import { ldapFilterFor, ouExclusion } from './ldap-filter.ts';
import { LDAP_DEFAULTS, LdapSource } from './ldap-source.ts';
import { LdifSource } from './ldif-source.ts';

export interface SourceContext {
  readonly signal: AbortSignal;
  /** Reads the bind password from where the config says; never argv. */
  readonly readBindPassword: (from: NonNullable<Extract<SourceConfig, { kind: 'ldap' }>['bindPassword']>) => string;
  readonly warn: (message: string) => void;
  readonly retry?: RetryPolicy;
  readonly timeoutMs?: number;
  /** A delta cycle's filter clause (LDAP only). */
  readonly changedSince?: string;
  /** A delta cycle's replication cursor, as `replicationCursor` gave it last time (ad:// only). */
  readonly replicationCursor?: string;
}

export interface OpenedSource {
  readonly source: UserSource;
  /** Active Directory's highestCommittedUSN now (LDAP sources only). */
  readonly highestCommittedUsn?: () => Promise<string>;
  /** ad:// only: where replication got to, once the source was read to the end; the next delta starts there. */
  readonly replicationCursor?: () => string | undefined;
  /** Forgets what the source holds in memory (hash-export files). */
  close(): void;
}

/** Builds a source from its validated configuration (from a config file or the command line). */
export async function createSource(config: SourceConfig, ctx: SourceContext): Promise<OpenedSource> {
  const hashes: HashesFile | undefined = config.hashesFile === undefined ? undefined : await readHashesFile(config.hashesFile, { signal: ctx.signal });
  if (hashes !== undefined && hashes.errorCount > 0) {
    const first = hashes.errors[0];
    ctx.warn(`${config.hashesFile}: ${hashes.errorCount} lines skipped${first === undefined ? '' : `, the first at line ${first.line}: ${first.message}`}`);
  }
  const close = (): void => hashes?.wipe();
  const isExcluded = config.excludeOus.length === 0 ? undefined : ouExclusion(config.excludeOus);
  const common = { name: config.name, mapping: config.mapping, signal: ctx.signal, ...(hashes === undefined ? {} : { hashes }), ...(isExcluded === undefined ? {} : { isExcluded }) };
  if (config.kind === 'ldif') return { source: new LdifSource({ ...common, path: config.path }), close };
  if (config.kind === 'ad') {
    const startCursor = ctx.replicationCursor === undefined ? undefined : parseCursor(ctx.replicationCursor);
    if (ctx.replicationCursor !== undefined && startCursor === undefined) ctx.warn(`${config.name}: the saved replication cursor is not readable; replicating the domain from the start`);
    const included = config.baseDns.length === 0 ? undefined : ouExclusion(config.baseDns);
    const source = new AdSource({
      name: config.name,
      mapping: config.mapping,
      url: config.url,
      host: config.host,
      endpointMapperPort: config.endpointMapperPort,
      account: config.account,
      password: ctx.readBindPassword(config.bindPassword),
      ...(included === undefined ? {} : { isIncluded: included }),
      ...(isExcluded === undefined ? {} : { isExcluded }),
      objectsPerCall: config.objectsPerCall,
      bytesPerCall: DEFAULT_BYTES_PER_CALL,
      connectTimeoutMs: 10_000,
      callTimeoutMs: ctx.timeoutMs ?? LDAP_DEFAULTS.timeoutMs,
      retry: ctx.retry ?? LDAP_DEFAULTS.retry,
      signal: ctx.signal,
      ...(startCursor === undefined ? {} : { startCursor }),
      onNotice: ctx.warn,
    });
    return { source, close, replicationCursor: () => source.cursorAfterRun() };
  }

  const tlsCa = config.tlsCa === undefined ? undefined : readCaFile(config.tlsCa);
  if (config.tlsInsecure) ctx.warn(`warning: TLS certificates of ${config.url} are not verified (--tls-insecure): anyone on the path can read the NT hashes`);
  const source = new LdapSource({
    ...common,
    url: config.url,
    baseDns: config.baseDns,
    filter: ldapFilterFor(config),
    ...(ctx.changedSince === undefined ? {} : { changedSince: ctx.changedSince }),
    bindDn: config.bindDn,
    bindPassword: config.bindPassword === undefined ? undefined : ctx.readBindPassword(config.bindPassword),
    startTls: config.startTls,
    tlsCa,
    tlsInsecure: config.tlsInsecure,
    pageSize: config.pageSize,
    timeoutMs: ctx.timeoutMs ?? LDAP_DEFAULTS.timeoutMs,
    connectTimeoutMs: LDAP_DEFAULTS.connectTimeoutMs,
    retry: ctx.retry ?? LDAP_DEFAULTS.retry,
    onNotice: ctx.warn,
  });
  return { source, close, highestCommittedUsn: () => source.highestCommittedUsn() };
}

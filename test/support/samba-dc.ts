import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { HeldLock } from './samba-dc-lock.ts';
import { archivePath, prepareDomain, pruneCache } from './samba-domain-cache.ts';
import { ADMIN_DN, PLAIN_SAM, SAMBA_BASE_DN, SAMBA_DOMAIN, SAMBA_HOST, SAMBA_REALM, sambaUserDn, SYNC_SAM, unicodePwd, validateUsers } from './samba-domain.ts';
import { BINARY_ATTRIBUTES, BINARY_LOWER, bindResultOf, entryToRecord, escapeFilterValue } from './samba-ldap.ts';
import type { BindResult } from './samba-ldap.ts';
import { canConnect, installExitHook, logTailOf, READY_PORTS, spawnSamba, stopSamba } from './samba-process.ts';
import type { SambaServer } from './samba-process.ts';
import { requiredProgram, run, sambaUnavailableReason, toolEnv } from './samba-programs.ts';
import { readMeta, writeSmbConf } from './samba-provision.ts';
import type { DomainMeta } from './samba-provision.ts';
import { DC_DIR_PREFIX, markOwned, ownedDirs, sweepStaleDirs } from './samba-temp-dirs.ts';
import { DEFAULT_SAMBA_SEED, generateSambaUsers } from './samba-users.ts';
import type { SambaUser } from './samba-users.ts';

export type { SambaUser } from './samba-users.ts';
export { generateSambaUsers, generatedPassword, generatedSam, DISABLED_EVERY, MUST_CHANGE_EVERY } from './samba-users.ts';
export {
  DS_REPLICATION_GET_CHANGES,
  DS_REPLICATION_GET_CHANGES_ALL,
  SAMBA_BASE_DN,
  SAMBA_DOMAIN,
  SAMBA_HOST,
  SAMBA_REALM,
  sambaUserDn,
  unicodePwd,
} from './samba-domain.ts';
export { SAMBA_LOCK_FILE } from './samba-dc-lock.ts';
export { SAMBA_CACHE_DIR } from './samba-domain-cache.ts';
export { sambaAvailable, sambaUnavailableReason, sambaVersion } from './samba-programs.ts';
export type { BindResult } from './samba-ldap.ts';

/**
 * A real Samba Active Directory domain controller for tests and benchmarks (MS-DRSR replication,
 * LDAP): realm TEST.EXAMPLE, NetBIOS domain TEST, DC "dc1", listening on 127.0.0.1 only, on the
 * standard ports (88, 135, 139, 389, 445, 464, 636, 3268, 3269, RPC from 49152). Everything lives in a
 * temp directory (configuration, databases, logs, pid files, TLS keys), except the winbindd socket,
 * which Samba insists on keeping in /run/samba/winbindd, and the fixed ports: hence ONE DC PER
 * MACHINE, serialized by an exclusive lock (flock(1) on os.tmpdir()/phsync-samba-dc.lock) that
 * startSambaDc() takes once the domain's files are ready and holds until its DC has stopped; other
 * processes wait for it (a note on stderr after 5 s says who holds it).
 *
 * How a domain is made: `samba-tool domain provision` (once per machine and Samba version, then
 * unpacked from a cached archive), the two service accounts and the replication rights, then the
 * users added offline with ldbadd (Samba's own modules compute the NT hash and Kerberos keys from
 * unicodePwd, as for an LDAP add: ~22 ms a user, mostly Heimdal's PBKDF2 for the AES keys) before the
 * DC starts. A domain with users can be cached too (`cache`, default for ≥ 200 generated users): it
 * is then made once per machine (one build at a time per archive, under its own lock, without holding
 * the DC lock) and unpacked afterwards (zstd: a 10,000-user domain is 30 MB, unpacks in 0.3 s).
 *
 * The lock holder is a small shell under flock(1) that also stops the DC (and removes its directory)
 * if the test process dies without stopping it; whoever takes the lock next also stops a DC left by a
 * holder that was killed too (its process groups are recorded in the lock file).
 */
export interface StartSambaDcOptions {
  /**
   * Users to create, or a count of generated users (generateSambaUsers(count, seed): sam
   * 'user00001'…, upn 'user00001@test.example', distinct passwords derived from seed and index, every
   * 17th disabled, every 19th must change its password). Default 20.
   */
  readonly users?: readonly SambaUser[] | number;
  /** The generated users' seed (default 'phsync-samba'); only with a count. */
  readonly seed?: string;
  /**
   * Cache the provisioned and populated domain as an archive keyed by (Samba version, users, seed)
   * under os.tmpdir()/phsync-samba-cache, reused by later calls and processes. Default true for
   * counts ≥ 200, false otherwise (the bare provisioned domain is always cached).
   */
  readonly cache?: boolean;
  /** How long to wait for another process's DC (the machine-wide lock). Default 30 minutes. */
  readonly lockTimeoutMs?: number;
}

export interface SambaDcTimings {
  /** Waiting for the machine-wide lock (and stopping a stale DC). */
  readonly lockMs: number;
  /** samba-tool domain provision + service accounts + rights, when the base archive had to be made. */
  readonly provisionMs?: number;
  /** Unpacking the archive (base or populated). */
  readonly unpackMs: number;
  /** ldbadd of the users, when not taken from the cache. */
  readonly populateMs?: number;
  /** Writing the populated domain's archive into the cache. */
  readonly archiveMs?: number;
  /** From spawning samba to ready (ports 88, 135, 389, 445, 636 and 3268 open, LDAP bind as Administrator OK). */
  readonly startMs: number;
}

export interface SambaDc {
  /** The DC's directory (smb.conf in etc/, databases in private/, logs in logs/). */
  readonly dir: string;
  readonly host: '127.0.0.1';
  /** ldap://127.0.0.1 (simple binds allowed without TLS: "ldap server require strong auth = no"). */
  readonly ldapUrl: 'ldap://127.0.0.1';
  /** ldaps://127.0.0.1 (self-signed certificate: rejectUnauthorized false). */
  readonly ldapsUrl: 'ldaps://127.0.0.1';
  readonly realm: 'TEST.EXAMPLE';
  readonly domain: 'TEST';
  readonly baseDn: 'DC=test,DC=example';
  /** The DC's NetBIOS name (DC1), DNS name dc1.test.example. */
  readonly hostName: 'DC1';
  readonly dnsHostName: 'dc1.test.example';
  /** S-1-5-21-…: the domain SID. */
  readonly domainSid: string;
  readonly adminUser: 'Administrator';
  readonly adminDn: string;
  readonly adminPassword: string;
  /**
   * A replication account (CN=phsync-sync,CN=Users,…): member of no admin group, granted "Replicating
   * Directory Changes" (1131f6aa-9c07-11d1-f79f-00c04fc2dcd2) and "Replicating Directory Changes All"
   * (1131f6ad-9c07-11d1-f79f-00c04fc2dcd2) on the domain NC.
   */
  readonly syncUser: string;
  readonly syncPassword: string;
  readonly syncDn: string;
  readonly syncSid: string;
  /** An account without those rights (CN=phsync-plain,CN=Users,…). */
  readonly plainUser: string;
  readonly plainPassword: string;
  readonly plainDn: string;
  readonly plainSid: string;
  /**
   * The users created (with passwords), in creation order; kept up to date by addUsers (appended),
   * setPassword (password, mustChange cleared) and disableUser.
   */
  readonly users: readonly SambaUser[];
  /** Whether the domain came from a cached archive with its users. */
  readonly fromCache: boolean;
  readonly timings: SambaDcTimings;
  /** An administrator's password reset (LDAP modify of unicodePwd over ldaps): pwdLastSet becomes now. */
  setPassword(sam: string, password: string): Promise<void>;
  /** Adds users over ldaps as Administrator (about 60 a second). */
  addUsers(users: readonly SambaUser[]): Promise<void>;
  /** Sets ACCOUNTDISABLE (0x2) in userAccountControl. */
  disableUser(sam: string): Promise<void>;
  /**
   * An LDAP search (paged, subtree under baseDn unless `base`/`scope`) over ldaps as Administrator.
   * Each entry: `dn`, and the attributes it has (in the server's spelling, e.g. objectGUID; absent
   * ones left out) with their values as strings; binary attributes (objectGUID, objectSid,
   * nTSecurityDescriptor…) in base64.
   */
  ldapSearch(filter: string, attributes: string[], options?: { readonly base?: string; readonly scope?: 'base' | 'one' | 'sub' }): Promise<Record<string, string[]>[]>;
  /** A simple bind over ldaps as TEST\sam (or a DN/UPN given as is), and what AD said of it. */
  tryBind(user: string, password: string): Promise<BindResult>;
  /** samba-tool with this DC's smb.conf (-s) appended; for the running DC add `...dc.adminArgs`. Returns stdout. */
  sambaTool(args: readonly string[]): Promise<string>;
  /** `-H ldap://127.0.0.1 -U TEST\Administrator --password … --use-kerberos=off`, for sambaTool. */
  readonly adminArgs: readonly string[];
  /** The tail of Samba's logs. */
  logTail(maxChars?: number): string;
  /** Kills samba (its process groups), releases the lock, removes the directory. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

const DEFAULT_USERS = 20;
const CACHE_BY_DEFAULT_FROM = 200;
const DEFAULT_LOCK_TIMEOUT_MS = 30 * 60_000;

export async function startSambaDc(options: StartSambaDcOptions = {}): Promise<SambaDc> {
  const reason = sambaUnavailableReason();
  if (reason !== undefined) throw new Error(reason);
  if (Array.isArray(options.users) && options.seed !== undefined) throw new Error('startSambaDc: seed only goes with a count of users');
  const spec = options.users ?? DEFAULT_USERS;
  const seed = options.seed ?? DEFAULT_SAMBA_SEED;
  const users: SambaUser[] = typeof spec === 'number' ? generateSambaUsers(spec, seed) : spec.map((u) => ({ ...u }));
  validateUsers(users);
  const useCache = options.cache ?? (typeof spec === 'number' && spec >= CACHE_BY_DEFAULT_FROM);
  const lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  installExitHook();
  sweepStaleDirs();
  pruneCache();

  const dir = mkdtempSync(join(tmpdir(), DC_DIR_PREFIX));
  markOwned(dir);
  let lock: HeldLock | undefined;
  try {
    const usersArchive = useCache
      ? archivePath('users', typeof spec === 'number' ? { count: spec, seed } : { users })
      : undefined;
    const prepared = await prepareDomain(dir, users, usersArchive, lockTimeoutMs);
    const conf = writeSmbConf(dir);
    const meta = readMeta(dir);

    const t0 = performance.now();
    lock = await HeldLock.acquireDc(lockTimeoutMs);
    const lockMs = performance.now() - t0;
    lock.setDir(dir, conf);
    for (const port of READY_PORTS) {
      if (await canConnect(port)) {
        throw new Error(`samba-dc: something already listens on ${SAMBA_HOST}:${port} (a Samba DC not started by this harness, or another LDAP server?); one DC per machine`);
      }
    }
    const server = await spawnSamba(dir, conf, meta.adminPassword, lock);
    const { fromCache, ...timings } = prepared;
    return makeDc({ dir, conf, meta, users, lock, server, fromCache, timings: { ...timings, lockMs, startMs: server.startMs } });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    ownedDirs.delete(dir);
    await lock?.release();
    throw err;
  }
}

interface MakeDcArgs {
  readonly dir: string;
  readonly conf: string;
  readonly meta: DomainMeta;
  readonly users: SambaUser[];
  readonly lock: HeldLock;
  readonly server: SambaServer;
  readonly fromCache: boolean;
  readonly timings: SambaDcTimings;
}

function makeDc(a: MakeDcArgs): SambaDc {
  const { dir, conf, meta, lock, server } = a;
  const users = a.users;
  let admin: Client | undefined;
  let stopping: Promise<void> | undefined;

  const adminClient = async (): Promise<Client> => {
    if (stopping !== undefined) throw new Error('samba-dc: the DC is stopped');
    if (admin === undefined || !admin.isConnected) {
      const client = new Client({ url: `ldaps://${SAMBA_HOST}`, tlsOptions: { rejectUnauthorized: false }, connectTimeout: 5000, timeout: 120_000 });
      await client.bind(ADMIN_DN, meta.adminPassword);
      admin = client;
    }
    return admin;
  };
  const userIndex = (sam: string): number => users.findIndex((u) => u.sam.toLowerCase() === sam.toLowerCase());
  const dnOf = async (sam: string): Promise<string> => {
    const client = await adminClient();
    const { searchEntries } = await client.search(SAMBA_BASE_DN, { scope: 'sub', filter: `(sAMAccountName=${escapeFilterValue(sam)})`, attributes: ['1.1'] });
    const found = searchEntries[0];
    if (found === undefined) throw new Error(`samba-dc: no user ${sam}`);
    return found.dn;
  };

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      try {
        await admin?.unbind().catch(() => undefined);
        await stopSamba(server, conf);
      } finally {
        rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
        ownedDirs.delete(dir);
        await lock.release();
      }
    })();
    return stopping;
  };

  const sambaTool = (args: readonly string[]): Promise<string> => run(requiredProgram('samba-tool'), [...args, '-s', conf], `samba-tool ${args[0] ?? ''} ${args[1] ?? ''}`, { env: toolEnv(dir) });

  return {
    dir,
    host: SAMBA_HOST,
    ldapUrl: 'ldap://127.0.0.1',
    ldapsUrl: 'ldaps://127.0.0.1',
    realm: SAMBA_REALM,
    domain: SAMBA_DOMAIN,
    baseDn: SAMBA_BASE_DN,
    hostName: 'DC1',
    dnsHostName: 'dc1.test.example',
    domainSid: meta.domainSid,
    adminUser: 'Administrator',
    adminDn: ADMIN_DN,
    adminPassword: meta.adminPassword,
    syncUser: SYNC_SAM,
    syncPassword: meta.syncPassword,
    syncDn: sambaUserDn(SYNC_SAM),
    syncSid: meta.syncSid,
    plainUser: PLAIN_SAM,
    plainPassword: meta.plainPassword,
    plainDn: sambaUserDn(PLAIN_SAM),
    plainSid: meta.plainSid,
    get users(): readonly SambaUser[] {
      return users;
    },
    fromCache: a.fromCache,
    timings: a.timings,
    adminArgs: ['-H', 'ldap://127.0.0.1', '-U', `${SAMBA_DOMAIN}\\Administrator`, `--password=${meta.adminPassword}`, '--use-kerberos=off'],

    async setPassword(sam, password) {
      const client = await adminClient();
      await client.modify(await dnOf(sam), new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [unicodePwd(password)] }) }));
      const i = userIndex(sam);
      const old = users[i];
      if (old !== undefined) {
        const { mustChange: _cleared, ...rest } = old;
        users[i] = { ...rest, password };
      }
    },

    async addUsers(newUsers) {
      validateUsers(newUsers, users);
      const client = await adminClient();
      for (const u of newUsers) {
        const attributes: Attribute[] = [
          new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
          new Attribute({ type: 'sAMAccountName', values: [u.sam] }),
          new Attribute({ type: 'userPrincipalName', values: [u.upn] }),
          new Attribute({ type: 'unicodePwd', values: [unicodePwd(u.password)] }),
          new Attribute({ type: 'userAccountControl', values: [String(u.disabled === true ? 514 : 512)] }),
          ...(u.mustChange === true ? [new Attribute({ type: 'pwdLastSet', values: ['0'] })] : []),
        ];
        await client.add(sambaUserDn(u.sam), attributes);
        users.push({ ...u });
      }
    },

    async disableUser(sam) {
      const client = await adminClient();
      const { searchEntries } = await client.search(SAMBA_BASE_DN, { scope: 'sub', filter: `(sAMAccountName=${escapeFilterValue(sam)})`, attributes: ['userAccountControl'] });
      const found = searchEntries[0];
      if (found === undefined) throw new Error(`samba-dc: no user ${sam}`);
      const uac = Number(found['userAccountControl']);
      await client.modify(found.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'userAccountControl', values: [String(uac | 0x2)] }) }));
      const i = userIndex(sam);
      const old = users[i];
      if (old !== undefined) users[i] = { ...old, disabled: true };
    },

    async ldapSearch(filter, attributes, options = {}) {
      const client = await adminClient();
      const { searchEntries } = await client.search(options.base ?? SAMBA_BASE_DN, {
        scope: options.scope ?? 'sub',
        filter,
        attributes,
        paged: { pageSize: 1000 },
        explicitBufferAttributes: [...BINARY_ATTRIBUTES, ...attributes.filter((a) => BINARY_LOWER.has(a.toLowerCase()))],
      });
      return searchEntries.map(entryToRecord);
    },

    async tryBind(user, password) {
      const client = new Client({ url: `ldaps://${SAMBA_HOST}`, tlsOptions: { rejectUnauthorized: false }, connectTimeout: 5000, timeout: 30_000 });
      const name = user.includes('=') || user.includes('@') || user.includes('\\') ? user : `${SAMBA_DOMAIN}\\${user}`;
      try {
        await client.bind(name, password);
        return 'ok';
      } catch (err) {
        return bindResultOf(err);
      } finally {
        await client.unbind().catch(() => undefined);
      }
    },

    sambaTool,
    logTail: (maxChars) => logTailOf(dir, maxChars),
    stop,
    [Symbol.asyncDispose]: stop,
  };
}

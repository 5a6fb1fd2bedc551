import { execFile, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { canConnect } from './can-connect.ts';
import { findProgram } from './find-program.ts';
import { generateFixture } from '../../src/fixture/generate-fixture.ts';

/**
 * A real OpenLDAP slapd for tests: back-mdb in a temp directory, loaded with slapadd from a
 * slapcat-style LDIF (given, or generated with the project's fixture generator), Samba schema from
 * fixtures/ldap/phsync-samba.schema, run in the foreground as a child of the test process.
 *
 * Accounts:
 *  - rootDn (the slapd.conf rootdn, cn=admin like the fixtures' creatorsName): everything, no limits;
 *  - syncDn (cn=phsync,ou=Service): reads everything, NT hashes included (unless
 *    `syncAccountCanReadHashes: false`), no size or time limit;
 *  - otherDn (cn=reader,ou=Service): reads users but not their NT hashes, and is held to the global
 *    size limit (`sizeLimit`, default 500 as slapd's), paged searches included;
 *  - limitedDn (cn=limited,ou=Service): reads users and their NT hashes, like a sync account an
 *    administrator forgot to exempt from the size limit: held to it;
 *  - anonymous: may bind (simple-bind authentication) and read nothing.
 */
export interface StartSlapdOptions {
  /** A slapcat-style LDIF file (base dc=example,dc=com) loaded with slapadd before start. */
  readonly ldif?: string;
  /** Without `ldif`: users of the generated fixture (default 100), written with a passwords CSV. */
  readonly users?: number;
  /** Without `ldif`: the fixture's seed. */
  readonly seed?: string;
  /** Also listen on ldaps://, and allow StartTLS on ldap://, with a test CA made now with openssl. */
  readonly tls?: boolean;
  /** The global size limit (soft and hard), which binds every account but the sync one and root. Default 500. */
  readonly sizeLimit?: number;
  /** Whether the sync account may read sambaNTPassword. Default true. */
  readonly syncAccountCanReadHashes?: boolean;
}

export interface Slapd {
  /** ldap://127.0.0.1:PORT */
  readonly url: string;
  /** ldaps://127.0.0.1:PORT2 with `tls`. */
  readonly ldapsUrl: string | undefined;
  /** PEM file of the test CA that signed the server's certificate (CN 127.0.0.1, SAN 127.0.0.1 and localhost), with `tls`. */
  readonly caFile: string | undefined;
  readonly baseDn: 'dc=example,dc=com';
  readonly syncDn: string;
  readonly syncPassword: string;
  /** A bind that can read users but not sambaNTPassword, and is held to the size limit. */
  readonly otherDn: string;
  readonly otherPassword: string;
  /** A bind that can read users and sambaNTPassword (whatever `syncAccountCanReadHashes`), but is held to the size limit. */
  readonly limitedDn: string;
  readonly limitedPassword: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  /** The generated fixture's passwords CSV (undefined when `ldif` was given). */
  readonly passwordsCsv: string | undefined;
  /** The temp directory: slapd.conf, db/, tls/, the generated fixture. */
  readonly dir: string;
  /** SIGTERM, and wait for slapd to exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
  /** SIGKILL, and wait for slapd to exit. */
  kill(): Promise<void>;
  /**
   * SIGSTOP: slapd keeps its sockets open and answers nothing, like a hung server (connections are
   * accepted by the kernel's backlog, no operation completes). `resume()` (SIGCONT) undoes it;
   * stop(), kill() and restart() resume it first so that it can act on their signal.
   */
  pause(): Promise<void>;
  /** SIGCONT after pause(). */
  resume(): Promise<void>;
  /** Starts slapd again, on the same port(s) with the same data (stops it first if it runs). */
  restart(): Promise<void>;
  /** stop(), then remove the temp directory. */
  [Symbol.asyncDispose](): Promise<void>;
}

export const SLAPD_BASE_DN = 'dc=example,dc=com';

/** The project's Samba schema (+ userPrincipalName), for slapd.conf. */
export const SAMBA_SCHEMA_FILE = fileURLToPath(new URL('../../fixtures/ldap/phsync-samba.schema', import.meta.url));

const SYSTEM_SCHEMAS = ['core', 'cosine', 'nis', 'inetorgperson'] as const;
/** Where OpenLDAP's own schema files are: Debian, then other distributions. */
const SCHEMA_DIRS = ['/etc/ldap/schema', '/etc/openldap/schema', '/usr/local/etc/openldap/schema'] as const;
const DEFAULT_USERS = 100;
const DEFAULT_SIZE_LIMIT = 500;
/** back-mdb's map size: a sparse file, so only what is used costs disk (100k fixture users take 180 MB). */
const MDB_MAXSIZE = 8 * 1024 ** 3;
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
/** Tail of slapd's stderr kept for error messages. */
const STDERR_KEEP = 16 * 1024;

/** The path of an OpenLDAP program (slapd, slapadd…): /usr/sbin first (Debian), then the PATH. */
export function ldapProgram(name: string): string | undefined {
  return findProgram(name, ['/usr/sbin', '/usr/local/sbin', '/usr/local/libexec']);
}


// Every slapd child still running is killed when the test process exits (however it exits
// normally), and the temp directory of every harness not disposed is removed (a big directory's
// database takes GBs); a watchdog per slapd (below) covers the test process being killed.
const running = new Set<ChildProcess>();
const undisposedDirs = new Set<string>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const child of running) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const dir of undisposedDirs) rmSync(dir, { recursive: true, force: true });
  });
}

export async function startSlapd(options: StartSlapdOptions = {}): Promise<Slapd> {
  const slapdBin = ldapProgram('slapd');
  const slapaddBin = ldapProgram('slapadd');
  if (slapdBin === undefined || slapaddBin === undefined) {
    throw new Error('slapd/slapadd not found (Debian: apt-get install slapd ldap-utils)');
  }
  if (options.ldif !== undefined && (options.users !== undefined || options.seed !== undefined)) {
    throw new Error('startSlapd: give either ldif, or users/seed for a generated fixture, not both');
  }
  const sizeLimit = options.sizeLimit ?? DEFAULT_SIZE_LIMIT;
  if (!Number.isSafeInteger(sizeLimit) || sizeLimit < 1) throw new Error(`startSlapd: sizeLimit must be a whole number ≥ 1, not ${sizeLimit}`);

  installExitHook();
  const dir = mkdtempSync(join(tmpdir(), 'phsync-slapd-'));
  undisposedDirs.add(dir);
  try {
    const baseDn = SLAPD_BASE_DN;
    const rootDn = `cn=admin,${baseDn}`;
    const syncDn = `cn=phsync,ou=Service,${baseDn}`;
    const otherDn = `cn=reader,ou=Service,${baseDn}`;
    const limitedDn = `cn=limited,ou=Service,${baseDn}`;
    const rootPassword = secret();
    const syncPassword = secret();
    const otherPassword = secret();
    const limitedPassword = secret();

    let ldif = options.ldif;
    let passwordsCsv: string | undefined;
    if (ldif === undefined) {
      ldif = join(dir, 'directory.ldif');
      passwordsCsv = join(dir, 'passwords.csv');
      await generateFixture({ users: options.users ?? DEFAULT_USERS, out: ldif, passwords: passwordsCsv, ...(options.seed === undefined ? {} : { seed: options.seed }) });
    } else if (!existsSync(ldif)) {
      throw new Error(`startSlapd: no such LDIF file: ${ldif}`);
    }

    const tls = options.tls === true ? await makeTestCertificates(join(dir, 'tls')) : undefined;

    const dbDir = join(dir, 'db');
    mkdirSync(dbDir);
    const conf = join(dir, 'slapd.conf');
    writeFileSync(
      conf,
      slapdConf({ baseDn, rootDn, rootPassword, syncDn, limitedDn, dbDir, sizeLimit, syncCanReadHashes: options.syncAccountCanReadHashes ?? true, tls }),
    );

    await run(slapaddBin, ['-q', '-f', conf, '-l', ldif], 'slapadd of the directory');
    await addServiceAccounts(slapaddBin, conf, dir, baseDn, [
      { dn: syncDn, cn: 'phsync', description: 'phsync sync account: reads users and their NT hashes', password: syncPassword },
      { dn: otherDn, cn: 'reader', description: 'reads users, not their NT hashes; held to the size limit', password: otherPassword },
      { dn: limitedDn, cn: 'limited', description: 'reads users and their NT hashes; held to the size limit', password: limitedPassword },
    ]);

    // The ports are free when picked, and taken by slapd a few ms later: if something else took one
    // in between, pick again.
    let server: SlapdProcess;
    let port: number;
    let ldapsPort: number | undefined;
    for (let attempt = 1; ; attempt++) {
      [port, ldapsPort] = await Promise.all([freePort(), tls === undefined ? undefined : freePort()]);
      server = new SlapdProcess(slapdBin, conf, port, ldapsPort);
      try {
        await server.start();
        break;
      } catch (err) {
        if (attempt >= 3 || !/Address already in use|errno=98/.test(String(err))) throw err;
      }
    }

    let disposed = false;
    return {
      url: `ldap://127.0.0.1:${port}`,
      ldapsUrl: ldapsPort === undefined ? undefined : `ldaps://127.0.0.1:${ldapsPort}`,
      caFile: tls?.caFile,
      baseDn,
      syncDn,
      syncPassword,
      otherDn,
      otherPassword,
      limitedDn,
      limitedPassword,
      rootDn,
      rootPassword,
      passwordsCsv,
      dir,
      stop: () => server.stop('SIGTERM'),
      kill: () => server.stop('SIGKILL'),
      pause: async () => server.signal('SIGSTOP'),
      resume: async () => server.signal('SIGCONT'),
      restart: async () => {
        if (disposed) throw new Error('slapd harness already disposed');
        await server.stop('SIGTERM');
        await server.start();
      },
      [Symbol.asyncDispose]: async () => {
        if (disposed) return;
        disposed = true;
        try {
          await server.stop('SIGTERM');
        } finally {
          rmSync(dir, { recursive: true, force: true });
          undisposedDirs.delete(dir);
        }
      },
    };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    undisposedDirs.delete(dir);
    throw err;
  }
}

function secret(): string {
  return randomBytes(15).toString('base64url');
}

interface TlsFiles {
  readonly caFile: string;
  readonly certFile: string;
  readonly keyFile: string;
}

interface ConfOptions {
  readonly baseDn: string;
  readonly rootDn: string;
  readonly rootPassword: string;
  readonly syncDn: string;
  readonly limitedDn: string;
  readonly dbDir: string;
  readonly sizeLimit: number;
  readonly syncCanReadHashes: boolean;
  readonly tls: TlsFiles | undefined;
}

/** slapd.conf: values with spaces or quotes are not expected (temp paths, generated DNs). */
function slapdConf(o: ConfOptions): string {
  const lines: string[] = ['# phsync test harness (test/support/slapd.ts)'];
  const schemaDir = SCHEMA_DIRS.find((d) => existsSync(join(d, 'core.schema'))) ?? SCHEMA_DIRS[0];
  for (const s of SYSTEM_SCHEMAS) lines.push(`include ${schemaDir}/${s}.schema`);
  lines.push(`include ${SAMBA_SCHEMA_FILE}`, '');
  if (existsSync('/usr/lib/ldap/back_mdb.la') || existsSync('/usr/lib/ldap/back_mdb.so')) {
    // Debian builds the backends as modules.
    lines.push('modulepath /usr/lib/ldap', 'moduleload back_mdb', '');
  }
  lines.push(
    // The global limit binds everyone but the rootdn and those with their own `limits` below.
    `sizelimit ${o.sizeLimit}`,
    'timelimit 3600',
    '',
  );
  if (o.tls !== undefined) {
    lines.push(`TLSCACertificateFile ${o.tls.caFile}`, `TLSCertificateFile ${o.tls.certFile}`, `TLSCertificateKeyFile ${o.tls.keyFile}`, '');
  }
  const hashReaders = [...(o.syncCanReadHashes ? [o.syncDn] : []), o.limitedDn].map((dn) => `\n  by dn.exact="${dn}" read`).join('');
  lines.push(
    'database mdb',
    `suffix "${o.baseDn}"`,
    `rootdn "${o.rootDn}"`,
    `rootpw ${o.rootPassword}`,
    `directory ${o.dbDir}`,
    `maxsize ${MDB_MAXSIZE}`,
    // No fsync per write: a SIGKILLed slapd loses nothing (the page cache survives it); only a crash
    // of the machine would, and the test data is thrown away then anyway.
    'dbnosync',
    'index objectClass,entryUUID,uid eq',
    'index entryCSN,modifyTimestamp eq',
    '',
    `limits dn.exact="${o.syncDn}" size=unlimited time=unlimited`,
    '',
    'access to attrs=userPassword',
    '  by self =xw',
    '  by anonymous auth',
    '  by * none',
    `access to attrs=sambaNTPassword,sambaLMPassword,sambaPasswordHistory${hashReaders}`,
    '  by * none',
    'access to *',
    '  by users read',
    '  by anonymous auth',
    '  by * none',
    '',
  );
  return lines.join('\n');
}

/**
 * Adds ou=Service and the service accounts. ou=Service first, unless the LDIF already had one
 * (slapadd then stops at it without adding anything, and the accounts are added alone).
 */
async function addServiceAccounts(
  slapadd: string,
  conf: string,
  dir: string,
  baseDn: string,
  accounts: readonly { dn: string; cn: string; description: string; password: string }[],
): Promise<void> {
  const ou = [`dn: ou=Service,${baseDn}`, 'objectClass: organizationalUnit', 'ou: Service', 'description: Service accounts (phsync test harness)', ''].join('\n');
  const entries = accounts
    .map((a) =>
      [`dn: ${a.dn}`, 'objectClass: organizationalRole', 'objectClass: simpleSecurityObject', `cn: ${a.cn}`, `description: ${a.description}`, `userPassword: ${a.password}`, ''].join('\n'),
    )
    .join('\n');
  const file = join(dir, 'service-accounts.ldif');
  writeFileSync(file, `${ou}\n${entries}`);
  try {
    await run(slapadd, ['-f', conf, '-l', file], 'slapadd of the service accounts');
  } catch (err) {
    if (!/could not add entry dn="ou=Service,/i.test(String(err)) || !/exists/i.test(String(err))) throw err;
    writeFileSync(file, entries);
    await run(slapadd, ['-f', conf, '-l', file], 'slapadd of the service accounts');
  }
}

/** A test CA and a server certificate it signed (P-256, CN 127.0.0.1, SAN IP 127.0.0.1 and DNS localhost). */
async function makeTestCertificates(tlsDir: string): Promise<TlsFiles> {
  mkdirSync(tlsDir);
  const openssl = ldapProgram('openssl') ?? 'openssl';
  const f = (name: string): string => join(tlsDir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run(openssl, ['req', '-x509', ...ec, '-keyout', f('ca.key'), '-out', f('ca.pem'), '-days', '30', '-subj', '/O=phsync tests/CN=phsync test CA',
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], 'openssl (test CA)');
  await run(openssl, ['req', ...ec, '-keyout', f('server.key'), '-out', f('server.csr'), '-subj', '/O=phsync tests/CN=127.0.0.1'], 'openssl (server key)');
  writeFileSync(
    f('server.ext'),
    ['basicConstraints=critical,CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', 'subjectAltName=IP:127.0.0.1,DNS:localhost', ''].join('\n'),
  );
  await run(openssl, ['x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-set_serial', `0x${randomBytes(8).toString('hex')}`,
    '-days', '30', '-extfile', f('server.ext'), '-out', f('server.pem')], 'openssl (server certificate)');
  return { caFile: f('ca.pem'), certFile: f('server.pem'), keyFile: f('server.key') };
}

function run(file: string, args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { maxBuffer: 16 * 1024 * 1024 }, (err, _stdout, stderr) => {
      if (err === null) resolve();
      else reject(new Error(`${what} failed (${file} ${args.join(' ')}): ${err.message.split('\n')[0]}\n${tail(stderr, 4000)}`));
    });
  });
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

/** A port nothing listens on now: bind port 0, read it, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}


/** One slapd server (its config and ports), started and stopped any number of times. */
class SlapdProcess {
  private readonly slapd: string;
  private readonly conf: string;
  private readonly port: number;
  private readonly ldapsPort: number | undefined;
  private child: ChildProcess | undefined;
  private watchdog: ChildProcess | undefined;
  private exited: Promise<void> | undefined;
  private stderr = '';

  constructor(slapd: string, conf: string, port: number, ldapsPort: number | undefined) {
    this.slapd = slapd;
    this.conf = conf;
    this.port = port;
    this.ldapsPort = ldapsPort;
  }

  async start(): Promise<void> {
    if (this.child !== undefined) throw new Error('slapd is already running');
    const urls = [`ldap://127.0.0.1:${this.port}/`];
    if (this.ldapsPort !== undefined) urls.push(`ldaps://127.0.0.1:${this.ldapsPort}/`);
    this.stderr = '';
    // -d keeps slapd in the foreground (no fork), as our child. Level "none": only the messages
    // logged whatever the level (fatal config errors, "bind failed", "slapd starting"); -d 0 would
    // hide even those. Nothing per connection or operation.
    const child = spawn(this.slapd, ['-d', 'none', '-f', this.conf, '-h', urls.join(' ')], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = child;
    running.add(child);
    child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr = tail(this.stderr + d, STDERR_KEEP);
    });
    let exitInfo: string | undefined;
    this.exited = new Promise((resolve) => {
      child.once('exit', (code, signal) => {
        exitInfo = signal === null ? `exit code ${code}` : `signal ${signal}`;
        running.delete(child);
        this.stopWatchdog();
        resolve();
      });
      child.once('error', (err) => {
        exitInfo = `spawn error: ${err.message}`;
        running.delete(child);
        this.stopWatchdog();
        resolve();
      });
    });
    if (child.pid !== undefined) this.startWatchdog(child.pid);

    const deadline = Date.now() + START_TIMEOUT_MS;
    const ports = this.ldapsPort === undefined ? [this.port] : [this.port, this.ldapsPort];
    for (;;) {
      if (exitInfo !== undefined) {
        await this.exited;
        this.child = undefined;
        throw new Error(`slapd exited at start (${exitInfo}) on ${urls.join(' ')}:\n${this.stderr.trim()}`);
      }
      if ((await Promise.all(ports.map((p) => canConnect(p)))).every(Boolean)) break;
      if (Date.now() > deadline) {
        await this.stop('SIGKILL');
        throw new Error(`slapd did not accept connections on ${urls.join(' ')} within ${START_TIMEOUT_MS} ms:\n${this.stderr.trim()}`);
      }
      await sleep(20);
    }
    // A forgotten harness must not keep the test process alive: the exit hook kills slapd then.
    child.unref();
    (child.stderr as unknown as { unref?: () => void }).unref?.();
  }

  /** Sends SIGSTOP or SIGCONT to the running slapd. */
  signal(signal: 'SIGSTOP' | 'SIGCONT'): void {
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) throw new Error(`slapd is not running: cannot send ${signal}`);
    child.kill(signal);
  }

  async stop(signal: 'SIGTERM' | 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    child.ref(); // keeps the event loop (and so this wait) alive until slapd has exited
    try {
      // A paused slapd acts on SIGTERM only once continued (SIGKILL needs no help).
      if (child.exitCode === null && child.signalCode === null) {
        if (signal === 'SIGTERM') child.kill('SIGCONT');
        child.kill(signal);
      }
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      try {
        await this.exited;
      } finally {
        clearTimeout(timer);
      }
    } finally {
      this.child = undefined;
    }
  }

  /**
   * A shell that SIGKILLs slapd when the test process dies: it waits on a pipe from us, which only
   * closes when we are gone (SIGKILL, crash…). We kill the watchdog itself when slapd exits.
   */
  private startWatchdog(pid: number): void {
    const watchdog = spawn('/bin/sh', ['-c', `read _ignored; kill -KILL ${pid} 2>/dev/null`], { stdio: ['pipe', 'ignore', 'ignore'] });
    watchdog.on('error', () => undefined);
    watchdog.stdin!.on('error', () => undefined);
    watchdog.unref();
    (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
    this.watchdog = watchdog;
  }

  private stopWatchdog(): void {
    const watchdog = this.watchdog;
    this.watchdog = undefined;
    if (watchdog !== undefined && watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
  }
}

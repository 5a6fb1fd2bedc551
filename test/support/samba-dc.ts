import { execFile, execFileSync, spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  accessSync,
  chmodSync,
  closeSync,
  constants,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Attribute, Change, Client } from 'ldapts';
import type { Entry } from 'ldapts';
import { DEFAULT_SAMBA_SEED, generateSambaUsers } from './samba-users.ts';
import type { SambaUser } from './samba-users.ts';

export type { SambaUser } from './samba-users.ts';
export { generateSambaUsers, generatedPassword, generatedSam, DISABLED_EVERY, MUST_CHANGE_EVERY } from './samba-users.ts';

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

export type BindResult = 'ok' | 'invalid-credentials' | 'disabled' | 'must-change' | 'expired' | 'locked' | `error: ${string}`;

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

export const SAMBA_REALM = 'TEST.EXAMPLE';
export const SAMBA_DOMAIN = 'TEST';
export const SAMBA_BASE_DN = 'DC=test,DC=example';
export const SAMBA_HOST = '127.0.0.1';
/** "Replicating Directory Changes" and "Replicating Directory Changes All" (extended rights). */
export const DS_REPLICATION_GET_CHANGES = '1131f6aa-9c07-11d1-f79f-00c04fc2dcd2';
export const DS_REPLICATION_GET_CHANGES_ALL = '1131f6ad-9c07-11d1-f79f-00c04fc2dcd2';
export const SAMBA_LOCK_FILE = join(tmpdir(), 'phsync-samba-dc.lock');
export const SAMBA_CACHE_DIR = join(tmpdir(), 'phsync-samba-cache');

const SYNC_SAM = 'phsync-sync';
const PLAIN_SAM = 'phsync-plain';
const USERS_DN = `CN=Users,${SAMBA_BASE_DN}`;
const ADMIN_DN = `CN=Administrator,${USERS_DN}`;
/** Bumped whenever what an archive holds changes (layout, accounts, rights, smb.conf needs). */
const ARCHIVE_FORMAT = 2;
const DC_DIR_PREFIX = 'phsync-samba-dc-';
const BUILD_DIR_PREFIX = 'phsync-samba-build-';
const DEFAULT_USERS = 20;
const CACHE_BY_DEFAULT_FROM = 200;
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
const DEFAULT_LOCK_TIMEOUT_MS = 30 * 60_000;
const COMMAND_TIMEOUT_MS = 30 * 60_000;
/**
 * Ready when all accept connections (and an LDAP bind as Administrator succeeds): not only 135 and
 * 389, since smbd (445) and the KDC (88) may come up a little after them.
 */
const READY_PORTS = [88, 135, 389, 445, 636, 3268] as const;
const META_FILE = 'phsync-meta.json';
/** Users per ldbadd run. */
const LDBADD_CHUNK = 1000;

// ---------------------------------------------------------------------------------------------
// Programs

function program(name: string): string | undefined {
  const dirs = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin', ...(process.env['PATH'] ?? '').split(delimiter)];
  for (const dir of dirs) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

function requiredProgram(name: string): string {
  const path = program(name);
  if (path === undefined) throw new Error(`${name} not found: ${sambaUnavailableReason() ?? ''}`);
  return path;
}

/** Why a Samba DC cannot be started here (undefined: it can), for a test's skip message. */
export function sambaUnavailableReason(): string | undefined {
  const missing = ['samba', 'samba-tool', 'ldbadd', 'ldbsearch', 'flock', 'tar', 'openssl'].filter((p) => program(p) === undefined);
  if (missing.length > 0) {
    return `Samba AD DC not available (missing ${missing.join(', ')}; Debian: apt-get install samba samba-ad-dc samba-ad-provision winbind ldb-tools util-linux tar openssl)`;
  }
  if (process.platform !== 'linux') return 'Samba AD DC harness needs Linux (/proc, flock)';
  if (process.getuid?.() !== 0) return 'Samba AD DC harness needs root (samba binds ports 88, 135, 389… and must run as root)';
  return undefined;
}

/** samba + samba-tool (and the few tools the harness uses) are present, and we may run them. */
export function sambaAvailable(): boolean {
  return sambaUnavailableReason() === undefined;
}

let sambaVersionCache: string | undefined;
/** `samba --version`, e.g. "Version 4.17.12-Debian". */
export function sambaVersion(): string {
  sambaVersionCache ??= execFileSync(requiredProgram('samba'), ['--version'], { encoding: 'utf8' }).trim();
  return sambaVersionCache;
}

interface RunOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly input?: string;
  readonly timeoutMs?: number;
}

function run(file: string, args: readonly string[], what: string, options: RunOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { maxBuffer: 256 * 1024 * 1024, encoding: 'utf8', timeout: options.timeoutMs ?? COMMAND_TIMEOUT_MS, killSignal: 'SIGKILL', env: options.env ?? process.env },
      (err, stdout, stderr) => {
        if (err === null) resolve(stdout);
        else {
          const shown = args.map((a) => (/password|pass=|%/i.test(a) ? '…' : a)).join(' ');
          reject(new Error(`${what} failed (${file} ${shown}): ${err.message.split('\n')[0]}\n${tail(`${stderr}\n${stdout}`.trim(), 4000)}`));
        }
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

function secret(): string {
  // Samba's default complexity: 3 of upper, lower, digit, other; base64url gives the first three
  // (almost surely), the suffix makes it certain.
  return `${randomBytes(15).toString('base64url')}-Aa1`;
}

/** Tools' environment: no system Kerberos configuration or credential cache. */
function toolEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, KRB5_CONFIG: join(dir, 'private', 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'krb5cc')}` };
}

// ---------------------------------------------------------------------------------------------
// /proc

interface ProcInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly zombie: boolean;
}

function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, pgid: Number(fields[2]), zombie: fields[0] === 'Z' || fields[0] === 'X' };
  } catch {
    return undefined;
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

function allPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) if (/^\d+$/.test(name)) pids.push(Number(name));
  return pids;
}

/** Live (not zombie) processes of these process groups, or started with this smb.conf (smbd, winbindd). */
function dcProcesses(pgids: readonly number[], conf: string | undefined): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const pid of allPids()) {
    const info = procInfo(pid);
    if (info === undefined || info.zombie) continue;
    if (pgids.includes(info.pgid) || (conf !== undefined && cmdline(pid).includes(`--configfile=${conf}`))) found.push(info);
  }
  return found;
}

function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** SIGKILLs the groups and the smb.conf's processes, and waits until none is left. */
async function killDc(pgids: readonly number[], conf: string | undefined, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const pgid of pgids) killQuietly(-pgid, 'SIGKILL');
    const left = dcProcesses(pgids, conf);
    if (left.length === 0) return;
    for (const p of left) killQuietly(p.pid, 'SIGKILL');
    if (Date.now() > deadline) throw new Error(`Samba processes still alive after SIGKILL: ${left.map((p) => p.pid).join(', ')}`);
    await sleep(50);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: SAMBA_HOST, port });
    socket.setTimeout(1000);
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

// ---------------------------------------------------------------------------------------------
// The machine-wide lock

/**
 * The holder, run by `flock -x LOCK sh -c HOLDER` (in its own session): says "locked" once it has the
 * lock, then reads "pg N" (a process group of the DC), "dir D" lines. "release": the DC was stopped,
 * exit (releasing the lock). End of input without "release" (the test process died): SIGKILL the
 * groups, wait for them to be gone, remove the directory, exit.
 */
const HOLDER_SCRIPT = `
echo locked
pgs=''
dir=''
while IFS= read -r line; do
  case "$line" in
    'pg '*) pgs="$pgs \${line#pg }" ;;
    'dir '*) dir="\${line#dir }" ;;
    release) exit 0 ;;
  esac
done
# A process of the groups, not a zombie (killed processes may stay zombies a while, their parent gone).
live() {
  for f in /proc/[0-9]*/stat; do
    s=''
    { read -r s < "$f"; } 2>/dev/null || continue
    s="\${s##*) }"
    set -- $s
    [ "$1" = Z ] && continue
    for g in $pgs; do [ "$3" = "$g" ] && return 0; done
  done
  return 1
}
i=0
while [ $i -lt 100 ]; do
  for g in $pgs; do kill -s KILL -- "-$g" 2>/dev/null; done
  live || break
  sleep 0.1
  i=$((i + 1))
done
case "$dir" in
  */${DC_DIR_PREFIX}*) rm -rf -- "$dir" ;;
esac
`;

interface LockRecord {
  readonly nodePid?: number;
  readonly holderPid?: number;
  readonly what?: string;
  readonly released?: string;
  readonly pgids?: number[];
  readonly conf?: string;
  readonly dir?: string;
  readonly since?: string;
}

/**
 * An exclusive flock(1) lock held by a holder process (HOLDER_SCRIPT) for as long as we want it or
 * live: the machine-wide DC lock, or a cache archive's build lock.
 */
class HeldLock {
  private readonly file: string;
  private readonly holder: ChildProcess;
  private readonly exited: Promise<void>;
  private record: LockRecord;
  private released = false;

  private constructor(file: string, holder: ChildProcess, exited: Promise<void>, what: string) {
    this.file = file;
    this.holder = holder;
    this.exited = exited;
    this.record = { nodePid: process.pid, ...(holder.pid === undefined ? {} : { holderPid: holder.pid }), what, pgids: [], since: new Date().toISOString() };
  }

  /** The machine-wide DC lock; a DC left by a dead holder is stopped first. */
  static async acquireDc(timeoutMs: number): Promise<HeldLock> {
    const lock = await HeldLock.acquire(SAMBA_LOCK_FILE, timeoutMs, 'the machine-wide Samba DC lock (one DC per machine)', 'dc');
    try {
      await lock.recoverStale();
      lock.writeRecord();
    } catch (err) {
      await lock.release();
      throw err;
    }
    return lock;
  }

  static async acquire(file: string, timeoutMs: number, description: string, what: string): Promise<HeldLock> {
    const flock = requiredProgram('flock');
    const waitSeconds = Math.max(1, Math.ceil(timeoutMs / 1000));
    mkdirSync(dirname(file), { recursive: true });
    const holder = spawn(flock, ['-x', '-w', String(waitSeconds), file, '/bin/sh', '-c', HOLDER_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stderr = '';
    holder.stderr!.setEncoding('utf8').on('data', (d: string) => {
      stderr = tail(stderr + d, 4000);
    });
    holder.stdin!.on('error', () => undefined);
    const exited = new Promise<void>((resolve) => {
      holder.once('exit', () => resolve());
      holder.once('error', () => resolve());
    });
    const waitingNote = setTimeout(() => {
      process.stderr.write(`samba-dc: waiting for ${description}: ${file} (held: ${safeRead(file)})\n`);
    }, 5000);
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        const onData = (d: string): void => {
          out += d;
          if (out.includes('locked\n')) {
            holder.stdout!.off('data', onData);
            resolve();
          }
        };
        holder.stdout!.setEncoding('utf8').on('data', onData);
        holder.once('error', (err) => reject(new Error(`flock could not be run: ${err.message}`)));
        holder.once('exit', (code, signal) =>
          reject(
            new Error(
              code === 1
                ? `timed out after ${waitSeconds} s waiting for ${description}: ${file} (held: ${safeRead(file)})`
                : `the holder of ${file} exited (${signal ?? `code ${code}`}): ${stderr.trim()}`,
            ),
          ),
        );
      });
    } finally {
      clearTimeout(waitingNote);
    }
    // The lock must not keep the test process alive; when it exits, the pipe closes and the holder
    // cleans up.
    holder.unref();
    for (const stream of [holder.stdin, holder.stdout, holder.stderr]) (stream as unknown as { unref?: () => void } | null)?.unref?.();
    const lock = new HeldLock(file, holder, exited, what);
    // The DC lock's previous record is read (recoverStale) before it is overwritten.
    if (what !== 'dc') lock.writeRecord();
    return lock;
  }

  /** Stops a DC whose holder died with its test process (both killed), from the previous record. */
  private async recoverStale(): Promise<void> {
    let previous: LockRecord;
    try {
      previous = JSON.parse(readFileSync(SAMBA_LOCK_FILE, 'utf8')) as LockRecord;
    } catch {
      return;
    }
    const pgids = (previous.pgids ?? []).filter((g) => Number.isSafeInteger(g) && g > 1);
    const conf = typeof previous.conf === 'string' ? previous.conf : undefined;
    // Only groups still led by a Samba program (a recycled pid must not be killed).
    const sambaGroups = pgids.filter((g) => {
      const leader = cmdline(g).join(' ');
      return /samba|smbd|winbindd/.test(leader);
    });
    if (sambaGroups.length > 0 || (conf !== undefined && dcProcesses([], conf).length > 0)) {
      process.stderr.write(`samba-dc: stopping a stale Samba DC left by pid ${previous.nodePid ?? '?'} (${previous.dir ?? '?'})\n`);
      await killDc(sambaGroups, conf, STOP_TIMEOUT_MS);
    }
    const dir = previous.dir;
    if (typeof dir === 'string' && dirname(dir) === tmpdir() && basename(dir).startsWith(DC_DIR_PREFIX) && existsSync(dir)) {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  private writeRecord(): void {
    writeFileSync(this.file, `${JSON.stringify(this.record)}\n`);
  }

  private tell(line: string): void {
    if (!this.released) this.holder.stdin!.write(`${line}\n`);
  }

  /** The DC's directory and smb.conf: what the holder (and a later taker of the lock) cleans up. */
  setDir(dir: string, conf: string): void {
    this.record = { ...this.record, dir, conf };
    this.writeRecord();
    this.tell(`dir ${dir}`);
  }

  /** A process group of the DC, SIGKILLed by the holder if the test process dies. */
  addGroup(pgid: number): void {
    if (this.record.pgids?.includes(pgid)) return;
    this.record = { ...this.record, pgids: [...(this.record.pgids ?? []), pgid] };
    this.tell(`pg ${pgid}`);
    this.writeRecord();
  }

  async release(): Promise<void> {
    if (this.released) return;
    this.record = { nodePid: process.pid, released: new Date().toISOString() };
    try {
      this.writeRecord(); // nothing to recover any more
    } catch {
      // the record is only a hint
    }
    this.tell('release');
    this.released = true;
    this.holder.stdin!.end();
    this.holder.ref();
    const timer = setTimeout(() => this.holder.kill('SIGKILL'), 10_000);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** At process exit: nothing can be awaited; the holder, seeing its input close, does the rest. */
  releaseAtExit(): void {
    this.released = true;
  }
}

function safeRead(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim() || 'unknown';
  } catch {
    return 'unknown';
  }
}

// ---------------------------------------------------------------------------------------------
// Temp directories: removed at exit (normal exit), and by later harnesses if their owner died.

const OWNER_FILE = 'phsync-owner.json';
const ownedDirs = new Set<string>();

function markOwned(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, since: new Date().toISOString() })}\n`);
  ownedDirs.add(dir);
}

/** Removes DC and build directories whose owner process is gone (killed while populating, say). */
function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DC_DIR_PREFIX) && !name.startsWith(BUILD_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    if (ownedDirs.has(dir)) continue;
    let pid: unknown;
    try {
      pid = (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown }).pid;
    } catch {
      continue; // no owner file (yet): leave it
    }
    const info = typeof pid === 'number' ? procInfo(pid) : undefined;
    if (info === undefined || info.zombie) rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Exit hook: a DC still running when the test process exits is killed (the holder removes its dir).

interface Running {
  readonly pgids: number[];
  readonly conf: string;
  readonly dir: string;
  readonly lock: HeldLock;
}
const running = new Set<Running>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const dc of running) {
      for (const pgid of dc.pgids) killQuietly(-pgid, 'SIGKILL');
      for (const p of dcProcesses(dc.pgids, dc.conf)) killQuietly(p.pid, 'SIGKILL');
      dc.lock.releaseAtExit();
    }
    // Directories of DCs not running (being prepared); a running DC's is removed by its lock holder
    // once its processes are gone.
    for (const dir of ownedDirs) if (![...running].some((dc) => dc.dir === dir)) rmSync(dir, { recursive: true, force: true });
  });
}

// ---------------------------------------------------------------------------------------------
// The domain's files

function smbConf(dir: string): string {
  return [
    '# phsync test harness (test/support/samba-dc.ts)',
    '[global]',
    '\tnetbios name = DC1',
    `\trealm = ${SAMBA_REALM}`,
    `\tworkgroup = ${SAMBA_DOMAIN}`,
    '\tserver role = active directory domain controller',
    '\tserver services = -dns -nbt -wrepl -ntp_signd -dnsupdate',
    '\tinterfaces = 127.0.0.1',
    '\tbind interfaces only = yes',
    '\tldap server require strong auth = no',
    // By default (as in Windows) an NTLM logon, hence an LDAP simple bind, still accepts the previous
    // password for 60 minutes after a change or reset: not in tests.
    '\told password allowed period = 0',
    '\tidmap_ldb:use rfc2307 = yes',
    `\tbinddns dir = ${dir}/bind-dns`,
    `\tcache directory = ${dir}/cache`,
    `\tlock directory = ${dir}`,
    `\tprivate dir = ${dir}/private`,
    `\tstate directory = ${dir}/state`,
    `\tpid directory = ${dir}/run`,
    `\tncalrpc dir = ${dir}/ncalrpc`,
    `\tlog file = ${dir}/logs/samba.log`,
    '\tmax log size = 0',
    '',
    '[sysvol]',
    `\tpath = ${dir}/state/sysvol`,
    '\tread only = No',
    '',
    '[netlogon]',
    `\tpath = ${dir}/state/sysvol/test.example/scripts`,
    '\tread only = No',
    '',
  ].join('\n');
}

/** (Re)writes smb.conf for the domain in `dir` (an archive's smb.conf names the directory it was made in). */
function writeSmbConf(dir: string): string {
  for (const sub of ['etc', 'logs', 'run', 'ncalrpc', 'cache']) mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, 'etc', 'smb.conf');
  writeFileSync(conf, smbConf(dir));
  return conf;
}

interface DomainMeta {
  readonly format: number;
  readonly sambaVersion: string;
  readonly adminPassword: string;
  readonly syncPassword: string;
  readonly plainPassword: string;
  readonly syncSid: string;
  readonly plainSid: string;
  readonly domainSid: string;
}

function readMeta(dir: string): DomainMeta {
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as DomainMeta;
  if (meta.format !== ARCHIVE_FORMAT) throw new Error(`domain archive format ${meta.format}, expected ${ARCHIVE_FORMAT}`);
  return meta;
}

/** An LDIF value line: plain when RFC 2849 SAFE-STRING, else base64. */
function ldifLine(name: string, value: string | Buffer): string {
  if (typeof value === 'string' && /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ')) return `${name}: ${value}`;
  return `${name}:: ${Buffer.from(value).toString('base64')}`;
}

/** unicodePwd's value: the password in double quotes, UTF-16LE. */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

/** RFC 4514 escaping of an attribute value in a DN. */
function escapeDnValue(value: string): string {
  let escaped = value.replace(/[\\,+"<>;=#]/g, (c) => `\\${c}`);
  if (escaped.startsWith(' ')) escaped = `\\${escaped}`;
  if (escaped.endsWith(' ') && !escaped.endsWith('\\ ')) escaped = `${escaped.slice(0, -1)}\\ `;
  return escaped;
}

export function sambaUserDn(sam: string): string {
  return `CN=${escapeDnValue(sam)},${USERS_DN}`;
}

function userLdif(user: SambaUser): string {
  return [
    ldifLine('dn', sambaUserDn(user.sam)),
    'objectClass: user',
    ldifLine('sAMAccountName', user.sam),
    ldifLine('userPrincipalName', user.upn),
    ldifLine('unicodePwd', unicodePwd(user.password)),
    `userAccountControl: ${user.disabled === true ? 514 : 512}`,
    ...(user.mustChange === true ? ['pwdLastSet: 0'] : []),
    '',
    '',
  ].join('\n');
}

function validateUsers(users: readonly SambaUser[], existing: readonly SambaUser[] = []): void {
  const seen = new Set(existing.map((u) => u.sam.toLowerCase()));
  for (const special of ['administrator', 'guest', 'krbtgt', SYNC_SAM, PLAIN_SAM]) seen.add(special);
  for (const u of users) {
    if (u.sam.length === 0 || u.sam.length > 20 || /["/\\[\]:;|=,+*?<>@]/.test(u.sam)) throw new Error(`samba-dc: bad sAMAccountName ${JSON.stringify(u.sam)} (1-20 characters, none of "/\\[]:;|=,+*?<>@)`);
    if (seen.has(u.sam.toLowerCase())) throw new Error(`samba-dc: duplicate or reserved sAMAccountName ${u.sam}`);
    seen.add(u.sam.toLowerCase());
  }
}

async function ldbAdd(dir: string, conf: string, ldif: string, what: string): Promise<void> {
  const file = join(dir, `phsync-add-${randomBytes(4).toString('hex')}.ldif`);
  writeFileSync(file, ldif, { mode: 0o600 });
  try {
    // --nosync: the domain is thrown away (or archived) anyway; one transaction for the whole file.
    await run(requiredProgram('ldbadd'), ['--nosync', `--configfile=${conf}`, '-H', join(dir, 'private', 'sam.ldb'), file], what, { env: toolEnv(dir) });
  } finally {
    rmSync(file, { force: true });
  }
}

async function ldbSearchSid(dir: string, conf: string, sam: string): Promise<string> {
  const out = await run(
    requiredProgram('ldbsearch'),
    [`--configfile=${conf}`, '-H', join(dir, 'private', 'sam.ldb'), '-b', SAMBA_BASE_DN, `(sAMAccountName=${sam})`, 'objectSid'],
    `ldbsearch of ${sam}`,
    { env: toolEnv(dir) },
  );
  const sid = /^objectSid: (S-1-5-21-[\d-]+)$/m.exec(out)?.[1];
  if (sid === undefined) throw new Error(`no objectSid for ${sam} in:\n${out}`);
  return sid;
}

/** Provisions the bare domain (service accounts and rights included) into `dir` (empty). */
async function provisionDomain(dir: string): Promise<void> {
  const adminPassword = secret();
  const syncPassword = secret();
  const plainPassword = secret();
  const emptyConf = join(dir, 'provision-empty.conf');
  writeFileSync(emptyConf, '');
  // Not the system's Kerberos configuration (an empty file: Heimdal refuses /dev/null).
  const emptyKrb5 = join(dir, 'provision-krb5.conf');
  writeFileSync(emptyKrb5, '');
  const env = { ...process.env, KRB5_CONFIG: emptyKrb5 };
  // An empty -s file: provision reads no /etc/samba/smb.conf and writes nothing outside targetdir.
  await run(
    requiredProgram('samba-tool'),
    [
      'domain', 'provision', '-s', emptyConf, `--targetdir=${dir}`,
      `--realm=${SAMBA_REALM}`, `--domain=${SAMBA_DOMAIN}`, '--server-role=dc', '--dns-backend=NONE', '--use-rfc2307',
      `--adminpass=${adminPassword}`, '--host-ip=127.0.0.1', '--host-name=dc1',
      '--option=interfaces = 127.0.0.1', '--option=bind interfaces only = yes',
    ],
    'samba-tool domain provision',
    { env },
  );
  rmSync(emptyConf);
  rmSync(emptyKrb5);
  const conf = writeSmbConf(dir);

  // TLS keys made now (RSA 2048, ~0.1 s) rather than by Samba at its first start (~1 s at every start
  // of an unpacked domain). ca.pem is the self-signed certificate itself.
  const tls = join(dir, 'private', 'tls');
  mkdirSync(tls, { recursive: true });
  await run(
    requiredProgram('openssl'),
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-days', '3650',
      '-subj', '/O=phsync tests/CN=dc1.test.example', '-addext', 'subjectAltName=DNS:dc1.test.example,DNS:localhost,IP:127.0.0.1'],
    'openssl (Samba TLS key)',
  );
  writeFileSync(join(tls, 'ca.pem'), readFileSync(join(tls, 'cert.pem')));
  chmodSync(join(tls, 'key.pem'), 0o600); // Samba refuses a key others can read

  const service = (sam: string, password: string, description: string): string =>
    [
      ldifLine('dn', sambaUserDn(sam)),
      'objectClass: user',
      `sAMAccountName: ${sam}`,
      `userPrincipalName: ${sam}@test.example`,
      `description: ${description}`,
      ldifLine('unicodePwd', unicodePwd(password)),
      'userAccountControl: 66048', // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
      '',
      '',
    ].join('\n');
  await ldbAdd(
    dir,
    conf,
    service(SYNC_SAM, syncPassword, 'phsync replication account: Replicating Directory Changes (All) on the domain') +
      service(PLAIN_SAM, plainPassword, 'phsync test account without replication rights'),
    'ldbadd of the service accounts',
  );
  const syncSid = await ldbSearchSid(dir, conf, SYNC_SAM);
  const plainSid = await ldbSearchSid(dir, conf, PLAIN_SAM);
  const domainSid = syncSid.replace(/-\d+$/, '');
  await run(
    requiredProgram('samba-tool'),
    ['dsacl', 'set', '-s', conf, '-H', join(dir, 'private', 'sam.ldb'), `--objectdn=${SAMBA_BASE_DN}`,
      `--sddl=(OA;;CR;${DS_REPLICATION_GET_CHANGES};;${syncSid})(OA;;CR;${DS_REPLICATION_GET_CHANGES_ALL};;${syncSid})`],
    'samba-tool dsacl set (replication rights)',
    { env: toolEnv(dir) },
  );
  // Passwords that never expire (a cached domain may be unpacked months after its users were made:
  // with the default 42 days, their binds would fail, AD data 532) and may be changed by their user
  // at once (default minimum age: 1 day). Complexity, history (24) and minimum length (7) as default.
  await run(
    requiredProgram('samba-tool'),
    ['domain', 'passwordsettings', 'set', '-s', conf, '-H', join(dir, 'private', 'sam.ldb'), '--max-pwd-age=0', '--min-pwd-age=0'],
    'samba-tool domain passwordsettings set',
    { env: toolEnv(dir) },
  );
  const meta: DomainMeta = { format: ARCHIVE_FORMAT, sambaVersion: sambaVersion(), adminPassword, syncPassword, plainPassword, syncSid, plainSid, domainSid };
  writeFileSync(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
}

// ---------------------------------------------------------------------------------------------
// Archives

function compressor(): { readonly ext: string; readonly create: string; readonly extract: string } {
  return program('zstd') !== undefined ? { ext: 'tar.zst', create: 'zstd -1 -T0', extract: 'zstd -d' } : { ext: 'tar.gz', create: 'gzip -1', extract: 'gzip -d' };
}

/** SAMBA_CACHE_DIR/<kind>-f<format>-<hash of format, Samba version, what>.tar.zst */
function archivePath(kind: 'base' | 'users', what: unknown): string {
  const key = createHash('sha256').update(JSON.stringify({ format: ARCHIVE_FORMAT, samba: sambaVersion(), what })).digest('hex').slice(0, 24);
  return join(SAMBA_CACHE_DIR, `${kind}-f${ARCHIVE_FORMAT}-${key}.${compressor().ext}`);
}

/** Removes the archives (and their lock files) of other archive formats: never used again. */
function pruneCache(): void {
  let names: string[];
  try {
    names = readdirSync(SAMBA_CACHE_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const format = /^(?:base|users)-(?:f(\d+)-)?[0-9a-f]+\./.exec(name);
    if (format !== null && Number(format[1] ?? 1) !== ARCHIVE_FORMAT) rmSync(join(SAMBA_CACHE_DIR, name), { force: true });
  }
}

/** Archives the domain in `dir` (never started: no logs, pid files, sockets) to `archive`, atomically. */
async function writeArchive(dir: string, archive: string): Promise<void> {
  mkdirSync(dirname(archive), { recursive: true });
  const partial = `${archive}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await run(requiredProgram('tar'), ['-I', compressor().create, '-cf', partial, '-C', dir, '--exclude=./logs', '--exclude=./run', '--exclude=./ncalrpc', '--exclude=./krb5cc', `--exclude=./${OWNER_FILE}`, '.'], 'tar (archive the domain)');
    renameSync(partial, archive);
  } finally {
    rmSync(partial, { force: true });
  }
}

async function unpackArchive(archive: string, dir: string): Promise<void> {
  await run(requiredProgram('tar'), ['-I', compressor().extract, '-xf', archive, '-C', dir], 'tar (unpack the domain)');
}

/** The bare provisioned domain's archive: made now if missing. Returns how long provisioning took, if it did. */
async function baseArchive(lockTimeoutMs: number): Promise<{ readonly archive: string; readonly provisionMs?: number }> {
  const archive = archivePath('base', 'base');
  if (existsSync(archive)) return { archive };
  const lock = await HeldLock.acquire(`${archive}.lock`, lockTimeoutMs, 'the build of the cached Samba domain', 'build');
  try {
    if (existsSync(archive)) return { archive }; // made by another process meanwhile
    const t0 = performance.now();
    const build = mkdtempSync(join(tmpdir(), BUILD_DIR_PREFIX));
    markOwned(build);
    try {
      await provisionDomain(build);
      await writeArchive(build, archive);
    } finally {
      rmSync(build, { recursive: true, force: true });
      ownedDirs.delete(build);
    }
    return { archive, provisionMs: performance.now() - t0 };
  } finally {
    await lock.release();
  }
}

interface Prepared {
  readonly fromCache: boolean;
  readonly unpackMs: number;
  readonly provisionMs?: number;
  readonly populateMs?: number;
  readonly archiveMs?: number;
}

/**
 * Fills `dir` (empty) with the domain and its users: unpacked from the users' archive if cached,
 * else the base archive unpacked, the users added with ldbadd, and (`usersArchive`) archived. Needs
 * no DC lock: only archive builds are serialized (per archive).
 */
async function prepareDomain(dir: string, users: readonly SambaUser[], usersArchive: string | undefined, lockTimeoutMs: number): Promise<Prepared> {
  if (usersArchive !== undefined) {
    const cached = await unpackCached(usersArchive, dir);
    if (cached !== undefined) return { fromCache: true, unpackMs: cached };
    const lock = await HeldLock.acquire(`${usersArchive}.lock`, lockTimeoutMs, 'the build of the cached Samba domain', 'build');
    try {
      const meanwhile = await unpackCached(usersArchive, dir); // made by another process while we waited?
      if (meanwhile !== undefined) return { fromCache: true, unpackMs: meanwhile };
      return await populate(dir, users, usersArchive, lockTimeoutMs);
    } finally {
      await lock.release();
    }
  }
  return populate(dir, users, undefined, lockTimeoutMs);
}

/** Unpacks a cached archive into `dir`: how long it took, or undefined if there is none (or it is unusable: then removed). */
async function unpackCached(archive: string, dir: string): Promise<number | undefined> {
  if (!existsSync(archive)) return undefined;
  const t = performance.now();
  try {
    await unpackArchive(archive, dir);
    readMeta(dir);
    return performance.now() - t;
  } catch {
    // Damaged, or made by an older harness: made again.
    rmSync(archive, { force: true });
    emptyDir(dir);
    return undefined;
  }
}

async function populate(dir: string, users: readonly SambaUser[], usersArchive: string | undefined, lockTimeoutMs: number): Promise<Prepared> {
  const base = await baseArchive(lockTimeoutMs);
  let provisionMs = base.provisionMs;
  const t = performance.now();
  let unpackMs = await unpackCached(base.archive, dir);
  if (unpackMs === undefined) {
    const again = await baseArchive(lockTimeoutMs);
    provisionMs = again.provisionMs;
    await unpackArchive(again.archive, dir);
    readMeta(dir);
    unpackMs = performance.now() - t;
  }
  const conf = writeSmbConf(dir);
  let populateMs: number | undefined;
  if (users.length > 0) {
    if (users.length >= 2000) process.stderr.write(`samba-dc: adding ${users.length} users to a Samba domain offline (about 30 ms each${usersArchive === undefined ? '' : ', once per machine: then cached'})\n`);
    const tp = performance.now();
    // In chunks, one ldbadd (and transaction) each: one process adding 10,000 users takes 25% longer
    // (its heap fragments: malloc_consolidate grows in the profile).
    for (let i = 0; i < users.length; i += LDBADD_CHUNK) {
      const chunk = users.slice(i, i + LDBADD_CHUNK);
      await ldbAdd(dir, conf, chunk.map(userLdif).join(''), `ldbadd of users ${i + 1} to ${i + chunk.length}`);
    }
    populateMs = performance.now() - tp;
  }
  let archiveMs: number | undefined;
  if (usersArchive !== undefined) {
    const ta = performance.now();
    await writeArchive(dir, usersArchive);
    archiveMs = performance.now() - ta;
  }
  return {
    fromCache: false,
    unpackMs,
    ...(provisionMs === undefined ? {} : { provisionMs }),
    ...(populateMs === undefined ? {} : { populateMs }),
    ...(archiveMs === undefined ? {} : { archiveMs }),
  };
}

// ---------------------------------------------------------------------------------------------
// startSambaDc

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

/** Empties `dir`, but for its owner file. */
function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) if (name !== OWNER_FILE) rmSync(join(dir, name), { recursive: true, force: true });
}

interface SambaServer {
  readonly child: ChildProcess;
  readonly entry: Running;
  readonly exited: Promise<void>;
  readonly startMs: number;
}

function logTailOf(dir: string, maxChars = 6000): string {
  const parts: string[] = [];
  for (const name of ['samba.stdout', 'samba.log']) {
    const text = safeReadFile(join(dir, 'logs', name));
    if (text.trim() !== '') parts.push(`--- ${name}\n${tail(text.trimEnd(), maxChars)}`);
  }
  return parts.join('\n') || '(no Samba log)';
}

function safeReadFile(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** Starts samba on the domain in `dir` and waits until it is ready; on failure, stops it and throws with its log's tail. */
async function spawnSamba(dir: string, conf: string, adminPassword: string, lock: HeldLock): Promise<SambaServer> {
  const out = openSync(join(dir, 'logs', 'samba.stdout'), 'a');
  const t0 = performance.now();
  let child: ChildProcess;
  try {
    // -F: foreground, our child; --no-process-group: no group of its own, so that it keeps the one
    // spawn's `detached` (setsid) gives it, which then holds all its tasks (smbd and winbindd make
    // their own groups: found below).
    child = spawn(requiredProgram('samba'), ['-F', '--no-process-group', '-s', conf], { detached: true, stdio: ['ignore', out, out], env: toolEnv(dir) });
  } finally {
    closeSync(out);
  }
  let exitInfo: string | undefined;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exitInfo = signal === null ? `exit code ${code}` : `signal ${signal}`;
      resolve();
    });
    child.once('error', (err) => {
      exitInfo = `spawn error: ${err.message}`;
      resolve();
    });
  });
  const entry: Running = { pgids: [], conf, dir, lock };
  if (child.pid !== undefined) {
    entry.pgids.push(child.pid);
    lock.addGroup(child.pid);
  }
  running.add(entry);
  try {
    await waitReady(dir, adminPassword, () => exitInfo);
    const startMs = performance.now() - t0;
    // smbd and winbindd (started by samba's s3fs and winbindd tasks) lead process groups of their own.
    for (const p of dcProcesses([], conf)) {
      if (p.pgid > 1 && !entry.pgids.includes(p.pgid)) {
        entry.pgids.push(p.pgid);
        lock.addGroup(p.pgid);
      }
    }
    child.unref();
    return { child, entry, exited, startMs };
  } catch (err) {
    await killDc(entry.pgids, conf, STOP_TIMEOUT_MS).catch(() => undefined);
    running.delete(entry);
    throw err;
  }
}

/** Polls until READY_PORTS accept connections and an LDAP bind as Administrator succeeds. */
async function waitReady(dir: string, adminPassword: string, exitInfo: () => string | undefined): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastBindError = '';
  let closed: number[] = [...READY_PORTS];
  for (;;) {
    const exit = exitInfo();
    if (exit !== undefined) throw new Error(`samba exited at start (${exit}):\n${logTailOf(dir)}`);
    if (Date.now() > deadline) {
      const why = closed.length > 0 ? `ports ${closed.join(', ')} closed` : `LDAP bind as Administrator failing: ${lastBindError}`;
      throw new Error(`samba was not ready within ${START_TIMEOUT_MS / 1000} s (${why}):\n${logTailOf(dir)}`);
    }
    const open = await Promise.all(READY_PORTS.map((p) => canConnect(p)));
    closed = READY_PORTS.filter((_p, i) => !open[i]);
    if (closed.length === 0) {
      const client = new Client({ url: `ldap://${SAMBA_HOST}`, connectTimeout: 2000, timeout: 5000 });
      try {
        await client.bind(ADMIN_DN, adminPassword);
        break;
      } catch (err) {
        lastBindError = (err as Error).message;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    }
    await sleep(50);
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

/** Attributes whose values are binary (base64 in ldapSearch results), in the server's spelling. */
const BINARY_ATTRIBUTES = [
  'objectGUID', 'objectSid', 'nTSecurityDescriptor', 'sIDHistory', 'tokenGroups', 'tokenGroupsGlobalAndUniversal', 'tokenGroupsNoGCAcceptable',
  'msDS-GenerationId', 'replPropertyMetaData', 'replUpToDateVector', 'repsFrom', 'repsTo', 'userCertificate', 'thumbnailPhoto', 'jpegPhoto',
  'unicodePwd', 'dBCSPwd', 'supplementalCredentials', 'ntPwdHistory', 'lmPwdHistory', 'logonHours', 'invocationId', 'schemaIDGUID',
  'attributeSecurityGUID', 'mS-DS-ConsistencyGuid', 'msDS-AllowedToActOnBehalfOfOtherIdentity', 'securityIdentifier', 'msDS-ManagedPasswordId',
  'dnsRecord', 'schemaInfo', 'prefixMap', 'msDS-ReplAttributeMetaData', 'userParameters',
];
const BINARY_LOWER = new Set(BINARY_ATTRIBUTES.map((a) => a.toLowerCase()));

function entryToRecord(entry: Entry): Record<string, string[]> {
  const record: Record<string, string[]> = { dn: [entry.dn] };
  for (const [name, raw] of Object.entries(entry)) {
    if (name === 'dn') continue;
    const values = Array.isArray(raw) ? raw : [raw];
    if (values.length === 0) continue; // requested, not there (ldapts lists it empty)
    record[name] = values.map((v) => (typeof v === 'string' ? v : BINARY_LOWER.has(name.toLowerCase()) || !isUtf8(v) ? v.toString('base64') : v.toString('utf8')));
  }
  return record;
}

function isUtf8(buffer: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(buffer);
    return true;
  } catch {
    return false;
  }
}

/** AD's "data" code in a bind error (80090308: LdapErr: …, data 52e, …). */
function bindResultOf(err: unknown): BindResult {
  const message = err instanceof Error ? err.message : String(err);
  const data = /data ([0-9a-f]{3})\b/i.exec(message)?.[1]?.toLowerCase();
  switch (data) {
    case '52e':
      return 'invalid-credentials';
    case '533':
      return 'disabled';
    case '773':
      return 'must-change';
    case '532':
    case '701':
      return 'expired';
    case '775':
      return 'locked';
    default:
      return `error: ${message}`;
  }
}

function makeDc(a: MakeDcArgs): SambaDc {
  const { dir, conf, meta, lock, server } = a;
  const { entry } = server;
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
        server.child.ref();
        await killDc(entry.pgids, conf, STOP_TIMEOUT_MS);
        // samba is our child: reaped by Node (not waited for long: its tasks are gone already).
        await Promise.race([server.exited, sleep(STOP_TIMEOUT_MS, undefined, { ref: false })]);
      } finally {
        running.delete(entry);
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

/** RFC 4515 escaping of a value in a search filter. */
function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

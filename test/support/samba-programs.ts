import { execFile, execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { findProgram } from './find-program.ts';

/**
 * The programs the Samba DC harness runs (samba, samba-tool, ldbadd, ldbsearch, flock, tar, openssl,
 * zstd): where they are, whether the harness can run here at all, and running them.
 */

const COMMAND_TIMEOUT_MS = 30 * 60_000;

export function program(name: string): string | undefined {
  return findProgram(name, ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin']);
}

export function requiredProgram(name: string): string {
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

export function run(file: string, args: readonly string[], what: string, options: RunOptions = {}): Promise<string> {
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

export function tail(text: string, max: number): string {
  return text.length <= max ? text : `…${text.slice(-max)}`;
}

export function secret(): string {
  // Samba's default complexity: 3 of upper, lower, digit, other; base64url gives the first three
  // (almost surely), the suffix makes it certain.
  return `${randomBytes(15).toString('base64url')}-Aa1`;
}

/** Tools' environment: no system Kerberos configuration or credential cache. */
export function toolEnv(dir: string): NodeJS.ProcessEnv {
  return { ...process.env, KRB5_CONFIG: join(dir, 'private', 'krb5.conf'), KRB5CCNAME: `FILE:${join(dir, 'krb5cc')}` };
}

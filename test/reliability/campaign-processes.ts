/**
 * The crash campaign's child processes: the HTTP tenant (`phsync tenant serve`), killed and started
 * again on the same port, and engine runs (`phsync sync`) killed at a chosen moment. Each child has a
 * watchdog that SIGKILLs it if the campaign process itself dies (native-bench/bench-support/proc.ts).
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { killWithUs } from '../../native-bench/bench-support/proc.ts';
import { PHSYNC_BIN } from '../support/run-cli.ts';

const TENANT_START_TIMEOUT_MS = 20_000;
const STDERR_KEEP = 16 * 1024;

export interface ProcessEnd {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface RunningCli {
  readonly child: ChildProcess;
  readonly done: Promise<ProcessEnd>;
  /** True until the process has exited. */
  alive(): boolean;
}

/** The real CLI (the pinned Node running bin/phsync.js), its output kept, a watchdog attached. */
export function spawnCli(args: readonly string[], env: NodeJS.ProcessEnv = process.env): RunningCli {
  const child = spawn(process.execPath, [PHSYNC_BIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const dismiss = child.pid === undefined ? () => undefined : killWithUs(child.pid, 'KILL');
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-STDERR_KEEP);
  });
  let exited = false;
  child.once('exit', () => {
    exited = true;
    dismiss();
  });
  const done = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, done, alive: () => !exited && child.exitCode === null && child.signalCode === null };
}

/** Sends `signal` if the process still runs; true when it was sent to a live process. */
export function signalIfAlive(cli: RunningCli, signal: NodeJS.Signals): boolean {
  if (!cli.alive()) return false;
  return cli.child.kill(signal);
}

/** `phsync tenant serve` over one SQLite file, on one port across restarts. */
export class TenantProcess {
  readonly #db: string;
  readonly #tokenFile: string;
  #listen = '127.0.0.1:0';
  #cli: RunningCli | undefined;
  #url: string | undefined;
  restarts = 0;

  constructor(db: string, tokenFile: string) {
    this.#db = db;
    this.#tokenFile = tokenFile;
  }

  get url(): string {
    if (this.#url === undefined) throw new Error('the tenant has not been started');
    return this.#url;
  }

  async start(): Promise<string> {
    if (this.#cli?.alive() === true) throw new Error('the tenant is already running');
    const cli = spawnCli(['tenant', 'serve', '--db', this.#db, '--listen', this.#listen, '--token-file', this.#tokenFile]);
    this.#cli = cli;
    let seen = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the tenant did not listen within ${TENANT_START_TIMEOUT_MS} ms: ${seen}`)), TENANT_START_TIMEOUT_MS);
      const onData = (d: string): void => {
        seen += d;
        const m = /tenant listening on (\S+)/.exec(seen);
        if (m?.[1] !== undefined) {
          clearTimeout(timer);
          cli.child.stderr!.off('data', onData);
          resolve(m[1]);
        }
      };
      cli.child.stderr!.on('data', onData);
      void cli.done.then((end) => {
        clearTimeout(timer);
        reject(new Error(`the tenant exited before listening (${end.signal ?? end.code}): ${end.stderr}`));
      });
    });
    // The same port on every restart: the engine keeps the URL it was started with.
    this.#listen = new URL(url).host;
    this.#url = url;
    return url;
  }

  /** SIGKILL, as a crash: nothing of the tenant's own shutdown runs. */
  async kill(): Promise<void> {
    const cli = this.#cli;
    if (cli === undefined) return;
    signalIfAlive(cli, 'SIGKILL');
    await cli.done;
  }

  /** SIGTERM, and SIGKILL if it has not exited within 5 s. */
  async stop(): Promise<void> {
    const cli = this.#cli;
    if (cli === undefined || !cli.alive()) return;
    cli.child.kill('SIGTERM');
    const timer = setTimeout(() => signalIfAlive(cli, 'SIGKILL'), 5000);
    try {
      await cli.done;
    } finally {
      clearTimeout(timer);
    }
  }
}

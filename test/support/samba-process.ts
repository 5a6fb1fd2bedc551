import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'ldapts';
import { canConnect as canConnectTo } from './can-connect.ts';
import type { HeldLock } from './samba-dc-lock.ts';
import { ADMIN_DN, SAMBA_HOST } from './samba-domain.ts';
import { dcProcesses, killDc, killQuietly, STOP_TIMEOUT_MS } from './samba-proc.ts';
import { requiredProgram, tail, toolEnv } from './samba-programs.ts';
import { ownedDirs } from './samba-temp-dirs.ts';

/** The samba process: started, waited for until ready, stopped (also at the test process's exit). */

const START_TIMEOUT_MS = 30_000;
/**
 * Ready when all accept connections (and an LDAP bind as Administrator succeeds): not only 135 and
 * 389, since smbd (445) and the KDC (88) may come up a little after them.
 */
export const READY_PORTS = [88, 135, 389, 445, 636, 3268] as const;

export function canConnect(port: number): Promise<boolean> {
  return canConnectTo(port, SAMBA_HOST);
}

// Exit hook: a DC still running when the test process exits is killed (the holder removes its dir).

interface Running {
  readonly pgids: number[];
  readonly conf: string;
  readonly dir: string;
  readonly lock: HeldLock;
}
const running = new Set<Running>();
let exitHookInstalled = false;
export function installExitHook(): void {
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

export interface SambaServer {
  readonly child: ChildProcess;
  readonly entry: Running;
  readonly exited: Promise<void>;
  readonly startMs: number;
}

export function logTailOf(dir: string, maxChars = 6000): string {
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
export async function spawnSamba(dir: string, conf: string, adminPassword: string, lock: HeldLock): Promise<SambaServer> {
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

/** Kills samba (its process groups) and waits for it; it no longer counts as running (exit hook). */
export async function stopSamba(server: SambaServer, conf: string): Promise<void> {
  try {
    server.child.ref();
    await killDc(server.entry.pgids, conf, STOP_TIMEOUT_MS);
    // samba is our child: reaped by Node (not waited for long: its tasks are gone already).
    await Promise.race([server.exited, sleep(STOP_TIMEOUT_MS, undefined, { ref: false })]);
  } finally {
    running.delete(server.entry);
  }
}

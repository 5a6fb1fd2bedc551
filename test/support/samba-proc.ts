import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A DC's processes, found through /proc (by process group, or by smb.conf), and killing them. */

export const STOP_TIMEOUT_MS = 15_000;

export interface ProcInfo {
  readonly pid: number;
  readonly pgid: number;
  readonly zombie: boolean;
}

export function procInfo(pid: number): ProcInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { pid, pgid: Number(fields[2]), zombie: fields[0] === 'Z' || fields[0] === 'X' };
  } catch {
    return undefined;
  }
}

export function cmdline(pid: number): string[] {
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
export function dcProcesses(pgids: readonly number[], conf: string | undefined): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const pid of allPids()) {
    const info = procInfo(pid);
    if (info === undefined || info.zombie) continue;
    if (pgids.includes(info.pgid) || (conf !== undefined && cmdline(pid).includes(`--configfile=${conf}`))) found.push(info);
  }
  return found;
}

export function killQuietly(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // gone already
  }
}

/** SIGKILLs the groups and the smb.conf's processes, and waits until none is left. */
export async function killDc(pgids: readonly number[], conf: string | undefined, timeoutMs: number): Promise<void> {
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

/**
 * Measuring processes on Linux through /proc: CPU time (utime + stime), peak RSS (VmHWM), the
 * machine's busy time, and running a child process with its exact CPU time.
 *
 * A child's exact CPU time: when the kernel reaps a child, its CPU time (and that of the children it
 * reaped) is added to the parent's cutime/cstime. libuv reaps a child before Node emits 'exit', so
 * the change of this process's cutime + cstime across a child's life is that child's CPU time, as
 * long as no other child of this process ends meanwhile (the benches make sure of that; the last
 * /proc/PID/stat poll is kept as a cross-check).
 */
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { TENANT_THREAD_NAME } from '../../src/target/sqlite-target.ts';

export interface ProcStat {
  readonly pid: number;
  readonly comm: string;
  readonly state: string;
  readonly ppid: number;
  /** Clock ticks (see clockTicks()). */
  readonly utime: number;
  readonly stime: number;
  /** Reaped children's time, in clock ticks. */
  readonly cutime: number;
  readonly cstime: number;
}

/**
 * /proc/PID/stat. The command name is in parentheses and may itself contain spaces and
 * parentheses, so the fields are counted from the last ')'.
 */
export function parseProcStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${text.slice(0, 80)}`);
  const fields = text.slice(close + 1).trim().split(/\s+/);
  // fields[0] is field 3 of proc(5) (state): field n is fields[n - 3].
  const num = (n: number): number => {
    const v = Number(fields[n - 3]);
    if (!Number.isFinite(v)) throw new Error(`/proc/PID/stat field ${n} is not a number: ${fields[n - 3]}`);
    return v;
  };
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), state: fields[0] ?? '?', ppid: num(4), utime: num(14), stime: num(15), cutime: num(16), cstime: num(17) };
}

/** A /proc/PID/status field in kB (VmHWM: peak RSS, VmRSS: current), or undefined. */
export function parseStatusKiB(text: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s*kB`, 'm').exec(text);
  return m?.[1] === undefined ? undefined : Number(m[1]);
}

export interface CpuTimes {
  /** Ticks spent on anything but idle and iowait, summed over all CPUs. */
  readonly busy: number;
  readonly total: number;
}

/** The aggregate "cpu" line of /proc/stat (user nice system idle iowait irq softirq steal; guest is already in user). */
export function parseProcStatCpu(text: string): CpuTimes {
  const line = /^cpu\s+(.*)$/m.exec(text)?.[1];
  if (line === undefined) throw new Error('no aggregate cpu line in /proc/stat');
  const v = line.trim().split(/\s+/).map(Number);
  const total = v.slice(0, 8).reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

let ticks: number | undefined;
/** Clock ticks per second (CLK_TCK), 100 when getconf is missing. */
export function clockTicks(): number {
  if (ticks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    const n = Number(r.stdout?.trim());
    ticks = r.status === 0 && Number.isSafeInteger(n) && n > 0 ? n : 100;
  }
  return ticks;
}

export function readProcStat(pid: number | 'self'): ProcStat | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** utime + stime of a process, in seconds; undefined once it is gone. */
export function cpuSeconds(pid: number | 'self'): number | undefined {
  const s = readProcStat(pid);
  return s === undefined ? undefined : (s.utime + s.stime) / clockTicks();
}

/** This process's reaped children's CPU (cutime + cstime), in seconds. */
export function reapedChildrenCpuSeconds(): number {
  const hz = clockTicks(); // first: getconf is a child too, and must be reaped before the read
  const s = readProcStat('self');
  return s === undefined ? 0 : (s.cutime + s.cstime) / hz;
}

export function peakRssKiB(pid: number): number | undefined {
  try {
    return parseStatusKiB(readFileSync(`/proc/${pid}/status`, 'utf8'), 'VmHWM');
  } catch {
    return undefined;
  }
}

export function machineCpuTimes(): CpuTimes | undefined {
  try {
    return parseProcStatCpu(readFileSync('/proc/stat', 'utf8'));
  } catch {
    return undefined;
  }
}

/** Processes whose parent is `ppid` (and whose command name is `comm`, if given). */
export function childPids(ppid: number, comm?: string): number[] {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    const s = readProcStat(Number(e));
    if (s !== undefined && s.ppid === ppid && (comm === undefined || s.comm === comm)) pids.push(s.pid);
  }
  return pids;
}

/**
 * A shell that kills `pid` if this process dies without doing so (SIGKILL, a crash): it blocks
 * reading a pipe from us, which closes only when we are gone. Returns the function that dismisses it.
 */
export function killWithUs(pid: number, signal: 'TERM' | 'KILL' = 'TERM'): () => void {
  const script = signal === 'TERM' ? `read _x; kill -TERM ${pid} 2>/dev/null; sleep 5; kill -KILL ${pid} 2>/dev/null` : `read _x; kill -KILL ${pid} 2>/dev/null`;
  const watchdog = spawn('/bin/sh', ['-c', script], { stdio: ['pipe', 'ignore', 'ignore'] });
  watchdog.on('error', () => undefined);
  watchdog.stdin.on('error', () => undefined);
  watchdog.unref();
  (watchdog.stdin as unknown as { unref?: () => void }).unref?.();
  return () => {
    if (watchdog.exitCode === null && watchdog.signalCode === null) watchdog.kill('SIGKILL');
  };
}

/**
 * CPU seconds of a process's threads by kind, from /proc/PID/task/TID/stat: Node names its main
 * thread "MainThread", worker_threads "WorkerThread" (the engine's hash workers) unless they are given
 * a name (the embedded tenant's thread is TENANT_THREAD_NAME), and V8's helpers (parallel and
 * concurrent GC, compilers) "V8Worker"; libuv's pool is "libuv-worker".
 */
export interface ThreadCpu {
  readonly main: number;
  readonly workers: number;
  readonly tenant: number;
  readonly v8Helpers: number;
  readonly other: number;
}

/** The kind of a thread by its /proc name (see ThreadCpu). */
export function threadKind(comm: string): keyof ThreadCpu {
  if (comm === 'MainThread') return 'main';
  if (comm === 'WorkerThread') return 'workers';
  if (comm === TENANT_THREAD_NAME) return 'tenant';
  if (comm === 'V8Worker') return 'v8Helpers';
  return 'other';
}

/** Every thread's name and CPU ticks now; an empty map when the process is gone. */
export function readThreadTicks(pid: number): Map<number, { comm: string; ticks: number }> {
  const threads = new Map<number, { comm: string; ticks: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return threads;
  }
  for (const tid of tids) {
    try {
      const stat = parseProcStat(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
      threads.set(Number(tid), { comm: stat.comm, ticks: stat.utime + stat.stime });
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return threads;
}

/** Sums threads' last seen ticks by kind, in seconds. */
export function threadCpu(threads: ReadonlyMap<number, { comm: string; ticks: number }>): ThreadCpu {
  const sums = { main: 0, workers: 0, tenant: 0, v8Helpers: 0, other: 0 };
  for (const { comm, ticks } of threads.values()) sums[threadKind(comm)] += ticks / clockTicks();
  return sums;
}

export interface MeasuredRun {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallSeconds: number;
  /** From this process's cutime + cstime across the child's life (exact, see the module comment). */
  readonly cpuSeconds: number;
  /** The last /proc/PID/stat poll before the child ended (a lower bound; cross-check). */
  readonly cpuSecondsLastPoll: number | undefined;
  /** VmHWM at the last poll, in KiB (undefined if the child ended before the first). */
  readonly peakRssKiB: number | undefined;
  /**
   * Per kind of thread, each thread's CPU at the last poll that saw it (lower bounds: up to one poll
   * interval of each thread's last work is missing). Undefined if no poll saw the child.
   */
  readonly threadCpuSeconds: ThreadCpu | undefined;
}

export interface MeasuredChild {
  readonly child: ChildProcess;
  readonly done: Promise<MeasuredRun>;
}

/**
 * Starts `file args` with stdout and stderr collected, polls its /proc entries every `pollMs`, and
 * resolves when it has ended (not rejecting on a non-zero exit: the caller decides).
 */
export function runMeasured(file: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; pollMs?: number; onStderr?: (chunk: string) => void } = {}): MeasuredChild {
  const pollMs = options.pollMs ?? 100;
  const childCpuBefore = reapedChildrenCpuSeconds();
  const start = performance.now();
  const child = spawn(file, args, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
  const dismissWatchdog = child.pid === undefined ? () => undefined : killWithUs(child.pid);
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
    options.onStderr?.(d);
  });
  let lastCpu: number | undefined;
  let peak: number | undefined;
  // Threads by id, kept after they end (a worker that exits early still counts).
  const threads = new Map<number, { comm: string; ticks: number }>();
  const poll = (): void => {
    if (child.pid === undefined) return;
    const cpu = cpuSeconds(child.pid);
    const hwm = peakRssKiB(child.pid);
    if (cpu !== undefined) lastCpu = cpu;
    if (hwm !== undefined) peak = Math.max(peak ?? 0, hwm);
    for (const [tid, t] of readThreadTicks(child.pid)) threads.set(tid, t);
  };
  const timer = setInterval(poll, pollMs);
  let exited: { code: number | null; signal: NodeJS.Signals | null; wallSeconds: number; cpuSeconds: number } | undefined;
  child.once('exit', (code, signal) => {
    // Reaped just now: its time is in our cutime/cstime.
    exited = { code, signal, wallSeconds: (performance.now() - start) / 1000, cpuSeconds: reapedChildrenCpuSeconds() - childCpuBefore };
    clearInterval(timer);
    dismissWatchdog();
  });
  const done = new Promise<MeasuredRun>((resolve, reject) => {
    child.once('error', (err) => {
      clearInterval(timer);
      dismissWatchdog();
      reject(err);
    });
    // 'close': the exit happened and stdout/stderr are fully read.
    child.once('close', () => {
      const e = exited!;
      resolve({ code: e.code, signal: e.signal, stdout, stderr, wallSeconds: e.wallSeconds, cpuSeconds: e.cpuSeconds, cpuSecondsLastPoll: lastCpu, peakRssKiB: peak, threadCpuSeconds: threads.size === 0 ? undefined : threadCpu(threads) });
    });
  });
  return { child, done };
}

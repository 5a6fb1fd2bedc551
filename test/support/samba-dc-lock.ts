import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { requiredProgram, tail } from './samba-programs.ts';
import { cmdline, dcProcesses, killDc, STOP_TIMEOUT_MS } from './samba-proc.ts';
import { DC_DIR_PREFIX } from './samba-temp-dirs.ts';

// The machine-wide lock (one DC per machine), and the cache archives' build locks.

export const SAMBA_LOCK_FILE = join(tmpdir(), 'phsync-samba-dc.lock');

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
export class HeldLock {
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

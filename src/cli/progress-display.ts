/**
 * A one-line status of the run in progress on stderr, when stderr is a terminal:
 *
 *   ldap: 12,345 of ~100,000 users (12%) · 8,123 users/s · ETA 0:11 · synced 12,000 · 3 failed
 *
 * Fed by the engine's events (runStart, runProgress, runFinish on node:diagnostics_channel), so the
 * engine knows nothing of it. The line is redrawn in place (`\r` and erase-to-end-of-line) at most
 * every intervalMs, by the progress events and by a timer (unref'ed: it never keeps the process
 * alive) that keeps the rate and the ETA moving while the run waits. The rate is taken over the last
 * ~5 s, so it reacts when the run speeds up or stalls. At the end of a run the line is erased: the
 * CLI prints its own summary.
 *
 * Log lines must not land in the middle of the status line: wire the logger's line hooks to clear()
 * and redraw() (`setLineHooks({ before: () => display.clear(), after: () => display.redraw() })`).
 */
import { subscribe } from '../observe/engine-events.ts';
import type { RunProgressEvent, RunStartEvent } from '../observe/engine-events.ts';
import { total } from '../pipeline/sync-counts.ts';

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): unknown;
}

export interface ProgressOptions {
  /** Least time between two draws of the line; default 250 ms. */
  readonly intervalMs?: number;
  /** Milliseconds on a monotonic clock; default performance.now(). */
  readonly now?: () => number;
}

export interface ProgressState {
  readonly source: string;
  readonly scanned: number;
  readonly synced: number;
  /** Users failed, all codes together. */
  readonly failed: number;
  /** The users the run is expected to scan (the last full run's count), when known. */
  readonly expected: number | undefined;
  /** Time since the run started (not shown: the rate and the ETA say more). */
  readonly elapsedMs: number;
  /** Users scanned per second, recently. */
  readonly usersPerSecond: number;
}

const DEFAULT_INTERVAL_MS = 250;
const DEFAULT_COLUMNS = 80;
/** The rate is measured over about this long. */
const RATE_WINDOW_MS = 5000;
const ERASE_LINE = '\r\x1b[K';
const SEPARATOR = ' · ';
const ELLIPSIS = '…';

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

/** The status line, at most `columns` characters long (cut, ending in …, when longer). */
export function formatProgress(state: ProgressState, columns: number): string {
  const { source, scanned, synced, failed, expected, usersPerSecond } = state;
  const known = expected !== undefined && expected > 0;
  const parts = [
    known
      ? `${source}: ${integer.format(scanned)} of ~${integer.format(expected)} users (${Math.floor((scanned * 100) / expected)}%)`
      : `${source}: ${integer.format(scanned)} users`,
    `${integer.format(usersPerSecond)} users/s`,
  ];
  if (known && scanned <= expected && usersPerSecond > 0) parts.push(`ETA ${formatEta(Math.ceil((expected - scanned) / usersPerSecond))}`);
  parts.push(`synced ${integer.format(synced)}`);
  if (failed > 0) parts.push(`${integer.format(failed)} failed`);
  return truncate(parts.join(SEPARATOR), columns);
}

/** m:ss, or h:mm:ss from an hour on. */
function formatEta(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = String(seconds % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

function truncate(line: string, columns: number): string {
  const chars = [...line];
  if (chars.length <= columns) return line;
  if (columns <= 0) return '';
  return chars.slice(0, columns - 1).join('') + ELLIPSIS;
}

interface Sample {
  readonly at: number;
  readonly scanned: number;
}

interface RunState {
  readonly runId: number;
  readonly source: string;
  readonly expected: number | undefined;
  readonly startedAt: number;
  scanned: number;
  synced: number;
  failed: number;
  /** (time, scanned) at each draw, oldest first, the first at or before the window's start. */
  readonly samples: Sample[];
}

export class ProgressDisplay implements Disposable {
  readonly #stream: ProgressStream;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #unsubscribe: (() => void)[];
  #run: RunState | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Whether the status line is on the screen (so there is something to erase). */
  #visible = false;
  #lastDrawAt = Number.NEGATIVE_INFINITY;
  #closed = false;

  /** undefined when the stream is not a TTY: then nothing is ever written. */
  static start(stream: ProgressStream, options: ProgressOptions = {}): ProgressDisplay | undefined {
    if (stream.isTTY !== true) return undefined;
    return new ProgressDisplay(stream, options);
  }

  private constructor(stream: ProgressStream, options: ProgressOptions) {
    this.#stream = stream;
    this.#intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
    this.#now = options.now ?? (() => performance.now());
    this.#unsubscribe = [
      subscribe('runStart', (event) => this.#onStart(event)),
      subscribe('runProgress', (event) => this.#onProgress(event)),
      subscribe('runFinish', () => this.#onFinish()),
    ];
  }

  /** Erases the status line (before a log line). */
  clear(): void {
    if (!this.#visible) return;
    this.#stream.write(ERASE_LINE);
    this.#visible = false;
  }

  /** Draws the status line again (after a log line), when a run is in progress. */
  redraw(): void {
    if (this.#closed || this.#run === undefined) return;
    this.#write(this.#run, this.#now());
  }

  /** Unsubscribes, stops the timer and erases the line; idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const unsubscribe of this.#unsubscribe) unsubscribe();
    this.#stopTimer();
    this.#run = undefined;
    this.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #onStart(event: RunStartEvent): void {
    const now = this.#now();
    this.#run = { runId: event.runId, source: event.source, expected: event.expectedUsers, startedAt: now, scanned: 0, synced: 0, failed: 0, samples: [] };
    this.#draw(this.#run, now);
    this.#stopTimer();
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
    this.#timer.unref();
  }

  #onProgress(event: RunProgressEvent): void {
    // Only the run whose start was seen: not one started before the display, nor anything between runs.
    const run = this.#run;
    if (run === undefined || run.source !== event.source || run.runId !== event.runId) return;
    const now = this.#now();
    // The counts are a live object: read now, never kept.
    run.scanned = event.counts.scanned;
    run.synced = event.counts.synced;
    run.failed = total(event.counts.failed);
    if (now - this.#lastDrawAt >= this.#intervalMs) this.#draw(run, now);
  }

  #onFinish(): void {
    this.#stopTimer();
    this.#run = undefined;
    this.clear();
  }

  #tick(): void {
    const run = this.#run;
    if (run === undefined) return;
    const now = this.#now();
    if (now - this.#lastDrawAt >= this.#intervalMs) this.#draw(run, now);
  }

  /** A timed draw: takes a sample for the rate, then writes the line. */
  #draw(run: RunState, now: number): void {
    const samples = run.samples;
    samples.push({ at: now, scanned: run.scanned });
    while (samples.length > 2 && samples[1]!.at <= now - RATE_WINDOW_MS) samples.shift();
    this.#lastDrawAt = now;
    this.#write(run, now);
  }

  #write(run: RunState, now: number): void {
    const base = run.samples[0];
    const span = base === undefined ? 0 : now - base.at;
    const usersPerSecond = base !== undefined && span > 0 ? ((run.scanned - base.scanned) * 1000) / span : 0;
    // A terminal that reports no size (0 columns: a pty nobody sized, a serial console) gets the default.
    const reported = this.#stream.columns ?? 0;
    const columns = reported > 0 ? reported : DEFAULT_COLUMNS;
    const line = formatProgress(
      { source: run.source, scanned: run.scanned, synced: run.synced, failed: run.failed, expected: run.expected, elapsedMs: now - run.startedAt, usersPerSecond: Math.max(0, usersPerSecond) },
      // One column short of the width: a line filling the last column wraps on some terminals.
      Math.max(1, columns - 1),
    );
    this.#stream.write(ERASE_LINE + line);
    this.#visible = true;
  }

  #stopTimer(): void {
    if (this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

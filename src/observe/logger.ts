/**
 * The process's logger: pino, writing synchronously, in one of two formats.
 *
 * - text (the default, for people): `phsync: <msg>`, debug lines `phsync: debug: <msg>`. Fields are
 *   not printed: a message must say everything a person needs on its own; fields are for machines.
 * - json: pino's own NDJSON (`level` as a number, `time` in epoch ms, `pid`, the fields, `msg`).
 *
 * Secrets are kept out twice: by key (pino's redact: password, token, ... at the top level and one
 * level down) and by value (addSecret: every occurrence in the finished line, whatever the key or the
 * message it hides in). Lines are written synchronously, so a line logged just before the process
 * exits is never lost, and line hooks run around each one (the progress display clears its status
 * line before and redraws it after).
 *
 * Usage: call log() where you log (`log().warn('...')`), do not keep the logger from module load:
 * configureLogging() replaces it, and a kept logger (or a child made from it) keeps the old level,
 * format and sink.
 */
import { writeSync } from 'node:fs';
import { pino } from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { REDACTED, SecretRedactor } from './redact-secrets.ts';
import type { LineForm } from './redact-secrets.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';
export type LogFormat = 'text' | 'json';

export interface LogSink {
  write(line: string): unknown;
}

export interface LogOptions {
  readonly level?: LogLevel;
  readonly format?: LogFormat;
  /** Where lines go; default process.stderr (written with a synchronous write to fd 2). */
  readonly sink?: LogSink;
}

export interface LineHooks {
  before(): void;
  after(): void;
}

const PREFIX = 'phsync: ';
const DEBUG_LEVEL = 20;

/** Keys whose values never reach a line, at the top level and one level down (`{ bind: { password } }`). */
const SECRET_KEYS = ['password', 'bindPassword', 'token', 'authorization', 'ntHash', 'credential', 'secret'];
const REDACT_PATHS = [...SECRET_KEYS, ...SECRET_KEYS.map((key) => `*.${key}`)];

const secrets = new SecretRedactor();
let hooks: LineHooks | undefined;
let current: Logger = createLogger({});
let currentFormat: LogFormat = 'text';

export function configureLogging(options: LogOptions): void {
  current = createLogger(options);
  currentFormat = options.format ?? 'text';
}

/** The format configured last ('text' before configureLogging). */
export function logFormat(): LogFormat {
  return currentFormat;
}

/** The process's logger; before configureLogging: level info, text, stderr. */
export function log(): Logger {
  return current;
}

/**
 * From now on every line has each occurrence of `value` replaced by [REDACTED], as written and
 * JSON-escaped. Any non-empty value counts, however short: a very short secret also redacts the same
 * characters wherever they appear in innocent text.
 */
export function addSecret(value: string): void {
  secrets.add(value);
}

/** Called around every line written (not around lines the level filters out); undefined removes them. */
export function setLineHooks(next: LineHooks | undefined): void {
  hooks = next;
}

function createLogger(options: LogOptions): Logger {
  const format = options.format ?? 'text';
  const sink = options.sink ?? process.stderr;
  const write = sink === process.stderr ? writeStderr : (line: string): void => void sink.write(line);
  const destination: DestinationStream = {
    write(line: string): void {
      const out = format === 'text' ? textLine(line) : line;
      emit(secrets.redact(out, format satisfies LineForm), write);
    },
  };
  return pino(
    {
      level: options.level ?? 'info',
      base: format === 'json' ? { pid: process.pid } : null,
      redact: { paths: REDACT_PATHS, censor: REDACTED },
    },
    destination,
  );
}

function emit(line: string, write: (line: string) => void): void {
  const around = hooks;
  if (around === undefined) {
    write(line);
    return;
  }
  around.before();
  try {
    write(line);
  } finally {
    around.after();
  }
}

/** pino's JSON line as a line for people: the message only. */
function textLine(json: string): string {
  let record: { level?: unknown; msg?: unknown };
  try {
    record = JSON.parse(json) as typeof record;
  } catch {
    return json;
  }
  const msg = record.msg === undefined ? '' : String(record.msg);
  const debug = typeof record.level === 'number' && record.level <= DEBUG_LEVEL;
  return `${PREFIX}${debug ? 'debug: ' : ''}${msg}\n`;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes the whole line to fd 2 before returning: process.stderr may be asynchronous (a pipe on some
 * platforms) and a line written just before process.exit() would be lost. A non-blocking fd that is
 * full (EAGAIN) is retried after a millisecond; a closed one (EPIPE, EBADF) drops the line, since
 * logging must never take the process down.
 */
function writeStderr(line: string): void {
  let bytes = Buffer.from(line, 'utf8');
  while (bytes.length > 0) {
    try {
      bytes = bytes.subarray(writeSync(2, bytes));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EAGAIN') return;
      Atomics.wait(pause, 0, 0, 1);
    }
  }
}

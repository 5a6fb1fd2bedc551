/**
 * What the benches share in reading their command line and in running phsync's executable.
 */
import { delimiter, dirname } from 'node:path';

/** A positive number from an option's text (an integer unless `integer` is false), or a named error. */
export function positive(name: string, raw: string, integer = true): number {
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isSafeInteger(n))) throw new Error(`--${name} must be a positive ${integer ? 'integer' : 'number'}, got ${raw}`);
  return n;
}

/**
 * The environment to run bin/phsync.js as installed: its shebang says `node`, and this Node (the
 * project's pinned one when run through npm) must be the one found first on the PATH.
 */
export function phsyncEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  return { ...process.env, PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`, ...extra };
}

/**
 * What an HIBP import reads: one full file (`HASH:COUNT` lines), or a directory of range files
 * `XXXXX.txt` as the official haveibeenpwned-downloader writes them, in prefix order. The fingerprint
 * (names, sizes, modification times) is what a checkpoint is valid for: any change restarts the import.
 */
import { createHash } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import type { Stats } from 'node:fs';
import { join, resolve } from 'node:path';
import { PhsyncError } from '../errors.ts';

export interface HibpInputFile {
  readonly path: string;
  /** A range file's 5 hex digits (upper case); undefined for a full file. */
  readonly prefix: string | undefined;
  readonly size: number;
}

export interface HibpInputs {
  readonly input: string;
  readonly files: readonly HibpInputFile[];
  readonly bytesTotal: number;
  readonly fingerprint: string;
  /** Directory entries that are not range files, left out. */
  readonly ignored: readonly string[];
}

const RANGE_FILE = /^([0-9a-f]{5})\.txt$/iu;

export function listHibpInputs(input: string): HibpInputs {
  const path = resolve(input);
  const stat = statOrThrow(path);
  const fingerprint = createHash('sha256');
  const files: HibpInputFile[] = [];
  const ignored: string[] = [];
  const addFile = (file: string, prefix: string | undefined, s: Stats): void => {
    files.push({ path: file, prefix, size: s.size });
    fingerprint.update(`${file}\0${s.size}\0${s.mtimeMs}\n`);
  };
  if (stat.isFile()) {
    addFile(path, undefined, stat);
  } else if (stat.isDirectory()) {
    const names = readdirSync(path).sort((a, b) => (a.toUpperCase() < b.toUpperCase() ? -1 : a.toUpperCase() > b.toUpperCase() ? 1 : 0));
    for (const name of names) {
      const match = RANGE_FILE.exec(name);
      const file = join(path, name);
      const s = match === null ? undefined : statOrThrow(file);
      if (match === null || s === undefined || !s.isFile()) ignored.push(name);
      else addFile(file, match[1]!.toUpperCase(), s);
    }
    if (files.length === 0) throw new PhsyncError('LEAKED_INPUT_EMPTY', `--hibp ${input}: the directory has no range files (XXXXX.txt, five hex digits)`);
  } else {
    throw new PhsyncError('LEAKED_INPUT_NOT_FOUND', `--hibp ${input}: not a file or directory`);
  }
  return { input: path, files, bytesTotal: files.reduce((sum, f) => sum + f.size, 0), fingerprint: fingerprint.digest('hex'), ignored };
}

function statOrThrow(path: string): Stats {
  try {
    return statSync(path);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file or directory' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new PhsyncError('LEAKED_INPUT_NOT_FOUND', `--hibp ${path}: ${why}`, { cause: err });
  }
}

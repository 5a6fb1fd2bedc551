/**
 * An HIBP import's checkpoint, `checkpoint.json` in its work directory: how far the import got, and
 * the state that goes with exactly that point (the bucket files' lengths, the counters). It is
 * replaced atomically (temp file, rename), so a kill at any instant leaves the old or the new one. A
 * durable checkpoint is also fsynced first (~5 ms here): against a power loss, which a kill is not.
 */
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { join } from 'node:path';

export interface MalformedSample {
  readonly file: string;
  readonly line: number;
  readonly reason: string;
}

export interface ImportCheckpoint {
  readonly version: 1;
  /** What the checkpoint is valid for: the same input, unchanged (listHibpInputs' fingerprint), into the same store. */
  readonly input: string;
  readonly storePath: string;
  readonly fingerprint: string;
  readonly phase: 'reading' | 'writing';
  /** Reading: the next input file, the offset of its first unparsed line, that line's number. */
  readonly fileIndex: number;
  readonly offset: number;
  readonly line: number;
  readonly skippingLine: boolean;
  readonly bucketLengths: readonly number[];
  readonly bytesRead: number;
  readonly lines: number;
  readonly malformed: number;
  readonly malformedSamples: readonly MalformedSample[];
  /** Writing: buckets written to the partial store, and what they held. */
  readonly bucketsDone: number;
  readonly hashesWritten: number;
  readonly duplicatesMerged: number;
}

const NAME = 'checkpoint.json';

/** The checkpoint in `workDir`, undefined when there is none; a string says why one is unusable. */
export function readCheckpoint(workDir: string): ImportCheckpoint | string | undefined {
  let text: string;
  try {
    text = readFileSync(join(workDir, NAME), 'utf8');
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined;
    return `cannot read ${join(workDir, NAME)} (${String((err as { code?: unknown }).code ?? err)})`;
  }
  try {
    const value = JSON.parse(text) as Partial<ImportCheckpoint>;
    if (value.version !== 1 || (value.phase !== 'reading' && value.phase !== 'writing') || !Array.isArray(value.bucketLengths)) return `${join(workDir, NAME)} is not a checkpoint this phsync writes`;
    return value as ImportCheckpoint;
  } catch {
    return `${join(workDir, NAME)} is not valid JSON`;
  }
}

export function writeCheckpoint(workDir: string, checkpoint: ImportCheckpoint, durable: boolean): void {
  const path = join(workDir, NAME);
  const temp = `${path}.tmp`;
  const fd = openSync(temp, 'w', 0o600);
  try {
    writeSync(fd, JSON.stringify(checkpoint));
    if (durable) fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, path);
}

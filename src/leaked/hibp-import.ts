/**
 * Imports Have I Been Pwned's Pwned Passwords NTLM list (one file, or a directory of range files)
 * into a leaked-hash store, in bounded memory and resumably:
 *
 * 1. reading: every valid line goes to one of 256 bucket files by its hash's first byte
 *    (bucket-spill.ts), in any input order; ~16 MiB of buffers and two read buffers, whatever the input.
 * 2. sorting and writing: bucket by bucket (each ~1/256 of the input), sorted in memory with
 *    duplicates merged (bucket-sort.ts), appended to `<store>.partial`; each bucket file is deleted
 *    once written, so the disk holds about the spill plus the store at most.
 * 3. the index and header, then the partial store is renamed over the store: readers see the old
 *    store or the complete new one, never a half-written one. The work directory is removed.
 *
 * A checkpoint (import-checkpoint.ts) is written every checkpointEveryBytes of input, at the end of
 * reading and after each bucket; an import killed at any instant and started again with the same
 * arguments goes on from the last one. Input that changed since (names, sizes, modification times)
 * starts over, with a warning. Files are created 0600, directories 0700.
 */
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { PhsyncError } from '../errors.ts';
import { log } from '../observe/logger.ts';
import { BUCKETS, BucketSpill, bucketPath } from './bucket-spill.ts';
import { BucketSorter } from './bucket-sort.ts';
import { HibpLineParser } from './hibp-line-parser.ts';
import { listHibpInputs } from './hibp-inputs.ts';
import type { HibpInputs } from './hibp-inputs.ts';
import { readCheckpoint, writeCheckpoint } from './import-checkpoint.ts';
import type { ImportCheckpoint, MalformedSample } from './import-checkpoint.ts';
import { lockWorkDir } from './import-lock.ts';
import { MAX_HASHES } from './leaked-store-format.ts';
import { readBuffers, readInputFile } from './read-input-file.ts';
import { StoreWriter, partialStorePath, partialStoreProblem } from './store-writer.ts';

export interface ImportProgress {
  readonly bytesRead: number;
  readonly bytesTotal: number;
  readonly hashes: number;
  readonly phase: 'reading' | 'sorting' | 'writing';
}

export interface ImportSummary {
  /** Input files. */
  readonly inputs: number;
  readonly lines: number;
  /** Distinct hashes, in the store. */
  readonly hashes: number;
  readonly duplicatesMerged: number;
  readonly malformed: number;
  /** The first 20. */
  readonly malformedSamples: readonly MalformedSample[];
  readonly bytesRead: number;
  readonly seconds: number;
  readonly resumed: boolean;
  readonly storeBytes: number;
}

export interface ImportOptions {
  /** A file of `HASH:COUNT` lines, or a directory of range files `XXXXX.txt`. */
  readonly input: string;
  readonly storePath: string;
  /** Default: storePath + '.import'. */
  readonly workDir?: string;
  /** Called after every read chunk and bucket: throttle before printing. */
  readonly onProgress?: (p: ImportProgress) => void;
  /** Stops at the next chunk or bucket, after a checkpoint: the import rejects with LEAKED_IMPORT_INTERRUPTED and can be resumed. */
  readonly signal?: AbortSignal;
  /** Where warnings go (input changed since the checkpoint, entries ignored); default: the log. */
  readonly onWarning?: (message: string) => void;
  /** Input bytes between checkpoints while reading; default 256 MiB (a kill loses at most that much reading). */
  readonly checkpointEveryBytes?: number;
}

const MAX_SAMPLES = 20;
const DEFAULT_CHECKPOINT_BYTES = 256 * 1024 * 1024;
const READ_CHUNK_BYTES = 4 * 1024 * 1024;
const CHECKPOINT_EVERY_MS = 1000;
const DURABLE_EVERY_MS = 5000;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type State = Mutable<Omit<ImportCheckpoint, 'malformedSamples' | 'bucketLengths'>> & { malformedSamples: MalformedSample[]; bucketLengths: number[] };

export async function importHibp(options: ImportOptions): Promise<ImportSummary> {
  const started = performance.now();
  const storePath = resolve(options.storePath);
  const workDir = resolve(options.workDir ?? `${storePath}.import`);
  const warn = options.onWarning ?? ((message: string): void => void log().warn(`warning: ${message}`));
  const checkpointEvery = Math.max(1, options.checkpointEveryBytes ?? DEFAULT_CHECKPOINT_BYTES);
  const inputs = listHibpInputs(options.input);
  if (inputs.ignored.length > 0) warn(`${inputs.input}: ${inputs.ignored.length} entries that are not range files (XXXXX.txt) are left out, e.g. ${inputs.ignored[0]}`);
  mkdirSync(workDir, { recursive: true, mode: 0o700 });
  const lock = lockWorkDir(workDir);
  try {
    const resumeFrom = resumePoint(workDir, storePath, inputs, warn);
    if (resumeFrom === undefined) clearWork(workDir, storePath);
    const state: State = resumeFrom === undefined ? freshState(storePath, inputs) : { ...resumeFrom, malformedSamples: [...resumeFrom.malformedSamples], bucketLengths: [...resumeFrom.bucketLengths] };
    const progress = (phase: ImportProgress['phase'], hashes: number): void => options.onProgress?.({ bytesRead: state.bytesRead, bytesTotal: inputs.bytesTotal, hashes, phase });
    const interrupted = (): PhsyncError => new PhsyncError('LEAKED_IMPORT_INTERRUPTED', `import into ${storePath} interrupted (${state.phase}); run the same command again to resume`);

    if (state.phase === 'reading') {
      const spill = BucketSpill.open(workDir, state.bucketLengths);
      if (spill === undefined) throw new Error('bucket files shorter than the checkpoint'); // resumePoint checked them
      try {
        const complete = await readAll(inputs, state, spill, checkpointEvery, workDir, progress, options.signal);
        if (!complete) throw interrupted();
      } finally {
        spill.close();
      }
      if (state.bucketLengths.every((n) => n === 0)) {
        clearWork(workDir, storePath);
        rmSync(workDir, { recursive: true, force: true });
        const sample = state.malformedSamples[0];
        throw new PhsyncError('LEAKED_IMPORT_EMPTY', `${inputs.input}: no valid HASH:COUNT line in ${state.lines} lines (${state.malformed} malformed${sample === undefined ? '' : `, the first ${sample.file}:${sample.line}: ${sample.reason}`})`);
      }
      state.phase = 'writing';
      writeCheckpoint(workDir, state, true);
    }

    const storeBytes = await writeStore(state, storePath, workDir, progress, options.signal, interrupted);
    rmSync(workDir, { recursive: true, force: true });
    return {
      inputs: inputs.files.length,
      lines: state.lines,
      hashes: state.hashesWritten,
      duplicatesMerged: state.duplicatesMerged,
      malformed: state.malformed,
      malformedSamples: state.malformedSamples,
      bytesRead: state.bytesRead,
      seconds: (performance.now() - started) / 1000,
      resumed: resumeFrom !== undefined,
      storeBytes,
    };
  } finally {
    lock.release();
  }
}

/** Reads every input file from the checkpoint's position on; false when the signal stopped it. */
async function readAll(inputs: HibpInputs, state: State, spill: BucketSpill, checkpointEvery: number, workDir: string, progress: (phase: 'reading', hashes: number) => void, signal: AbortSignal | undefined): Promise<boolean> {
  let sinceCheckpoint = 0;
  const buffers = readBuffers(Math.min(READ_CHUNK_BYTES, checkpointEvery));
  const checkpoint = (): void => {
    spill.flush();
    state.bucketLengths = spill.lengths();
    writeCheckpoint(workDir, state, true);
    sinceCheckpoint = 0;
  };
  let bytesBefore = inputs.files.slice(0, state.fileIndex).reduce((sum, f) => sum + f.size, 0);
  for (; state.fileIndex < inputs.files.length; state.fileIndex++, state.offset = 0, state.line = 1, state.skippingLine = false) {
    const file = inputs.files[state.fileIndex]!;
    const linesBefore = state.lines - (state.line - 1);
    // Small files are read synchronously: let a signal in now and then.
    if (state.fileIndex % 64 === 63) await yieldToEventLoop();
    const parser = new HibpLineParser({
      prefix: file.prefix,
      sink: spill,
      from: { line: state.line, skipping: state.skippingLine },
      malformed: (line, reason) => {
        state.malformed++;
        if (state.malformedSamples.length < MAX_SAMPLES) state.malformedSamples.push({ file: file.path, line, reason });
      },
    });
    const complete = await readInputFile(file.path, file.size, state.offset, parser, buffers, ({ resumeOffset, bytes }) => {
      state.offset = resumeOffset;
      state.line = parser.position.line;
      state.skippingLine = parser.position.skipping;
      state.lines = linesBefore + state.line - 1;
      state.bytesRead = bytesBefore + resumeOffset;
      sinceCheckpoint += bytes;
      if (sinceCheckpoint >= checkpointEvery || signal?.aborted === true) checkpoint();
      progress('reading', spill.records);
      return signal?.aborted !== true;
    });
    if (!complete) return false;
    state.line = parser.position.line;
    state.lines = linesBefore + state.line - 1;
    bytesBefore += file.size;
    state.bytesRead = bytesBefore;
  }
  spill.flush();
  state.bucketLengths = spill.lengths();
  return true;
}

/** Sorts and writes the buckets from the checkpoint's on, then finishes the store; its size. */
async function writeStore(state: State, storePath: string, workDir: string, progress: (phase: 'sorting' | 'writing', hashes: number) => void, signal: AbortSignal | undefined, interrupted: () => PhsyncError): Promise<number> {
  const writer = StoreWriter.open(storePath, workDir, state.hashesWritten, state.bucketsDone);
  try {
    const sorter = new BucketSorter();
    const bucketCounts = new Uint32Array(256);
    // A checkpoint a second rather than a bucket (256 × a file write and rename), an fsync every few
    // seconds rather than 256 × ~5 ms: a kill loses at most a second of work either way. A bucket
    // file goes once a checkpoint counts it as written.
    let lastCheckpoint = performance.now();
    let lastDurable = lastCheckpoint;
    const written: number[] = [];
    const checkpoint = (now: number, durable: boolean): void => {
      writeCheckpoint(workDir, state, durable);
      for (const b of written.splice(0)) unlinkSync(bucketPath(workDir, b));
      lastCheckpoint = now;
      if (durable) lastDurable = now;
    };
    for (; state.bucketsDone < BUCKETS; ) {
      // A bucket is all synchronous work: let a signal in between two.
      await yieldToEventLoop();
      if (signal?.aborted === true) {
        checkpoint(performance.now(), true);
        throw interrupted();
      }
      const b = state.bucketsDone;
      progress('sorting', state.hashesWritten);
      const spill = state.bucketLengths[b] === 0 ? Buffer.alloc(0) : readFileSync(bucketPath(workDir, b));
      if (spill.length !== state.bucketLengths[b]) throw new Error(`${bucketPath(workDir, b)} has ${spill.length} bytes, the checkpoint says ${state.bucketLengths[b]}`);
      bucketCounts.fill(0);
      const sorted = sorter.sort(spill, bucketCounts);
      if (state.hashesWritten + sorted.hashes > MAX_HASHES) throw new PhsyncError('LEAKED_IMPORT_TOO_LARGE', `more than ${MAX_HASHES} distinct hashes: beyond what a store can index`);
      progress('writing', state.hashesWritten);
      writer.appendBucket(b, sorted.records, bucketCounts);
      state.hashesWritten += sorted.hashes;
      state.duplicatesMerged += sorted.duplicatesMerged;
      state.bucketsDone++;
      written.push(b);
      const now = performance.now();
      if (now - lastCheckpoint >= CHECKPOINT_EVERY_MS) checkpoint(now, now - lastDurable >= DURABLE_EVERY_MS);
    }
    progress('writing', state.hashesWritten);
    return writer.finish(Date.now());
  } finally {
    writer.close();
  }
}

function freshState(storePath: string, inputs: HibpInputs): State {
  return {
    version: 1,
    input: inputs.input,
    storePath,
    fingerprint: inputs.fingerprint,
    phase: 'reading',
    fileIndex: 0,
    offset: 0,
    line: 1,
    skippingLine: false,
    bucketLengths: new Array<number>(BUCKETS).fill(0),
    bytesRead: 0,
    lines: 0,
    malformed: 0,
    malformedSamples: [],
    bucketsDone: 0,
    hashesWritten: 0,
    duplicatesMerged: 0,
  };
}

/** The checkpoint to go on from, or undefined (with a warning when there was one) to start over. */
function resumePoint(workDir: string, storePath: string, inputs: HibpInputs, warn: (message: string) => void): ImportCheckpoint | undefined {
  const checkpoint = readCheckpoint(workDir);
  if (checkpoint === undefined) return undefined;
  const restart = (why: string): undefined => {
    warn(`${why}: importing from scratch`);
    return undefined;
  };
  if (typeof checkpoint === 'string') return restart(checkpoint);
  if (checkpoint.input !== inputs.input || checkpoint.storePath !== storePath) return restart(`the checkpoint in ${workDir} is of an import of ${checkpoint.input} into ${checkpoint.storePath}`);
  if (checkpoint.fingerprint !== inputs.fingerprint) return restart(`${inputs.input} changed since the checkpoint (files, sizes or modification times)`);
  for (let b = checkpoint.phase === 'writing' ? checkpoint.bucketsDone : 0; b < BUCKETS; b++) {
    const want = checkpoint.bucketLengths[b] ?? 0;
    const have = sizeOf(bucketPath(workDir, b));
    // While reading, data after the checkpoint is cut off; while writing, the buckets are final.
    if (checkpoint.phase === 'writing' ? have !== want && !(want === 0 && have === undefined) : (have ?? 0) < want) {
      return restart(`${bucketPath(workDir, b)} does not match the checkpoint (${have ?? 'missing'} bytes, expected ${want})`);
    }
  }
  if (checkpoint.phase === 'writing') {
    const why = partialStoreProblem(storePath, workDir, checkpoint.hashesWritten, checkpoint.bucketsDone);
    if (why !== undefined) return restart(why);
  }
  return checkpoint;
}

function sizeOf(path: string): number | undefined {
  try {
    return statSync(path).size;
  } catch {
    return undefined;
  }
}

/** Removes an earlier import's files (not the lock). */
function clearWork(workDir: string, storePath: string): void {
  for (const name of readdirSync(workDir)) if (name !== 'lock') rmSync(join(workDir, name), { recursive: true, force: true });
  rmSync(partialStorePath(storePath), { force: true });
}

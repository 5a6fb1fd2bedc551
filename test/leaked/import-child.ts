/**
 * Runs one import in a child process for the kill-and-resume test: small checkpoints, and a pause
 * after each progress report (reading, then sorting and writing) so that the test can kill it mid-phase.
 *
 *   node import-child.ts INPUT STORE READING_PAUSE_MS WRITING_PAUSE_MS
 */
import { importHibp } from '../../src/leaked/hibp-import.ts';

const [input, storePath, readingPause, writingPause] = process.argv.slice(2);
const pause = new Int32Array(new SharedArrayBuffer(4));
const summary = await importHibp({
  input: input!,
  storePath: storePath!,
  checkpointEveryBytes: 32 * 1024,
  onProgress: (p) => void Atomics.wait(pause, 0, 0, Number(p.phase === 'reading' ? readingPause : writingPause)),
  onWarning: (message) => void process.stderr.write(`warning: ${message}\n`),
});
process.stdout.write(JSON.stringify(summary));

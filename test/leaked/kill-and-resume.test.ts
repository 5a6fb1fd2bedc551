import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { ImportSummary } from '../../src/leaked/hibp-import.ts';
import type { ImportCheckpoint } from '../../src/leaked/import-checkpoint.ts';
import { LeakedStore } from '../../src/leaked/leaked-store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { expectedCounts, line, randomEntries, shuffled } from './hibp-text.ts';

const CHILD = fileURLToPath(new URL('./import-child.ts', import.meta.url));

function start(input: string, store: string, readingPause: number, writingPause: number) {
  const child = spawn(process.execPath, [CHILD, input, store, String(readingPause), String(writingPause)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = once(child, 'close').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null, stdout, stderr }));
  return { child, done };
}

function checkpoint(store: string): ImportCheckpoint | undefined {
  try {
    return JSON.parse(readFileSync(`${store}.import/checkpoint.json`, 'utf8')) as ImportCheckpoint;
  } catch {
    return undefined;
  }
}

/** Starts the child and SIGKILLs it as soon as its checkpoint satisfies `when`. */
async function killWhen(input: string, store: string, pauses: [number, number], when: (c: ImportCheckpoint) => boolean): Promise<ImportCheckpoint> {
  const { child, done } = start(input, store, ...pauses);
  let seen: ImportCheckpoint | undefined;
  while (child.exitCode === null) {
    seen = checkpoint(store);
    if (seen !== undefined && when(seen)) break;
    await sleep(2);
  }
  child.kill('SIGKILL');
  const result = await done;
  assert.equal(result.signal, 'SIGKILL', `the import must still be running to be killed (it exited with ${result.code}: ${result.stderr})`);
  return seen!;
}

it('an import killed (SIGKILL) while reading and again while writing resumes, and the store answers as a clean import', { timeout: 60_000 }, async () => {
  using dir = tempDir();
  const entries = randomEntries(30_000);
  // Duplicates far apart: a resumed import that spilled a chunk twice would merge more than these.
  const all = shuffled([...entries, ...entries.slice(0, 500).map((e) => ({ hash: e.hash, count: 2 }))]);
  writeFileSync(dir.file('list.txt'), all.map((e) => line(e)).join(''));
  const size = readFileSync(dir.file('list.txt')).length;
  const store = dir.file('leaked.phsleak');

  const reading = await killWhen(dir.file('list.txt'), store, [15, 3], (c) => c.phase === 'reading' && c.offset > 0);
  assert.ok(reading.offset < size, 'killed before the end of the input');
  const writing = await killWhen(dir.file('list.txt'), store, [0, 3], (c) => c.phase === 'writing' && c.bucketsDone >= 50);
  assert.ok(writing.bucketsDone < 256, 'killed before the last bucket');
  assert.equal(existsSync(store), false, 'no store until the import completes');

  const { done } = start(dir.file('list.txt'), store, 0, 0);
  const result = await done;
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stderr, '', 'resumed without starting over');
  const summary = JSON.parse(result.stdout) as ImportSummary;
  assert.equal(summary.resumed, true);
  assert.equal(summary.lines, all.length);
  assert.equal(summary.hashes, entries.length);
  assert.equal(summary.duplicatesMerged, 500);
  assert.equal(summary.malformed, 0);
  assert.equal(summary.bytesRead, size);

  const expected = expectedCounts(all);
  using leaked = LeakedStore.open(store);
  assert.equal(leaked.hashCount, expected.size);
  for (const [hex, count] of expected) assert.equal(leaked.lookup(Buffer.from(hex, 'hex'), 0), count);
  assert.deepEqual(readdirSync(dir.path).sort(), ['leaked.phsleak', 'list.txt']);
});

import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { importHibp } from '../../src/leaked/hibp-import.ts';
import type { ImportSummary } from '../../src/leaked/hibp-import.ts';
import { LeakedStore } from '../../src/leaked/leaked-store.ts';
import { tempDir } from '../support/temp-dir.ts';
import { expectedCounts, hex, knownEntries, line, randomEntries, shuffled, sorted } from './hibp-text.ts';
import type { Entry } from './hibp-text.ts';

function assertStoreHolds(path: string, entries: readonly Entry[]): void {
  const expected = expectedCounts(entries);
  using store = LeakedStore.open(path);
  assert.equal(store.hashCount, expected.size);
  for (const [h, count] of expected) assert.equal(store.lookup(Buffer.from(h, 'hex'), 0), count, h);
}

function collect(): { warnings: string[]; onWarning: (m: string) => void } {
  const warnings: string[] = [];
  return { warnings, onWarning: (m) => void warnings.push(m) };
}

describe('importHibp', () => {
  it('imports a sorted and an unsorted list alike, LF or CRLF, last line without a newline; the work directory goes, the store is 0600', async () => {
    using dir = tempDir();
    const entries = [...(await knownEntries()), ...randomEntries(5000)];
    const inputs = {
      'sorted-lf.txt': sorted(entries).map((e) => line(e)).join(''),
      'shuffled-crlf.txt': shuffled(entries).map((e) => line(e, '\r\n')).join('').replace(/\r\n$/u, ''),
    };
    for (const [name, text] of Object.entries(inputs)) {
      writeFileSync(dir.file(name), text);
      const storePath = dir.file(`${name}.phsleak`);
      const progress: string[] = [];
      const summary = await importHibp({ input: dir.file(name), storePath, onProgress: (p) => void progress.push(p.phase), onWarning: () => assert.fail('no warning expected') });
      assert.deepEqual(
        { inputs: summary.inputs, lines: summary.lines, hashes: summary.hashes, duplicatesMerged: summary.duplicatesMerged, malformed: summary.malformed, resumed: summary.resumed, bytesRead: summary.bytesRead },
        { inputs: 1, lines: entries.length, hashes: entries.length, duplicatesMerged: 0, malformed: 0, resumed: false, bytesRead: Buffer.byteLength(text) },
        name,
      );
      assert.equal(summary.storeBytes, statSync(storePath).size);
      assert.equal(statSync(storePath).mode & 0o777, 0o600);
      assert.deepEqual([...new Set(progress)], ['reading', 'sorting', 'writing']);
      assert.equal(existsSync(`${storePath}.import`), false, 'the work directory is removed');
      assert.equal(existsSync(`${storePath}.partial`), false);
      assertStoreHolds(storePath, entries);
    }
  });

  it('merges duplicates, summing counts and saturating at 65535', async () => {
    using dir = tempDir();
    const [a, b, c] = randomEntries(3).map((e) => e.hash);
    const entries: Entry[] = [
      { hash: a!, count: 3 },
      { hash: b!, count: 40_000 },
      { hash: a!, count: 4 },
      { hash: c!, count: 1_000_000 },
      { hash: b!, count: 40_000 },
      { hash: a!, count: 5 },
      ...randomEntries(500),
    ];
    writeFileSync(dir.file('dups.txt'), shuffled(entries).map((e) => line(e)).join(''));
    const summary = await importHibp({ input: dir.file('dups.txt'), storePath: dir.file('s.phsleak') });
    assert.equal(summary.duplicatesMerged, 3);
    assert.equal(summary.hashes, entries.length - 3);
    using store = LeakedStore.open(dir.file('s.phsleak'));
    assert.equal(store.lookup(a!, 0), 12);
    assert.equal(store.lookup(b!, 0), 65_535);
    assert.equal(store.lookup(c!, 0), 65_535);
  });

  it('counts malformed lines with their file and line numbers, skips them and blank lines, and imports the lines around them', async () => {
    using dir = tempDir();
    const good = randomEntries(6);
    const h = hex(randomEntries(1)[0]!.hash);
    const text = [
      line(good[0]!), //                                    1
      '\n', //                                              2 blank
      `${h.slice(0, 31)}:5\n`, //                           3 wrong length
      `${h.slice(0, 31)}G:3\r\n`, //                        4 not hex
      `${h}\n`, //                                          5 missing count
      `${h}:abc\n`, //                                      6 count not a number
      '\u0000\u00ff\u00fe binary junk \u0007\n', //        7 junk
      line(good[1]!, '\r\n'), //                            8
      `${h}:\n`, //                                         9 nothing after ':'
      `${h}:0\n`, //                                       10 count 0
      `${'ZZ'.repeat(3000)}\n`, //                         11 longer than a line may be
      '\r\n', //                                           12 blank (CRLF)
      line(good[2]!), //                                   13
      `${h}:12 \n`, //                                     14 trailing space
      `${h.toLowerCase()}:2\n`, //                         15 lower case: fine
      line(good[3]!), //                                   16
      `${h.slice(0, 27)}:1\n`, //                          17 a range line in a full file
      line(good[4]!), //                                   18
      line(good[5]!).trimEnd(), //                         19 last line, no newline
    ].join('');
    writeFileSync(dir.file('bad.txt'), Buffer.from(text, 'latin1'));
    const expected = [
      [3, /hash has 31 characters/],
      [4, /not hexadecimal/],
      [5, /missing count/],
      [6, /count is not a number/],
      [7, /no ":" separator/],
      [9, /missing count/],
      [10, /count is 0/],
      [11, /longer than/],
      [14, /count is not a number/],
      [17, /hash has 27 characters/],
    ] as const;
    // Whole, and in reads of 61 bytes, so that lines straddle reads at every possible place.
    const summaries: ImportSummary[] = [];
    for (const checkpointEveryBytes of [undefined, 61]) {
      const storePath = dir.file(`s-${checkpointEveryBytes ?? 'default'}.phsleak`);
      const summary = await importHibp({ input: dir.file('bad.txt'), storePath, ...(checkpointEveryBytes === undefined ? {} : { checkpointEveryBytes }) });
      summaries.push(summary);
      assert.equal(summary.lines, 19);
      assert.equal(summary.malformed, expected.length);
      assert.deepEqual(summary.malformedSamples.map((m) => m.line), expected.map(([n]) => n));
      for (const [i, [, reason]] of expected.entries()) {
        assert.match(summary.malformedSamples[i]!.reason, reason, `line ${expected[i]![0]}`);
        assert.equal(summary.malformedSamples[i]!.file, dir.file('bad.txt'));
      }
      assert.equal(summary.hashes, 7);
      assertStoreHolds(storePath, [...good, { hash: Buffer.from(h, 'hex'), count: 2 }]);
    }
    assert.deepEqual({ ...summaries[0], seconds: 0, storeBytes: 0 }, { ...summaries[1], seconds: 0, storeBytes: 0 });
  });

  it('keeps the first 20 malformed samples and counts the rest', async () => {
    using dir = tempDir();
    writeFileSync(dir.file('junk.txt'), `${line(randomEntries(1)[0]!)}${'junk\n'.repeat(50)}`);
    const summary = await importHibp({ input: dir.file('junk.txt'), storePath: dir.file('s.phsleak') });
    assert.equal(summary.malformed, 50);
    assert.equal(summary.malformedSamples.length, 20);
    assert.equal(summary.malformedSamples[19]!.line, 21);
  });

  it('imports a directory of range files: suffix lines, and full lines that start with the prefix', async () => {
    using dir = tempDir();
    const ranges = dir.file('ranges');
    mkdirSync(ranges);
    const entries: Entry[] = [];
    const byPrefix = new Map<string, Entry[]>();
    for (const e of [...(await knownEntries()), ...randomEntries(3000)]) {
      // Fold the random hashes into a few prefixes, so that each file has many lines.
      const p = ['00000', 'ABCDE', 'FFFFF', '7A7A7'][entries.length % 4]!;
      const hash = Buffer.from(p + hex(e.hash).slice(5), 'hex');
      const entry = { hash, count: e.count };
      entries.push(entry);
      byPrefix.set(p, [...(byPrefix.get(p) ?? []), entry]);
    }
    let fullLines = 0;
    for (const [prefix, list] of byPrefix) {
      const full = prefix === 'ABCDE';
      const name = prefix === 'ABCDE' ? 'abcde.txt' : `${prefix}.txt`;
      writeFileSync(join(ranges, name), sorted(list).map((e) => (full ? line(e, '\r\n') : `${hex(e.hash).slice(5)}:${e.count}\r\n`)).join(''));
      if (full) fullLines = list.length;
    }
    assert.ok(fullLines > 0);
    // A full line with another prefix in a range file is malformed; other files are left out, with a warning.
    appendFileSync(join(ranges, '00000.txt'), `${'1'.repeat(32)}:4\r\n`);
    writeFileSync(join(ranges, 'README.md'), 'not a range file');
    const { warnings, onWarning } = collect();
    const summary = await importHibp({ input: ranges, storePath: dir.file('s.phsleak'), onWarning });
    assert.equal(summary.inputs, byPrefix.size);
    assert.equal(summary.malformed, 1);
    assert.match(summary.malformedSamples[0]!.reason, /does not start with the file's prefix 00000/);
    assert.equal(summary.malformedSamples[0]!.file, join(ranges, '00000.txt'));
    assert.match(warnings.join('\n'), /1 entries that are not range files.*README\.md/);
    assertStoreHolds(dir.file('s.phsleak'), entries);
  });

  it('stops at the signal with a checkpoint, resumes with the same arguments, and starts over when the input changed', async () => {
    using dir = tempDir();
    const entries = randomEntries(20_000);
    writeFileSync(dir.file('list.txt'), shuffled(entries).map((e) => line(e)).join(''));
    const storePath = dir.file('s.phsleak');
    const options = { input: dir.file('list.txt'), storePath, checkpointEveryBytes: 50_000 };

    // Until an import completes, the store is what it was: absent, then the previous one, whole.
    const stopAt = async (phase: 'reading' | 'writing', after: number, previous?: readonly Entry[]): Promise<void> => {
      const controller = new AbortController();
      let seen = 0;
      await assert.rejects(
        importHibp({ ...options, signal: controller.signal, onProgress: (p) => void (p.phase === phase && ++seen >= after && controller.abort()) }),
        (err: unknown) => (err as { code?: string }).code === 'LEAKED_IMPORT_INTERRUPTED',
      );
      if (previous === undefined) assert.equal(existsSync(storePath), false);
      else assertStoreHolds(storePath, previous);
    };
    await stopAt('reading', 3);
    await stopAt('writing', 40);
    const resumed = await importHibp(options);
    assert.equal(resumed.resumed, true);
    assert.equal(resumed.hashes, entries.length);
    assert.equal(resumed.duplicatesMerged, 0);
    assert.equal(resumed.lines, entries.length);
    assertStoreHolds(storePath, entries);

    // Changed input after a stop: a warning, and a clean import of the new content.
    await stopAt('reading', 2, entries);
    const more = randomEntries(10);
    appendFileSync(dir.file('list.txt'), more.map((e) => line(e)).join(''));
    const { warnings, onWarning } = collect();
    const fresh = await importHibp({ ...options, onWarning });
    assert.equal(fresh.resumed, false);
    assert.match(warnings.join('\n'), /changed since the checkpoint.*from scratch/);
    assert.equal(fresh.hashes, entries.length + more.length);
    assertStoreHolds(storePath, [...entries, ...more]);
    assert.deepEqual(readdirSync(dir.path).sort(), ['list.txt', 's.phsleak']);
  });

  it('refuses a missing input, a directory without range files, and input without one valid line', async () => {
    using dir = tempDir();
    mkdirSync(dir.file('empty-dir'));
    writeFileSync(dir.file('junk.txt'), 'junk\n\nmore junk\n');
    const cases = [
      [dir.file('missing.txt'), 'LEAKED_INPUT_NOT_FOUND'],
      [dir.file('empty-dir'), 'LEAKED_INPUT_EMPTY'],
      [dir.file('junk.txt'), 'LEAKED_IMPORT_EMPTY'],
    ] as const;
    for (const [input, code] of cases) {
      await assert.rejects(importHibp({ input, storePath: dir.file('s.phsleak') }), (err: unknown) => (err as { code?: string }).code === code);
      assert.equal(existsSync(dir.file('s.phsleak')), false);
    }
    assert.deepEqual(readdirSync(dir.path).sort(), ['empty-dir', 'junk.txt']);
  });
});

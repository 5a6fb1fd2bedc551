import assert from 'node:assert/strict';
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { describe, it } from 'node:test';
import { CORPUS_SIZE, PER_USER_CASES, WHOLE_FILE_CASES, corpusUser, userRecord } from '../support/bad-inputs.ts';
import type { WholeFileCase } from '../support/bad-inputs.ts';
import { runCli } from '../support/run-cli.ts';
import type { CliResult } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertErrorsReported, assertSynced, corpusFile, tally, validUser } from './corpus-file.ts';
import type { SyncSummary } from './corpus-file.ts';

/**
 * Issue 9, bad input: every case of test/support/bad-inputs.ts in an LDIF file, between valid users,
 * synced by the real CLI into an SQLite tenant. Per-user cases share one file and one run; whole-file
 * cases (fatal, or a broken end) get a run each.
 */

type Dir = ReturnType<typeof tempDir>;

function sync(dir: Dir, name: string, source: string): Promise<CliResult> {
  return runCli(['sync', '--source', source, '--target', `sqlite:${dir.file(`${name}.tenant.db`)}`, '--state', dir.file(`${name}.state.db`), '--kernel', 'native', '--workers', '1', '--no-progress', '--json']);
}

function summaryOf(result: CliResult): SyncSummary {
  try {
    return JSON.parse(result.stdout) as SyncSummary;
  } catch {
    assert.fail(`no JSON summary (exit ${result.code}): ${result.stderr}`);
  }
}

describe('bad input: the LDIF corpus through the CLI', { timeout: 120_000 }, () => {
  it(`holds at least 30 named cases (${CORPUS_SIZE})`, () => {
    assert.ok(CORPUS_SIZE >= 30);
    const names = [...PER_USER_CASES.map((c) => c.name), ...WHOLE_FILE_CASES.map((c) => c.name)];
    assert.equal(new Set(names).size, names.length, 'names are unique');
  });

  it('per-user cases in one file: each gives its named error at its line, every valid user around them syncs (exit 2)', async () => {
    using dir = tempDir();
    const file = corpusFile(PER_USER_CASES);
    writeFileSync(dir.file('corpus.ldif'), file.bytes);
    const result = await sync(dir, 'corpus', dir.file('corpus.ldif'));
    assert.equal(result.code, 2, result.stderr);
    const summary = summaryOf(result);
    assert.equal(summary.status, 'partial');
    assert.deepEqual(summary.counts.failed, tally(file.errors));
    assert.equal(summary.counts.synced, file.mustSync.length);
    assertErrorsReported(summary, file.errors, true);
    await assertSynced(dir.file('corpus.tenant.db'), file.mustSync);
    // No value is ever echoed: the hashes around the broken ones, and the junk.
    assert.doesNotMatch(result.stdout + result.stderr, /[0-9A-F]{31}/, 'no hash-like value in the output');
  });

  /** The valid users of a whole-file case: three, before whatever breaks the file. */
  const validOf = (c: WholeFileCase) => [0, 1, 2].map((k) => corpusUser(`${c.name}-valid`, k));

  async function runWholeFile(dir: Dir, c: WholeFileCase): Promise<void> {
    const users = validOf(c);
    const content = c.file(users.map((u) => userRecord(u)).join(''));
    const path = dir.file(`${c.name}.ldif`);
    writeFileSync(path, content);
    const result = await sync(dir, c.name, path);
    if (c.fatal !== undefined) {
      assert.equal(result.code, 1, `${c.name}: ${result.stdout}${result.stderr}`);
      const output = result.stdout + result.stderr;
      assert.match(output, new RegExp(c.fatal.code), c.name);
      assert.match(output, new RegExp(`\\bline ${c.fatal.line}\\b`), c.name);
      assert.ok(result.stderr.trim().split('\n').length <= 2, `${c.name}: a one-line cause, not a stack: ${result.stderr}`);
      return;
    }
    const errors = c.errors ?? [];
    // A broken end is the file's last record: its `at` line is the last that starts so.
    assert.equal(result.code, errors.length === 0 ? 0 : 2, `${c.name}: ${result.stderr}`);
    const summary = summaryOf(result);
    const text = Buffer.from(content).toString('latin1');
    const placed = errors.map((e) => ({ ...e, caseName: c.name, line: e.at === undefined ? undefined : text.split('\n').findLastIndex((l) => l.startsWith(e.at!)) + 1 }));
    assert.deepEqual(summary.counts.failed, tally(errors), c.name);
    assertErrorsReported(summary, placed, true);
    if (c.validSync) await assertSynced(dir.file(`${c.name}.tenant.db`), users);
  }

  it('whole-file cases: a fatal error names its code and line (exit 1); a broken end fails only its record', async () => {
    using dir = tempDir();
    // Two at a time: two CPUs.
    const queue = [...WHOLE_FILE_CASES];
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) await runWholeFile(dir, c);
    };
    await Promise.all([worker(), worker()]);
  });

  it('a single line of 300 MB: LDIF_LINE_TOO_LONG at its line, in bounded memory; the users around it sync', async () => {
    using dir = tempDir();
    const path = dir.file('huge.ldif');
    const before = [validUser(0), validUser(1)];
    const after = [validUser(2)];
    const fd = openSync(path, 'w');
    let lines = 0;
    const write = (text: string): void => {
      writeSync(fd, text);
      lines += (text.match(/\n/g) ?? []).length;
    };
    try {
      write(before.map((u) => userRecord(u)).join(''));
      const record = userRecord(corpusUser('huge-line', 0)).split('\n');
      write(`${record.slice(0, 3).join('\n')}\n`);
      const hugeLine = lines + 1;
      write('description: ');
      const chunk = Buffer.alloc(4 * 1024 * 1024, 'A');
      for (let i = 0; i < 75; i++) writeSync(fd, chunk); // 300 MiB, no line ending
      write(`\n${record.slice(3).join('\n')}`);
      write(after.map((u) => userRecord(u)).join(''));
      const result = await sync(dir, 'huge', path);
      assert.equal(result.code, 2, result.stderr);
      const summary = summaryOf(result);
      assert.deepEqual(summary.counts.failed, { LDIF_LINE_TOO_LONG: 1 });
      assert.match(summary.errors[0]!.message, new RegExp(`line ${hugeLine} \\(attribute "description"\\) is too long`));
      assert.match(summary.errors[0]!.origin, /uid=huge-line-0/);
      await assertSynced(dir.file('huge.tenant.db'), [...before, ...after]);
      // The line is 300 MiB; the reader keeps at most its 64 MiB limit of it (measured: ~325 MiB peak, ~190 without the line).
      assert.ok(summary.maxRssMiB < 380, `peak RSS (about 190 MiB without the line) ${summary.maxRssMiB} MiB`);
    } finally {
      closeSync(fd);
    }
  });
});

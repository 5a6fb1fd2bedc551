import assert from 'node:assert/strict';
import { existsSync, statSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli, startCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { hex, knownEntries, line, randomEntries, shuffled } from './hibp-text.ts';

it('phsync leaked import, info and check through the CLI; the hash is never printed', async () => {
  using dir = tempDir();
  const known = await knownEntries();
  const saturated = { ...known[1]!, count: 100_000 };
  const entries = shuffled([known[0]!, saturated, ...known.slice(2), ...randomEntries(2000)]);
  writeFileSync(dir.file('list.txt'), `${entries.map((e) => line(e, '\r\n')).join('')}not a line\r\n`);
  const store = dir.file('leaked.phsleak');

  const imported = await runCli(['leaked', 'import', '--hibp', dir.file('list.txt'), '--store', store]);
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, /hashes +2,006 distinct, from 2,007 lines in 1 file/);
  assert.match(imported.stderr, /malformed +1 lines skipped\n +.*list\.txt:2007: not HASH:COUNT/);
  assert.match(imported.stderr, /store +[\d,]+ bytes, [\d.]+ bytes per hash/);

  const info = await runCli(['leaked', 'info', '--store', store]);
  assert.equal(info.code, 0, info.stderr);
  assert.match(info.stdout, /hashes +2,006\n/);
  assert.match(info.stdout, /created +\d{4}-\d\d-\d\dT/);
  assert.match(info.stdout, new RegExp(`size +${statSync(store).size.toLocaleString('en-US')} bytes, [\\d.]+ bytes per hash`));

  const check = async (password: string): Promise<string> => {
    const result = await runCli(['leaked', 'check', '--store', store], { stdin: `${password}\n` });
    assert.equal(result.code, 0, result.stderr);
    for (const e of known) assert.ok(!`${result.stdout}${result.stderr}`.toUpperCase().includes(hex(e.hash)), 'no hash printed');
    return result.stdout;
  };
  assert.equal(await check(known[0]!.password), `leaked (seen ${known[0]!.count} times)\n`);
  assert.equal(await check(known[1]!.password), 'leaked (seen 65535 or more times)\n');
  assert.equal(await check('Tr0ub4dor&3 is not in this list'), 'not found\n');

  // Missing or useless input: exit 1 with the cause.
  const missing = await runCli(['leaked', 'import', '--hibp', dir.file('nothing.txt'), '--store', dir.file('x.phsleak')]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /no such file or directory \[LEAKED_INPUT_NOT_FOUND\]/);
  writeFileSync(dir.file('junk.txt'), 'junk\n');
  const empty = await runCli(['leaked', 'import', '--hibp', dir.file('junk.txt'), '--store', dir.file('x.phsleak')]);
  assert.equal(empty.code, 1);
  assert.match(empty.stderr, /no valid HASH:COUNT line.*junk\.txt:1: not HASH:COUNT.*\[LEAKED_IMPORT_EMPTY\]/);
});

it('phsync leaked import stops at SIGTERM with exit 130, and the same command resumes', async () => {
  using dir = tempDir();
  const entries = randomEntries(100_000);
  writeFileSync(dir.file('list.txt'), entries.map((e) => line(e)).join(''));
  const store = dir.file('leaked.phsleak');
  const { child, done } = startCli(['leaked', 'import', '--hibp', dir.file('list.txt'), '--store', store]);
  // As soon as it holds the work directory: the import takes ~1 s and checks for a signal between
  // reads and between buckets, so the signal lands mid-import.
  while (!existsSync(`${store}.import/lock`) && child.exitCode === null) await sleep(2);
  child.kill('SIGTERM');
  const stopped = await done;
  assert.equal(stopped.code, 130, stopped.stderr);
  assert.match(stopped.stderr, /SIGTERM received: stopping at the next checkpoint/);
  assert.match(stopped.stderr, /run the same command again to resume/);
  assert.equal(existsSync(store), false);
  const resumed = await runCli(['leaked', 'import', '--hibp', dir.file('list.txt'), '--store', store, '--json']);
  assert.equal(resumed.code, 0, resumed.stderr);
  const summary = JSON.parse(resumed.stdout) as { resumed: boolean; hashes: number };
  assert.deepEqual({ resumed: summary.resumed, hashes: summary.hashes }, { resumed: true, hashes: entries.length });
});

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { FatalError } from '../../src/errors.ts';
import { MAX_KEPT_ERRORS, readHashesFile } from '../../src/source/hashes-file.ts';
import { tempDir } from '../support/temp-dir.ts';

// NT hashes of "secret" and of the empty password.
const SECRET_NT = '878D8014606CDA29677A44EFA1353FC7';
const EMPTY_NT = '31d6cfe0d16ae931b73c59d7e0c089c0';
const OTHER_NT = '0123456789abcdef0123456789ABCDEF';
const LM_NONE = 'aad3b435b51404eeaad3b435b51404ee';

function hex(bytes: Uint8Array | undefined): string | undefined {
  return bytes === undefined ? undefined : Buffer.from(bytes).toString('hex');
}

describe('readHashesFile', () => {
  it('reads secretsdump lines, pwdump lines without a domain and the short form; skips blanks and comments', async () => {
    using dir = tempDir('phsync-hashes-');
    const file = dir.file('corp.ntds');
    writeFileSync(file, [
      '# impacket secretsdump -just-dc-ntlm',
      `CORP.EXAMPLE\\Administrator:500:${LM_NONE}:${EMPTY_NT}:::`,
      `CORP\\JDoe:1104:${LM_NONE}:${SECRET_NT}::: (status=Enabled)`,
      '',
      `asmith:1105:${LM_NONE}:${OTHER_NT}:::`,
      '   # an indented comment',
      `bwhite:${OTHER_NT.toLowerCase()}`,
      `Zoë.Ünal:${SECRET_NT}\r`,
      '',
    ].join('\n'));
    const hashes = await readHashesFile(file);
    assert.deepEqual(hashes.errors, []);
    assert.equal(hashes.size, 5);
    assert.equal(hex(hashes.lookup('administrator')), EMPTY_NT);
    assert.equal(hex(hashes.lookup('jdoe')), SECRET_NT.toLowerCase());
    assert.equal(hex(hashes.lookup('JDOE')), SECRET_NT.toLowerCase(), 'case-insensitive');
    assert.equal(hex(hashes.lookup('ASmith')), OTHER_NT.toLowerCase());
    assert.equal(hex(hashes.lookup('bwhite')), OTHER_NT.toLowerCase());
    assert.equal(hex(hashes.lookup('zoë.ünal')), SECRET_NT.toLowerCase());
    assert.equal(hashes.lookup('CORP\\jdoe'), undefined, 'keys are the bare account names');
    assert.equal(hashes.lookup('nobody'), undefined);
  });

  it('collects bad lines with their numbers and goes on; a duplicate name is an error on the later line', async () => {
    using dir = tempDir('phsync-hashes-');
    const file = dir.file('bad.txt');
    writeFileSync(file, [
      `jdoe:1104:${LM_NONE}:${SECRET_NT}:::`, // 1
      'this line has no colon at all', // 2
      `cjones:1106:${LM_NONE}:${SECRET_NT.slice(0, 31)}:::`, // 3
      `JDOE:1107:${LM_NONE}:${OTHER_NT}:::`, // 4
      `dlee:x:${LM_NONE}:${SECRET_NT}:::`, // 5: RID not a number
      `:${SECRET_NT}`, // 6: no name
      `${SECRET_NT}:${SECRET_NT.slice(2)}`, // 7: swapped fields: the name looks like a hash
      `elin:${OTHER_NT}`, // 8
    ].join('\n'));
    const hashes = await readHashesFile(file);
    assert.equal(hashes.size, 2);
    assert.deepEqual(hashes.errors.map((e) => [e.line, e.code]), [[2, 'HASHES_FILE_SYNTAX'], [3, 'HASHES_FILE_SYNTAX'], [4, 'HASHES_FILE_SYNTAX'], [5, 'HASHES_FILE_SYNTAX'], [6, 'HASHES_FILE_SYNTAX'], [7, 'HASHES_FILE_SYNTAX']]);
    assert.equal(hashes.errorCount, 6);
    assert.match(hashes.errors[1]!.message, /^line 3: the NT hash of "cjones" is not 32 hex digits \(31 characters\)$/);
    assert.match(hashes.errors[2]!.message, /^line 4: "JDOE" is already given on line 1/);
    assert.equal(hex(hashes.lookup('jdoe')), SECRET_NT.toLowerCase(), 'the first line stays');
    assert.equal(hex(hashes.lookup('elin')), OTHER_NT.toLowerCase());
    const all = JSON.stringify(hashes.errors);
    for (const secret of [SECRET_NT, SECRET_NT.slice(0, 31), SECRET_NT.slice(2), OTHER_NT]) assert.ok(!all.includes(secret), 'no hash in a message');
  });

  it('gives copies: zeroing one does not change the next lookup; wipe() forgets every hash', async () => {
    using dir = tempDir('phsync-hashes-');
    const file = dir.file('h.txt');
    writeFileSync(file, `jdoe:${SECRET_NT}\n`);
    const hashes = await readHashesFile(file);
    hashes.lookup('jdoe')!.fill(0);
    assert.equal(hex(hashes.lookup('jdoe')), SECRET_NT.toLowerCase());
    hashes.wipe();
    assert.equal(hashes.lookup('jdoe'), undefined);
  });

  it('streams a large file: lines across read chunks, an over-long line as an error, errors kept up to a limit', async () => {
    using dir = tempDir('phsync-hashes-');
    const file = dir.file('big.txt');
    const lines: string[] = [];
    const n = 60_000;
    for (let i = 0; i < n; i++) lines.push(`CORP\\user${i}:${1000 + i}:${LM_NONE}:${i.toString(16).padStart(32, '0')}:::`);
    lines.push('x'.repeat(100_000)); // line n + 1
    lines.push(`after:${OTHER_NT}`);
    for (let i = 0; i < MAX_KEPT_ERRORS + 5; i++) lines.push('garbage');
    writeFileSync(file, lines.join('\r\n'));
    const hashes = await readHashesFile(file);
    assert.equal(hashes.size, n + 1);
    for (const i of [0, 1, 12_345, n - 1]) assert.equal(hex(hashes.lookup(`USER${i}`)), i.toString(16).padStart(32, '0'));
    assert.equal(hex(hashes.lookup('after')), OTHER_NT.toLowerCase());
    assert.deepEqual([hashes.errors[0]!.line, hashes.errors[0]!.message], [n + 1, `line ${n + 1}: longer than 65536 bytes`]);
    assert.equal(hashes.errors.length, MAX_KEPT_ERRORS);
    assert.equal(hashes.errorCount, MAX_KEPT_ERRORS + 6);
  });

  it('refuses a missing file: FatalError SOURCE_NOT_FOUND', async () => {
    using dir = tempDir('phsync-hashes-');
    await assert.rejects(readHashesFile(dir.file('nope.txt')), (err: unknown) => err instanceof FatalError && err.code === 'SOURCE_NOT_FOUND');
    await assert.rejects(readHashesFile(dir.path), (err: unknown) => err instanceof FatalError && err.code === 'SOURCE_UNREADABLE');
  });
});

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FatalError, PhsyncError } from '../../src/errors.ts';
import {
  LdifSyntaxError,
  NotLdifError,
  readLdif,
  readLdifFile,
  readLdifWithLimit,
  type LdifEntry,
  type LdifRecordError,
  type LdifValue,
} from '../../src/source/ldif-reader.ts';

type LdifRecord = LdifEntry | LdifRecordError;

const tmp = mkdtempSync(join(tmpdir(), 'phsync-ldif-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

async function* chunked(data: Buffer, nextSize: () => number): AsyncGenerator<Buffer> {
  for (let offset = 0; offset < data.length; ) {
    const size = Math.max(1, nextSize());
    yield data.subarray(offset, offset + size);
    offset += size;
  }
}

async function* once(...chunks: (Buffer | string)[]): AsyncGenerator<Buffer | string> {
  yield* chunks;
}

async function collect(records: AsyncIterable<LdifRecord>): Promise<LdifRecord[]> {
  const out: LdifRecord[] = [];
  for await (const r of records) out.push(r);
  return out;
}

function read(text: string | Buffer): Promise<LdifRecord[]> {
  return collect(readLdif(once(text)));
}

/** Plain data for deepEqual: entries with their attributes as an object, errors as code/line/dn/message. */
function plain(records: readonly LdifRecord[]): unknown[] {
  return records.map((r) =>
    r.kind === 'entry'
      ? { dn: r.dn, line: r.line, attributes: Object.fromEntries(r.attributes) }
      : { code: r.error.code, line: r.error.line, dn: r.dn, message: r.error.message },
  );
}

function entry(r: LdifRecord | undefined): LdifEntry {
  assert.ok(r, 'a record');
  assert.equal(r.kind, 'entry', r.kind === 'error' ? r.error.message : '');
  return r;
}

function failure(r: LdifRecord | undefined): LdifRecordError {
  assert.ok(r, 'a record');
  assert.equal(r.kind, 'error', r.kind === 'entry' ? `expected an error, got entry ${r.dn}` : '');
  assert.ok(r.error instanceof LdifSyntaxError);
  assert.ok(r.error instanceof PhsyncError);
  return r;
}

function values(e: LdifEntry, name: string): readonly LdifValue[] | undefined {
  return e.attributes.get(name);
}

/** Deterministic PRNG (mulberry32) so random chunkings are reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64');

describe('readLdif: content records', () => {
  it('reads records, lowercases attribute names, keeps value order and accumulates repeats', async () => {
    const records = await read(
      [
        'dn: uid=alice,ou=people,dc=example,dc=com',
        'objectClass: top',
        'ObjectClass: person',
        'CN: Alice',
        'objectclass: inetOrgPerson',
        'mail:alice@example.com',
        'sn:    Liddell  ',
        '',
        '',
        '',
        'dn: uid=bob,ou=people,dc=example,dc=com',
        'cn: Bob',
      ].join('\n'), // no newline at the end of the input
    );
    assert.equal(records.length, 2);
    const alice = entry(records[0]);
    assert.equal(alice.dn, 'uid=alice,ou=people,dc=example,dc=com');
    assert.equal(alice.line, 1);
    assert.deepEqual([...alice.attributes.keys()], ['objectclass', 'cn', 'mail', 'sn']);
    assert.deepEqual(values(alice, 'objectclass'), ['top', 'person', 'inetOrgPerson']);
    assert.deepEqual(values(alice, 'cn'), ['Alice']);
    assert.deepEqual(values(alice, 'mail'), ['alice@example.com'], 'no space after the colon');
    assert.deepEqual(values(alice, 'sn'), ['Liddell  '], 'leading spaces stripped, trailing kept');
    const bob = entry(records[1]);
    assert.equal(bob.dn, 'uid=bob,ou=people,dc=example,dc=com');
    assert.equal(bob.line, 11);
    assert.deepEqual(values(bob, 'cn'), ['Bob']);
  });

  it('keeps attribute options (lowercased) and accepts numeric OIDs', async () => {
    const [r] = await read('dn: cn=x\nuserCertificate;Binary:: AAEC\n2.5.4.3: by oid\ncn;lang-EN: x\n');
    const e = entry(r);
    assert.deepEqual([...e.attributes.keys()], ['usercertificate;binary', '2.5.4.3', 'cn;lang-en']);
    assert.deepEqual(values(e, 'usercertificate;binary'), [Buffer.from([0, 1, 2])]);
  });

  it('reads empty values as empty strings (plain) and empty buffers (base64)', async () => {
    const [r] = await read('dn: cn=x\ndescription:\ndescription: \ntitle:   \nphoto::\nphoto:: \n');
    const e = entry(r);
    assert.deepEqual(values(e, 'description'), ['', '']);
    assert.deepEqual(values(e, 'title'), ['']);
    assert.deepEqual(values(e, 'photo'), [Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it('reads an empty dn (root DSE) and a record with a dn only', async () => {
    const records = await read('dn:\nobjectClass: top\n\ndn: cn=alone\n\n');
    assert.equal(entry(records[0]).dn, '');
    assert.deepEqual(values(entry(records[0]), 'objectclass'), ['top']);
    assert.equal(entry(records[1]).dn, 'cn=alone');
    assert.equal(entry(records[1]).attributes.size, 0);
  });

  it('yields nothing for empty input or input with only comments and blank lines', async () => {
    assert.deepEqual(await read(''), []);
    assert.deepEqual(await read('\n\n# nothing here\n\n'), []);
    assert.deepEqual(await read('version: 1\n'), []);
  });

  it('skips a UTF-8 byte order mark at the start', async () => {
    const [r] = await read(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('dn: cn=bom\ncn: bom\n')]));
    assert.equal(entry(r).dn, 'cn=bom');
  });
});

describe('readLdif: folding', () => {
  it('joins continuation lines (one leading space removed) in dn and values', async () => {
    const [r] = await read(
      'dn: uid=averyveryverylongname,ou=people,\n dc=example,dc=com\ndescription: first part\n  second part\n third\ncn: x\n',
    );
    const e = entry(r);
    assert.equal(e.dn, 'uid=averyveryverylongname,ou=people,dc=example,dc=com');
    assert.deepEqual(values(e, 'description'), ['first part second partthird']);
    assert.deepEqual(values(e, 'cn'), ['x']);
  });

  it('joins a folded base64 value before decoding it', async () => {
    const bytes = Buffer.from(Array.from({ length: 200 }, (_, i) => (i * 37) & 0xff));
    const encoded = b64(bytes);
    const folded = encoded.match(/.{1,50}/g)!.join('\n ');
    const [r] = await read(`dn: cn=x\njpegPhoto:: ${folded}\ncn: after\n`);
    const e = entry(r);
    assert.deepEqual(values(e, 'jpegphoto'), [bytes]);
    assert.deepEqual(values(e, 'cn'), ['after']);
  });

  it('folds on bytes: a fold inside a multibyte UTF-8 character joins into that character', async () => {
    const text = Buffer.concat([
      Buffer.from('dn: cn=Jos'),
      Buffer.from([0xc3]), // first byte of é
      Buffer.from('\n '),
      Buffer.from([0xa9]), // second byte of é
      Buffer.from(',dc=example\ncn: smile '),
      Buffer.from([0xf0, 0x9f]), // 😀 split over three lines
      Buffer.from('\n '),
      Buffer.from([0x98]),
      Buffer.from('\r\n '),
      Buffer.from([0x80]),
      Buffer.from(' end\n'),
    ]);
    const [r] = await read(text);
    const e = entry(r);
    assert.equal(e.dn, 'cn=José,dc=example');
    assert.deepEqual(values(e, 'cn'), ['smile 😀 end']);
  });

  it('reports a continuation line that follows a blank line', async () => {
    const records = await read('dn: cn=a\ncn: a\n\n continued\ncn: x\n\ndn: cn=b\ncn: b\n');
    assert.equal(records.length, 3);
    assert.equal(entry(records[0]).dn, 'cn=a');
    const err = failure(records[1]);
    assert.equal(err.error.code, 'LDIF_SYNTAX');
    assert.equal(err.error.line, 4);
    assert.match(err.error.message, /line 4/);
    assert.equal(entry(records[2]).dn, 'cn=b');
  });
});

describe('readLdif: base64', () => {
  it('decodes base64 values to raw bytes and a base64 dn as UTF-8', async () => {
    const raw = Buffer.from([0x00, 0xff, 0x10, 0x80, 0x7f, 0x0a, 0x0d]);
    const dn = 'cn=Müller Ünal 日本,dc=example';
    const [r] = await read(`dn:: ${b64(dn)}\nuserPassword:: ${b64('{SSHA}abcdefgh')}\nobjectGUID:: ${b64(raw)}   \n`);
    const e = entry(r);
    assert.equal(e.dn, dn);
    assert.deepEqual(values(e, 'userpassword'), [Buffer.from('{SSHA}abcdefgh')]);
    assert.deepEqual(values(e, 'objectguid'), [raw], 'trailing spaces after base64 are ignored');
    assert.ok(Buffer.isBuffer(values(e, 'objectguid')?.[0]));
  });

  it('rejects invalid base64 for that record only, without echoing the value', async () => {
    const records = await read(
      [
        'dn: uid=ok1,dc=example',
        'cn: ok1',
        '',
        'dn: uid=broken,dc=example',
        'cn: broken',
        'sambaNTPassword:: 8846F7EAEE8FB117AD06BDD830B7586C!!',
        'mail: after-the-error@example.com',
        '',
        'dn: uid=unpadded,dc=example',
        'description:: QUI',
        '',
        'dn: uid=ok2,dc=example',
        'cn: ok2',
      ].join('\n'),
    );
    assert.equal(records.length, 4);
    assert.equal(entry(records[0]).dn, 'uid=ok1,dc=example');
    const bad = failure(records[1]);
    assert.equal(bad.error.code, 'LDIF_BAD_BASE64');
    assert.equal(bad.error.line, 6);
    assert.equal(bad.dn, 'uid=broken,dc=example');
    assert.match(bad.error.message, /sambaNTPassword|sambantpassword/);
    assert.match(bad.error.message, /line 6/);
    assert.doesNotMatch(bad.error.message, /8846F7EA/i);
    const unpadded = failure(records[2]);
    assert.equal(unpadded.error.code, 'LDIF_BAD_BASE64');
    assert.equal(unpadded.error.line, 10);
    assert.equal(entry(records[3]).dn, 'uid=ok2,dc=example');
  });

  it('rejects a base64 dn that is not UTF-8, and a bad base64 dn', async () => {
    const records = await read(`dn:: ${b64(Buffer.from([0x63, 0x6e, 0x3d, 0xff, 0xfe]))}\ncn: x\n\ndn:: ***\ncn: y\n\ndn: cn=z\n`);
    assert.equal(records.length, 3);
    const notUtf8 = failure(records[0]);
    assert.equal(notUtf8.error.code, 'LDIF_SYNTAX');
    assert.equal(notUtf8.error.line, 1);
    assert.equal(notUtf8.dn, undefined);
    const badDn = failure(records[1]);
    assert.equal(badDn.error.code, 'LDIF_BAD_BASE64');
    assert.equal(badDn.error.line, 4);
    assert.equal(entry(records[2]).dn, 'cn=z');
  });
});

describe('readLdif: lines, comments, version', () => {
  it('reads CRLF input exactly like LF input, and strips a lone CR at the end of the input', async () => {
    const lf = 'version: 1\n\ndn: cn=a,\n dc=x\ncn: a\ndescription:: AAEC\n\ndn: cn=b\ncn: b\n';
    const crlf = lf.replaceAll('\n', '\r\n');
    assert.ok(crlf.includes('\r\n'));
    const expected = plain(await read(lf));
    assert.equal(expected.length, 2);
    assert.deepEqual(plain(await read(crlf)), expected);
    const [, last] = await read('dn: cn=a\ncn: a\n\ndn: cn=b\ncn: b\r');
    assert.deepEqual(values(entry(last), 'cn'), ['b']);
  });

  it('ignores comments anywhere, including folded comments whose continuations look like attributes', async () => {
    const records = await read(
      [
        '# exported by slapcat',
        '#  continued comment',
        'version: 1',
        '# between version and first record',
        '',
        '# record comment',
        'dn: cn=a,dc=example',
        '# a comment inside the record',
        ' dn: this continues the comment, not an attribute',
        'cn: a',
        '#',
        ' : neither is this',
        'sn: A',
        '',
        '#comment between records',
        '',
        'dn: cn=b,dc=example',
        'cn: b',
      ].join('\n'),
    );
    assert.equal(records.length, 2);
    const a = entry(records[0]);
    assert.equal(a.dn, 'cn=a,dc=example');
    assert.equal(a.line, 7);
    assert.deepEqual(Object.fromEntries(a.attributes), { cn: ['a'], sn: ['A'] });
    assert.equal(entry(records[1]).line, 17);
  });

  it('accepts version: 1 (with or without a blank line after it) and refuses other versions', async () => {
    assert.equal(entry((await read('version: 1\ndn: cn=a\ncn: a\n'))[0]).dn, 'cn=a');
    assert.equal(entry((await read('version:1\n\n\ndn: cn=a\ncn: a\n'))[0]).dn, 'cn=a');
    await assert.rejects(read('version: 2\n\ndn: cn=a\n'), (err: unknown) => {
      assert.ok(err instanceof NotLdifError);
      assert.ok(err instanceof FatalError);
      assert.equal(err.code, 'LDIF_NOT_LDIF');
      assert.match(err.message, /version/);
      return true;
    });
  });

  it('reports a version line in the middle of the file as a record error', async () => {
    const records = await read('dn: cn=a\ncn: a\n\nversion: 1\n\ndn: cn=b\ncn: b\n');
    assert.equal(records.length, 3);
    const err = failure(records[1]);
    assert.equal(err.error.code, 'LDIF_SYNTAX');
    assert.equal(err.error.line, 4);
    assert.equal(err.dn, undefined);
    assert.equal(entry(records[2]).dn, 'cn=b');
  });
});

describe('readLdif: broken records', () => {
  it('rejects values by URL (:<) with the line number, and goes on', async () => {
    const records = await read(
      ['dn: cn=a,dc=example', 'cn: a', '', 'dn: cn=photo,dc=example', 'cn: photo', 'jpegPhoto:< file:///tmp/photo.jpg', 'sn: skipped', '', 'dn: cn=c,dc=example', 'cn: c'].join(
        '\n',
      ),
    );
    assert.deepEqual(
      records.map((r) => r.kind),
      ['entry', 'error', 'entry'],
    );
    const err = failure(records[1]);
    assert.equal(err.error.code, 'LDIF_URL_VALUE');
    assert.equal(err.error.line, 6);
    assert.equal(err.dn, 'cn=photo,dc=example');
    assert.match(err.error.message, /^values by URL are not supported: /);
    assert.match(err.error.message, /line 6/);
    assert.deepEqual(values(entry(records[2]), 'cn'), ['c']);
  });

  it('reports a bad line in the middle of a file with its line number; records before and after come out', async () => {
    const lines = ['dn: uid=one,dc=example', 'cn: one', '', 'dn: uid=two,dc=example', 'cn: two', 'this line has no colon', 'sn: two', '', 'dn: uid=three,dc=example', 'cn: three', ''];
    const records = await read(lines.join('\n'));
    assert.equal(records.length, 3);
    assert.deepEqual(values(entry(records[0]), 'cn'), ['one']);
    const err = failure(records[1]);
    assert.equal(err.error.code, 'LDIF_SYNTAX');
    assert.equal(err.error.line, 6);
    assert.equal(err.dn, 'uid=two,dc=example');
    assert.match(err.error.message, /line 6/);
    assert.doesNotMatch(err.error.message, /this line has no colon/, 'the line content is not echoed');
    assert.equal(entry(records[2]).dn, 'uid=three,dc=example');
    assert.equal(entry(records[2]).line, 9);
  });

  it('rejects invalid attribute descriptions', async () => {
    for (const bad of ['bad_name: x', '1abc: x', '-cn: x', 'cn;: x', 'c n: x', 'cé: x', ': x', '2.5.4: ok\n3.: x']) {
      const records = await read(`dn: cn=a\n${bad}\n\ndn: cn=b\n`);
      const err = failure(records[0]);
      assert.equal(err.error.code, 'LDIF_SYNTAX', bad);
      assert.equal(err.error.line, bad.includes('\n') ? 3 : 2, bad);
      assert.equal(entry(records[1]).dn, 'cn=b', bad);
    }
  });

  it('reports a second dn: in one record (a missing blank line)', async () => {
    const records = await read('dn: cn=a\ncn: a\ndn: cn=b\ncn: b\n\ndn: cn=c\n');
    assert.equal(records.length, 2);
    const err = failure(records[0]);
    assert.equal(err.error.code, 'LDIF_SYNTAX');
    assert.equal(err.error.line, 3);
    assert.equal(err.dn, 'cn=a');
    assert.equal(entry(records[1]).dn, 'cn=c');
  });

  it('reports a later record that does not start with dn: as a record error', async () => {
    const records = await read('dn: cn=a\ncn: a\n\ncn: orphan\nsn: orphan\n\ndn: cn=b\ncn: b\n');
    assert.equal(records.length, 3);
    const err = failure(records[1]);
    assert.equal(err.error.code, 'LDIF_SYNTAX');
    assert.equal(err.error.line, 4);
    assert.equal(err.dn, undefined);
    assert.match(err.error.message, /dn:/);
    assert.equal(entry(records[2]).dn, 'cn=b');
  });

  it('reports change records other than add, treats changetype: add as content, skips control: lines', async () => {
    const records = await read(
      [
        'dn: cn=mod,dc=example',
        'changetype: modify',
        'replace: mail',
        'mail: new@example.com',
        '-',
        '',
        'dn: cn=del,dc=example',
        'control: 1.2.840.113556.1.4.805 true',
        'changetype: Delete',
        '',
        'dn: cn=ren,dc=example',
        'changetype: modrdn',
        'newrdn: cn=other',
        'deleteoldrdn: 1',
        '',
        'dn: cn=added,dc=example',
        'control: 1.2.840.113556.1.4.417',
        'changetype: add',
        'objectClass: person',
        'cn: added',
        '',
        'dn: cn=plain,dc=example',
        'cn: plain',
      ].join('\n'),
    );
    assert.deepEqual(
      records.map((r) => r.kind),
      ['error', 'error', 'error', 'entry', 'entry'],
    );
    const expected = [
      ['cn=mod,dc=example', 2],
      ['cn=del,dc=example', 9],
      ['cn=ren,dc=example', 12],
    ] as const;
    for (const [i, [dn, line]] of expected.entries()) {
      const err = failure(records[i]);
      assert.equal(err.error.code, 'LDIF_CHANGE_RECORD');
      assert.equal(err.error.line, line);
      assert.equal(err.dn, dn);
    }
    assert.match(failure(records[1]).error.message, /delete/);
    const added = entry(records[3]);
    assert.deepEqual(Object.fromEntries(added.attributes), { objectclass: ['person'], cn: ['added'] });
    assert.equal(entry(records[4]).dn, 'cn=plain,dc=example');
  });

  it('reports an over-long line as a record error and keeps going (small limit)', async () => {
    const long = 'x'.repeat(5000);
    const text = Buffer.from(`dn: cn=a\ncn: a\n\ndn: cn=big\ndescription: ${long}\ncn: big\n\ndn: cn=folded\ndescription: ${long.match(/.{1,70}/g)!.join('\n ')}\n\ndn: cn=c\ncn: c\n`);
    for (const size of [text.length, 1, 977]) {
      const records = await collect(readLdifWithLimit(chunked(text, () => size), {}, 2048));
      assert.deepEqual(
        records.map((r) => (r.kind === 'entry' ? r.dn : `${r.error.code}@${r.error.line}:${r.dn}`)),
        ['cn=a', 'LDIF_LINE_TOO_LONG@5:cn=big', 'LDIF_LINE_TOO_LONG@9:cn=folded', 'cn=c'],
        `chunk size ${size}`,
      );
    }
  });
});

describe('readLdif: input that is not LDIF', () => {
  async function assertNotLdif(input: string | Buffer, line: number): Promise<void> {
    await assert.rejects(read(input), (err: unknown) => {
      assert.ok(err instanceof NotLdifError, String(err));
      assert.ok(err instanceof FatalError);
      assert.equal(err.code, 'LDIF_NOT_LDIF');
      assert.match(err.message, new RegExp(`^not LDIF: line ${line} does not start with "dn:"`));
      assert.doesNotMatch(err.message, /alice|8846f7ea/i, 'content is not echoed');
      return true;
    });
  }

  it('throws NotLdifError for CSV text', async () => {
    await assertNotLdif('user,ntHash\nalice,8846f7eaee8fb117ad06bdd830b7586c\n', 1);
  });

  it('throws NotLdifError for CSV text whose header has a colon, after comments', async () => {
    await assertNotLdif('# exported\n# by a script\ntime: 12:00,user\nalice,8846f7eaee8fb117ad06bdd830b7586c\n', 3);
  });

  it('throws NotLdifError for binary input, even one long line without a newline (small limit)', async () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52]);
    await assertNotLdif(png, 1);
    const blob = Buffer.alloc(50_000, 0x41);
    await assert.rejects(collect(readLdifWithLimit(chunked(blob, () => 4096), {}, 4096)), NotLdifError);
  });

  it('throws before yielding anything, and only once the consumer pulls', async () => {
    let pulled = 0;
    async function* source(): AsyncGenerator<string> {
      pulled++;
      yield 'a,b,c\n1,2,3\n';
    }
    const records = readLdif(source());
    assert.equal(pulled, 0, 'nothing read before the first pull');
    await assert.rejects(records.next(), NotLdifError);
    assert.equal(pulled, 1);
  });
});

describe('readLdif: streaming', () => {
  const sample = Buffer.concat([
    Buffer.from([0xef, 0xbb, 0xbf]),
    Buffer.from('# phsync test sample\n# folded\n  comment\nversion: 1\r\n\r\n'),
    Buffer.from('dn: uid=jos'),
    Buffer.from([0xc3]),
    Buffer.from('\r\n '),
    Buffer.from([0xa9]),
    Buffer.from(',ou=people,dc=example,dc=com\r\nobjectClass: inetOrgPerson\r\nobjectClass: sambaSamAccount\r\ncn: Jos'),
    Buffer.from([0xc3, 0xa9]),
    Buffer.from(' Garc'),
    Buffer.from([0xc3]),
    Buffer.from('\n '),
    Buffer.from([0xad]),
    Buffer.from('a\nsambaNTPassword: 8846F7EAEE8FB117AD06BDD830B7586C\ndescription:\n'),
    Buffer.from(`jpegPhoto:: ${b64(Buffer.from(Array.from({ length: 120 }, (_, i) => (i * 91) & 0xff))).match(/.{1,40}/g)!.join('\n ')}\n`),
    Buffer.from('# trailing comment\n\n\n'),
    Buffer.from(`dn:: ${b64('cn=Ünal,dc=example,dc=com')}\nentryUUID: 0b5f3c2e-6a7d-4c1e-9b0a-2f6d5e4c3b2a\nuserPassword:: ${b64('{SSHA}secret')}\n\n`),
    Buffer.from('dn: cn=broken,dc=example,dc=com\ncn: broken\njpegPhoto:< file:///x.jpg\ncn: skipped\n\n'),
    Buffer.from('dn: cn=changed,dc=example,dc=com\nchangetype: modify\nreplace: cn\ncn: x\n-\n\n'),
    Buffer.from('dn: cn=last,dc=example,dc=com\ncn: last\nsn: no newline at the end'),
  ]);

  it('the sample reads as expected in one chunk', async () => {
    const records = await read(sample);
    assert.deepEqual(
      records.map((r) => (r.kind === 'entry' ? r.dn : `${r.error.code}@${r.error.line}`)),
      ['uid=josé,ou=people,dc=example,dc=com', 'cn=Ünal,dc=example,dc=com', 'LDIF_URL_VALUE@27', 'LDIF_CHANGE_RECORD@31', 'cn=last,dc=example,dc=com'],
    );
    const jose = entry(records[0]);
    assert.equal(jose.line, 6);
    assert.deepEqual(values(jose, 'cn'), ['José García']);
    assert.deepEqual(values(jose, 'description'), ['']);
    assert.equal((values(jose, 'jpegphoto')?.[0] as Buffer).length, 120);
    assert.deepEqual(values(entry(records[4]), 'sn'), ['no newline at the end']);
  });

  it('gives the same records at every chunking: every split offset, 1-byte, 7-byte, random sizes, strings', async () => {
    const expected = plain(await read(sample));
    assert.equal(expected.length, 5);
    for (let cut = 0; cut <= sample.length; cut++) {
      const records = await collect(readLdif(once(sample.subarray(0, cut), sample.subarray(cut))));
      assert.deepEqual(plain(records), expected, `split at byte ${cut}`);
    }
    for (const size of [1, 2, 3, 7, 64]) {
      assert.deepEqual(plain(await collect(readLdif(chunked(sample, () => size)))), expected, `${size}-byte chunks`);
    }
    for (let seed = 1; seed <= 50; seed++) {
      const random = prng(seed);
      assert.deepEqual(plain(await collect(readLdif(chunked(sample, () => 1 + Math.floor(random() * 40))))), expected, `random chunks, seed ${seed}`);
    }
    const text = sample.toString('utf8');
    const stringChunks = text.match(/[^]{1,5}/gu)!;
    // String chunks are UTF-8 encoded one by one; the sample's folds inside characters are not valid
    // UTF-8 as text, so compare with the re-encoded text read whole.
    assert.deepEqual(plain(await collect(readLdif(once(...stringChunks)))), plain(await read(text)));
  });

  it('keeps nothing of a chunk once it is used up: a source that reuses its buffer reads correctly', async () => {
    const expected = plain(await read(sample));
    for (const size of [5, 13, 64]) {
      async function* reusing(): AsyncGenerator<Buffer> {
        const scratch = Buffer.alloc(size);
        for (let offset = 0; offset < sample.length; offset += size) {
          scratch.fill(0xaa); // what was handed out before is overwritten
          const n = sample.copy(scratch, 0, offset, offset + size);
          yield scratch.subarray(0, n);
        }
      }
      assert.deepEqual(plain(await collect(readLdif(reusing()))), expected, `scratch buffer of ${size} bytes`);
    }
  });

  it('pulls a chunk only when the consumer asks for the next record, and closes the input on break', async () => {
    let pulled = 0;
    let closed = false;
    async function* source(): AsyncGenerator<string> {
      try {
        for (let i = 0; i < 1000; i++) {
          pulled++;
          yield `dn: cn=user${i}\ncn: user${i}\n\n`;
        }
      } finally {
        closed = true;
      }
    }
    const seen: string[] = [];
    for await (const r of readLdif(source())) {
      seen.push(entry(r).dn);
      if (seen.length === 3) break;
    }
    assert.deepEqual(seen, ['cn=user0', 'cn=user1', 'cn=user2']);
    assert.ok(pulled <= 4, `pulled ${pulled} chunks for 3 records`);
    assert.equal(closed, true, 'the input was closed');
  });

  it('stops with the abort reason when the signal is aborted', async () => {
    const aborted = AbortSignal.abort();
    await assert.rejects(collect(readLdif(once('dn: cn=a\n'), { signal: aborted })), { name: 'AbortError' });
    const controller = new AbortController();
    const seen: string[] = [];
    await assert.rejects(
      (async () => {
        for await (const r of readLdif(once('dn: cn=a\n\ndn: cn=b\n\ndn: cn=c\n'), { signal: controller.signal })) {
          seen.push(entry(r).dn);
          controller.abort();
        }
      })(),
      { name: 'AbortError' },
    );
    assert.deepEqual(seen, ['cn=a']);
  });
});

describe('readLdifFile', () => {
  it('reads a slapcat export from a file', async () => {
    const path = join(tmp, 'slapcat.ldif');
    const userPassword = '{SSHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g/gMPL';
    writeFileSync(
      path,
      [
        'dn: dc=example,dc=com',
        'objectClass: top',
        'objectClass: dcObject',
        'objectClass: organization',
        'o: Example',
        'dc: example',
        'structuralObjectClass: organization',
        'entryUUID: 5a3c1e9a-2b2f-103f-8a4e-5d1f0b6c7d8e',
        'creatorsName: cn=admin,dc=example,dc=com',
        'createTimestamp: 20240105093012Z',
        'entryCSN: 20240105093012.123456Z#000000#000#000000',
        'modifiersName: cn=admin,dc=example,dc=com',
        'modifyTimestamp: 20240105093012Z',
        'contextCSN: 20240612081500.654321Z#000000#000#000000',
        '',
        'dn: uid=jdoe,ou=people,dc=example,dc=com',
        'objectClass: top',
        'objectClass: person',
        'objectClass: organizationalPerson',
        'objectClass: inetOrgPerson',
        'objectClass: sambaSamAccount',
        'cn: John Doe',
        'sn: Doe',
        'uid: jdoe',
        'mail: jdoe@example.com',
        `userPassword:: ${b64(userPassword)}`,
        'sambaSID: S-1-5-21-3623811015-3361044348-30300820-1013',
        'sambaNTPassword: 8846F7EAEE8FB117AD06BDD830B7586C',
        'sambaPwdLastSet: 1718180100',
        'sambaAcctFlags: [U          ]',
        'description: A description long enough that slapcat folds it at column seven',
        ' ty-six, as it does for every long line.',
        'structuralObjectClass: inetOrgPerson',
        'entryUUID: 0b5f3c2e-6a7d-103f-9b0a-2f6d5e4c3b2a',
        'creatorsName: cn=admin,dc=example,dc=com',
        'createTimestamp: 20240105093512Z',
        'entryCSN: 20240612081500.654321Z#000000#000#000000',
        'modifiersName: cn=admin,dc=example,dc=com',
        'modifyTimestamp: 20240612081500Z',
        '',
        '',
      ].join('\n'),
    );
    const records = await collect(readLdifFile(path));
    assert.equal(records.length, 2);
    assert.equal(entry(records[0]).dn, 'dc=example,dc=com');
    const user = entry(records[1]);
    assert.equal(user.dn, 'uid=jdoe,ou=people,dc=example,dc=com');
    assert.equal(user.line, 16);
    assert.deepEqual(values(user, 'objectclass'), ['top', 'person', 'organizationalPerson', 'inetOrgPerson', 'sambaSamAccount']);
    assert.deepEqual(values(user, 'sambantpassword'), ['8846F7EAEE8FB117AD06BDD830B7586C']);
    assert.deepEqual(values(user, 'entryuuid'), ['0b5f3c2e-6a7d-103f-9b0a-2f6d5e4c3b2a']);
    assert.deepEqual(values(user, 'entrycsn'), ['20240612081500.654321Z#000000#000#000000']);
    assert.deepEqual(values(user, 'structuralobjectclass'), ['inetOrgPerson']);
    assert.deepEqual(values(user, 'sambaacctflags'), ['[U          ]']);
    assert.deepEqual(values(user, 'userpassword'), [Buffer.from(userPassword)]);
    assert.deepEqual(values(user, 'description'), ['A description long enough that slapcat folds it at column seventy-six, as it does for every long line.']);
    assert.equal(user.attributes.size, 18);
  });

  it('reads a file larger than one chunk', async () => {
    const path = join(tmp, 'many.ldif');
    const count = 30_000; // about 2.4 MB: several 1 MiB chunks
    const parts: string[] = [];
    for (let i = 0; i < count; i++) {
      parts.push(`dn: uid=user${i},ou=people,dc=example,dc=com\nuid: user${i}\nsambaNTPassword: ${i.toString(16).padStart(32, '0')}\ndescription: ${'d'.repeat(i % 20)}\n\n`);
    }
    writeFileSync(path, parts.join(''));
    let n = 0;
    for await (const r of readLdifFile(path)) {
      const e = entry(r);
      assert.equal(e.dn, `uid=user${n},ou=people,dc=example,dc=com`);
      assert.deepEqual(values(e, 'sambantpassword'), [n.toString(16).padStart(32, '0')]);
      assert.equal(e.line, 5 * n + 1);
      n++;
    }
    assert.equal(n, count);
  });

  it('fails with FatalError SOURCE_NOT_FOUND naming the path for a missing file, on the first pull', async () => {
    const path = join(tmp, 'does-not-exist.ldif');
    const records = readLdifFile(path); // does not throw: nothing is opened yet
    await assert.rejects(records.next(), (err: unknown) => {
      assert.ok(err instanceof FatalError, String(err));
      assert.equal(err.code, 'SOURCE_NOT_FOUND');
      assert.ok(err.message.includes(path), err.message);
      return true;
    });
  });

  it('fails with FatalError SOURCE_UNREADABLE for a directory', async () => {
    await assert.rejects(collect(readLdifFile(tmp)), (err: unknown) => {
      assert.ok(err instanceof FatalError, String(err));
      assert.equal(err.code, 'SOURCE_UNREADABLE');
      assert.ok(err.message.includes(tmp), err.message);
      return true;
    });
  });

  it('throws NotLdifError for a CSV file', async () => {
    const path = join(tmp, 'users.csv');
    writeFileSync(path, 'userPrincipalName,ntHash\nalice@example.com,8846f7eaee8fb117ad06bdd830b7586c\n');
    await assert.rejects(collect(readLdifFile(path)), NotLdifError);
  });
});

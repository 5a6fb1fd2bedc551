import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Attribute, BerReader, BerWriter, Client, InvalidAsn1Error, SearchEntry } from 'ldapts';
import type { Entry } from 'ldapts';
import { LeanSearchEntry, decodeEntriesLean } from '../../src/source/lean-search-entry.ts';
import { startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';

/** An attribute as the test writes it: a name and raw values (a missing set: `values` undefined). */
interface RawAttribute {
  readonly name: string;
  readonly values: readonly Buffer[] | undefined;
}

const SEARCH_ENTRY_TAG = 0x64;

/** A whole LDAPMessage carrying a SearchResultEntry, encoded with ldapts' own writer. */
function encodeEntry(dn: string, attributes: readonly RawAttribute[], messageId = 7): Buffer {
  const w = new BerWriter();
  w.startSequence();
  w.writeInt(messageId);
  w.startSequence(SEARCH_ENTRY_TAG);
  w.writeString(dn);
  w.startSequence();
  for (const a of attributes) {
    w.startSequence();
    w.writeString(a.name);
    if (a.values !== undefined) {
      w.startSequence(0x31);
      for (const v of a.values) w.writeBuffer(v, 0x04);
      w.endSequence();
    }
    w.endSequence();
  }
  w.endSequence();
  w.endSequence();
  w.endSequence();
  return w.buffer;
}

/** Decodes the message with `entry` (positioned as ldapts' MessageParser positions its reader). */
function decodeWith<T extends SearchEntry>(entry: T, message: Buffer): T {
  const reader = new BerReader(message);
  reader.readSequence();
  reader.readInt();
  reader.readSequence();
  entry.parse(reader, []);
  return entry;
}

function bothWays(message: Buffer, requested: string[], binary: string[]): { stock: Entry; lean: Entry } {
  return {
    stock: decodeWith(new SearchEntry({ messageId: 7 }), message).toObject(requested, binary),
    lean: decodeWith(new LeanSearchEntry({ messageId: 7 }), message).toObject(requested, binary),
  };
}

/** A deterministic generator, so that a failing random case can be run again. */
function generator(seed: number): (n: number) => number {
  let s = seed >>> 0;
  return (n) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s % n;
  };
}

const text = (s: string): Buffer => Buffer.from(s, 'utf8');
const INVALID_UTF8 = Buffer.from([0x61, 0xc3, 0x28, 0x62]);
const SURROGATE = Buffer.from([0xed, 0xa0, 0x80]);
const BOM_TEXT = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text('Zoë')]);

describe('LeanSearchEntry: the same objects as ldapts decodes', () => {
  it('gives what ldapts gives for text, bytes, several values, empty sets and absent attributes', () => {
    const message = encodeEntry('uid=zoë,ou=People,dc=example,dc=com', [
      { name: 'objectClass', values: [text('top'), text('inetOrgPerson'), text('sambaSamAccount')] },
      { name: 'uid', values: [text('zoë')] },
      { name: 'sambaNTPassword', values: [text('8846F7EAEE8FB117AD06BDD830B7586C')] },
      { name: 'jpegPhoto', values: [randomBytes(300)] },
      { name: 'description', values: [INVALID_UTF8, text('fine')] },
      { name: 'displayName', values: [BOM_TEXT] },
      { name: 'userCertificate;binary', values: [text('plain but binary')] },
      { name: 'objectGUID', values: [text('abc')] },
      { name: 'empty', values: [] },
      { name: 'noSet', values: undefined },
      { name: 'emptyValue', values: [Buffer.alloc(0)] },
      { name: 'bigValue', values: [Buffer.alloc(70_000, 0x41)] },
    ]);
    const { stock, lean } = bothWays(message, ['uid', 'objectclass', 'MAIL', 'entryUUID'], ['objectGUID']);
    assert.deepEqual(lean, stock);
    // The cases the comparison is about, spelled out: it must not pass by both sides being empty.
    assert.deepEqual(lean['objectClass'], ['top', 'inetOrgPerson', 'sambaSamAccount']);
    assert.equal(lean['uid'], 'zoë');
    assert.ok(Buffer.isBuffer(lean['jpegPhoto']) || Array.isArray(lean['jpegPhoto']));
    assert.ok(Array.isArray(lean['description']) && lean['description'].every((v) => Buffer.isBuffer(v)), 'an attribute with one value not UTF-8 is all bytes');
    assert.equal(lean['displayName'], 'Zoë', 'a leading byte-order mark is dropped, as TextDecoder does');
    assert.ok(Buffer.isBuffer(lean['userCertificate;binary']));
    assert.ok(Buffer.isBuffer(lean['objectGUID']));
    assert.deepEqual(lean['empty'], []);
    assert.deepEqual(lean['noSet'], []);
    assert.equal(lean['emptyValue'], '');
    assert.equal((lean['bigValue'] as string).length, 70_000);
    assert.deepEqual(lean['MAIL'], [], 'asked for and absent: present with no values');
    assert.equal(lean['objectclass'], undefined, 'asked for in another case and present: not added again');
  });

  it('gives what ldapts gives for 500 random entries', () => {
    const next = generator(20261128);
    const names = ['uid', 'UID', 'mail', 'cn', 'objectGUID', 'photo;binary', 'sambaNTPassword', 'x-Ünïcode', 'description'];
    const value = (): Buffer => {
      switch (next(7)) {
        case 0:
          return randomBytes(next(40));
        case 1:
          return INVALID_UTF8;
        case 2:
          return SURROGATE;
        case 3:
          return BOM_TEXT;
        case 4:
          return Buffer.alloc(next(3) === 0 ? 200 + next(70_000) : next(130), 0x7a);
        default:
          return text(['José', '日本語', '', 'a'.repeat(next(300)), '\u{1F600}'][next(5)]!);
      }
    };
    for (let n = 0; n < 500; n++) {
      const attributes: RawAttribute[] = [];
      for (let a = next(8); a > 0; a--) {
        const count = next(5);
        attributes.push({ name: names[next(names.length)]!, values: count === 4 ? undefined : Array.from({ length: count }, value) });
      }
      const requested = names.filter(() => next(3) === 0).map((name) => (next(2) === 0 ? name.toLowerCase() : name));
      const binary = names.filter(() => next(4) === 0);
      const { stock, lean } = bothWays(encodeEntry(`cn=user ${n},dc=example,dc=com`, attributes, n + 1), requested, binary);
      assert.deepEqual(lean, stock, `random entry ${n}`);
    }
  });

  it('reads controls after the entry, as ldapts does', () => {
    const message = encodeEntry('uid=a,dc=example,dc=com', [{ name: 'uid', values: [text('a')] }]);
    const entry = decodeWith(new LeanSearchEntry({ messageId: 7 }), message);
    assert.deepEqual(entry.controls, []);
    assert.equal(entry.toObject([], [])['uid'], 'a');
  });

  it('refuses malformed entries with InvalidAsn1Error instead of reading past an element', () => {
    const good = encodeEntry('uid=a,dc=example,dc=com', [{ name: 'uid', values: [text('abc')] }]);
    // Offsets into `good`: find the value's OCTET STRING header (04 03 'abc').
    const valueAt = good.indexOf(Buffer.from([0x04, 0x03, 0x61, 0x62, 0x63]));
    assert.ok(valueAt > 0);
    const cases: [string, Buffer][] = [
      ['a value longer than its set', Buffer.from(good).fill(0x09, valueAt + 1, valueAt + 2)],
      ['a value with the wrong tag', Buffer.from(good).fill(0x02, valueAt, valueAt + 1)],
      ['an indefinite length', Buffer.from(good).fill(0x80, valueAt + 1, valueAt + 2)],
      ['a length of five octets', Buffer.from(good).fill(0x85, valueAt + 1, valueAt + 2)],
    ];
    for (const [what, message] of cases) {
      assert.throws(() => decodeWith(new LeanSearchEntry({ messageId: 7 }), message), InvalidAsn1Error, what);
    }
  });

  it('hooks into the ldapts installed (an upgrade that removes the hook fails here, not silently slower)', () => {
    const client = new Client({ url: 'ldap://127.0.0.1:1' });
    assert.equal(decodeEntriesLean(client), true);
    assert.equal(decodeEntriesLean({} as Client), false, 'a client without the parser hook is left alone');
  });
});

describe('LeanSearchEntry against a real slapd: the same entries as ldapts reads', { timeout: 60_000 }, () => {
  let slapd: Slapd;
  const photo = randomBytes(2_000);
  const dn = 'uid=bytes,ou=People,dc=example,dc=com';

  before(async () => {
    slapd = await startSlapd({ users: 40, seed: 'lean-search-entry' });
    await using root = new Client({ url: slapd.url, timeout: 10_000 });
    await root.bind(slapd.rootDn, slapd.rootPassword);
    await root.add(dn, [
      new Attribute({ type: 'objectClass', values: ['top', 'inetOrgPerson'] }),
      new Attribute({ type: 'uid', values: ['bytes'] }),
      new Attribute({ type: 'cn', values: ['Bytes'] }),
      new Attribute({ type: 'sn', values: ['Bytes'] }),
      new Attribute({ type: 'mail', values: ['bytes@example.com', 'b@example.com'] }),
      new Attribute({ type: 'description', values: ['zoë', 'José', '日本語'] }),
      new Attribute({ type: 'displayName', values: [BOM_TEXT.toString('utf8')] }),
      new Attribute({ type: 'jpegPhoto', values: [photo] }),
    ]);
  });
  after(async () => {
    await slapd?.[Symbol.asyncDispose]();
  });

  /** Every entry of the directory; with `lean`, also how many LeanSearchEntry decoded. */
  async function searchAll(lean: boolean, attributes: string[], binary: string[]): Promise<{ entries: Entry[]; decodedLean: number }> {
    await using client = new Client({ url: slapd.url, timeout: 10_000 });
    if (lean) assert.equal(decodeEntriesLean(client), true);
    await client.bind(slapd.rootDn, slapd.rootPassword);
    // Counted, so that a hook that no longer sees search entries (ldapts changed how it calls it)
    // fails here rather than passing with ldapts' decoder doing the work.
    let decodedLean = 0;
    const parse = LeanSearchEntry.prototype.parseMessage;
    LeanSearchEntry.prototype.parseMessage = function (this: LeanSearchEntry, reader) {
      decodedLean++;
      parse.call(this, reader);
    };
    const entries: Entry[] = [];
    try {
      for await (const page of client.searchPaginated(slapd.baseDn, { scope: 'sub', filter: '(objectClass=*)', attributes, explicitBufferAttributes: binary, paged: { pageSize: 7 } })) {
        entries.push(...page.searchEntries);
      }
    } finally {
      LeanSearchEntry.prototype.parseMessage = parse;
    }
    return { entries, decodedLean };
  }

  const cases: [what: string, attributes: string[], binary: string[]][] = [
    ['all attributes, operational ones too', ['*', '+'], ['entryUUID']],
    ['the attributes a sync asks for, one in another case and one absent', ['uid', 'objectclass', 'sambaNTPassword', 'entryUUID', 'noSuchAttribute'], []],
  ];
  for (const [what, attributes, binary] of cases) {
    it(what, async () => {
      const { entries: stock, decodedLean: none } = await searchAll(false, attributes, binary);
      const { entries: lean, decodedLean } = await searchAll(true, attributes, binary);
      assert.ok(stock.length > 40, `the directory read (${stock.length} entries)`);
      assert.equal(none, 0, 'a client without the hook decodes as ldapts does');
      assert.equal(decodedLean, lean.length, 'every entry was decoded by LeanSearchEntry');
      assert.deepEqual(lean, stock);
      if (attributes.includes('*')) {
        const bytes = lean.find((e) => e.dn === dn) ?? assert.fail('the entry with a photo was read');
        assert.deepEqual(bytes['jpegPhoto'], photo);
        assert.equal(bytes['displayName'], 'Zoë');
        assert.deepEqual(bytes['description'], ['zoë', 'José', '日本語']);
      }
    });
  }
});

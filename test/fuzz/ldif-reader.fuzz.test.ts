import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UserDataError } from '../../src/errors.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { LdifSyntaxError, NotLdifError, readLdifWithLimit } from '../../src/source/ldif-reader.ts';
import type { LdifEntry, LdifRecordError } from '../../src/source/ldif-reader.ts';
import { mapEntry } from '../../src/source/map-entry.ts';
import { corpusUser, userRecord } from '../support/bad-inputs.ts';

/**
 * Property-based fuzzing of the LDIF reader (issue 9): random bytes and random mutations of a valid
 * file, read in random chunks with a small line limit. Nothing may throw but the named errors, every
 * read ends, the output is bounded by the input, and a mutation confined to one record never costs
 * the users of the others. Seeded (FUZZ_SEED to replay; fast-check prints the seed and path of a failure).
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_251_127);
const MAX_LINE = 1024; // the splitter's smallest limit: long lines are easy to make
const RECORD_CODES = new Set(['LDIF_SYNTAX', 'LDIF_URL_VALUE', 'LDIF_BAD_BASE64', 'LDIF_INVALID_UTF8', 'LDIF_CHANGE_RECORD', 'LDIF_LINE_TOO_LONG']);
const USER_CODES = new Set(['INVALID_NT_HASH', 'MISSING_NT_HASH', 'MISSING_ANCHOR', 'MISSING_USER_PRINCIPAL_NAME', 'INVALID_USER_PRINCIPAL_NAME', 'INVALID_ACCOUNT_FLAGS', 'INVALID_PASSWORD_LAST_SET']);

type Record_ = LdifEntry | LdifRecordError;

async function* chunks(data: Uint8Array, sizes: readonly number[]): AsyncGenerator<Buffer> {
  let offset = 0;
  for (let i = 0; offset < data.length; i++) {
    const size = sizes.length === 0 ? data.length : Math.max(1, sizes[i % sizes.length]!);
    yield Buffer.from(data.subarray(offset, offset + size));
    offset += size;
  }
}

interface Outcome {
  readonly records: readonly Record_[];
  readonly fatal: NotLdifError | undefined;
}

/** Reads everything; only NotLdifError may escape the reader, anything else fails the property. */
async function read(data: Uint8Array, sizes: readonly number[]): Promise<Outcome> {
  const records: Record_[] = [];
  try {
    for await (const r of readLdifWithLimit(chunks(data, sizes), {}, MAX_LINE)) records.push(r);
  } catch (err) {
    if (err instanceof NotLdifError) return { records, fatal: err };
    throw err;
  }
  return { records, fatal: undefined };
}

function valueBytes(entry: LdifEntry): number {
  let n = Buffer.byteLength(entry.dn);
  for (const [name, values] of entry.attributes) for (const v of values) n += name.length + (typeof v === 'string' ? Buffer.byteLength(v) : v.length);
  return n;
}

/** The invariants of any read: named errors only, bounded output, values within the line limit; mapping never throws. */
function checkOutcome(data: Uint8Array, { records, fatal }: Outcome): void {
  if (fatal !== undefined) assert.match(fatal.message, /line \d+/);
  const lines = 1 + data.reduce((n, b) => n + (b === 0x0a ? 1 : 0), 0);
  assert.ok(records.length <= lines, 'at most one record per line');
  let total = 0;
  for (const r of records) {
    if (r.kind === 'error') {
      assert.ok(r.error instanceof LdifSyntaxError && RECORD_CODES.has(r.error.code), `a named record error: ${r.error.code}`);
      assert.ok(r.error.line >= 1 && r.error.line <= lines, `line ${r.error.line} is in the input (${lines} lines)`);
      continue;
    }
    total += valueBytes(r);
    for (const values of r.attributes.values()) for (const v of values) assert.ok((typeof v === 'string' ? Buffer.byteLength(v) : v.length) <= MAX_LINE * 4, 'no value past the line limit');
    const item = mapEntry({ dn: r.dn, origin: `line ${r.line}`, attributes: r.attributes }, openldapSamba, 'fuzz');
    if (item?.kind === 'invalid') assert.ok(item.invalid.error instanceof UserDataError && USER_CODES.has(item.invalid.error.code), item.invalid.error.code);
    if (item?.kind === 'user') assert.equal(item.user.ntHash.length, 16);
  }
  // Unfolding and unescaping never make more than came in (a line's dn and names are counted once).
  assert.ok(total <= data.length, `output ${total} bytes ≤ input ${data.length} bytes`);
}

const chunkSizes = fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 6 });
const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

/** Bytes that matter to LDIF, weighted in. */
const ldifByte = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 255 }) },
  { weight: 3, arbitrary: fc.constantFrom(0x0a, 0x0d, 0x20, 0x3a, 0x3c, 0x2d, 0x23, 0x3d, 0x00, 0x09, 0xef, 0xbb, 0xbf, 0xc3, 0xa9) },
);

const VALID = [0, 1, 2, 3].map((k) => corpusUser('fuzz', k));
const VALID_RECORDS = VALID.map((u) => userRecord(u));

describe('fuzzing the LDIF reader', { timeout: 60_000 }, () => {
  it('random bytes, in random chunks: named errors only, always ends, bounded output', async () => {
    await fc.assert(
      // Half of them past the first line, which is otherwise fatal at once.
      fc.asyncProperty(fc.boolean(), fc.array(ldifByte, { maxLength: 3000 }), chunkSizes, async (started, bytes, sizes) => {
        const data = Buffer.concat([Buffer.from(started ? 'dn: uid=a,dc=example,dc=com\n' : ''), Uint8Array.from(bytes)]);
        checkOutcome(data, await read(data, sizes));
      }),
      params(4000),
    );
  });

  it('random LDIF-shaped lines (names, ::, :<, folds, long values): the same', async () => {
    const line = fc.oneof(
      fc.constantFrom('dn: uid=x,dc=example,dc=com', 'version: 1', 'changetype: modify', '-', '', ' ', '# comment', 'sambaNTPassword:: ', 'entryUUID:', 'dn::'),
      fc.tuple(fc.constantFrom('dn', 'sambaNTPassword', 'userPrincipalName', 'entryUUID', 'objectClass', 'changetype', 'x;binary', '1.2.3', 'bad name'), fc.constantFrom(': ', ':: ', ':< ', ':', ' : '), fc.string({ maxLength: 40 }))
        .map(([n, sep, v]) => `${n}${sep}${v}`),
      fc.string({ minLength: 900, maxLength: 2500 }).map((v) => `description: ${v}`),
      fc.string({ maxLength: 30 }).map((v) => ` ${v}`),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { maxLength: 60 }), fc.constantFrom('\n', '\r\n'), chunkSizes, async (lines, eol, sizes) => {
        const data = Buffer.from(lines.join(eol));
        checkOutcome(data, await read(data, sizes));
      }),
      params(2000),
    );
  });

  it('a mutation inside one record costs no other record its user', async () => {
    const mutation = fc.oneof(
      fc.record({ kind: fc.constant('insert' as const), at: fc.nat(), bytes: fc.array(ldifByte, { minLength: 1, maxLength: 8 }) }),
      fc.record({ kind: fc.constant('delete' as const), at: fc.nat(), length: fc.integer({ min: 1, max: 40 }) }),
      fc.record({ kind: fc.constant('replace' as const), at: fc.nat(), bytes: fc.array(ldifByte, { minLength: 1, maxLength: 4 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: VALID.length - 1 }), fc.array(mutation, { minLength: 1, maxLength: 5 }), chunkSizes, async (victim, mutations, sizes) => {
        // The victim's record without its final blank line; the mutations must leave it one record.
        let record = Buffer.from(VALID_RECORDS[victim]!.slice(0, -2));
        for (const m of mutations) {
          const at = m.at % (record.length + 1);
          if (m.kind === 'insert') record = Buffer.concat([record.subarray(0, at), Buffer.from(m.bytes), record.subarray(at)]);
          else if (m.kind === 'delete') record = Buffer.concat([record.subarray(0, at), record.subarray(at + m.length)]);
          else record = Buffer.concat([record.subarray(0, at), Buffer.from(m.bytes), record.subarray(at + m.bytes.length)]);
        }
        const text = record.toString('latin1');
        // Still one record: no blank line inside, none at its ends, and it is not the file's first line (a fatal start).
        fc.pre(!/\n\r?\n/.test(text) && !/^\r?\n|\n\r?$|\r$/.test(text) && text.length > 0 && !text.startsWith(' '));
        const parts = VALID_RECORDS.map((r, i) => (i === victim ? Buffer.concat([record, Buffer.from('\n\n')]) : Buffer.from(r)));
        const data = Buffer.concat([Buffer.from(`version: 1\n\n${VALID_RECORDS[0]}`), ...parts]);
        const outcome = await read(data, sizes);
        assert.equal(outcome.fatal, undefined, outcome.fatal?.message);
        checkOutcome(data, outcome);
        const synced = new Set<string>();
        for (const r of outcome.records) {
          if (r.kind !== 'entry') continue;
          const item = mapEntry({ dn: r.dn, origin: `line ${r.line}`, attributes: r.attributes }, openldapSamba, 'fuzz');
          if (item?.kind === 'user') synced.add(item.user.userPrincipalName);
        }
        VALID.forEach((u, i) => {
          if (i !== victim) assert.ok(synced.has(u.userPrincipalName), `${u.uid} still reads as a user`);
        });
      }),
      params(3000),
    );
  });
});

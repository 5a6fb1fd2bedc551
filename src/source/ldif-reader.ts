/**
 * Streaming RFC 2849 LDIF reader for content records (slapcat, ldapsearch -L, ldifde output).
 *
 * Pull-based: a chunk is read only when the consumer asks for the next record, and only the
 * current record (plus a partial line) is held. A broken record yields one LdifRecordError and the
 * stream goes on with the next record; only input that does not look like LDIF at all is fatal.
 * Error messages name lines and attributes but never echo values: the input carries password hashes.
 */
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { inputFileError } from '../util/file-errors.ts';
import { FatalError, PhsyncError } from '../errors.ts';
import { BLANK, DEFAULT_MAX_LINE_BYTES, END, LdifLineSplitter, NEED_INPUT } from './ldif-line-splitter.ts';

/** `attr: value` gives a string; `attr:: base64` gives the decoded bytes. */
export type LdifValue = string | Buffer;

export interface LdifEntry {
  readonly kind: 'entry';
  /** A base64 dn (`dn::`) is decoded as UTF-8. */
  readonly dn: string;
  /** 1-based line number of the dn: line. */
  readonly line: number;
  /** Keys are attribute descriptions lowercased (options such as `;binary` kept); values in file order. */
  readonly attributes: ReadonlyMap<string, readonly LdifValue[]>;
}

export interface LdifRecordError {
  readonly kind: 'error';
  readonly error: LdifSyntaxError;
  /** The dn of the broken record, when it had been read. */
  readonly dn: string | undefined;
}

export interface ReadLdifOptions {
  readonly signal?: AbortSignal;
}

/** A broken record. Codes: LDIF_SYNTAX, LDIF_URL_VALUE, LDIF_BAD_BASE64, LDIF_INVALID_UTF8, LDIF_CHANGE_RECORD, LDIF_LINE_TOO_LONG. */
export class LdifSyntaxError extends PhsyncError {
  override name = 'LdifSyntaxError';
  /** 1-based line number of the offending line. */
  readonly line: number;

  constructor(code: string, message: string, line: number) {
    super(code, message);
    this.line = line;
  }
}

/** The input does not start like LDIF at all (a CSV, a binary file…). Code LDIF_NOT_LDIF. */
export class NotLdifError extends FatalError {
  override name = 'NotLdifError';

  constructor(message: string, options?: ErrorOptions) {
    super('LDIF_NOT_LDIF', message, options);
  }
}

const FILE_HIGH_WATER_MARK = 1024 * 1024;

export function readLdif(input: AsyncIterable<Buffer | string>, options: ReadLdifOptions = {}): AsyncGenerator<LdifEntry | LdifRecordError> {
  return readLdifWithLimit(input, options, DEFAULT_MAX_LINE_BYTES);
}

/**
 * Reads an LDIF file in 1 MiB chunks. A missing file is FatalError SOURCE_NOT_FOUND; any other
 * failure to open or read it is FatalError SOURCE_UNREADABLE. Nothing is opened before the first pull.
 */
export function readLdifFile(path: string, options: ReadLdifOptions = {}): AsyncGenerator<LdifEntry | LdifRecordError> {
  return readLdif(fileChunks(path, options.signal), options);
}

async function* fileChunks(path: string, signal: AbortSignal | undefined): AsyncGenerator<Buffer> {
  const stream = createReadStream(path, signal === undefined ? { highWaterMark: FILE_HIGH_WATER_MARK } : { highWaterMark: FILE_HIGH_WATER_MARK, signal });
  try {
    for await (const chunk of stream) yield chunk as Buffer;
  } catch (err) {
    throw inputFileError(err, 'LDIF file', path);
  }
}

/** readLdif with an explicit line-length limit (for tests; readLdif uses 64 MiB). */
export async function* readLdifWithLimit(
  input: AsyncIterable<Buffer | string>,
  options: ReadLdifOptions,
  maxLineBytes: number,
): AsyncGenerator<LdifEntry | LdifRecordError> {
  const { signal } = options;
  signal?.throwIfAborted();
  const lines = new LdifLineSplitter(maxLineBytes);
  const records = new RecordBuilder(lines);
  /** The next record, undefined for a line that completes none, null when the lines run out. */
  const step = (): LdifEntry | LdifRecordError | undefined | null => {
    const event = lines.next();
    if (event === NEED_INPUT || event === END) return null;
    return event === BLANK ? records.blank() : records.line();
  };
  for await (const chunk of input) {
    signal?.throwIfAborted();
    lines.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    for (let record = step(); record !== null; record = step()) {
      if (record === undefined) continue;
      yield record;
      signal?.throwIfAborted();
    }
  }
  lines.finish();
  for (let record = step(); record !== null; record = step()) {
    if (record === undefined) continue;
    yield record;
    signal?.throwIfAborted();
  }
  const last = records.blank();
  if (last !== undefined) yield last;
}

const START = 0; // nothing read yet: a version line may come, then the first record must start with dn:
const BETWEEN = 1;
const IN_RECORD = 2;
const SKIPPING = 3;

const COLON = 0x3a;
const LESS_THAN = 0x3c;
const SPACE = 0x20;
const ATTRIBUTE_DESCRIPTION = /^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*$/;
const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BAD_BASE64 = Symbol('bad base64');
const URL_VALUE = Symbol('value by URL');
const INVALID_UTF8 = Symbol('invalid UTF-8');
type ValueProblem = typeof BAD_BASE64 | typeof URL_VALUE | typeof INVALID_UTF8;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A value as a string of its own. Values are not sliced from the chunk's text: a sliced string keeps
 * its whole parent alive, and a consumer that keeps one value per entry would then keep the file.
 * (V8 copies substrings shorter than 13 characters, so those may come from the text.)
 */
function decode(buf: Buffer, text: string, start: number, end: number, ascii: boolean): string {
  if (!ascii) return buf.toString('utf8', start, end);
  return end - start < 13 ? text.slice(start, end) : buf.toString('latin1', start, end);
}

interface KnownName {
  /** As written. */
  readonly bytes: Buffer;
  /** Lowercased, or null when not a valid attribute description. */
  readonly name: string | null;
}

/**
 * Attribute descriptions recognised from their bytes, so the (few, repeating) names are decoded,
 * validated and lowercased once rather than on every line. A bounded cache keyed by a hash.
 */
class AttributeNames {
  /** Direct-mapped by hash: a collision only costs a re-decode. */
  readonly #known: (KnownName | undefined)[] = new Array<KnownName | undefined>(1024).fill(undefined);

  /** The name in `buf[start, end)` (`text` is the same bytes as latin1). */
  lookup(buf: Buffer, text: string, start: number, end: number): string | null {
    const length = end - start;
    const slot = (length * 61 + text.charCodeAt(start) * 31 + text.charCodeAt(start + (length >> 1)) * 7 + text.charCodeAt(end - 1)) & 1023;
    const known = this.#known[slot];
    if (known !== undefined && sameBytes(known.bytes, buf, start, end)) return known.name;
    const raw = buf.toString('latin1', start, end); // a flat copy: a slice of `text` could keep a chunk alive
    const name = ATTRIBUTE_DESCRIPTION.test(raw) ? raw.toLowerCase() : null;
    this.#known[slot] = { bytes: Buffer.from(buf.subarray(start, end)), name };
    return name;
  }
}

function sameBytes(a: Buffer, buf: Buffer, start: number, end: number): boolean {
  const length = a.length;
  if (length !== end - start) return false;
  for (let i = 0; i < length; i++) if (a[i] !== buf[start + i]) return false;
  return true;
}

/** Turns logical lines into records. */
class RecordBuilder {
  readonly #lines: LdifLineSplitter;
  readonly #names = new AttributeNames();
  #state = START;
  #dn: string | undefined;
  #dnLine = 0;
  #attributes = new Map<string, LdifValue[]>();

  constructor(lines: LdifLineSplitter) {
    this.#lines = lines;
  }

  /** A record separator (or the end of input): completes the record being read. */
  blank(): LdifEntry | undefined {
    const state = this.#state;
    if (state === START) return undefined;
    this.#state = BETWEEN;
    const dn = this.#dn;
    this.#dn = undefined;
    if (state !== IN_RECORD || dn === undefined) return undefined;
    const entry: LdifEntry = { kind: 'entry', dn, line: this.#dnLine, attributes: this.#attributes };
    this.#attributes = new Map();
    return entry;
  }

  line(): LdifRecordError | undefined {
    if (this.#state === SKIPPING) return undefined;
    const lines = this.#lines;
    const { buf, text, start, end, lineNumber, tooLong } = lines;
    let colon = start;
    while (colon < end && text.charCodeAt(colon) !== COLON) colon++;
    const name = colon > start && colon < end ? this.#names.lookup(buf, text, start, colon) : null;

    if (this.#state !== IN_RECORD) {
      if (name !== 'dn') return this.#notARecordStart(name, colon, lineNumber);
      this.#dn = undefined;
      this.#dnLine = lineNumber;
      this.#state = IN_RECORD;
      if (tooLong) return this.#fail('LDIF_LINE_TOO_LONG', `LDIF line ${lineNumber} (the dn) is too long`, lineNumber);
      const dn = value(buf, text, colon, end, lines.ascii);
      if (typeof dn === 'string') {
        // A CR inside a line is not LDIF (RFC 2849 SAFE-CHAR); in a dn it is a file with CR-only
        // line endings, whose every record would otherwise read as a dn alone: no user, no error.
        if (dn.includes('\r')) return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: a carriage return inside the dn (CR-only line endings?)`, lineNumber);
        this.#dn = dn;
        return undefined;
      }
      if (typeof dn === 'symbol') return this.#failValue(dn, lineNumber, 'dn');
      try {
        this.#dn = utf8.decode(dn);
      } catch {
        return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: the base64 dn is not valid UTF-8`, lineNumber);
      }
      return undefined;
    }

    if (name === null) {
      if (colon === end) return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: no ":" (a line must be "attribute: value")`, lineNumber);
      return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: not a valid attribute description before ":"`, lineNumber);
    }
    if (tooLong) return this.#fail('LDIF_LINE_TOO_LONG', `LDIF line ${lineNumber} (attribute "${name}") is too long`, lineNumber);
    if (name === 'dn') {
      return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: a second "dn:" line in one record (missing blank line between records?)`, lineNumber);
    }
    const v = value(buf, text, colon, end, lines.ascii);
    if (typeof v === 'symbol') return this.#failValue(v, lineNumber, name);
    if (name === 'changetype') {
      const changeType = (typeof v === 'string' ? v : v.toString('utf8')).trim().toLowerCase();
      if (changeType === 'add') return undefined;
      const shown = /^[a-z]{1,20}$/.test(changeType) ? `"changetype: ${changeType}"` : 'a changetype other than add';
      return this.#fail('LDIF_CHANGE_RECORD', `change records are not supported: ${shown} at line ${lineNumber} (only content records and changetype: add)`, lineNumber);
    }
    if (name === 'control') return undefined;
    const values = this.#attributes.get(name);
    if (values === undefined) this.#attributes.set(name, [v]);
    else values.push(v);
    return undefined;
  }

  /** A line where a record should start but that is not a dn: line. */
  #notARecordStart(name: string | null, colon: number, lineNumber: number): LdifRecordError | undefined {
    const lines = this.#lines;
    if (name === 'version' && this.#state === START && !lines.tooLong) {
      if (value(lines.buf, lines.text, colon, lines.end, lines.ascii) !== '1') {
        throw new NotLdifError(`not LDIF: unsupported LDIF version at line ${lineNumber} (only "version: 1" is known)`);
      }
      this.#state = BETWEEN;
      return undefined;
    }
    if (this.#dnLine === 0) {
      throw new NotLdifError(`not LDIF: line ${lineNumber} does not start with "dn:" (LDIF is an optional "version: 1" line, then records that each start with "dn:")`);
    }
    if (lines.text.charCodeAt(lines.start) === SPACE) {
      if (lines.text.slice(lines.start, lines.end).trim() === '') return undefined; // stray spaces between records
      return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: a continuation line (starting with a space) with no line before it to continue`, lineNumber);
    }
    return this.#fail('LDIF_SYNTAX', `invalid LDIF at line ${lineNumber}: a record must start with "dn:"`, lineNumber);
  }

  #failValue(problem: ValueProblem, lineNumber: number, name: string): LdifRecordError {
    if (problem === URL_VALUE) return this.#fail('LDIF_URL_VALUE', `values by URL are not supported: "${name}:<" at line ${lineNumber}`, lineNumber);
    if (problem === INVALID_UTF8) {
      return this.#fail('LDIF_INVALID_UTF8', `the value of "${name}" at line ${lineNumber} is not valid UTF-8 (a file in another encoding? non-ASCII values are UTF-8, or base64 with "${name}::")`, lineNumber);
    }
    return this.#fail('LDIF_BAD_BASE64', `invalid base64 value of "${name}" at line ${lineNumber}`, lineNumber);
  }

  #fail(code: string, message: string, lineNumber: number): LdifRecordError {
    this.#state = SKIPPING;
    this.#attributes = new Map();
    return { kind: 'error', error: new LdifSyntaxError(code, message, lineNumber), dn: this.#dn };
  }
}

/** The value after the colon at `colon`: a string, decoded base64 bytes, or the problem to report. */
function value(buf: Buffer, text: string, colon: number, end: number, ascii: boolean): LdifValue | ValueProblem {
  let i = colon + 1;
  const kind = i < end ? text.charCodeAt(i) : -1;
  if (kind === COLON || kind === LESS_THAN) i++;
  while (i < end && text.charCodeAt(i) === SPACE) i++;
  if (kind === COLON) {
    let last = end;
    while (last > i && text.charCodeAt(last - 1) === SPACE) last--;
    const b64 = text.slice(i, last);
    if (b64.length % 4 !== 0 || !BASE64.test(b64)) return BAD_BASE64;
    return Buffer.from(b64, 'base64');
  }
  if (kind === LESS_THAN) return URL_VALUE;
  if (i === end) return '';
  // Decoding would turn each invalid byte into U+FFFD silently: a UPN would sync under another name.
  if (!ascii && !isUtf8(buf.subarray(i, end))) return INVALID_UTF8;
  return decode(buf, text, i, end, ascii);
}

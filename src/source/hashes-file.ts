import { createReadStream } from 'node:fs';
import { inputFileError } from '../util/file-errors.ts';
import { NT_HASH_BYTES } from '../phs/credential.ts';
import { parseHexNtHash } from '../phs/hex-nt-hash.ts';
import type { HashLookup } from './map-entry.ts';

/**
 * A hash-export file: the NT hashes of an Active Directory domain, exported on a domain controller
 * (impacket secretsdump, pwdump and friends), for the `ad` preset to join on sAMAccountName.
 *
 * Lines, one account each:
 *
 *   DOMAIN\user:RID:LMHASH:NTHASH:::     secretsdump / pwdump (the DOMAIN\ prefix is optional;
 *                                        trailing "(status=…)" / "(pwdLastSet=…)" notes are ignored)
 *   user:NTHASH                          the short form
 *
 * Blank lines and lines starting with # are skipped. Names are keys case-insensitively (as AD compares
 * sAMAccountName); the NT hash must be 32 hex digits. A bad line does not stop the read: it is
 * collected as an error (HASHES_FILE_SYNTAX) with its line number, and so is a second line for a name
 * already given (the first stays). No message carries a hash, or a field that could be one.
 */
export interface HashesFile extends HashLookup {
  /** A copy of the user's 16-byte NT hash (the caller owns and may zero it), or undefined. */
  lookup(name: string): Uint8Array | undefined;
  /** Accounts read. */
  readonly size: number;
  /** Bad lines, in file order; at most MAX_KEPT_ERRORS of them (errorCount counts them all). */
  readonly errors: readonly HashesFileError[];
  readonly errorCount: number;
  /** Zeroes every hash held; lookups answer undefined afterwards. */
  wipe(): void;
}

export interface HashesFileError {
  readonly line: number;
  readonly code: 'HASHES_FILE_SYNTAX';
  readonly message: string;
}

/** A file of garbage would otherwise collect an error per line: the first ones say enough. */
export const MAX_KEPT_ERRORS = 1000;
/** No account line comes near this; longer lines are errors, and are not buffered whole. */
const MAX_LINE_BYTES = 64 * 1024;
// Only to keep a name that looks like a hash (a line with its fields swapped) out of messages.
const HEX32 = /^[0-9a-fA-F]{32}$/;
const RID = /^[0-9]{1,10}$/;
const LF = 0x0a;

/**
 * Memory: the hashes live in one slab (16 bytes each); a Map from the lowercased name to the slot
 * number holds the rest: the map entry and the name string in V8, plus 8 bytes for the line it came
 * from. Measured: about 90 MB (and 3 s of reading) for a million accounts. Holding them all is
 * inherent: the directory is read in its own order, not the file's.
 */
class HashStore {
  #slots = new Map<string, number>();
  #slab = Buffer.alloc(NT_HASH_BYTES * 1024);
  /** The line each slot was read from, for duplicate messages (8 bytes an account). */
  #lines: number[] = [];

  get size(): number {
    return this.#slots.size;
  }

  /** The line `key` was read from, or undefined when it has not been. */
  lineOf(key: string): number | undefined {
    const slot = this.#slots.get(key);
    return slot === undefined ? undefined : this.#lines[slot];
  }

  /** Keeps a copy of `ntHash` and zeroes the caller's. */
  add(key: string, ntHash: Uint8Array, line: number): void {
    const slot = this.#slots.size;
    if ((slot + 1) * NT_HASH_BYTES > this.#slab.length) {
      const grown = Buffer.alloc(this.#slab.length * 2);
      this.#slab.copy(grown);
      this.#slab.fill(0);
      this.#slab = grown;
    }
    this.#slab.set(ntHash, slot * NT_HASH_BYTES);
    ntHash.fill(0);
    this.#slots.set(key, slot);
    this.#lines.push(line);
  }

  lookup(name: string): Uint8Array | undefined {
    const slot = this.#slots.get(name.toLowerCase());
    if (slot === undefined) return undefined;
    return new Uint8Array(this.#slab.subarray(slot * NT_HASH_BYTES, (slot + 1) * NT_HASH_BYTES));
  }

  wipe(): void {
    this.#slab.fill(0);
    this.#slots.clear();
    this.#lines = [];
  }
}

/** A name for a message, unless it looks like a hash (a line with its fields swapped). */
function shown(name: string): string {
  return HEX32.test(name) ? '(a name that looks like a hash, not shown)' : JSON.stringify(name);
}

type Parsed = { readonly name: string; readonly ntHash: Uint8Array } | { readonly error: string };

function parseLine(line: string): Parsed {
  const fields = line.split(':');
  let account: string;
  let ntHash: string;
  if (fields.length === 2) {
    account = fields[0]!;
    ntHash = fields[1]!.trim();
  } else if (fields.length >= 7 && RID.test(fields[1]!.trim())) {
    account = fields[0]!;
    ntHash = fields[3]!.trim();
    // Fields 5 and 6 are empty in secretsdump; pwdump's comment fields and secretsdump's notes are let be.
  } else {
    return { error: `not DOMAIN\\user:RID:LMHASH:NTHASH::: nor user:NTHASH (${fields.length} colon-separated fields)` };
  }
  // sAMAccountName cannot hold a backslash: what is before the last one is the domain.
  const name = account.slice(account.lastIndexOf('\\') + 1).trim();
  if (name === '') return { error: 'no user name' };
  const bytes = parseHexNtHash(ntHash);
  if (bytes === undefined) return { error: `the NT hash of ${shown(name)} is not 32 hex digits (${ntHash.length} characters)` };
  return { name, ntHash: bytes };
}

/** Splits a byte stream into lines (LF or CRLF), holding at most MAX_LINE_BYTES of one line. */
async function* fileLines(path: string, signal: AbortSignal | undefined): AsyncGenerator<{ text: string; tooLong: boolean }> {
  const stream = createReadStream(path, signal === undefined ? { highWaterMark: 1 << 20 } : { highWaterMark: 1 << 20, signal });
  let carry: Buffer[] = [];
  let carryLength = 0;
  let tooLong = false;
  const take = (tail: Buffer): { text: string; tooLong: boolean } => {
    const bytes = carry.length === 0 ? tail : Buffer.concat([...carry, tail]);
    carry = [];
    carryLength = 0;
    const line = { text: tooLong ? '' : bytes.toString('utf8'), tooLong };
    tooLong = false;
    return line;
  };
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      let start = 0;
      for (let lf = chunk.indexOf(LF, start); lf >= 0; lf = chunk.indexOf(LF, start)) {
        const end = lf > start && chunk[lf - 1] === 0x0d ? lf - 1 : lf;
        const tail = tooLong ? chunk.subarray(0, 0) : chunk.subarray(start, end);
        if (!tooLong && carryLength + tail.length > MAX_LINE_BYTES) tooLong = true;
        yield take(tail);
        start = lf + 1;
      }
      if (start < chunk.length && !tooLong) {
        const rest = chunk.subarray(start);
        if (carryLength + rest.length > MAX_LINE_BYTES) {
          tooLong = true;
          carry = [];
          carryLength = 0;
        } else {
          carry.push(Buffer.from(rest)); // copied: the chunk is not kept
          carryLength += rest.length;
        }
      }
    }
    if (carryLength > 0 || tooLong) yield take(Buffer.alloc(0));
  } catch (err) {
    throw inputFileError(err, 'hashes file', path);
  } finally {
    for (const part of carry) part.fill(0);
  }
}

/**
 * Reads a hash-export file, streamed line by line. A missing file is FatalError SOURCE_NOT_FOUND, an
 * unreadable one SOURCE_UNREADABLE; bad lines are `errors`, not failures.
 */
export async function readHashesFile(path: string, options: { readonly signal?: AbortSignal } = {}): Promise<HashesFile> {
  const store = new HashStore();
  const errors: HashesFileError[] = [];
  let errorCount = 0;
  const fail = (line: number, message: string): void => {
    errorCount++;
    if (errors.length < MAX_KEPT_ERRORS) errors.push(Object.freeze({ line, code: 'HASHES_FILE_SYNTAX', message: `line ${line}: ${message}` }));
  };
  let lineNumber = 0;
  for await (const { text, tooLong } of fileLines(path, options.signal)) {
    lineNumber++;
    if (tooLong) {
      fail(lineNumber, `longer than ${MAX_LINE_BYTES} bytes`);
      continue;
    }
    const line = (lineNumber === 1 && text.startsWith('\uFEFF') ? text.slice(1) : text).trim();
    if (line === '' || line.startsWith('#')) continue;
    const parsed = parseLine(line);
    if ('error' in parsed) {
      fail(lineNumber, parsed.error);
      continue;
    }
    const key = parsed.name.toLowerCase();
    const earlier = store.lineOf(key);
    if (earlier !== undefined) {
      parsed.ntHash.fill(0);
      fail(lineNumber, `${shown(parsed.name)} is already given on line ${earlier}; this line is ignored`);
      continue;
    }
    store.add(key, parsed.ntHash, lineNumber);
  }
  return Object.freeze({
    lookup: (name: string) => store.lookup(name),
    get size() {
      return store.size;
    },
    errors: Object.freeze(errors),
    errorCount,
    wipe: () => store.wipe(),
  });
}

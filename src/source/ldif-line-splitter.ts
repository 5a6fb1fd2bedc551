/**
 * Byte-level line splitting for the LDIF reader (RFC 2849): physical lines end in LF or CRLF,
 * a physical line that begins with a space continues the previous one (the space is dropped),
 * and folding is undone on bytes, so a fold inside a multibyte UTF-8 character joins correctly.
 *
 * Pull-based and synchronous: `push()` a chunk, then call `next()` until it answers NEED_INPUT.
 * Only the current (partial) logical line is kept between chunks, and it is copied out of the
 * chunk at the chunk's end, so no chunk is retained after it has been consumed.
 */

import { isAscii } from 'node:buffer';

const CR = 0x0d;
const SPACE = 0x20;
const HASH = 0x23;
const EMPTY = Buffer.alloc(0);

/** No complete logical line is available: push the next chunk, or call finish(). */
export const NEED_INPUT = 0;
/** A logical line (folding undone, line ending stripped) is in `buf[start, end)`. */
export const LINE = 1;
/** An empty physical line: a record separator. */
export const BLANK = 2;
/** The input has ended and every line has been returned. */
export const END = 3;
export type LineEvent = typeof NEED_INPUT | typeof LINE | typeof BLANK | typeof END;

/** Lines longer than this (after unfolding) are cut to a head and flagged `tooLong`. */
export const DEFAULT_MAX_LINE_BYTES = 64 * 1024 * 1024;
/** How much of an over-long line is kept, enough to name its attribute in an error. */
const TOO_LONG_HEAD_BYTES = 1024;

export class LdifLineSplitter {
  /** The bytes of the last LINE are `buf[start, end)`; valid until the next call to next(). */
  buf: Buffer = EMPTY;
  /** The same bytes decoded as latin1 (one char per byte, same offsets): for scanning, not for values. */
  text = '';
  start = 0;
  end = 0;
  /** 1-based number of the (first physical) line of the last LINE or BLANK. */
  lineNumber = 0;
  /** The last LINE was longer than the limit: `buf` holds only its head. */
  tooLong = false;
  /** The last LINE is known to be pure ASCII (so latin1 decoding equals UTF-8 decoding). */
  ascii = false;

  readonly #max: number;
  #chunk: Buffer = EMPTY;
  #chunkText = '';
  #chunkAscii = false;
  #pos = 0;
  #ended = false;
  #physicalLines = 0;

  // A physical line begun in an earlier chunk (copied).
  #carry: Buffer[] = [];
  #carryLength = 0;
  #carryTooLong = false;

  // The physical line just read by #readPhysical().
  #pBuf: Buffer = EMPTY;
  #pText = '';
  #pStart = 0;
  #pEnd = 0;
  #pTooLong = false;
  #pAscii = false;

  // The logical line being assembled: it is complete once the next physical line does not continue it.
  #pending = false;
  #comment = false;
  #lineNo = 0;
  #first: Buffer = EMPTY;
  #firstText = '';
  #fStart = 0;
  #fEnd = 0;
  #more: Buffer[] | null = null;
  #moreOwned = 0;
  #length = 0;
  #tooLong = false;
  #ascii = false;

  #blankQueued = false;
  #blankLineNo = 0;

  constructor(maxLineBytes: number = DEFAULT_MAX_LINE_BYTES) {
    this.#max = Math.max(maxLineBytes, TOO_LONG_HEAD_BYTES);
  }

  /** Hands over the next chunk; call only after next() answered NEED_INPUT. The chunk is not modified. */
  push(chunk: Buffer): void {
    this.#chunk = chunk;
    this.#chunkText = chunk.toString('latin1');
    this.#chunkAscii = isAscii(chunk);
    this.#pos = 0;
  }

  /** The input has ended: next() flushes the last line, then answers END. */
  finish(): void {
    this.#ended = true;
    this.#chunk = EMPTY;
    this.#chunkText = '';
    this.#pos = 0;
  }

  next(): LineEvent {
    if (this.#blankQueued) {
      this.#blankQueued = false;
      this.lineNumber = this.#blankLineNo;
      return BLANK;
    }
    while (this.#readPhysical()) {
      const text = this.#pText;
      const start = this.#pStart;
      const end = this.#pEnd;
      if (start === end && !this.#pTooLong) {
        if (this.#pending && this.#emit()) {
          this.#blankQueued = true;
          this.#blankLineNo = this.#physicalLines;
          return LINE;
        }
        this.lineNumber = this.#physicalLines;
        return BLANK;
      }
      if (text.charCodeAt(start) === SPACE && this.#pending) {
        this.#append(start + 1, end);
        continue;
      }
      const emitted = this.#pending && this.#emit();
      this.#begin(start, end);
      if (emitted) return LINE;
    }
    if (this.#ended) return this.#pending && this.#emit() ? LINE : END;
    this.#ownPending();
    return NEED_INPUT;
  }

  /** Reads the next complete physical line into #pBuf/#pStart/#pEnd; false when the chunk is used up. */
  #readPhysical(): boolean {
    const chunk = this.#chunk;
    const pos = this.#pos;
    const lf = pos < chunk.length ? this.#chunkText.indexOf('\n', pos) : -1;
    this.#pTooLong = false;
    let buf: Buffer;
    let text: string;
    let start = 0;
    let end: number;
    if (lf === -1) {
      if (pos < chunk.length) {
        this.#stash(chunk, pos, chunk.length);
        this.#pos = chunk.length;
      }
      if (!this.#ended || this.#carryLength === 0) return false;
      buf = this.#takeCarry(); // the last line has no line ending
      text = buf.toString('latin1');
      end = buf.length;
    } else {
      if (this.#carryLength > 0) {
        this.#stash(chunk, pos, lf);
        buf = this.#takeCarry();
        text = buf.toString('latin1');
        end = buf.length;
      } else {
        buf = chunk;
        text = this.#chunkText;
        start = pos;
        end = lf;
        this.#pAscii = this.#chunkAscii;
      }
      this.#pos = lf + 1;
    }
    if (end > start && text.charCodeAt(end - 1) === CR && !this.#pTooLong) end--;
    if (this.#physicalLines === 0 && text.startsWith('\xef\xbb\xbf', start) && end - start >= 3) {
      start += 3; // UTF-8 byte order mark
    }
    this.#physicalLines++;
    this.#pBuf = buf;
    this.#pText = text;
    this.#pStart = start;
    this.#pEnd = end;
    return true;
  }

  #stash(chunk: Buffer, from: number, to: number): void {
    if (this.#carryTooLong || to === from) return;
    this.#carry.push(Buffer.from(chunk.subarray(from, to)));
    this.#carryLength += to - from;
    if (this.#carryLength > this.#max) {
      // Only the head is kept: concatenating the whole carry first would double the peak memory.
      const head = Buffer.alloc(TOO_LONG_HEAD_BYTES);
      let filled = 0;
      for (const part of this.#carry) {
        if (filled === TOO_LONG_HEAD_BYTES) break;
        filled += part.copy(head, filled, 0, Math.min(part.length, TOO_LONG_HEAD_BYTES - filled));
      }
      this.#carry = [head];
      this.#carryLength = head.length;
      this.#carryTooLong = true;
    }
  }

  #takeCarry(): Buffer {
    const carry = this.#carry;
    const buf = carry.length === 1 ? carry[0]! : Buffer.concat(carry, this.#carryLength);
    this.#pTooLong = this.#carryTooLong;
    this.#pAscii = isAscii(buf);
    this.#carry = [];
    this.#carryLength = 0;
    this.#carryTooLong = false;
    return buf;
  }

  /** Starts a logical line with the physical line just read. */
  #begin(start: number, end: number): void {
    this.#pending = true;
    this.#lineNo = this.#physicalLines;
    this.#comment = this.#pText.charCodeAt(start) === HASH;
    this.#more = null;
    this.#moreOwned = 0;
    if (this.#comment) return; // a comment, folded or not, is dropped: its bytes are never kept
    this.#first = this.#pBuf;
    this.#firstText = this.#pText;
    this.#fStart = start;
    this.#fEnd = end;
    this.#length = end - start;
    this.#tooLong = this.#pTooLong;
    this.#ascii = this.#pAscii;
    if (this.#length > this.#max) this.#cut();
  }

  /** Continues the logical line with the physical line just read (its leading space dropped). */
  #append(start: number, end: number): void {
    if (this.#comment || this.#tooLong || start >= end) return;
    this.#length += end - start;
    if (this.#pTooLong || this.#length > this.#max) {
      this.#cut();
      return;
    }
    (this.#more ??= []).push(this.#pBuf.subarray(start, end));
    this.#ascii &&= this.#pAscii;
  }

  /** Keeps only the head of an over-long pending line. */
  #cut(): void {
    const first = this.#first.subarray(this.#fStart, Math.min(this.#fEnd, this.#fStart + TOO_LONG_HEAD_BYTES));
    this.#first = Buffer.from(first);
    this.#firstText = this.#first.toString('latin1');
    this.#fStart = 0;
    this.#fEnd = first.length;
    this.#more = null;
    this.#tooLong = true;
  }

  /** Publishes the pending line as the current LINE; false (nothing published) for a comment. */
  #emit(): boolean {
    this.#pending = false;
    if (this.#comment) return false;
    this.lineNumber = this.#lineNo;
    this.tooLong = this.#tooLong;
    this.ascii = this.#ascii;
    const more = this.#more;
    if (more === null) {
      this.buf = this.#first;
      this.text = this.#firstText;
      this.start = this.#fStart;
      this.end = this.#fEnd;
    } else {
      more.unshift(this.#first.subarray(this.#fStart, this.#fEnd));
      this.buf = Buffer.concat(more);
      this.text = this.buf.toString('latin1');
      this.start = 0;
      this.end = this.buf.length;
      this.#more = null;
    }
    this.#first = EMPTY;
    this.#firstText = '';
    return true;
  }

  /** At a chunk's end: copies what the pending line still references in that chunk. */
  #ownPending(): void {
    const chunk = this.#chunk;
    this.#chunk = EMPTY;
    this.#chunkText = '';
    this.#pos = 0;
    this.#pBuf = this.buf = EMPTY;
    this.#pText = this.text = '';
    if (!this.#pending || this.#comment) return;
    if (this.#first.buffer === chunk.buffer) {
      this.#first = Buffer.from(this.#first.subarray(this.#fStart, this.#fEnd));
      this.#firstText = this.#first.toString('latin1');
      this.#fStart = 0;
      this.#fEnd = this.#first.length;
    }
    const more = this.#more;
    if (more !== null && more.length > this.#moreOwned) {
      const tail = Buffer.concat(more.slice(this.#moreOwned));
      more.length = this.#moreOwned;
      more.push(tail);
      this.#moreOwned = more.length;
    }
  }
}

import { isUtf8 } from 'node:buffer';
import { InvalidAsn1Error, ProtocolOperation, SearchEntry } from 'ldapts';
import type { BerReader, Client, Control, Entry } from 'ldapts';

/**
 * ldapts' search result entries, decoded with a fraction of the allocations and giving the same
 * objects (`toObject`) as ldapts' own decoder, which the tests compare value for value.
 *
 * Why: ldapts makes an Attribute object per attribute, and per value a Buffer view, a decoded string
 * and two array slots, then lowercases every attribute name locale-aware in `toObject`. In a full
 * sync that was half of what the engine's main thread allocates (~13 KB a user) and a fifth of its
 * CPU, with garbage collection on top. This entry keeps the message's bytes and the offsets of the
 * names and values, and decodes each value once, when the entry is turned into an object.
 *
 * That is when ldapts has the whole page, not as each message arrives: decoding on arrival read a
 * slapd faster on its own (the server was still sending the page), but in a sync it cost the main
 * thread ~10% more, the strings made earlier living through more collections while the page waited
 * (A/B, 100,000 users, --dry-run).
 */
export class LeanSearchEntry extends SearchEntry {
  #bytes: Buffer = EMPTY;
  /** Per attribute: name start, name end, value count, then start and end of each value. */
  #spans: number[] = [];

  override parseMessage(reader: BerReader): void {
    this.name = reader.readString() ?? '';
    const bytes = reader.buffer;
    // The attribute list (a SEQUENCE of PartialAttribute), which must lie inside this message.
    const messageEnd = reader.offset + reader.remain;
    const listEnd = header(bytes, reader.offset, TAG_SEQUENCE, messageEnd);
    const spans: number[] = [];
    let at = cursor;
    while (at < listEnd) {
      const attributeEnd = header(bytes, at, TAG_SEQUENCE, listEnd);
      const nameEnd = header(bytes, cursor, TAG_OCTET_STRING, attributeEnd);
      spans.push(cursor, nameEnd, 0);
      const countAt = spans.length - 1;
      at = nameEnd;
      // ldapts takes an attribute without a value set as one with no values; so does this.
      if (at < attributeEnd && bytes[at] === TAG_SET) {
        const setEnd = header(bytes, at, TAG_SET, attributeEnd);
        at = cursor;
        let count = 0;
        while (at < setEnd) {
          const valueEnd = header(bytes, at, TAG_OCTET_STRING, setEnd);
          spans.push(cursor, valueEnd);
          at = valueEnd;
          count++;
        }
        spans[countAt] = count;
      }
      at = attributeEnd;
    }
    reader.offset = listEnd;
    this.#bytes = bytes;
    this.#spans = spans;
  }

  override toObject(requestAttributes: string[], explicitBufferAttributes: string[]): Entry {
    const entry: Entry = { dn: this.name };
    const bytes = this.#bytes;
    const spans = this.#spans;
    const lowerNames: string[] = [];
    let i = 0;
    while (i < spans.length) {
      const name = bytes.toString('utf8', spans[i]!, spans[i + 1]!);
      const count = spans[i + 2]!;
      const first = i + 3;
      i = first + 2 * count;
      lowerNames.push(name.toLowerCase());
      entry[name] = explicitBufferAttributes.includes(name) || BINARY_OPTION.test(name) ? views(bytes, spans, first, count) : texts(bytes, spans, first, count);
    }
    // As ldapts: an attribute asked for and absent is there, with no values.
    for (const name of requestAttributes) {
      if (entry[name] === undefined && !lowerNames.includes(name.toLowerCase())) entry[name] = [];
    }
    return entry;
  }
}

/**
 * Makes `client` decode search result entries as LeanSearchEntry. Returns false, and changes
 * nothing, when the ldapts installed does not have the parser hook this relies on (a private method
 * of its MessageParser): the client then decodes as ldapts does, slower but the same. A test holds
 * the installed version to it.
 */
export function decodeEntriesLean(client: Client): boolean {
  const parser = (client as unknown as { messageParser?: ParserInternals }).messageParser;
  const stock = parser?._getMessageFromProtocolOperation;
  if (parser === undefined || typeof stock !== 'function') return false;
  parser._getMessageFromProtocolOperation = function (messageId, protocolOperation, reader, request) {
    if (protocolOperation !== ProtocolOperation.LDAP_RES_SEARCH_ENTRY) return stock.call(this, messageId, protocolOperation, reader, request);
    const entry = new LeanSearchEntry({ messageId });
    entry.parse(reader, request?.controls ?? []);
    return entry;
  };
  return true;
}

interface ParserInternals {
  _getMessageFromProtocolOperation?: (this: unknown, messageId: number, protocolOperation: number, reader: BerReader, request?: { controls?: Control[] }) => unknown;
}

const TAG_SEQUENCE = 0x30;
const TAG_OCTET_STRING = 0x04;
const TAG_SET = ProtocolOperation.LBER_SET;
const EMPTY = Buffer.alloc(0);
/** ldapts gives the values of an attribute with the ;binary option as bytes. */
const BINARY_OPTION = /;binary$/i;
const BYTE_ORDER_MARK = 0xfeff;

/** Where the content of the element header() last read starts (set by each call). */
let cursor = 0;

/**
 * Checks that the element at `at` has tag `tag` and a definite length that ends within `limit`;
 * sets `cursor` to its content and returns the content's end. Malformed BER is an InvalidAsn1Error,
 * as ldapts' reader throws, which fails the search rather than reading past the element.
 */
function header(bytes: Buffer, at: number, tag: number, limit: number): number {
  if (at >= limit) throw new InvalidAsn1Error(`search entry: element expected at offset ${at}, the enclosing element ends at ${limit}`);
  if (bytes[at] !== tag) throw new InvalidAsn1Error(`search entry: expected tag 0x${tag.toString(16)} at offset ${at}, got 0x${bytes[at]!.toString(16)}`);
  let next = at + 2;
  if (next > limit) throw new InvalidAsn1Error(`search entry: the length at offset ${at + 1} is cut off`);
  let length = bytes[at + 1]!;
  if (length >= 0x80) {
    const octets = length & 0x7f;
    if (octets === 0) throw new InvalidAsn1Error('Indefinite length not supported');
    if (octets > 4) throw new InvalidAsn1Error('Encoding too long');
    if (next + octets > limit) throw new InvalidAsn1Error(`search entry: the length at offset ${at + 1} is cut off`);
    length = 0;
    for (let k = 0; k < octets; k++) length = length * 256 + bytes[next + k]!;
    next += octets;
  }
  if (length > limit - next) throw new InvalidAsn1Error(`search entry: the element at offset ${at} is ${length} bytes long, past the end of the element that holds it`);
  cursor = next;
  return next + length;
}

function views(bytes: Buffer, spans: readonly number[], first: number, count: number): Buffer | Buffer[] {
  const values: Buffer[] = [];
  for (let k = first; k < first + 2 * count; k += 2) values.push(bytes.subarray(spans[k], spans[k + 1]));
  return values.length === 1 ? values[0]! : values;
}

/**
 * The values as text, decoded as ldapts does (strict UTF-8, a leading byte-order mark dropped); if
 * any value is not UTF-8, all of the attribute's values as bytes, as ldapts gives them then.
 */
function texts(bytes: Buffer, spans: readonly number[], first: number, count: number): string | string[] | Buffer | Buffer[] {
  const values: string[] = [];
  for (let k = first; k < first + 2 * count; k += 2) {
    const text = bytes.toString('utf8', spans[k], spans[k + 1]);
    // toString replaces malformed bytes with U+FFFD; only then is the exact (slower) check needed.
    if (text.includes('\uFFFD') && !isUtf8(bytes.subarray(spans[k], spans[k + 1]))) return views(bytes, spans, first, count);
    // U+FEFF can only have come from the bytes EF BB BF, which TextDecoder drops at the start.
    values.push(text.charCodeAt(0) === BYTE_ORDER_MARK ? text.slice(1) : text);
  }
  return values.length === 1 ? values[0]! : values;
}

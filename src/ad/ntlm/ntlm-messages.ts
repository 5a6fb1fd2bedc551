import { FatalError } from '../../errors.ts';
import { NTLMSSP_NEGOTIATE_UNICODE, NTLMSSP_NEGOTIATE_VERSION } from './ntlm-flags.ts';

/**
 * The three NTLM messages (MS-NLMP 2.2.1) and the AV pairs of the target info (2.2.2.1). Encoding
 * is for the client side only; decoding is for CHALLENGE only, and every read is bounds-checked:
 * the CHALLENGE comes from the network before anyone is authenticated, so a short or hostile one
 * must end as NTLM_MESSAGE_INVALID, never as a wrong value or a RangeError deep in Buffer.
 */

const SIGNATURE = Buffer.from('NTLMSSP\0', 'latin1');
const NEGOTIATE_MESSAGE = 1;
const CHALLENGE_MESSAGE = 2;
const AUTHENTICATE_MESSAGE = 3;

/** Fixed part of CHALLENGE up to and including TargetInfoFields; the Version after it is optional. */
const CHALLENGE_HEADER_BYTES = 48;
const NEGOTIATE_BYTES = 40;
/** Fixed part of AUTHENTICATE before Version (MS-NLMP 2.2.1.3). */
const AUTHENTICATE_FIXED_BYTES = 64;
const VERSION_BYTES = 8;
export const MIC_BYTES = 16;
/** Where the MIC sits in an AUTHENTICATE that carries one: after the fixed part and the Version. */
export const MIC_OFFSET = AUTHENTICATE_FIXED_BYTES + VERSION_BYTES;

// AV pair ids (MS-NLMP 2.2.2.1).
export const MSV_AV_EOL = 0x0000;
export const MSV_AV_NB_COMPUTER_NAME = 0x0001;
export const MSV_AV_NB_DOMAIN_NAME = 0x0002;
export const MSV_AV_DNS_COMPUTER_NAME = 0x0003;
export const MSV_AV_DNS_DOMAIN_NAME = 0x0004;
export const MSV_AV_DNS_TREE_NAME = 0x0005;
export const MSV_AV_FLAGS = 0x0006;
export const MSV_AV_TIMESTAMP = 0x0007;
export const MSV_AV_SINGLE_HOST = 0x0008;
export const MSV_AV_TARGET_NAME = 0x0009;
export const MSV_AV_CHANNEL_BINDINGS = 0x000a;
/** MsvAvFlags bit: the AUTHENTICATE_MESSAGE carries a MIC. */
export const MSV_AV_FLAG_MIC_PRESENT = 0x00000002;

/**
 * The Version structure this client sends (MS-NLMP 2.2.2.10): informational only. The values are
 * those Samba's own client sends (6.1, build 0, NTLM revision 15), which every DC accepts.
 */
export const CLIENT_VERSION: Buffer = Buffer.from([6, 1, 0, 0, 0, 0, 0, 15]);

/** One AV pair, its value kept as the raw bytes so that echoing it back is byte-exact. */
export interface AvPair {
  readonly id: number;
  readonly value: Buffer;
}

export interface ChallengeMessage {
  readonly flags: number;
  readonly serverChallenge: Buffer;
  /** The server's domain (or server) name, for messages only. */
  readonly targetName: string;
  /** AV pairs without the terminating MsvAvEOL, in the server's order. */
  readonly targetInfo: readonly AvPair[];
}

function invalid(message: string): FatalError {
  return new FatalError('NTLM_MESSAGE_INVALID', `NTLM: ${message}`);
}

/** NEGOTIATE_MESSAGE with no domain or workstation (Samba and Windows both leave them empty). */
export function encodeNegotiate(flags: number): Buffer {
  const out = Buffer.alloc(NEGOTIATE_BYTES);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(NEGOTIATE_MESSAGE, 8);
  out.writeUInt32LE(flags >>> 0, 12);
  // DomainNameFields and WorkstationFields: empty, offset at the end of the fixed part.
  writeFields(out, 16, 0, NEGOTIATE_BYTES);
  writeFields(out, 24, 0, NEGOTIATE_BYTES);
  if ((flags & NTLMSSP_NEGOTIATE_VERSION) !== 0) CLIENT_VERSION.copy(out, 32);
  return out;
}

/** Decodes a CHALLENGE_MESSAGE; throws NTLM_MESSAGE_INVALID on anything malformed. */
export function decodeChallenge(message: Buffer): ChallengeMessage {
  if (message.length < CHALLENGE_HEADER_BYTES) {
    throw invalid(`the CHALLENGE message is ${message.length} bytes, shorter than its ${CHALLENGE_HEADER_BYTES}-byte header`);
  }
  if (!message.subarray(0, 8).equals(SIGNATURE)) throw invalid('the CHALLENGE message does not start with the NTLMSSP signature');
  const type = message.readUInt32LE(8);
  if (type !== CHALLENGE_MESSAGE) throw invalid(`expected a CHALLENGE message (type 2), got type ${type}`);
  const flags = message.readUInt32LE(20);
  const targetNameBytes = readFields(message, 12, 'target name');
  const targetInfoBytes = readFields(message, 40, 'target info');
  const unicode = (flags & NTLMSSP_NEGOTIATE_UNICODE) !== 0;
  return {
    flags,
    serverChallenge: Buffer.from(message.subarray(24, 32)),
    targetName: targetNameBytes.toString(unicode ? 'utf16le' : 'latin1'),
    targetInfo: decodeAvPairs(targetInfoBytes),
  };
}

/**
 * Decodes target info into its pairs, without the terminating MsvAvEOL. An empty buffer is no
 * pairs (a server without NEGOTIATE_TARGET_INFO); anything else must end with MsvAvEOL. Bytes
 * after MsvAvEOL are ignored, as Windows and Samba do.
 */
export function decodeAvPairs(info: Buffer): AvPair[] {
  const pairs: AvPair[] = [];
  if (info.length === 0) return pairs;
  let at = 0;
  for (;;) {
    if (at + 4 > info.length) throw invalid(`the target info (${info.length} bytes) ends inside an AV pair header at offset ${at}, before MsvAvEOL`);
    const id = info.readUInt16LE(at);
    const length = info.readUInt16LE(at + 2);
    at += 4;
    if (at + length > info.length) {
      throw invalid(`AV pair 0x${id.toString(16)} of ${length} bytes at offset ${at - 4} runs past the end of the ${info.length}-byte target info`);
    }
    if (id === MSV_AV_EOL) {
      if (length !== 0) throw invalid(`MsvAvEOL has a ${length}-byte value; it has none`);
      return pairs;
    }
    if (id === MSV_AV_TIMESTAMP && length !== 8) throw invalid(`MsvAvTimestamp is ${length} bytes; it is an 8-byte FILETIME`);
    if (id === MSV_AV_FLAGS && length !== 4) throw invalid(`MsvAvFlags is ${length} bytes; it is a 4-byte bit set`);
    pairs.push({ id, value: Buffer.from(info.subarray(at, at + length)) });
    at += length;
  }
}

/** Encodes pairs followed by MsvAvEOL. */
export function encodeAvPairs(pairs: readonly AvPair[]): Buffer {
  const parts: Buffer[] = [];
  for (const pair of pairs) {
    if (pair.id === MSV_AV_EOL) throw new RangeError('encodeAvPairs adds MsvAvEOL itself; do not pass one');
    if (pair.value.length > 0xffff) throw new RangeError(`AV pair 0x${pair.id.toString(16)} is ${pair.value.length} bytes, more than an AV pair holds`);
    const header = Buffer.alloc(4);
    header.writeUInt16LE(pair.id, 0);
    header.writeUInt16LE(pair.value.length, 2);
    parts.push(header, pair.value);
  }
  parts.push(Buffer.alloc(4)); // MsvAvEOL: id 0, length 0
  return Buffer.concat(parts);
}

export function findAvPair(pairs: readonly AvPair[], id: number): AvPair | undefined {
  return pairs.find((p) => p.id === id);
}

export interface AuthenticateFields {
  readonly flags: number;
  readonly lmChallengeResponse: Buffer;
  readonly ntChallengeResponse: Buffer;
  readonly domain: string;
  readonly user: string;
  readonly workstation: string;
  readonly encryptedRandomSessionKey: Buffer;
  /** The 8-byte Version field; this client always writes one so that the MIC sits at offset 72. */
  readonly version: Buffer;
  /** Leave room for a MIC (zeroed here; the caller computes it over this very message and writes it at MIC_OFFSET). */
  readonly mic: boolean;
}

/**
 * AUTHENTICATE_MESSAGE (MS-NLMP 2.2.1.3) with Unicode strings. The payload order (domain, user,
 * workstation, LM, NT, session key) is the one of the specification's example in 4.2.4.3, so the
 * encoder reproduces that message byte for byte; receivers find each field by its offset anyway.
 */
export function encodeAuthenticate(fields: AuthenticateFields): Buffer {
  if (fields.version.length !== VERSION_BYTES) throw new RangeError(`the Version field is ${VERSION_BYTES} bytes (${fields.version.length})`);
  const payloadStart = MIC_OFFSET + (fields.mic ? MIC_BYTES : 0);
  const payloads: ReadonlyArray<readonly [fieldsAt: number, bytes: Buffer]> = [
    [28, Buffer.from(fields.domain, 'utf16le')],
    [36, Buffer.from(fields.user, 'utf16le')],
    [44, Buffer.from(fields.workstation, 'utf16le')],
    [12, fields.lmChallengeResponse],
    [20, fields.ntChallengeResponse],
    [52, fields.encryptedRandomSessionKey],
  ];
  let total = payloadStart;
  for (const [, bytes] of payloads) {
    if (bytes.length > 0xffff) throw new RangeError(`an AUTHENTICATE field of ${bytes.length} bytes does not fit a 16-bit length`);
    total += bytes.length;
  }
  const out = Buffer.alloc(total);
  SIGNATURE.copy(out, 0);
  out.writeUInt32LE(AUTHENTICATE_MESSAGE, 8);
  let at = payloadStart;
  for (const [fieldsAt, bytes] of payloads) {
    writeFields(out, fieldsAt, bytes.length, at);
    bytes.copy(out, at);
    at += bytes.length;
  }
  out.writeUInt32LE(fields.flags >>> 0, 60);
  fields.version.copy(out, AUTHENTICATE_FIXED_BYTES);
  return out;
}

/** Writes a security buffer descriptor: Len, MaxLen, BufferOffset. */
function writeFields(out: Buffer, at: number, length: number, offset: number): void {
  out.writeUInt16LE(length, at);
  out.writeUInt16LE(length, at + 2);
  out.writeUInt32LE(offset, at + 4);
}

/** Reads the bytes a security buffer descriptor points at, checking that they lie in the message. */
function readFields(message: Buffer, at: number, what: string): Buffer {
  const length = message.readUInt16LE(at);
  const offset = message.readUInt32LE(at + 4);
  if (length === 0) return Buffer.alloc(0);
  if (offset + length > message.length) {
    throw invalid(`the ${what} (${length} bytes at offset ${offset}) runs past the end of the ${message.length}-byte CHALLENGE message`);
  }
  return message.subarray(offset, offset + length);
}

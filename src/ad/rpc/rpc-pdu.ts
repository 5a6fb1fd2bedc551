import { FatalError } from '../../errors.ts';
import type { SyntaxId } from './rpc-syntax.ts';
import { syntaxToWire } from './rpc-syntax.ts';

/**
 * DCE/RPC connection-oriented PDUs (C706 chapter 12.6, MS-RPCE 2.2.2), little-endian NDR data
 * representation only: encoders for what a client sends, decoders for what it receives, and the
 * framer that cuts the TCP stream into PDUs. Every decoder checks lengths against the PDU before it
 * reads, and a PDU that does not add up is FatalError('RPC_PROTOCOL_ERROR').
 */

export const PTYPE = Object.freeze({
  REQUEST: 0,
  RESPONSE: 2,
  FAULT: 3,
  BIND: 11,
  BIND_ACK: 12,
  BIND_NAK: 13,
  ALTER_CONTEXT: 14,
  ALTER_CONTEXT_RESP: 15,
  AUTH3: 16,
  SHUTDOWN: 17,
  CO_CANCEL: 18,
  ORPHANED: 19,
});

export const PFC = Object.freeze({
  FIRST_FRAG: 0x01,
  LAST_FRAG: 0x02,
  /** In bind/alter_context: PFC_SUPPORT_HEADER_SIGN (MS-RPCE 2.2.2.3); elsewhere PFC_PENDING_CANCEL. */
  SUPPORT_HEADER_SIGN: 0x04,
  CONC_MPX: 0x10,
  DID_NOT_EXECUTE: 0x20,
  MAYBE: 0x40,
  OBJECT_UUID: 0x80,
});

export const HEADER_BYTES = 16;
/** Request and response: the common header, alloc_hint, p_cont_id and opnum (or cancel_count): the stub starts here. */
export const CALL_HEADER_BYTES = 24;
export const SEC_TRAILER_BYTES = 8;
/** MS-RPCE 2.2.2.11: the sec_trailer is 16-byte aligned from the start of the PDU body, i.e. the stub is padded to 16. */
export const AUTH_PAD_ALIGNMENT = 16;
/** C706 12.6.3: every implementation accepts fragments this large; a peer offering less is broken. */
export const MIN_FRAGMENT_BYTES = 1432;
/** frag_length is a uint16. */
export const MAX_FRAGMENT_BYTES = 0xffff;

/** Little-endian, ASCII characters, IEEE floats: the only representation phsync sends or accepts. */
const DREP_LITTLE_ENDIAN = 0x10;

export function protocolError(message: string, options?: ErrorOptions): FatalError {
  return new FatalError('RPC_PROTOCOL_ERROR', `DCE/RPC: ${message}`, options);
}

export interface PduHeader {
  readonly ptype: number;
  readonly pfcFlags: number;
  readonly fragLength: number;
  readonly authLength: number;
  readonly callId: number;
}

function writeHeader(buf: Buffer, h: PduHeader): void {
  buf.writeUInt8(5, 0);
  buf.writeUInt8(0, 1);
  buf.writeUInt8(h.ptype, 2);
  buf.writeUInt8(h.pfcFlags, 3);
  buf.writeUInt32LE(DREP_LITTLE_ENDIAN, 4);
  buf.writeUInt16LE(h.fragLength, 8);
  buf.writeUInt16LE(h.authLength, 10);
  buf.writeUInt32LE(h.callId >>> 0, 12);
}

/**
 * The fixed part of the header, enough to frame: the version, the data representation (a peer that is
 * not DCE/RPC fails here at once instead of after a timeout) and frag_length.
 */
export function frameLength(head: Buffer, maxFragment = MAX_FRAGMENT_BYTES): number {
  if (head.length < HEADER_BYTES) throw protocolError(`a ${head.length}-byte PDU is shorter than the 16-byte header`);
  if (head[0] !== 5 || head[1] !== 0) throw protocolError(`the peer does not speak connection-oriented DCE/RPC 5.0 (version bytes ${head[0]}.${head[1]})`);
  if (head[4] !== DREP_LITTLE_ENDIAN) throw protocolError(`unsupported data representation 0x${(head[4] ?? 0).toString(16)} (only little-endian ASCII is spoken)`);
  const fragLength = head.readUInt16LE(8);
  if (fragLength < HEADER_BYTES) throw protocolError(`frag_length ${fragLength} is shorter than the 16-byte header`);
  if (fragLength > maxFragment) throw protocolError(`frag_length ${fragLength} is over the ${maxFragment}-byte limit`);
  return fragLength;
}

/** The header of a whole PDU, checked against its length. */
export function readHeader(pdu: Buffer): PduHeader {
  const fragLength = frameLength(pdu);
  if (fragLength !== pdu.length) throw protocolError(`frag_length ${fragLength} does not match the ${pdu.length}-byte PDU`);
  const authLength = pdu.readUInt16LE(10);
  if (authLength > 0 && HEADER_BYTES + SEC_TRAILER_BYTES + authLength > fragLength) {
    throw protocolError(`auth_length ${authLength} does not fit in a ${fragLength}-byte PDU`);
  }
  return { ptype: pdu.readUInt8(2), pfcFlags: pdu.readUInt8(3), fragLength, authLength, callId: pdu.readUInt32LE(12) };
}

/** sec_trailer (MS-RPCE 2.2.2.11), which precedes the auth value at the end of the PDU. */
export interface SecTrailer {
  readonly authType: number;
  readonly authLevel: number;
  readonly authPadLength: number;
  readonly authContextId: number;
}

export interface AuthVerifier {
  readonly trailer: SecTrailer;
  /** Where the sec_trailer starts: the end of the body and its padding. */
  readonly trailerOffset: number;
  /** The auth value (a security token, or a signature); a view into the PDU. */
  readonly value: Buffer;
}

function writeSecTrailer(buf: Buffer, at: number, t: SecTrailer): void {
  buf.writeUInt8(t.authType, at);
  buf.writeUInt8(t.authLevel, at + 1);
  buf.writeUInt8(t.authPadLength, at + 2);
  buf.writeUInt8(0, at + 3);
  buf.writeUInt32LE(t.authContextId >>> 0, at + 4);
}

/** The verifier of a PDU whose header says it has one; `bodyStart` is where the PDU-specific part may not reach below. */
export function readAuthVerifier(pdu: Buffer, header: PduHeader, bodyStart: number): AuthVerifier | undefined {
  if (header.authLength === 0) return undefined;
  const valueOffset = header.fragLength - header.authLength;
  const trailerOffset = valueOffset - SEC_TRAILER_BYTES;
  if (trailerOffset < bodyStart) throw protocolError(`the ${header.authLength}-byte auth value overlaps the PDU body`);
  return {
    trailer: {
      authType: pdu.readUInt8(trailerOffset),
      authLevel: pdu.readUInt8(trailerOffset + 1),
      authPadLength: pdu.readUInt8(trailerOffset + 2),
      authContextId: pdu.readUInt32LE(trailerOffset + 4),
    },
    trailerOffset,
    value: pdu.subarray(valueOffset, header.fragLength),
  };
}

/** The auth parameters of a bind, alter_context or auth3. */
export interface AuthToken {
  readonly authType: number;
  readonly authLevel: number;
  readonly authContextId: number;
  readonly token: Buffer;
}

/** A PDU of `bodyBytes` after the header, then (with `auth`) a 4-aligned sec_trailer and the token. */
function withAuth(ptype: number, callId: number, bodyBytes: number, auth: AuthToken | undefined): { buf: Buffer; end: () => Buffer } {
  // Samba requires the declared pad to equal the bytes between body and trailer for these PDUs (dcerpc_pull_auth_trailer, auth_data_only).
  const pad = auth === undefined ? 0 : (4 - ((HEADER_BYTES + bodyBytes) % 4)) % 4;
  const authBytes = auth === undefined ? 0 : SEC_TRAILER_BYTES + auth.token.length;
  const fragLength = HEADER_BYTES + bodyBytes + pad + authBytes;
  if (fragLength > MAX_FRAGMENT_BYTES) throw new RangeError(`a ${fragLength}-byte PDU does not fit in one fragment`);
  const buf = Buffer.alloc(fragLength);
  writeHeader(buf, { ptype, pfcFlags: PFC.FIRST_FRAG | PFC.LAST_FRAG, fragLength, authLength: auth?.token.length ?? 0, callId });
  return {
    buf,
    end: () => {
      if (auth !== undefined) {
        const at = HEADER_BYTES + bodyBytes + pad;
        writeSecTrailer(buf, at, { ...auth, authPadLength: pad });
        auth.token.copy(buf, at + SEC_TRAILER_BYTES);
      }
      return buf;
    },
  };
}

export interface BindRequest {
  readonly ptype: typeof PTYPE.BIND | typeof PTYPE.ALTER_CONTEXT;
  readonly callId: number;
  readonly maxXmitFrag: number;
  readonly maxRecvFrag: number;
  /** 0 asks for a new association group. */
  readonly assocGroupId: number;
  readonly contextId: number;
  readonly abstractSyntax: SyntaxId;
  readonly transferSyntax: SyntaxId;
  readonly auth?: AuthToken | undefined;
}

/** bind or alter_context with one presentation context of one transfer syntax (C706 12.6.4.3). */
export function encodeBind(b: BindRequest): Buffer {
  const bodyBytes = 8 + 4 + 4 + 20 + 20;
  const { buf, end } = withAuth(b.ptype, b.callId, bodyBytes, b.auth);
  let at = HEADER_BYTES;
  at = buf.writeUInt16LE(b.maxXmitFrag, at);
  at = buf.writeUInt16LE(b.maxRecvFrag, at);
  at = buf.writeUInt32LE(b.assocGroupId >>> 0, at);
  at = buf.writeUInt8(1, at); // n_context_elem
  at += 3; // reserved
  at = buf.writeUInt16LE(b.contextId, at);
  at = buf.writeUInt8(1, at); // n_transfer_syn
  at += 1; // reserved
  at += syntaxToWire(b.abstractSyntax.uuid, b.abstractSyntax.version).copy(buf, at);
  syntaxToWire(b.transferSyntax.uuid, b.transferSyntax.version).copy(buf, at);
  return end();
}

/** auth3 (MS-RPCE 2.2.2.10): 4 bytes of pad, then the sec_trailer and the final token. No reply comes. */
export function encodeAuth3(callId: number, auth: AuthToken): Buffer {
  return withAuth(PTYPE.AUTH3, callId, 4, auth).end();
}

export interface ContextResult {
  /** 0 acceptance, 1 user rejection, 2 provider rejection, 3 negotiate ack. */
  readonly result: number;
  readonly reason: number;
  readonly transferSyntax: Buffer;
}

export interface BindAck {
  readonly ptype: number;
  readonly callId: number;
  /** The largest fragment the server will send. */
  readonly maxXmitFrag: number;
  /** The largest fragment the server will receive. */
  readonly maxRecvFrag: number;
  readonly assocGroupId: number;
  readonly secondaryAddress: string;
  readonly results: readonly ContextResult[];
  readonly auth: AuthVerifier | undefined;
}

/** bind_ack or alter_context_resp (C706 12.6.4.4). */
export function decodeBindAck(pdu: Buffer): BindAck {
  const h = readHeader(pdu);
  if (h.ptype !== PTYPE.BIND_ACK && h.ptype !== PTYPE.ALTER_CONTEXT_RESP) throw protocolError(`expected a bind_ack, got PDU type ${h.ptype}`);
  const auth = readAuthVerifier(pdu, h, HEADER_BYTES + 8);
  const bodyEnd = auth?.trailerOffset ?? h.fragLength;
  const need = (at: number, n: number, what: string): void => {
    if (at + n > bodyEnd) throw protocolError(`the bind_ack's ${what} runs past its ${bodyEnd}-byte body`);
  };
  need(HEADER_BYTES, 10, 'fixed fields');
  const maxXmitFrag = pdu.readUInt16LE(16);
  const maxRecvFrag = pdu.readUInt16LE(18);
  const assocGroupId = pdu.readUInt32LE(20);
  const addressLength = pdu.readUInt16LE(24);
  need(26, addressLength, 'secondary address');
  const secondaryAddress = pdu.toString('latin1', 26, 26 + addressLength).replace(/\0+$/, '');
  // The result list is 4-aligned from the start of the PDU.
  let at = 26 + addressLength;
  at += (4 - (at % 4)) % 4;
  need(at, 4, 'result count');
  const count = pdu.readUInt8(at);
  at += 4;
  need(at, count * 24, 'results');
  const results: ContextResult[] = [];
  for (let i = 0; i < count; i++, at += 24) {
    results.push({ result: pdu.readUInt16LE(at), reason: pdu.readUInt16LE(at + 2), transferSyntax: pdu.subarray(at + 4, at + 24) });
  }
  return { ptype: h.ptype, callId: h.callId, maxXmitFrag, maxRecvFrag, assocGroupId, secondaryAddress, results, auth };
}

export interface BindNak {
  readonly callId: number;
  readonly reason: number;
}

/** bind_nak (C706 12.6.4.5): only the reason matters to a client that offered one protocol version. */
export function decodeBindNak(pdu: Buffer): BindNak {
  const h = readHeader(pdu);
  if (h.ptype !== PTYPE.BIND_NAK) throw protocolError(`expected a bind_nak, got PDU type ${h.ptype}`);
  if (h.fragLength < HEADER_BYTES + 2) throw protocolError('the bind_nak has no reject reason');
  return { callId: h.callId, reason: pdu.readUInt16LE(16) };
}

export interface Fault {
  readonly callId: number;
  readonly pfcFlags: number;
  readonly contextId: number;
  readonly status: number;
}

/** fault (C706 12.6.4.7). The status sits in the PDU-specific header, outside any sealed stub. */
export function decodeFault(pdu: Buffer): Fault {
  const h = readHeader(pdu);
  if (h.ptype !== PTYPE.FAULT) throw protocolError(`expected a fault, got PDU type ${h.ptype}`);
  if (h.fragLength < CALL_HEADER_BYTES + 4) throw protocolError(`a ${h.fragLength}-byte fault PDU has no status`);
  return { callId: h.callId, pfcFlags: h.pfcFlags, contextId: pdu.readUInt16LE(20), status: pdu.readUInt32LE(24) };
}

/** What a request fragment needs to be sealed. */
export interface SealingContext {
  readonly authType: number;
  readonly authLevel: number;
  readonly authContextId: number;
  readonly signatureBytes: number;
  seal(data: Buffer, signed: Buffer): Buffer;
}

/** What a response fragment needs to be checked and unsealed. */
export interface UnsealingContext {
  readonly authType: number;
  readonly authLevel: number;
  readonly authContextId: number;
  unseal(data: Buffer, signed: Buffer, signature: Buffer): void;
}

/**
 * How much stub one request fragment carries. Sealed, a multiple of 16, so that only the last
 * fragment needs padding and every fragment still fits once padded.
 */
export function stubBytesPerFragment(maxXmitFrag: number, sealing?: SealingContext): number {
  const overhead = CALL_HEADER_BYTES + (sealing === undefined ? 0 : SEC_TRAILER_BYTES + sealing.signatureBytes);
  const align = sealing === undefined ? 8 : AUTH_PAD_ALIGNMENT;
  const room = Math.min(maxXmitFrag, MAX_FRAGMENT_BYTES) - overhead;
  const bytes = room - (room % align);
  if (bytes <= 0) throw new RangeError(`a ${maxXmitFrag}-byte fragment has no room for stub data`);
  return bytes;
}

export interface RequestCall {
  readonly callId: number;
  readonly contextId: number;
  readonly opnum: number;
  readonly stub: Buffer;
  readonly maxXmitFrag: number;
  readonly sealing?: SealingContext | undefined;
}

/**
 * A request (C706 12.6.4.9), cut into fragments no larger than max_xmit_frag, each sealed on its own
 * (MS-RPCE 3.3.1.5.2.2). The sealing context is stateful (NTLM's sequence numbers and RC4 stream), so
 * the fragments must go out in the order returned, and nothing else may be sealed in between.
 */
export function encodeRequest(call: RequestCall): Buffer[] {
  const per = stubBytesPerFragment(call.maxXmitFrag, call.sealing);
  const total = call.stub.length;
  const fragments: Buffer[] = [];
  let offset = 0;
  do {
    const chunk = call.stub.subarray(offset, offset + per);
    const last = offset + chunk.length >= total;
    const flags = (offset === 0 ? PFC.FIRST_FRAG : 0) | (last ? PFC.LAST_FRAG : 0);
    fragments.push(encodeRequestFragment(call, chunk, flags, total - offset));
    offset += chunk.length;
  } while (offset < total);
  return fragments;
}

function encodeRequestFragment(call: RequestCall, chunk: Buffer, pfcFlags: number, allocHint: number): Buffer {
  const s = call.sealing;
  const pad = s === undefined ? 0 : (AUTH_PAD_ALIGNMENT - (chunk.length % AUTH_PAD_ALIGNMENT)) % AUTH_PAD_ALIGNMENT;
  const authLength = s === undefined ? 0 : s.signatureBytes;
  const trailerOffset = CALL_HEADER_BYTES + chunk.length + pad;
  const fragLength = trailerOffset + (s === undefined ? 0 : SEC_TRAILER_BYTES + authLength);
  const buf = Buffer.alloc(fragLength);
  writeHeader(buf, { ptype: PTYPE.REQUEST, pfcFlags, fragLength, authLength, callId: call.callId });
  buf.writeUInt32LE(allocHint, 16);
  buf.writeUInt16LE(call.contextId, 20);
  buf.writeUInt16LE(call.opnum, 22);
  chunk.copy(buf, CALL_HEADER_BYTES);
  if (s === undefined) return buf;
  writeSecTrailer(buf, trailerOffset, { authType: s.authType, authLevel: s.authLevel, authPadLength: pad, authContextId: s.authContextId });
  // Signed: header through sec_trailer, frag_length and auth_length already final; encrypted: stub and pad only.
  const valueOffset = trailerOffset + SEC_TRAILER_BYTES;
  const signature = s.seal(buf.subarray(CALL_HEADER_BYTES, trailerOffset), buf.subarray(0, valueOffset));
  if (signature.length !== authLength) throw new RangeError(`the security provider gave a ${signature.length}-byte signature, ${authLength} were announced`);
  signature.copy(buf, valueOffset);
  return buf;
}

export interface ResponseFragment {
  readonly callId: number;
  readonly pfcFlags: number;
  readonly allocHint: number;
  readonly contextId: number;
  /** The plaintext stub of this fragment, without padding: a view into the PDU. */
  readonly stub: Buffer;
}

/**
 * One response fragment (C706 12.6.4.10). Sealed, it is checked (its verifier must be ours) and
 * unsealed in place: the PDU buffer is modified.
 */
export function decodeResponse(pdu: Buffer, unsealing?: UnsealingContext): ResponseFragment {
  const h = readHeader(pdu);
  if (h.ptype !== PTYPE.RESPONSE) throw protocolError(`expected a response, got PDU type ${h.ptype}`);
  if (h.fragLength < CALL_HEADER_BYTES) throw protocolError(`a ${h.fragLength}-byte response is shorter than its 24-byte header`);
  const base = { callId: h.callId, pfcFlags: h.pfcFlags, allocHint: pdu.readUInt32LE(16), contextId: pdu.readUInt16LE(20) };
  const verifier = readAuthVerifier(pdu, h, CALL_HEADER_BYTES);
  if (unsealing === undefined) {
    if (verifier !== undefined) throw protocolError('a response carries an auth verifier on an unauthenticated connection');
    return { ...base, stub: pdu.subarray(CALL_HEADER_BYTES) };
  }
  if (verifier === undefined) throw protocolError('a response arrived without its auth verifier on a sealed connection');
  const t = verifier.trailer;
  if (t.authType !== unsealing.authType || t.authLevel !== unsealing.authLevel) {
    throw protocolError(`a response is protected by auth type ${t.authType} level ${t.authLevel}, not the negotiated ${unsealing.authType}/${unsealing.authLevel}`);
  }
  if (t.authContextId !== unsealing.authContextId) throw protocolError(`a response names auth context ${t.authContextId}, not ours (${unsealing.authContextId})`);
  const data = pdu.subarray(CALL_HEADER_BYTES, verifier.trailerOffset);
  if (t.authPadLength > data.length) throw protocolError(`auth_pad_length ${t.authPadLength} is longer than the ${data.length}-byte stub`);
  unsealing.unseal(data, pdu.subarray(0, h.fragLength - h.authLength), verifier.value);
  return { ...base, stub: data.subarray(0, data.length - t.authPadLength) };
}

/**
 * Cuts a byte stream into PDUs by frag_length. A chunk may hold several PDUs or part of one; a PDU
 * inside one chunk is passed on as a view (no copy), one split across chunks is copied once. At most
 * one fragment (≤ 64 KiB) is ever buffered, since frag_length is checked before waiting for the rest.
 */
export class PduFramer {
  readonly #onPdu: (pdu: Buffer) => void;
  readonly #maxFragment: number;
  readonly #chunks: Buffer[] = [];
  #buffered = 0;

  constructor(onPdu: (pdu: Buffer) => void, maxFragment = MAX_FRAGMENT_BYTES) {
    this.#onPdu = onPdu;
    this.#maxFragment = maxFragment;
  }

  /** Bytes held for an incomplete PDU. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds bytes; calls onPdu for each PDU completed. Throws RPC_PROTOCOL_ERROR for a malformed header (the stream is then lost). */
  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#buffered += chunk.length;
    while (this.#buffered >= HEADER_BYTES) {
      const fragLength = frameLength(this.#peekHeader(), this.#maxFragment);
      if (this.#buffered < fragLength) return;
      this.#onPdu(this.#take(fragLength));
    }
  }

  #peekHeader(): Buffer {
    const first = this.#chunks[0]!;
    if (first.length >= HEADER_BYTES) return first.subarray(0, HEADER_BYTES);
    const head = Buffer.alloc(HEADER_BYTES);
    let filled = 0;
    for (const c of this.#chunks) {
      filled += c.copy(head, filled, 0, Math.min(c.length, HEADER_BYTES - filled));
      if (filled === HEADER_BYTES) break;
    }
    return head;
  }

  #take(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0]!;
    if (first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const pdu = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const c = this.#chunks[0]!;
      const k = Math.min(c.length, n - filled);
      c.copy(pdu, filled, 0, k);
      filled += k;
      if (k === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(k);
    }
    return pdu;
  }
}

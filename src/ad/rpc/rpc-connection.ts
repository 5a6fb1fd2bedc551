import net from 'node:net';
import { FatalError } from '../../errors.ts';
import type { RpcAuth } from './rpc-auth.ts';
import type { BindAck, Fault, PduHeader, SealingContext, UnsealingContext } from './rpc-pdu.ts';
import {
  decodeBindAck,
  decodeBindNak,
  decodeFault,
  decodeResponse,
  encodeAuth3,
  encodeBind,
  encodeRequest,
  MAX_FRAGMENT_BYTES,
  MIN_FRAGMENT_BYTES,
  PduFramer,
  PFC,
  protocolError,
  PTYPE,
  readHeader,
} from './rpc-pdu.ts';
import { describeBindNakReason, describeContextResult, describeRpcStatus, RPC_STATUS, RpcFaultError } from './rpc-status.ts';
import { NDR_TRANSFER_SYNTAX } from './rpc-syntax.ts';

export interface RpcConnectOptions {
  readonly host: string;
  readonly port: number;
  readonly interfaceId: string;
  readonly interfaceVersion: readonly [major: number, minor: number];
  /** Without it the bind is unauthenticated (the endpoint mapper). */
  readonly auth?: RpcAuth | undefined;
  /** For the TCP connection and the bind together. */
  readonly connectTimeoutMs: number;
  /** The longest the server may stay silent while a call is outstanding (reset by every fragment, so a long reply is not cut). */
  readonly callTimeoutMs: number;
  /** Aborting closes the socket; the pending call, and every later one, rejects with the signal's reason. */
  readonly signal?: AbortSignal | undefined;
  /** The largest reassembled response stub accepted; default 64 MiB. */
  readonly maxResponseBytes?: number | undefined;
  /** max_xmit_frag and max_recv_frag offered in the bind; default 5840, what Windows and Samba offer over TCP. */
  readonly maxFragmentBytes?: number | undefined;
}

const DEFAULT_MAX_RESPONSE_BYTES = 64 * 1024 * 1024;
const DEFAULT_FRAGMENT_BYTES = 5840;
/** One presentation context per connection. */
const CONTEXT_ID = 0;
/** Any value will do; the server echoes it and we check it. */
const AUTH_CONTEXT_ID = 1;

/** One request and its replies; the connection has at most one at a time. */
interface Exchange {
  readonly what: string;
  readonly callId: number;
  readonly timeoutMs: number;
  /** A reply PDU other than a fault: the result when the exchange is complete, undefined while more fragments are due. Throwing fails the connection. */
  readonly onPdu: (pdu: Buffer, header: PduHeader) => unknown;
  /** The error a fault for this exchange becomes. */
  readonly onFault: (fault: Fault) => Error;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

function endpointText(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function errnoOf(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}

function checkOptions(o: RpcConnectOptions): void {
  const positive = (n: number | undefined, what: string): void => {
    if (n !== undefined && !(Number.isFinite(n) && n > 0)) throw new RangeError(`DCE/RPC: ${what} must be a positive number (${n})`);
  };
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 0xffff) throw new RangeError(`DCE/RPC: port must be 1 to 65535 (${o.port})`);
  positive(o.connectTimeoutMs, 'connectTimeoutMs');
  positive(o.callTimeoutMs, 'callTimeoutMs');
  positive(o.maxResponseBytes, 'maxResponseBytes');
  const frag = o.maxFragmentBytes;
  if (frag !== undefined && (!Number.isInteger(frag) || frag < MIN_FRAGMENT_BYTES || frag > MAX_FRAGMENT_BYTES)) {
    throw new RangeError(`DCE/RPC: maxFragmentBytes must be ${MIN_FRAGMENT_BYTES} to ${MAX_FRAGMENT_BYTES} (${frag})`);
  }
}

/** The TCP connection, with the connect-phase timeout and the abort signal. */
function openSocket(host: string, port: number, timeoutMs: number, signal: AbortSignal | undefined): Promise<net.Socket> {
  const where = endpointText(host, port);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const cleanup = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      socket.off('connect', onConnect);
      socket.off('error', onError);
    };
    const fail = (err: unknown): void => {
      cleanup();
      socket.destroy();
      reject(err);
    };
    const onConnect = (): void => {
      cleanup();
      resolve(socket);
    };
    const onError = (err: Error): void => fail(new FatalError('RPC_CONNECT_FAILED', `DCE/RPC: cannot connect to ${where}: ${errnoOf(err)}`, { cause: err }));
    const onAbort = (): void => fail(signal?.reason);
    const timer = setTimeout(() => fail(new FatalError('RPC_TIMEOUT', `DCE/RPC: no TCP connection to ${where} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('connect', onConnect);
    socket.once('error', onError);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A connection-oriented DCE/RPC association over TCP (ncacn_ip_tcp) bound to one interface:
 * bind (and with auth: bind_ack's challenge, auth3), then sequential calls. Requests are cut into
 * fragments of the negotiated size and, with auth, each fragment is sealed; response fragments are
 * checked, unsealed and reassembled. Every failure is a FatalError with an RPC_* code; once the
 * connection has failed, every later call rejects with the same error.
 */
export class RpcConnection {
  readonly #socket: net.Socket;
  readonly #where: string;
  readonly #auth: RpcAuth | undefined;
  readonly #callTimeoutMs: number;
  readonly #maxResponseBytes: number;
  readonly #offeredFragment: number;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = (): void => this.#fail(this.#signal?.reason);
  #maxXmitFrag: number;
  #maxRecvFrag: number;
  #nextCallId = 1;
  #callsMade = 0;
  #exchange: Exchange | undefined;
  #timer: NodeJS.Timeout | undefined;
  #failure: { readonly error: unknown } | undefined;
  #tail: Promise<unknown> = Promise.resolve();

  private constructor(socket: net.Socket, o: RpcConnectOptions) {
    this.#socket = socket;
    this.#where = endpointText(o.host, o.port);
    this.#auth = o.auth;
    this.#callTimeoutMs = o.callTimeoutMs;
    this.#maxResponseBytes = o.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    this.#offeredFragment = o.maxFragmentBytes ?? DEFAULT_FRAGMENT_BYTES;
    this.#maxXmitFrag = this.#offeredFragment;
    this.#maxRecvFrag = this.#offeredFragment;
    this.#signal = o.signal;
    this.#signal?.addEventListener('abort', this.#onAbort, { once: true });
    socket.setNoDelay(true);
    // Replication can leave the connection idle between cycles; keep middleboxes from dropping it silently.
    socket.setKeepAlive(true, 60_000);
    const framer = new PduFramer((pdu) => this.#dispatch(pdu));
    socket.on('data', (chunk: Buffer) => {
      if (this.#failure !== undefined) return;
      try {
        framer.push(chunk);
      } catch (err) {
        this.#fail(err instanceof FatalError ? err : protocolError(`a reply from ${this.#where} could not be decoded`, { cause: err }));
      }
    });
    socket.on('error', (err) => this.#fail(this.#lost(`was lost (${errnoOf(err)})`, err)));
    socket.on('close', () => this.#fail(this.#lost('was closed by the server')));
  }

  /** TCP connect, bind (with the auth token when `auth`), bind_ack or bind_nak, and auth3 when `auth`. */
  static async connect(o: RpcConnectOptions): Promise<RpcConnection> {
    checkOptions(o);
    o.signal?.throwIfAborted();
    const deadline = Date.now() + o.connectTimeoutMs;
    const socket = await openSocket(o.host, o.port, o.connectTimeoutMs, o.signal);
    const conn = new RpcConnection(socket, o);
    try {
      await conn.#bind(o.interfaceId, o.interfaceVersion, Math.max(1, deadline - Date.now()));
    } catch (err) {
      conn.close();
      throw err;
    }
    return conn;
  }

  /** The largest fragment we send: the smaller of our offer and the server's max_recv_frag. */
  get maxXmitFrag(): number {
    return this.#maxXmitFrag;
  }

  /** The largest fragment the server said it sends. */
  get maxRecvFrag(): number {
    return this.#maxRecvFrag;
  }

  /** One call: the reassembled (and unsealed) response stub. Concurrent callers are served one after another. */
  request(opnum: number, stub: Buffer): Promise<Buffer> {
    if (!Number.isInteger(opnum) || opnum < 0 || opnum > 0xffff) return Promise.reject(new RangeError(`DCE/RPC: opnum must be 0 to 65535 (${opnum})`));
    const run = this.#tail.then(() => this.#call(opnum, stub));
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** Closes the socket; a pending call rejects with RPC_CLOSED. Idempotent. */
  close(): void {
    this.#fail(new FatalError('RPC_CLOSED', `DCE/RPC: the connection to ${this.#where} was closed`));
  }

  async #bind(interfaceId: string, interfaceVersion: readonly [number, number], timeoutMs: number): Promise<void> {
    const auth = this.#auth;
    const callId = this.#nextCallId++;
    const token = auth?.initialToken();
    const bind = encodeBind({
      ptype: PTYPE.BIND,
      callId,
      maxXmitFrag: this.#offeredFragment,
      maxRecvFrag: this.#offeredFragment,
      assocGroupId: 0,
      contextId: CONTEXT_ID,
      abstractSyntax: { uuid: interfaceId, version: interfaceVersion },
      transferSyntax: NDR_TRANSFER_SYNTAX,
      auth: auth === undefined || token === undefined ? undefined : { authType: auth.authType, authLevel: auth.authLevel, authContextId: AUTH_CONTEXT_ID, token },
    });
    const iface = `${interfaceId} v${interfaceVersion[0]}.${interfaceVersion[1]}`;
    const ack = (await this.#converse(
      'the bind',
      callId,
      [bind],
      timeoutMs,
      (pdu, h) => {
        if (h.ptype === PTYPE.BIND_NAK) {
          throw new FatalError('RPC_BIND_REJECTED', `DCE/RPC: ${this.#where} refused the bind to ${iface}: ${describeBindNakReason(decodeBindNak(pdu).reason)}`);
        }
        if (h.ptype !== PTYPE.BIND_ACK) throw protocolError(`${this.#where} answered the bind with PDU type ${h.ptype}`);
        if (h.callId !== callId) throw protocolError(`${this.#where} answered the bind (call ${callId}) for call ${h.callId}`);
        return decodeBindAck(pdu);
      },
      (f) => new RpcFaultError('RPC_BIND_REJECTED', f.status, `DCE/RPC: ${this.#where} refused the bind to ${iface} with fault status ${describeRpcStatus(f.status)}`),
    )) as BindAck;
    const accepted = ack.results[0];
    if (accepted === undefined) throw this.#fatal(protocolError(`${this.#where}'s bind_ack has no result for our presentation context`));
    if (accepted.result !== 0) {
      throw this.#fatal(new FatalError('RPC_BIND_REJECTED', `DCE/RPC: ${this.#where} refused the bind to ${iface}: ${describeContextResult(accepted.result, accepted.reason)}`));
    }
    if (ack.maxRecvFrag < MIN_FRAGMENT_BYTES) throw this.#fatal(protocolError(`${this.#where} accepts only ${ack.maxRecvFrag}-byte fragments`));
    this.#maxXmitFrag = Math.min(this.#offeredFragment, ack.maxRecvFrag);
    this.#maxRecvFrag = Math.min(this.#offeredFragment, ack.maxXmitFrag);
    if (auth === undefined) return;

    const verifier = ack.auth;
    if (verifier === undefined) throw this.#fatal(protocolError(`${this.#where}'s bind_ack carries no authentication token`));
    const t = verifier.trailer;
    if (t.authType !== auth.authType || t.authLevel !== auth.authLevel || t.authContextId !== AUTH_CONTEXT_ID) {
      throw this.#fatal(protocolError(`${this.#where}'s bind_ack answers auth type ${t.authType} level ${t.authLevel} context ${t.authContextId}, not ours`));
    }
    // A copy: the token is a view into a socket buffer, and the provider may keep it (NTLM's MIC covers it).
    const answer = auth.respond(Buffer.from(verifier.value));
    // Same call id as the bind, as Windows does: auth3 completes the bind and has no reply of its own.
    this.#socket.write(encodeAuth3(callId, { authType: auth.authType, authLevel: auth.authLevel, authContextId: AUTH_CONTEXT_ID, token: answer }));
  }

  async #call(opnum: number, stub: Buffer): Promise<Buffer> {
    this.#throwIfFailed();
    const auth = this.#auth;
    const callId = this.#nextCallId++;
    // NTLM's AUTH3 has no reply: a refused password shows on the first call, as a fault (Windows: access
    // denied; Samba: nca_s_proto_error, its answer to any call on a connection whose auth3 failed).
    const firstAfterAuth = auth !== undefined && this.#callsMade === 0;
    this.#callsMade++;
    const what = `call ${callId} (opnum ${opnum})`;
    const fragments = encodeRequest({ callId, contextId: CONTEXT_ID, opnum, stub, maxXmitFrag: this.#maxXmitFrag, sealing: this.#sealing() });
    const unsealing = this.#unsealing();
    const parts: Buffer[] = [];
    let total = 0;
    let started = false;
    return (await this.#converse(
      what,
      callId,
      fragments,
      this.#callTimeoutMs,
      (pdu, h) => {
        if (h.ptype !== PTYPE.RESPONSE) throw protocolError(`${this.#where} answered ${what} with PDU type ${h.ptype}`);
        if (h.callId !== callId) throw protocolError(`${this.#where} sent a response for call ${h.callId} while ${what} was outstanding`);
        const first = (h.pfcFlags & PFC.FIRST_FRAG) !== 0;
        if (first === started) throw protocolError(`${this.#where} sent ${first ? 'a second first fragment' : 'a fragment before the first'} for ${what}`);
        started = true;
        const fragment = decodeResponse(pdu, unsealing);
        total += fragment.stub.length;
        if (total > this.#maxResponseBytes) throw protocolError(`the response to ${what} from ${this.#where} is over the ${this.#maxResponseBytes}-byte limit`);
        parts.push(fragment.stub);
        return (h.pfcFlags & PFC.LAST_FRAG) !== 0 ? Buffer.concat(parts, total) : undefined;
      },
      (f) => this.#faultError(f, what, firstAfterAuth),
    )) as Buffer;
  }

  #sealing(): SealingContext | undefined {
    const auth = this.#auth;
    if (auth === undefined) return undefined;
    return {
      authType: auth.authType,
      authLevel: auth.authLevel,
      authContextId: AUTH_CONTEXT_ID,
      signatureBytes: auth.signatureBytes ?? 16,
      seal: (data, signed) => auth.seal(data, signed),
    };
  }

  #unsealing(): UnsealingContext | undefined {
    const auth = this.#auth;
    if (auth === undefined) return undefined;
    return { authType: auth.authType, authLevel: auth.authLevel, authContextId: AUTH_CONTEXT_ID, unseal: (data, signed, signature) => auth.unseal(data, signed, signature) };
  }

  /** `what` failed with a fault; `what` undefined: the server sent a fault nothing asked for. */
  #faultError(f: Fault, what: string | undefined, firstAfterAuth: boolean): RpcFaultError {
    const status = describeRpcStatus(f.status);
    const refusal = f.status === RPC_STATUS.ACCESS_DENIED || f.status === RPC_STATUS.SEC_PKG_ERROR || f.status === RPC_STATUS.NCA_S_PROTO_ERROR;
    const answer = what === undefined ? `sent an unsolicited fault, status ${status}` : `answered ${what} with fault status ${status}`;
    if (this.#auth !== undefined && firstAfterAuth && refusal) {
      return new RpcFaultError('RPC_AUTH_FAILED', f.status, `DCE/RPC: ${this.#where} refused the authentication: after AUTH3 it ${answer}`);
    }
    return new RpcFaultError('RPC_FAULT', f.status, `DCE/RPC: ${this.#where} ${answer}`);
  }

  /** Sends `pdus` and feeds the replies to `onPdu` until it returns a result. */
  #converse(what: string, callId: number, pdus: Buffer[], timeoutMs: number, onPdu: Exchange['onPdu'], onFault: Exchange['onFault']): Promise<unknown> {
    this.#throwIfFailed();
    return new Promise((resolve, reject) => {
      this.#exchange = { what, callId, timeoutMs, onPdu, onFault, resolve, reject };
      this.#armTimer();
      for (const pdu of pdus) this.#socket.write(pdu);
    });
  }

  #dispatch(pdu: Buffer): void {
    if (this.#failure !== undefined) return;
    const h = readHeader(pdu);
    const ex = this.#exchange;
    if (h.ptype === PTYPE.SHUTDOWN) throw this.#lost('was shut down by the server (shutdown PDU)');
    if (h.ptype === PTYPE.FAULT) {
      const fault = decodeFault(pdu);
      if (ex === undefined) {
        // Unasked: how Windows refuses an auth3, or a server's last word before it closes.
        throw this.#faultError(fault, undefined, this.#callsMade === 0);
      }
      const err = ex.onFault(fault);
      this.#settle();
      ex.reject(err);
      // A fault we cannot read the verifier of would leave the unsealing stream out of step: no more calls.
      if (h.authLength > 0 && this.#auth !== undefined) this.#fail(err);
      return;
    }
    if (ex === undefined) throw protocolError(`${this.#where} sent an unsolicited PDU of type ${h.ptype}`);
    this.#armTimer();
    const result = ex.onPdu(pdu, h);
    if (result === undefined) return;
    this.#settle();
    ex.resolve(result);
  }

  #settle(): void {
    this.#exchange = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #armTimer(): void {
    const ex = this.#exchange;
    if (ex === undefined) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#fail(new FatalError('RPC_TIMEOUT', `DCE/RPC: ${this.#where} sent nothing for ${ex.timeoutMs} ms during ${ex.what}`));
    }, ex.timeoutMs);
  }

  #lost(how: string, cause?: unknown): FatalError {
    const during = this.#exchange === undefined ? '' : ` during ${this.#exchange.what}`;
    return new FatalError('RPC_CONNECTION_LOST', `DCE/RPC: the connection to ${this.#where} ${how}${during}`, cause === undefined ? undefined : { cause });
  }

  /** Fails the connection with `err` and returns it, for `throw this.#fatal(...)`. */
  #fatal(err: FatalError): FatalError {
    this.#fail(err);
    return err;
  }

  #throwIfFailed(): void {
    if (this.#failure !== undefined) throw this.#failure.error;
  }

  /** The connection is over: close the socket, reject the pending exchange; the first error sticks. */
  #fail(error: unknown): void {
    if (this.#failure !== undefined) return;
    this.#failure = { error };
    const ex = this.#exchange;
    this.#settle();
    this.#signal?.removeEventListener('abort', this.#onAbort);
    this.#socket.destroy();
    ex?.reject(error);
  }
}

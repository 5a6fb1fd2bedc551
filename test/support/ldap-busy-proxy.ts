import { connect, createServer } from 'node:net';
import type { Server, Socket } from 'node:net';

/**
 * A TCP proxy in front of a real LDAP server that answers some search requests itself with a result
 * code (51 busy, 52 unavailable) instead of passing them on: what a directory under load or in
 * maintenance says. Everything else (binds, the searches it lets through, the answers) flows
 * through unchanged. It reads just enough BER to split the client's stream into LDAP messages and
 * to see each one's message ID and operation (RFC 4511 §4.1.1).
 */
export interface LdapBusyProxy extends AsyncDisposable {
  readonly url: string;
  /** Searches answered with the result code so far. */
  readonly refused: number;
  /** Searches passed on to the server. */
  readonly passed: number;
}

const SEARCH_REQUEST = 0x63; // [APPLICATION 3] constructed
const SEARCH_RESULT_DONE = 0x65; // [APPLICATION 5] constructed

/** A BER length at `at`: its value and the bytes it takes, or undefined when not all there yet. */
function readLength(buf: Buffer, at: number): { value: number; size: number } | undefined {
  if (at >= buf.length) return undefined;
  const first = buf[at]!;
  if (first < 0x80) return { value: first, size: 1 };
  const n = first & 0x7f;
  if (n === 0 || n > 4) throw new Error(`unsupported BER length form 0x${first.toString(16)}`);
  if (at + 1 + n > buf.length) return undefined;
  let value = 0;
  for (let i = 0; i < n; i++) value = value * 256 + buf[at + 1 + i]!;
  return { value, size: 1 + n };
}

function encodeLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), encodeLength(value.length), value]);

/** SearchResultDone { resultCode, matchedDN "", diagnosticMessage } for message `messageId` (its INTEGER as sent). */
function searchDone(messageIdTlv: Buffer, resultCode: number, message: string): Buffer {
  const op = tlv(SEARCH_RESULT_DONE, Buffer.concat([tlv(0x0a, Buffer.from([resultCode])), tlv(0x04, Buffer.alloc(0)), tlv(0x04, Buffer.from(message))]));
  return tlv(0x30, Buffer.concat([messageIdTlv, op]));
}

/**
 * Starts the proxy on loopback. `refuse(n)` is asked for the n-th search request seen (from 1, over
 * all connections): a result code to answer it with, or undefined to pass it on.
 */
export async function startLdapBusyProxy(upstream: { host: string; port: number }, refuse: (n: number) => number | undefined): Promise<LdapBusyProxy> {
  let searches = 0;
  let refused = 0;
  let passed = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const backend = connect(upstream.port, upstream.host);
    sockets.add(client).add(backend);
    const drop = (): void => {
      client.destroy();
      backend.destroy();
      sockets.delete(client);
      sockets.delete(backend);
    };
    client.on('error', drop).on('close', drop);
    backend.on('error', drop).on('close', drop);
    backend.pipe(client);
    let pending = Buffer.alloc(0);
    client.on('data', (chunk: Buffer) => {
      pending = Buffer.concat([pending, chunk]);
      for (;;) {
        if (pending.length < 2) return;
        if (pending[0] !== 0x30) return drop(); // not LDAP: end the connection
        const length = readLength(pending, 1);
        if (length === undefined) return;
        const end = 1 + length.size + length.value;
        if (pending.length < end) return;
        const message = pending.subarray(0, end);
        pending = pending.subarray(end);
        // messageID INTEGER, then the operation's tag.
        const idStart = 1 + length.size;
        const idLength = readLength(message, idStart + 1)!;
        const opAt = idStart + 1 + idLength.size + idLength.value;
        if (message[opAt] === SEARCH_REQUEST) {
          const code = refuse(++searches);
          if (code !== undefined) {
            refused++;
            client.write(searchDone(message.subarray(idStart, opAt), code, code === 51 ? 'busy (phsync test proxy)' : 'unavailable (phsync test proxy)'));
            continue;
          }
          passed++;
        }
        backend.write(message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `ldap://127.0.0.1:${port}`,
    get refused() {
      return refused;
    },
    get passed() {
      return passed;
    },
    async [Symbol.asyncDispose]() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

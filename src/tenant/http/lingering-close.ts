import type { IncomingMessage, ServerResponse } from 'node:http';

/** How long a refused request's connection stays half-open after the answer (Go's net/http waits as long). */
export const LINGER_MS = 500;

/**
 * Closes the connection after this answer without reading the rest of the request, in a way that
 * lets the client see the answer. Closing a socket with unread incoming data makes the kernel send
 * a reset, and a client that is still sending may then lose the answer it had not read yet. So the
 * answer goes with `Connection: close`, then the write side is closed (FIN), what still arrives is
 * discarded unread for at most LINGER_MS, and only then is the socket destroyed. Node's server ends
 * a `Connection: close` answer with socket.destroySoon(); that one call is replaced here.
 */
export function lingeringClose(req: IncomingMessage, res: ServerResponse): void {
  res.shouldKeepAlive = false;
  const socket = req.socket;
  socket.destroySoon = () => {
    const timer = setTimeout(() => socket.destroy(), LINGER_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('end', () => socket.destroy());
    socket.end();
    req.resume();
  };
}

import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.ts';
import { jsonErrorPosition, lineAndColumn } from './json-error-position.ts';

/** 415 unless the request says its body is JSON (in UTF-8, the only charset JSON has: RFC 8259 §8.1). */
export function requireJsonContentType(req: IncomingMessage): void {
  const header = req.headers['content-type'];
  const [type = '', ...params] = (header ?? '').split(';').map((part) => part.trim().toLowerCase());
  const charset = params.find((p) => p.startsWith('charset='))?.slice('charset='.length).replace(/^"|"$/g, '');
  if (type !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    throw new HttpError(415, 'unsupported_media_type', 'the body must be sent as Content-Type: application/json (UTF-8)');
  }
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, 'payload_too_large', `the body is larger than ${maxBytes} bytes`, { closeConnection: true });
}

/**
 * The whole body, at most `maxBytes`. A declared Content-Length over the limit is refused before a
 * byte is read; a body that grows past it is refused as soon as it does, and what was read is let go.
 * Either way the error asks for the connection to be closed, so the rest is never read.
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) throw tooLarge(maxBytes);
  return await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > maxBytes) {
        cleanup();
        chunks.length = 0;
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    const onClose = (): void => {
      cleanup();
      reject(new Error('the client closed the connection before the body was complete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/**
 * Parses a JSON body. A syntax error says where ("invalid JSON at position N (line L column C)") and
 * never quotes the body, which may hold credentials or passwords.
 */
export function parseJson(body: Buffer): unknown {
  let text: string;
  try {
    text = UTF8.decode(body);
  } catch {
    throw new HttpError(400, 'invalid_json', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    const position = jsonErrorPosition(text);
    if (position === undefined) throw new HttpError(400, 'invalid_json', 'invalid JSON');
    const { line, column } = lineAndColumn(text, position);
    const where = position >= text.length ? `at position ${position} (the end of the body)` : `at position ${position} (line ${line} column ${column})`;
    throw new HttpError(400, 'invalid_json', `invalid JSON ${where}`);
  }
}

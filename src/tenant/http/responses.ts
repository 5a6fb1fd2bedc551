import type { ServerResponse } from 'node:http';
import { HttpError } from './http-error.ts';

const COMMON_HEADERS = {
  'cache-control': 'no-store',
  'x-content-type-options': 'nosniff',
} as const;

/** Answers with a JSON body (and Content-Length, so the connection can be kept alive). */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...COMMON_HEADERS,
    ...headers,
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

export function sendText(res: ServerResponse, status: number, text: string, contentType: string): void {
  res.writeHead(status, { ...COMMON_HEADERS, 'content-type': contentType, 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

/** Every error body is `{ error: code, message }`. */
export function sendError(res: ServerResponse, err: HttpError): void {
  if (err.closeConnection) res.shouldKeepAlive = false;
  sendJson(res, err.status, { error: err.code, message: err.message }, err.headers);
}

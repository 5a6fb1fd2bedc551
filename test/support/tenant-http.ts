import assert from 'node:assert/strict';
import { startTenantServer } from '../../src/tenant/http/tenant-server.ts';
import type { TenantServerOptions } from '../../src/tenant/http/tenant-server.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { tempDir } from './temp-dir.ts';

export const JSON_TYPE = { 'content-type': 'application/json' };

export interface Answer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  readonly json: Record<string, unknown>;
}

export async function call(url: string, init: RequestInit = {}): Promise<Answer> {
  const res = await fetch(url, init);
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // /metrics is text
  }
  return { status: res.status, headers: res.headers, text, json };
}

/** An error answer: the status, JSON `{ error: code, message }` and nothing else. */
export function assertError(answer: Answer, status: number, code: string, message?: RegExp): void {
  assert.equal(answer.status, status, answer.text);
  assert.match(answer.headers.get('content-type') ?? '', /^application\/json/);
  assert.deepEqual(Object.keys(answer.json).sort(), ['error', 'message']);
  assert.equal(answer.json['error'], code);
  if (message !== undefined) assert.match(String(answer.json['message']), message);
}

/**
 * A tenant on loopback over a fresh store file, with this token; closed (server, then store, then
 * directory) by `await using`. `dbPath` is the store's file, for tests that read it raw.
 */
export async function startTestTenant(token: string, options: Partial<TenantServerOptions> = {}) {
  const dir = tempDir();
  const dbPath = dir.file('tenant.db');
  const store = TenantStore.open(dbPath);
  const server = await startTenantServer({ store, listen: { host: '127.0.0.1', port: 0 }, token, ...options });
  const auth = { authorization: `Bearer ${token}` };
  const post = (path: string, body: unknown, headers: Record<string, string> = { ...auth, ...JSON_TYPE }): Promise<Answer> =>
    call(`${server.url}${path}`, { method: 'POST', headers, body: typeof body === 'string' || body instanceof Uint8Array ? body : JSON.stringify(body) });
  return {
    store,
    server,
    dir,
    dbPath,
    url: server.url,
    auth,
    post,
    get: (path: string, headers: Record<string, string> = auth): Promise<Answer> => call(`${server.url}${path}`, { headers }),
    batch: (body: unknown, headers?: Record<string, string>) => post('/v1/credentials:batch', body, headers),
    async [Symbol.asyncDispose]() {
      await server.close();
      store.close();
      dir[Symbol.dispose]();
    },
  };
}

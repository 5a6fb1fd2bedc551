import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { inspect, promisify } from 'node:util';
import { describe, it } from 'node:test';
import { FatalError, PhsyncError } from '../../src/errors.ts';
import { SeededRandom } from '../../src/fixture/seeded-random.ts';
import { formatCredential } from '../../src/phs/credential.ts';
import type { CredentialBatch, CredentialItem } from '../../src/target/credential-batch.ts';
import { DEFAULT_BATCH_SIZE } from '../../src/pipeline/hash-batch.ts';
import { HTTP_TARGET_DEFAULTS, HttpTarget, isLoopbackHost } from '../../src/target/http-target.ts';
import type { HttpTargetOptions } from '../../src/target/http-target.ts';
import { TARGET_FORMS, openTarget } from '../../src/target/open-target.ts';
import { RequestSlots } from '../../src/target/request-slots.ts';
import { MAX_RETRY_AFTER_MS, parseRetryAfter } from '../../src/target/retry-after.ts';
import { partBatchId, splitBatch } from '../../src/target/split-batch.ts';
import type { FaultDecision } from '../../src/tenant/http/faults.ts';
import { startTenantServer } from '../../src/tenant/http/tenant-server.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import type { RetryPolicy } from '../../src/util/retry-policy.ts';
import { tempDir } from '../support/temp-dir.ts';

const TOKEN = 'phs-test-token-7f3a9c1e5b2d48a6';
const SOURCE = 'corp';
const FAST_RETRY: RetryPolicy = { maxRetries: 8, minDelayMs: 10, maxDelayMs: 100, factor: 2 };
const BATCH_PATH = '/v1/credentials:batch';

// ---------------------------------------------------------------------------------------------
// A tiny tenant on loopback: the real TenantStore behind a minimal handler of the API, with faults.

type Fault = 'none' | 'error500' | 'throttle429' | 'slowBeforeApply' | 'slowAfterApply' | 'cutBody' | 'hangUp';

interface Seen {
  readonly method: string;
  readonly path: string;
  readonly bytes: number;
  readonly authorization: string | undefined;
  /** performance.now() when the request started. */
  readonly at: number;
  batchId?: string;
  items?: number;
  fault?: Fault;
}

interface TenantOptions {
  readonly store?: TenantStore;
  readonly token?: string;
  /** The API lives below this path (no trailing slash). */
  readonly basePath?: string;
  readonly tls?: { readonly key: Buffer; readonly cert: Buffer };
  /** A fault for a POST, from its tenant batch id and how often that id arrived before. */
  readonly fault?: (batchId: string, arrival: number) => Fault;
  /** How long the slow faults stall, and a delay for every POST. */
  readonly slowMs?: number;
  readonly delayMs?: number;
  /** Answers a request instead of the tenant when it returns true (the request is recorded first). */
  readonly override?: (seen: Seen, req: IncomingMessage, res: ServerResponse, body: Buffer) => boolean;
}

interface TestTenant {
  readonly url: string;
  readonly seen: Seen[];
  /** Tenant batch id → items, for every batch applied for the first time (a replay is not counted). */
  readonly firstApplied: Map<string, number>;
  readonly faults: Map<Fault, number>;
  readonly maxConcurrent: () => number;
  close(): Promise<void>;
}

function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
  res.end(body);
}

async function startTenant(options: TenantOptions = {}): Promise<TestTenant> {
  const token = options.token ?? TOKEN;
  const basePath = options.basePath ?? '';
  const seen: Seen[] = [];
  const firstApplied = new Map<string, number>();
  const faults = new Map<Fault, number>();
  const arrivals = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  let active = 0;
  let maxConcurrent = 0;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const at = performance.now();
    active++;
    maxConcurrent = Math.max(maxConcurrent, active);
    let counted = true;
    const leave = (): void => {
      if (counted) active--;
      counted = false;
    };
    res.once('finish', leave);
    res.once('close', leave);
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    const path = req.url ?? '';
    const entry: Seen = { method: req.method ?? '', path, bytes: body.length, authorization: req.headers.authorization, at };
    seen.push(entry);
    if (options.override?.(entry, req, res, body) === true) return;
    if (req.headers.authorization !== `Bearer ${token}`) return sendJson(res, 401, { error: { code: 'UNAUTHORIZED', message: 'wrong token' } });
    const store = options.store;
    if (store === undefined) throw new Error('this test tenant has no store');
    if (!path.startsWith(basePath)) return sendJson(res, 404, { error: { message: 'no such path' } });
    const apiPath = path.slice(basePath.length);

    if (req.method === 'GET' && apiPath.startsWith(`${BATCH_PATH}/`)) {
      const id = decodeURIComponent(apiPath.slice(BATCH_PATH.length + 1));
      entry.batchId = id;
      const results = store.batchResults(id);
      return results === undefined ? sendJson(res, 404, { error: { message: 'no such batch' } }) : sendJson(res, 200, { batchId: id, results });
    }
    if (req.method !== 'POST' || apiPath !== BATCH_PATH) return sendJson(res, 404, { error: { message: 'no such path' } });
    let batch: CredentialBatch;
    try {
      batch = JSON.parse(body.toString('utf8')) as CredentialBatch;
      if (typeof batch.batchId !== 'string' || typeof batch.source !== 'string' || !Array.isArray(batch.items)) throw new Error('shape');
    } catch {
      return sendJson(res, 400, { error: { code: 'MALFORMED', message: 'not a batch' } });
    }
    entry.batchId = batch.batchId;
    entry.items = batch.items.length;
    const arrival = arrivals.get(batch.batchId) ?? 0;
    arrivals.set(batch.batchId, arrival + 1);
    const fault = options.fault?.(batch.batchId, arrival) ?? 'none';
    entry.fault = fault;
    faults.set(fault, (faults.get(fault) ?? 0) + 1);
    if (options.delayMs !== undefined) await sleep(options.delayMs);
    if (fault === 'error500') return sendJson(res, 500, { error: { message: 'injected failure' } });
    if (fault === 'throttle429') return sendJson(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
    if (fault === 'slowBeforeApply') await sleep(options.slowMs ?? 0);
    const fresh = store.batchResults(batch.batchId) === undefined;
    const results = store.applyBatch(batch);
    if (fresh) firstApplied.set(batch.batchId, batch.items.length);
    const answer = JSON.stringify({ batchId: batch.batchId, results });
    if (fault === 'slowAfterApply') await sleep(options.slowMs ?? 0);
    if (fault === 'cutBody') {
      // Applied, and the answer lost half-way: the connection dies in the middle of the body.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
      res.write(answer.slice(0, Math.floor(answer.length / 2)));
      res.socket?.destroy();
      return;
    }
    if (fault === 'hangUp') {
      // Applied, and no answer at all.
      req.socket.destroy();
      return;
    }
    if (res.destroyed) return;
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(answer) });
    res.end(answer);
  };

  const listener = (req: IncomingMessage, res: ServerResponse): void => {
    const task = handle(req, res).catch((err: unknown) => {
      res.destroy(err instanceof Error ? err : new Error(String(err)));
    });
    pending.add(task);
    void task.finally(() => pending.delete(task));
  };
  const server: Server = options.tls === undefined ? createHttpServer(listener) : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, listener);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}${basePath}`,
    seen,
    firstApplied,
    faults,
    maxConcurrent: () => maxConcurrent,
    close: async () => {
      server.closeAllConnections();
      // Slow handlers still running finish with the store open (their sockets are gone).
      while (pending.size > 0) await Promise.allSettled([...pending]);
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

// ---------------------------------------------------------------------------------------------

function makeItems(seed: string, count: number, invalidEvery = 0): CredentialItem[] {
  const rng = SeededRandom.fromSeed(seed);
  return Array.from({ length: count }, (_, i) => ({
    sourceAnchor: `${seed}-anchor-${i}`,
    userPrincipalName: invalidEvery > 0 && i % invalidEvery === invalidEvery - 1 ? `no-at-sign-${i}` : `${seed}.user${i}@example.com`,
    credential: formatCredential(rng.bytes(10), 1000, rng.bytes(32)),
    forceChangePasswordNextSignIn: i % 7 === 0,
    disabled: false,
    changedAt: '2026-01-01T00:00:00.000Z',
  }));
}

function expectedResults(items: readonly CredentialItem[]): string[] {
  return items.map((item) => (item.userPrincipalName.includes('@') ? 'applied' : 'invalid'));
}

function target(tenant: TestTenant, options: Partial<HttpTargetOptions> = {}): HttpTarget {
  return HttpTarget.open({ url: tenant.url, token: TOKEN, retry: FAST_RETRY, ...options });
}

/** Awaits a promise that must reject with a PhsyncError, and returns that error. */
async function failure(promise: Promise<unknown>): Promise<PhsyncError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof PhsyncError, `expected a PhsyncError, got ${inspect(err)}`);
    return err;
  }
  assert.fail('expected a rejection');
}

function assertNoToken(err: unknown, token = TOKEN): void {
  assert.ok(!inspect(err, { depth: 10 }).includes(token), `the token appears in ${inspect(err)}`);
  assert.ok(!String(err).includes(token));
}

describe('HTTP target', () => {
  it('delivers every item exactly once through seeded 500s, 429s, timeouts, cut answers and hang-ups', { timeout: 60_000 }, async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const seed = 'http-target-faults-1';
    // Each (tenant batch id, arrival) draws its own fault, so the plan does not depend on timing;
    // from the fourth arrival on an id is always answered, so retries (8) never run out.
    const tenant = await startTenant({
      store,
      slowMs: 700,
      fault: (id, arrival) =>
        arrival >= 3
          ? 'none'
          : SeededRandom.derive(seed, `${id}#${arrival}`).pickWeighted<Fault>([
              ['none', 0.4], ['error500', 0.15], ['throttle429', 0.05], ['slowBeforeApply', 0.1], ['slowAfterApply', 0.1], ['cutBody', 0.1], ['hangUp', 0.1],
            ]),
    });
    const http = target(tenant, { timeoutMs: 300, maxItemsPerRequest: 40, maxRequestsInFlight: 4 });
    try {
      const batches = Array.from({ length: 6 }, (_, b) => ({ batchId: `faults-${b}`, source: SOURCE, items: makeItems(`w${b}`, 250, 31) }));
      // Several writes at once, as the engine has several batches in flight.
      const all = await Promise.all(batches.map((batch) => http.write(batch)));

      let items = 0;
      let valid = 0;
      for (const [b, batch] of batches.entries()) {
        const results = all[b]!;
        assert.deepEqual(results.map((r) => r.status), expectedResults(batch.items), `results of ${batch.batchId}, in order`);
        for (const [i, item] of batch.items.entries()) {
          items++;
          const user = store.findByAnchor(SOURCE, item.sourceAnchor);
          if (results[i]!.status === 'applied') {
            valid++;
            assert.equal(user?.credential, item.credential);
            assert.equal(user?.userPrincipalName, item.userPrincipalName);
          } else {
            assert.equal(user, undefined);
            assert.match(results[i]?.status === 'invalid' ? results[i].reason : '', /userPrincipalName/);
          }
        }
        assert.deepEqual(await http.appliedResults(batch.batchId), results);
      }
      assert.equal(store.countUsers(), valid);
      // Exactly once: every tenant batch applied once, and together they hold every item once.
      const appliedItems = [...tenant.firstApplied.values()].reduce((a, b) => a + b, 0);
      assert.equal(appliedItems, items);
      assert.equal(tenant.firstApplied.size, batches.length * Math.ceil(250 / 40));

      const stats = http.stats;
      assert.ok(stats.retries > 0);
      assert.equal(stats.requests, tenant.seen.filter((s) => s.method === 'POST').length + tenant.seen.filter((s) => s.method === 'GET').length);
      for (const kind of ['error500', 'throttle429', 'slowBeforeApply', 'slowAfterApply', 'cutBody', 'hangUp'] as const) {
        assert.ok((tenant.faults.get(kind) ?? 0) > 0, `the seed injects ${kind} at least once`);
      }
      // Answers lost after the tenant applied them were retried, and the tenant replayed its results.
      const replays = tenant.seen.filter((s) => s.method === 'POST').length - tenant.firstApplied.size;
      assert.ok(replays > 0);
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('keeps at most maxRequestsInFlight requests open across all concurrent writes', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const tenant = await startTenant({ store, delayMs: 30 });
    const http = target(tenant, { maxItemsPerRequest: 10, maxRequestsInFlight: 3 });
    try {
      const batches = Array.from({ length: 5 }, (_, b) => ({ batchId: `conc-${b}`, source: SOURCE, items: makeItems(`c${b}`, 40) }));
      await Promise.all(batches.map((batch) => http.write(batch)));
      assert.equal(store.countUsers(), 200);
      assert.equal(tenant.seen.length, 20);
      assert.equal(tenant.maxConcurrent(), 3);
      assert.deepEqual(http.stats, { requests: 20, retries: 0, bytesSent: tenant.seen.reduce((a, s) => a + s.bytes, 0) });
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('splits a batch by items, one tenant batch id per request, and merges the results in order', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const tenant = await startTenant({ store });
    const http = target(tenant, { maxItemsPerRequest: 10 });
    try {
      const items = makeItems('split-items', 25, 4);
      const results = await http.write({ batchId: 'b-items', source: SOURCE, items });
      assert.deepEqual(results.map((r) => r.status), expectedResults(items));
      const posts = tenant.seen.filter((s) => s.method === 'POST').sort((a, b) => (a.batchId! < b.batchId! ? -1 : 1));
      assert.deepEqual(posts.map((s) => [s.batchId, s.items]), [['b-items.0', 10], ['b-items.1', 10], ['b-items.2.last', 5]]);
      assert.ok(posts.every((s) => s.authorization === `Bearer ${TOKEN}`));
      assert.deepEqual(store.batchResults('b-items.1')?.map((r) => r.status), expectedResults(items.slice(10, 20)));
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('splits a batch by bytes: no request body is larger than maxBytesPerRequest', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const tenant = await startTenant({ store });
    const maxBytes = 2048;
    const http = target(tenant, { maxBytesPerRequest: maxBytes });
    try {
      const items = makeItems('split-bytes', 60);
      const results = await http.write({ batchId: 'b-bytes', source: SOURCE, items });
      assert.equal(results.length, 60);
      assert.ok(results.every((r) => r.status === 'applied'));
      assert.equal(store.countUsers(), 60);
      const posts = tenant.seen.filter((s) => s.method === 'POST');
      assert.ok(posts.length > 5, `${posts.length} requests`);
      for (const post of posts) assert.ok(post.bytes <= maxBytes, `${post.batchId}: ${post.bytes} bytes`);
      // Greedy: every request but the last would have overflowed with one more item.
      assert.ok(posts.filter((p) => p.bytes > maxBytes - 400).length >= posts.length - 1);
      assert.equal(posts.reduce((a, p) => a + (p.items ?? 0), 0), 60);
      assert.equal(posts.filter((p) => p.batchId?.endsWith('.last') === true).length, 1);
      assert.equal(http.stats.bytesSent, posts.reduce((a, p) => a + p.bytes, 0));
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('fails fast on 401 and 403, without a retry and without the token in the error', async () => {
    for (const status of [401, 403]) {
      const tenant = await startTenant({ override: (_seen, _req, res) => (sendJson(res, status, { error: { message: 'no' } }), true) });
      const http = target(tenant, { token: TOKEN });
      try {
        const err = await failure(http.write({ batchId: 'b', source: SOURCE, items: makeItems('auth', 3) }));
        assert.ok(err instanceof FatalError);
        assert.equal(err.code, 'TARGET_UNAUTHORIZED');
        assert.match(err.message, /check --target-token-file/);
        assertNoToken(err);
        assert.equal(tenant.seen.length, 1);
        assert.deepEqual({ ...http.stats, bytesSent: 0 }, { requests: 1, retries: 0, bytesSent: 0 });
      } finally {
        await http.close();
        await tenant.close();
      }
    }
    // The real handler with the wrong token, and the question asked on resume.
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const tenant = await startTenant({ store, token: 'the-right-one' });
    const http = target(tenant);
    try {
      const err = await failure(http.appliedResults('some-batch'));
      assert.equal(err.code, 'TARGET_UNAUTHORIZED');
      assert.equal(http.stats.retries, 0);
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('turns 400 and 413 into named fatal errors at once, and keeps the token out even when the server echoes it', async () => {
    const tenant = await startTenant({
      override: (seen, _req, res) => {
        if (seen.bytes > 3000) sendJson(res, 413, { error: { message: `too large for ${seen.authorization ?? ''}` } });
        else sendJson(res, 400, { error: { code: 'MALFORMED', message: `bad batch from ${seen.authorization ?? ''}` } });
        return true;
      },
    });
    const http = target(tenant);
    try {
      const rejected = await failure(http.write({ batchId: 'small', source: SOURCE, items: makeItems('r', 2) }));
      assert.ok(rejected instanceof FatalError);
      assert.equal(rejected.code, 'TARGET_REJECTED_BATCH');
      assert.match(rejected.message, /HTTP 400.*bad batch from Bearer \[redacted\]/);
      assertNoToken(rejected);
      const tooLarge = await failure(http.write({ batchId: 'large', source: SOURCE, items: makeItems('r', 20) }));
      assert.equal(tooLarge.code, 'TARGET_TOO_LARGE');
      assert.match(tooLarge.message, /lower --batch-size/);
      assertNoToken(tooLarge);
      assert.equal(tenant.seen.length, 2);
      assert.equal(http.stats.retries, 0);
      assert.ok(!http.id.includes(TOKEN));
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('keeps the token out of retry notices when a failing server echoes it', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    let failures = 2;
    const tenant = await startTenant({
      store,
      override: (seen, _req, res) => failures-- > 0 && (sendJson(res, 503, { error: { message: `down; you sent ${seen.authorization ?? ''}` } }), true),
    });
    const notices: string[] = [];
    const http = target(tenant, { onNotice: (m) => notices.push(m) });
    try {
      await http.write({ batchId: 'b', source: SOURCE, items: makeItems('n', 3) });
      assert.equal(notices.length, 2);
      assert.ok(notices.every((n) => n.includes('[redacted]') && !n.includes(TOKEN) && /TARGET_UNAVAILABLE.*retry \d of 8/.test(n)), notices.join('\n'));
      assert.equal(http.stats.retries, 2);
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('honours Retry-After: the retry comes no sooner than the server asked', { timeout: 20_000 }, async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    let throttled = false;
    const tenant = await startTenant({
      store,
      override: (_seen, _req, res) => {
        if (throttled) return false;
        throttled = true;
        sendJson(res, 429, { error: { message: 'slow down' } }, { 'retry-after': '1' });
        return true;
      },
    });
    // The policy alone would come back within 10 ms.
    const http = target(tenant, { retry: { maxRetries: 3, minDelayMs: 5, maxDelayMs: 10, factor: 2 } });
    try {
      const results = await http.write({ batchId: 'ra', source: SOURCE, items: makeItems('ra', 3) });
      assert.equal(results.length, 3);
      const [first, second] = tenant.seen;
      assert.ok(first !== undefined && second !== undefined && tenant.seen.length === 2);
      // A lower bound only (less a millisecond of timer rounding): how much later does not matter.
      assert.ok(second.at - first.at >= 999, `the retry came ${second.at - first.at} ms after the 429`);
      assert.equal(http.stats.retries, 1);
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('gives up after the policy retries with a fatal error: 5xx, timeouts, refused connections', { timeout: 20_000 }, async () => {
    const policy = { maxRetries: 2, minDelayMs: 1, maxDelayMs: 5, factor: 2 };
    const busy = await startTenant({ override: (_s, _r, res) => (sendJson(res, 503, { error: { message: 'maintenance' } }), true) });
    const silent = await startTenant({ override: () => true });
    const refused = await startTenant();
    await refused.close();
    const cases = [
      { tenant: busy, code: 'TARGET_UNAVAILABLE', message: /HTTP 503.*maintenance.*gave up after 3 attempts/ },
      { tenant: silent, code: 'TARGET_TIMEOUT', message: /no complete answer in 100 ms.*gave up after 3 attempts/ },
      { tenant: refused, code: 'TARGET_UNREACHABLE', message: /ECONNREFUSED.*gave up after 3 attempts/ },
    ];
    try {
      for (const c of cases) {
        const http = target(c.tenant, { retry: policy, timeoutMs: 100 });
        try {
          const err = await failure(http.write({ batchId: 'b', source: SOURCE, items: makeItems('g', 2) }));
          assert.ok(err instanceof FatalError, `${c.code}: ${inspect(err)}`);
          assert.equal(err.code, c.code);
          assert.match(err.message, c.message);
          assertNoToken(err);
          assert.equal(http.stats.requests, 3);
          assert.equal(http.stats.retries, 2);
        } finally {
          await http.close();
        }
      }
      assert.equal(busy.seen.length, 3);
    } finally {
      await busy.close();
      await silent.close();
    }
  });

  it('refuses answers that are not one valid result per item (TARGET_BAD_RESPONSE), without retrying', async () => {
    const answers: ((id: string) => string)[] = [
      (id) => JSON.stringify({ batchId: id, results: [{ status: 'applied' }] }),
      (id) => JSON.stringify({ batchId: id, results: [{ status: 'applied' }, { status: 'done' }] }),
      (id) => JSON.stringify({ batchId: id, results: [{ status: 'applied' }, { status: 'invalid' }] }),
      () => JSON.stringify({ batchId: 'another', results: [{ status: 'applied' }, { status: 'applied' }] }),
      (id) => JSON.stringify({ batchId: id }),
      () => '<html>proxy</html>',
    ];
    let next = 0;
    const tenant = await startTenant({
      override: (_seen, _req, res, body) => {
        const id = (JSON.parse(body.toString('utf8')) as { batchId: string }).batchId;
        const text = answers[next++]!(id);
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(text);
        return true;
      },
    });
    const http = target(tenant);
    try {
      for (let i = 0; i < answers.length; i++) {
        const err = await failure(http.write({ batchId: `bad-${i}`, source: SOURCE, items: makeItems('bad', 2) }));
        assert.ok(err instanceof FatalError);
        assert.equal(err.code, 'TARGET_BAD_RESPONSE', err.message);
      }
      assert.equal(tenant.seen.length, answers.length);
      assert.equal(http.stats.retries, 0);
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('answers appliedResults for an applied batch, an unknown one and a partly applied one', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const tenant = await startTenant({ store, basePath: '/tenants/acme' });
    const http = target(tenant, { maxItemsPerRequest: 10 });
    try {
      assert.equal(http.id, `http:${tenant.url}`);
      // An id that needs encoding in the path.
      const batchId = 'run 7/batch#3?x';
      const items = makeItems('applied', 25, 6);
      const results = await http.write({ batchId, source: SOURCE, items });
      assert.deepEqual(await http.appliedResults(batchId), results);
      assert.equal(await http.appliedResults('never-sent'), undefined);
      // The first two parts landed, the last did not: not applied, as a whole.
      const partial = makeItems('partial', 25);
      store.applyBatch({ batchId: partBatchId('partial', 0, false), source: SOURCE, items: partial.slice(0, 10) });
      store.applyBatch({ batchId: partBatchId('partial', 1, false), source: SOURCE, items: partial.slice(10, 20) });
      assert.equal(await http.appliedResults('partial'), undefined);
      store.applyBatch({ batchId: partBatchId('partial', 2, true), source: SOURCE, items: partial.slice(20) });
      assert.equal((await http.appliedResults('partial'))?.length, 25);
      assert.ok(tenant.seen.every((s) => s.path.startsWith('/tenants/acme/v1/credentials:batch')));
      assert.ok(tenant.seen.some((s) => s.path === `/tenants/acme/v1/credentials:batch/${encodeURIComponent('run 7/batch#3?x.0')}`));
    } finally {
      await http.close();
      await tenant.close();
    }
  });

  it('speaks https with a given CA, refuses an untrusted certificate at once, and skips verification only when told', { timeout: 30_000 }, async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    await promisify(execFile)('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
      '-keyout', dir.file('key.pem'), '-out', dir.file('cert.pem'), '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ]);
    const cert = readFileSync(dir.file('cert.pem'));
    const tenant = await startTenant({ store, tls: { key: readFileSync(dir.file('key.pem')), cert } });
    const trusted = target(tenant, { ca: cert });
    const untrusted = target(tenant);
    const insecure = target(tenant, { insecure: true });
    try {
      assert.equal((await trusted.write({ batchId: 'tls-1', source: SOURCE, items: makeItems('tls1', 3) })).length, 3);
      const err = await failure(untrusted.write({ batchId: 'tls-2', source: SOURCE, items: makeItems('tls2', 3) }));
      assert.equal(err.code, 'TARGET_TLS_FAILED');
      assert.match(err.message, /--target-ca/);
      assert.equal(untrusted.stats.retries, 0);
      assert.equal((await insecure.write({ batchId: 'tls-3', source: SOURCE, items: makeItems('tls3', 3) })).length, 3);
      assert.equal(store.countUsers(), 6);
    } finally {
      await Promise.all([trusted.close(), untrusted.close(), insecure.close()]);
      await tenant.close();
    }
  });

  it('stops waiting to retry when closed', { timeout: 10_000 }, async () => {
    const tenant = await startTenant({ override: (_s, _r, res) => (sendJson(res, 503, {}), true) });
    const http = target(tenant, { retry: { maxRetries: 5, minDelayMs: 60_000, maxDelayMs: 60_000, factor: 1 } });
    try {
      const writing = failure(http.write({ batchId: 'b', source: SOURCE, items: makeItems('close', 2) }));
      while (tenant.seen.length === 0) await sleep(5);
      await sleep(20);
      await http.close();
      const err = await writing;
      assert.equal(err.code, 'TARGET_CLOSED');
      assert.equal((await failure(http.appliedResults('b'))).code, 'TARGET_CLOSED');
    } finally {
      await tenant.close();
    }
  });

  it('works against the real tenant server (startTenantServer) and its own fault injection', { timeout: 30_000 }, async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    // The first POSTs meet each of the server's faults once, whatever part they belong to; then none.
    const plan: FaultDecision[] = ['reset-after-apply', { status: 503, retryAfter: 1 }, 'reset', { status: 500 }, { delayMs: 500 }, 'reset-after-apply'];
    let posts = 0;
    const server = await startTenantServer({
      store,
      listen: { host: '127.0.0.1', port: 0 },
      token: TOKEN,
      maxItems: 20,
      faults: (req) => (req.method === 'POST' ? plan[posts++] ?? 'none' : 'none'),
    });
    const http = HttpTarget.open({ url: server.url, token: TOKEN, retry: FAST_RETRY, timeoutMs: 250, maxItemsPerRequest: 20, maxRequestsInFlight: 2 });
    const tooMany = HttpTarget.open({ url: server.url, token: TOKEN, retry: FAST_RETRY, maxItemsPerRequest: 50 });
    const wrongToken = HttpTarget.open({ url: server.url, token: 'not-the-token', retry: FAST_RETRY });
    try {
      const batches = Array.from({ length: 3 }, (_, b) => ({ batchId: `real-${b}`, source: SOURCE, items: makeItems(`real${b}`, 50, 9) }));
      const all = await Promise.all(batches.map((batch) => http.write(batch)));
      let valid = 0;
      for (const [b, batch] of batches.entries()) {
        assert.deepEqual(all[b]!.map((r) => r.status), expectedResults(batch.items));
        valid += all[b]!.filter((r) => r.status === 'applied').length;
        assert.deepEqual(await http.appliedResults(batch.batchId), all[b]);
      }
      assert.equal(store.countUsers(), valid);
      for (const batch of batches) {
        for (const item of batch.items) {
          if (item.userPrincipalName.includes('@')) assert.equal(store.findByAnchor(SOURCE, item.sourceAnchor)?.credential, item.credential);
        }
      }
      assert.ok(posts >= plan.length);
      assert.ok(http.stats.retries >= plan.length);
      assert.equal(await http.appliedResults('real-never'), undefined);

      const large = await failure(tooMany.write({ batchId: 'too-many', source: SOURCE, items: makeItems('many', 30) }));
      assert.equal(large.code, 'TARGET_TOO_LARGE');
      assert.equal(tooMany.stats.retries, 0);
      const refused = await failure(wrongToken.write({ batchId: 'denied', source: SOURCE, items: makeItems('denied', 2) }));
      assert.equal(refused.code, 'TARGET_UNAUTHORIZED');
      assert.equal(wrongToken.stats.requests, 1);
      assertNoToken(refused, 'not-the-token');
    } finally {
      await Promise.all([http.close(), tooMany.close(), wrongToken.close()]);
      await server.close();
    }
  });

  it('opens only https://, or http:// to a loopback host, and never puts a secret in the id or an error', async () => {
    for (const url of ['http://example.com', 'http://10.1.2.3:8080/', 'http://[2001:db8::1]:80', 'http://127.0.0.1.nip.io', 'HTTP://tenant.example']) {
      assert.throws(() => HttpTarget.open({ url, token: TOKEN }), (err: unknown) => err instanceof FatalError && err.code === 'TARGET_INSECURE', url);
    }
    const ids: Record<string, string> = {
      'http://127.0.0.1:8080': 'http:http://127.0.0.1:8080',
      'http://127.9.8.7/': 'http:http://127.9.8.7',
      'http://[::1]:8443/api/': 'http:http://[::1]:8443/api',
      'http://localhost:1234': 'http:http://localhost:1234',
      'https://tenant.example.com': 'http:https://tenant.example.com',
      'https://tenant.example.com:443/': 'http:https://tenant.example.com',
      'https://Tenant.Example.com:8443/t/acme': 'http:https://tenant.example.com:8443/t/acme',
    };
    for (const [url, id] of Object.entries(ids)) {
      const t = HttpTarget.open({ url, token: TOKEN });
      assert.equal(t.id, id);
      await t.close();
    }
    for (const url of ['https://user:s3cret-pw@tenant.example.com', 'https://tenant.example.com/?token=s3cret-pw', 'https://tenant.example.com/#s3cret-pw', 'ftp://tenant.example.com', 'https://', 'https://s3cret-pw@']) {
      assert.throws(
        () => HttpTarget.open({ url, token: TOKEN }),
        (err: unknown) => err instanceof FatalError && err.code === 'TARGET_INVALID' && !err.message.includes('s3cret-pw'),
        url,
      );
    }
    for (const token of ['', 'two words', `${TOKEN}\n`, 'tab\there']) {
      assert.throws(
        () => HttpTarget.open({ url: 'https://tenant.example.com', token }),
        (err: unknown) => err instanceof FatalError && err.code === 'TARGET_INVALID' && (token.length < 4 || !err.message.includes(token)),
      );
    }
    assert.ok(isLoopbackHost('[::1]') && isLoopbackHost('127.0.0.1') && isLoopbackHost('LOCALHOST'));
    assert.ok(!isLoopbackHost('128.0.0.1') && !isLoopbackHost('localhost.example.com') && !isLoopbackHost('[::2]'));
  });

  it('is opened by openTarget from an http(s) spec, next to sqlite: and ndjson:', async () => {
    await assert.rejects(openTarget('http://tenant.example.com', { token: TOKEN }), (err: unknown) => err instanceof FatalError && err.code === 'TARGET_INSECURE');
    const t = await openTarget('https://tenant.example.com/acme', { token: TOKEN, insecure: true });
    assert.ok(t instanceof HttpTarget);
    assert.equal(t.id, 'http:https://tenant.example.com/acme');
    await t.close();
    await assert.rejects(openTarget('ftp://x'), (err: unknown) => err instanceof FatalError && err.code === 'TARGET_INVALID' && err.message.includes('https://'));
    assert.match(TARGET_FORMS, /sqlite:PATH.*ndjson:PATH.*https:\/\//);
    using dir = tempDir();
    const sqlite = await openTarget(`sqlite:${dir.file('t.db')}`);
    assert.equal(sqlite.id, `sqlite:${dir.file('t.db')}`);
    await sqlite.close();
  });
});

describe('HTTP target helpers', () => {
  it('reads Retry-After as seconds or an HTTP date, capped at 5 minutes', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    assert.equal(parseRetryAfter('1', now), 1000);
    assert.equal(parseRetryAfter(' 120 ', now), 120_000);
    assert.equal(parseRetryAfter('0', now), 0);
    assert.equal(parseRetryAfter('100000', now), MAX_RETRY_AFTER_MS);
    assert.equal(parseRetryAfter(['2'], now), 2000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Sunday, 01-Mar-26 12:00:30 GMT', now), 30_000);
    assert.equal(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now), 0);
    assert.equal(parseRetryAfter('Mon, 02 Mar 2026 12:00:00 GMT', now), MAX_RETRY_AFTER_MS);
    for (const bad of [undefined, '', 'soon', '-1', '1.5', '2026-03-01', 'Xyz']) assert.equal(parseRetryAfter(bad, now), undefined, String(bad));
  });

  it('splits deterministically, greedily, and sends an oversized item alone', () => {
    const items = makeItems('split', 30);
    const batch = { batchId: 'x', source: SOURCE, items };
    const a = splitBatch(batch, { maxItems: 7, maxBytes: 1_000_000 });
    assert.deepEqual(a.map((p) => [p.batchId, p.start, p.count]), [['x.0', 0, 7], ['x.1', 7, 7], ['x.2', 14, 7], ['x.3', 21, 7], ['x.4.last', 28, 2]]);
    assert.deepEqual(splitBatch(batch, { maxItems: 7, maxBytes: 1_000_000 }), a);
    const parsed = JSON.parse(a[1]!.body.toString('utf8')) as CredentialBatch;
    assert.deepEqual(parsed, { batchId: 'x.1', source: SOURCE, items: items.slice(7, 14) });
    for (const maxBytes of [900, 1500, 4096]) {
      const parts = splitBatch(batch, { maxItems: 1000, maxBytes });
      assert.deepEqual(parts.map((p) => p.start), parts.map((_, i) => parts.slice(0, i).reduce((s, p) => s + p.count, 0)));
      assert.equal(parts.reduce((s, p) => s + p.count, 0), 30);
      assert.ok(parts.every((p) => p.body.length <= maxBytes));
    }
    assert.deepEqual(splitBatch(batch, { maxItems: 1000, maxBytes: 10 }).map((p) => p.count), Array<number>(30).fill(1));
    assert.deepEqual(splitBatch({ ...batch, items: [] }, { maxItems: 10, maxBytes: 10_000 }), []);
    assert.deepEqual(splitBatch(batch, { maxItems: 1000, maxBytes: 1_000_000 }).map((p) => p.batchId), ['x.0.last']);
  });

  it('a batch of the engine\'s default size goes to the tenant as one request', () => {
    const batch = { batchId: 'd', source: SOURCE, items: makeItems('default-size', DEFAULT_BATCH_SIZE) };
    const parts = splitBatch(batch, { maxItems: HTTP_TARGET_DEFAULTS.maxItemsPerRequest, maxBytes: HTTP_TARGET_DEFAULTS.maxBytesPerRequest });
    assert.deepEqual(parts.map((p) => p.count), [DEFAULT_BATCH_SIZE]);
  });

  it('hands request slots out in order and lets an aborted waiter go', async () => {
    const slots = new RequestSlots(2);
    const r1 = await slots.acquire();
    const r2 = await slots.acquire();
    const order: number[] = [];
    const controller = new AbortController();
    const w3 = slots.acquire().then((r) => (order.push(3), r));
    const w4 = slots.acquire(controller.signal);
    const w5 = slots.acquire().then((r) => (order.push(5), r));
    controller.abort(new Error('gone'));
    await assert.rejects(w4, /gone/);
    r1();
    r1();
    const r3 = await w3;
    assert.equal(slots.held, 2);
    r2();
    const r5 = await w5;
    assert.deepEqual(order, [3, 5]);
    r3();
    r5();
    assert.equal(slots.held, 0);
  });
});

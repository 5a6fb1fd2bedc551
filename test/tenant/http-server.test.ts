import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ItemResult } from '../../src/target/credential-batch.ts';
import type { FaultDecision } from '../../src/tenant/http/faults.ts';
import { isLoopback, parseListenAddress } from '../../src/util/listen-address.ts';
import { signInOverHttp } from '../../src/tenant/http/signin-client.ts';
import { SignInLockout } from '../../src/tenant/http/signin-lockout.ts';
import type { TenantServerOptions } from '../../src/tenant/http/tenant-server.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { credentialItem } from '../support/credential-item.ts';
import { tempDir } from '../support/temp-dir.ts';
import { JSON_TYPE, assertError, call, startTestTenant } from '../support/tenant-http.ts';

const TOKEN = randomBytes(24).toString('base64url');
const AUTH = { authorization: `Bearer ${TOKEN}` };
const WRITE = { ...AUTH, ...JSON_TYPE };

const item = credentialItem;

/** A tenant over a fresh store (test/support/tenant-http.ts), with a sign-in helper; closed by `await using`. */
async function tenant(options: Partial<TenantServerOptions> = {}) {
  const t = await startTestTenant(TOKEN, options);
  return Object.assign(t, { signIn: (userPrincipalName: string, password: string) => t.post('/v1/signin', { userPrincipalName, password }, JSON_TYPE) });
}

/** The value of one sample in Prometheus text: `name{labels} value`. */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const found = Object.fromEntries([...line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const keys = Object.keys(labels);
    if (keys.length === Object.keys(found).length && keys.every((k) => found[k] === labels[k])) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

describe('tenant HTTP server', () => {
  it('applies a batch, then signs users in (200) and refuses wrong passwords, unknown and disabled users alike (401)', async () => {
    await using t = await tenant();
    const items = [
      await item('a1', 'ann@example.com', 'Pa$$w0rd'),
      await item('a2', 'bob@example.com', 'Zoë-2026', { forceChangePasswordNextSignIn: true }),
      await item('a3', 'cy@example.com', 'off', { disabled: true }),
    ];
    const applied = await t.batch({ batchId: 'b1', source: 's', items });
    assert.equal(applied.status, 200, applied.text);
    assert.deepEqual(applied.json, { batchId: 'b1', results: [{ status: 'applied' }, { status: 'applied' }, { status: 'applied' }] });
    assert.equal(t.store.countUsers(), 3);

    const ok = await t.signIn('ANN@example.com', 'Pa$$w0rd');
    assert.equal(ok.status, 200);
    assert.deepEqual(ok.json, { forceChangePassword: false });
    assert.deepEqual((await t.signIn('bob@example.com', 'Zoë-2026')).json, { forceChangePassword: true });

    const refusals = [await t.signIn('ann@example.com', 'pa$$w0rd'), await t.signIn('nobody@example.com', 'Pa$$w0rd'), await t.signIn('cy@example.com', 'off')];
    for (const refused of refusals) {
      assertError(refused, 401, 'invalid_grant');
      // Not a word about which it was: the three answers are identical.
      assert.equal(refused.text, refusals[0]!.text);
    }
    // The sign-in route needs no token; a body that is not a sign-in is a 400.
    assertError(await t.post('/v1/signin', { userPrincipalName: 'ann@example.com' }, JSON_TYPE), 400, 'invalid_request', /password/);
    assertError(await t.post('/v1/signin', { userPrincipalName: 'ann@example.com', password: 'x', otp: 1 }, JSON_TYPE), 400, 'invalid_request', /"otp"/);
  });

  it('applies the same batchId once, and answers GET with the results it had (404 for a batch never applied)', async () => {
    await using t = await tenant();
    const first = { batchId: 'same', source: 's', items: [await item('a1', 'ann@example.com', 'one')] };
    assert.equal((await t.batch(first)).status, 200);
    // The same batchId again, with other content: nothing changes, the first results come back.
    const again = await t.batch({ ...first, items: [await item('a1', 'ann@example.com', 'two'), await item('a2', 'bob@example.com', 'x')] });
    assert.equal(again.status, 200);
    assert.deepEqual(again.json, { batchId: 'same', results: [{ status: 'applied' }] });
    assert.equal(t.store.countUsers(), 1);
    assert.equal((await t.signIn('ann@example.com', 'one')).status, 200);

    const results = await call(`${t.url}/v1/credentials:batch/same`, { headers: AUTH });
    assert.equal(results.status, 200);
    assert.deepEqual(results.json, { batchId: 'same', results: [{ status: 'applied' }] });
    // Percent-encoded ids are decoded.
    assert.equal((await t.batch({ batchId: 'run 7/b:1', source: 's', items: [] })).status, 200);
    assert.deepEqual((await call(`${t.url}/v1/credentials:batch/${encodeURIComponent('run 7/b:1')}`, { headers: AUTH })).json, { batchId: 'run 7/b:1', results: [] });
    assertError(await call(`${t.url}/v1/credentials:batch/never`, { headers: AUTH }), 404, 'batch_not_found');
    assertError(await call(`${t.url}/v1/credentials:batch/same`), 401, 'unauthorized');
  });

  it('refuses writes and batch reads without the right bearer token (401, WWW-Authenticate)', async () => {
    await using t = await tenant();
    const body = { batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'pw')] };
    for (const headers of [JSON_TYPE, { ...JSON_TYPE, authorization: 'Bearer wrong' }, { ...JSON_TYPE, authorization: `Bearer ${TOKEN}x` }, { ...JSON_TYPE, authorization: `Basic ${TOKEN}` }]) {
      const refused = await t.batch(body, headers);
      assertError(refused, 401, 'unauthorized');
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer /);
      assert.ok(!refused.text.includes(TOKEN));
    }
    assertError(await call(`${t.url}/v1/credentials:batch/b`, { headers: { authorization: 'Bearer nope' } }), 401, 'unauthorized');
    // A large body is not read for a refused request: the connection is closed instead.
    const large = await t.batch({ ...body, pad: 'x'.repeat(1024 * 1024) }, { ...JSON_TYPE, authorization: 'Bearer nope' });
    assertError(large, 401, 'unauthorized');
    assert.equal(large.headers.get('connection'), 'close');
    assert.equal(t.store.countUsers(), 0);
    assert.equal(t.store.batchResults('b'), undefined);
    assert.equal((await t.batch(body)).status, 200);

    // Without a configured token (loopback use), writes need none.
    await using open = await tenant({ token: undefined });
    assert.equal((await open.batch(body, JSON_TYPE)).status, 200);
  });

  it('refuses a body over maxBodyBytes (413) whether its length is declared or streamed, and closes the connection', async () => {
    await using t = await tenant({ maxBodyBytes: 64 * 1024 });
    const big = JSON.stringify({ batchId: 'big', source: 's', items: Array.from({ length: 1000 }, (_, i) => ({ sourceAnchor: `a${i}`, userPrincipalName: `u${i}@example.com`, credential: 'x'.repeat(100) })) });
    assert.ok(Buffer.byteLength(big) > 64 * 1024);
    const declared = await t.batch(big);
    assertError(declared, 413, 'payload_too_large', /65536 bytes/);
    assert.equal(declared.headers.get('connection'), 'close');

    // Chunked: no Content-Length, so the server counts as it reads, and stops.
    const chunks = Array.from({ length: 64 }, () => Buffer.alloc(16 * 1024, 0x20));
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next === undefined) controller.close();
        else controller.enqueue(next);
      },
    });
    const streamed = await call(`${t.url}/v1/credentials:batch`, { method: 'POST', headers: WRITE, body: stream, duplex: 'half' } as RequestInit);
    assertError(streamed, 413, 'payload_too_large');
    assert.equal(t.store.batchResults('big'), undefined);
    // The server is fine afterwards.
    assert.equal((await call(`${t.url}/healthz`)).status, 200);
  });

  it('refuses a batch with more than maxItems items (413) and applies none of it', async () => {
    await using t = await tenant({ maxItems: 3 });
    const one = await item('a1', 'ann@example.com', 'pw');
    const items = Array.from({ length: 4 }, (_, i) => ({ ...one, sourceAnchor: `a${i}`, userPrincipalName: `u${i}@example.com` }));
    assertError(await t.batch({ batchId: 'many', source: 's', items }), 413, 'too_many_items', /4 items; at most 3/);
    assert.equal(t.store.countUsers(), 0);
    assert.equal((await t.batch({ batchId: 'ok', source: 's', items: items.slice(0, 3) })).status, 200);
    assert.equal(t.store.countUsers(), 3);
  });

  it('answers malformed JSON with 400 and where it breaks, never echoing the body', async () => {
    await using t = await tenant();
    const secret = 'v1;PPH1_MD4,00112233445566778899,1000,deadbeef';
    const truncated = `{"batchId":"b","source":"s","items":[{"credential":"${secret}"}]`;
    const cases: [string, number][] = [
      [truncated, truncated.length],
      [`{"batchId":"b", source:"s","credential":"${secret}"}`, 16],
      [`{"batchId":"b","items":[1,2,]}`, 28],
      ['', 0],
    ];
    for (const [body, position] of cases) {
      const answer = await t.batch(body);
      assertError(answer, 400, 'invalid_json', new RegExp(`^invalid JSON at position ${position}\\b`));
      assert.ok(!answer.text.includes('PPH1'), answer.text);
      assert.ok(!answer.text.includes('batchId'), answer.text);
    }
    assert.match(String((await t.batch('{"batchId":\n  "b" "s"}')).json['message']), /position 18 \(line 2 column 7\)/);
    assertError(await t.batch(Buffer.from([0x7b, 0xff, 0x7d])), 400, 'invalid_json', /not valid UTF-8/);
  });

  it('answers a missing, ill-typed or unknown field with 400 naming it, and a non-JSON content type with 415', async () => {
    await using t = await tenant();
    const good = await item('a1', 'ann@example.com', 'pw');
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good], extra: 1, more: true }), 400, 'invalid_request', /unknown fields "extra", "more"/);
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good, { ...good, sourceAnchor: 'a2', password: 'leak' }] }), 400, 'invalid_request', /items\[1\] has unknown field "password"/);
    assertError(await t.batch({ source: 's', items: [good] }), 400, 'invalid_request', /batchId/);
    assertError(await t.batch({ batchId: 7, source: 's', items: [good] }), 400, 'invalid_request', /batchId/);
    assertError(await t.batch({ batchId: 'b', source: '', items: [good] }), 400, 'invalid_request', /source/);
    assertError(await t.batch({ batchId: 'b', source: 's', items: { 0: good } }), 400, 'invalid_request', /items must be an array/);
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good, null] }), 400, 'invalid_request', /items\[1\] must be an object/);
    assertError(await t.batch([good]), 400, 'invalid_request', /JSON object/);
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good] }, { ...AUTH, 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good] }, AUTH), 415, 'unsupported_media_type');
    assertError(await t.batch({ batchId: 'b', source: 's', items: [good] }, { ...AUTH, 'content-type': 'application/json; charset=latin1' }), 415, 'unsupported_media_type');
    assert.equal(t.store.countUsers(), 0);
    assert.equal((await t.batch({ batchId: 'b', source: 's', items: [good] }, { ...AUTH, 'content-type': 'Application/JSON; charset=UTF-8' })).status, 200);
  });

  it('answers a bad item `invalid` with its reason and applies the rest of the batch', async () => {
    await using t = await tenant();
    const good = await item('a1', 'ann@example.com', 'pw');
    const answer = await t.batch({
      batchId: 'mixed',
      source: 's',
      items: [
        good,
        { ...good, sourceAnchor: 'a2', userPrincipalName: 'b@example.com', credential: 'v1;PPH1_MD4,zz' },
        { ...good, sourceAnchor: 'a3', userPrincipalName: 'no-at-sign' },
        { ...(await item('a4', 'dee@example.com', 'pw4')), changedAt: 'yesterday' },
        { sourceAnchor: 'a5', userPrincipalName: 'e@example.com' },
        await item('a6', 'fay@example.com', 'pw6'),
      ],
    });
    assert.equal(answer.status, 200, answer.text);
    const results = answer.json['results'] as ItemResult[];
    assert.deepEqual(results.map((r) => r.status), ['applied', 'invalid', 'invalid', 'invalid', 'invalid', 'applied']);
    const reasons = results.map((r) => (r.status === 'invalid' ? r.reason : ''));
    assert.match(reasons[1]!, /credential/);
    assert.match(reasons[2]!, /userPrincipalName/);
    assert.match(reasons[3]!, /changedAt/);
    assert.match(reasons[4]!, /credential/);
    assert.ok(!answer.text.includes('PPH1_MD4,zz'), 'a credential is not echoed');
    assert.equal(t.store.countUsers(), 2);
    assert.equal((await t.signIn('fay@example.com', 'pw6')).status, 200);
    // An older change is `stale`.
    const older = await t.batch({ batchId: 'old', source: 's', items: [{ ...(await item('a1', 'ann@example.com', 'older')), changedAt: '2025-01-01T00:00:00Z' }] });
    assert.deepEqual(older.json['results'], [{ status: 'stale' }]);
  });

  it('locks a sign-in name out after maxFailures failures in the window (429, Retry-After), known or not, until the window passes', async () => {
    const windowMs = 2000;
    await using t = await tenant({ lockout: { maxFailures: 3, windowMs, baseDelayMs: 10 } });
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'right'), await item('a2', 'bob@example.com', 'bobs')] });
    const started = Date.now();
    for (let i = 0; i < 3; i++) assertError(await t.signIn('ann@example.com', `wrong${i}`), 401, 'invalid_grant');
    // Locked now, even with the right password, and whatever the case of the name.
    const locked = await t.signIn('Ann@Example.com', 'right');
    assertError(locked, 429, 'too_many_attempts');
    const retryAfter = Number(locked.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1 && retryAfter <= Math.ceil(windowMs / 1000), `Retry-After ${retryAfter}`);
    // Other users are not affected; an unknown name is locked out exactly the same way.
    assert.equal((await t.signIn('bob@example.com', 'bobs')).status, 200);
    for (let i = 0; i < 3; i++) assertError(await t.signIn('ghost@example.com', 'x'), 401, 'invalid_grant');
    assertError(await t.signIn('ghost@example.com', 'x'), 429, 'too_many_attempts');
    // When the window has passed (and not before), the user may try again and the right password works.
    let after = await t.signIn('ann@example.com', 'right');
    while (after.status === 429 && Date.now() - started < windowMs + 5000) {
      await sleep(100);
      after = await t.signIn('ann@example.com', 'right');
    }
    assert.equal(after.status, 200);
    assert.ok(Date.now() - started >= windowMs, 'not unlocked before the window passed');
  });

  it('keeps the lockout map bounded, forgetting the least recently failed name first', () => {
    let now = 0;
    const lockout = new SignInLockout({ maxFailures: 2, windowMs: 60_000, baseDelayMs: 100 }, { maxTracked: 3, now: () => now });
    assert.equal(lockout.attempt('a@x'), 100);
    assert.equal(lockout.attempt('A@X'), 200, 'the delay doubles with each failure of the same (lowercased) name');
    assert.ok(lockout.retryAfterMs('a@x') > 0);
    for (const name of ['b@x', 'c@x', 'd@x']) lockout.attempt(name);
    assert.equal(lockout.size, 3);
    assert.equal(lockout.retryAfterMs('a@x'), 0, 'the oldest name was forgotten');
    lockout.attempt('e@x');
    lockout.succeeded('e@x');
    assert.equal(lockout.retryAfterMs('e@x'), 0);
    lockout.attempt('f@x');
    lockout.attempt('f@x');
    assert.equal(lockout.retryAfterMs('f@x'), 60_000);
    now = 30_000;
    assert.equal(lockout.retryAfterMs('f@x'), 30_000);
    now = 60_000;
    assert.equal(lockout.retryAfterMs('f@x'), 0);
  });

  it('answers /healthz, 404 for unknown routes and 405 with Allow for a wrong method', async () => {
    await using t = await tenant();
    const health = await call(`${t.url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(health.json, { status: 'ok' });
    assert.equal((await call(`${t.url}/healthz?probe=1`)).status, 200);
    assertError(await call(`${t.url}/v2/nothing`), 404, 'not_found');
    assertError(await call(`${t.url}/v1/credentials:batch/`), 404, 'not_found');
    const wrong = await call(`${t.url}/v1/credentials:batch`, { headers: AUTH });
    assertError(wrong, 405, 'method_not_allowed');
    assert.equal(wrong.headers.get('allow'), 'POST');
    const del = await call(`${t.url}/v1/credentials:batch/b1`, { method: 'DELETE', headers: AUTH });
    assertError(del, 405, 'method_not_allowed');
    assert.equal(del.headers.get('allow'), 'GET, HEAD');
    assert.equal((await call(`${t.url}/v1/signin`)).headers.get('allow'), 'POST');
    // Keep-alive is on.
    assert.equal(health.headers.get('connection'), 'keep-alive');
  });

  it('counts requests, batch items, batches and sign-ins in its own /metrics registry', async () => {
    await using t = await tenant({ lockout: { maxFailures: 2, windowMs: 60_000, baseDelayMs: 0 } });
    const good = await item('a1', 'ann@example.com', 'pw');
    await t.batch({ batchId: 'm1', source: 's', items: [good, { ...good, sourceAnchor: 'a2', credential: 'bad' }, await item('a3', 'cy@example.com', 'pw3')] });
    await t.batch({ batchId: 'm1', source: 's', items: [good] });
    await t.batch({ batchId: 'm2', source: 's', items: [{ ...good, changedAt: '2020-01-01T00:00:00Z' }] });
    await t.batch({ batchId: 'm3', source: 's', items: [] }, JSON_TYPE);
    await t.signIn('ann@example.com', 'pw');
    await t.signIn('ann@example.com', 'no');
    await t.signIn('ann@example.com', 'no');
    await t.signIn('ann@example.com', 'pw');
    await call(`${t.url}/healthz`);
    await call(`${t.url}/nope`);

    const metrics = await call(`${t.url}/metrics`);
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const m = metrics.text;
    const requests = (route: string, method: string, status: string) => sample(m, 'phsync_tenant_http_requests_total', { route, method, status });
    assert.equal(requests('/v1/credentials:batch', 'POST', '200'), 3);
    assert.equal(requests('/v1/credentials:batch', 'POST', '401'), 1);
    assert.equal(requests('/v1/signin', 'POST', '200'), 1);
    assert.equal(requests('/v1/signin', 'POST', '401'), 2);
    assert.equal(requests('/v1/signin', 'POST', '429'), 1);
    assert.equal(requests('/healthz', 'GET', '200'), 1);
    assert.equal(requests('unmatched', 'GET', '404'), 1);
    assert.equal(sample(m, 'phsync_tenant_batch_items_total', { result: 'applied' }), 2);
    assert.equal(sample(m, 'phsync_tenant_batch_items_total', { result: 'invalid' }), 1);
    assert.equal(sample(m, 'phsync_tenant_batch_items_total', { result: 'stale' }), 1);
    assert.equal(sample(m, 'phsync_tenant_batches_total', { outcome: 'applied' }), 2);
    assert.equal(sample(m, 'phsync_tenant_batches_total', { outcome: 'replayed' }), 1);
    assert.equal(sample(m, 'phsync_tenant_signins_total', { outcome: 'success' }), 1);
    assert.equal(sample(m, 'phsync_tenant_signins_total', { outcome: 'invalid_grant' }), 2);
    assert.equal(sample(m, 'phsync_tenant_signins_total', { outcome: 'locked_out' }), 1);
    assert.equal(sample(m, 'phsync_tenant_http_request_duration_seconds_count', { route: '/v1/signin', method: 'POST' }), 4);
    assert.match(m, /^# TYPE phsync_tenant_http_request_duration_seconds histogram$/m);
    assert.match(m, /^process_cpu_user_seconds_total /m, 'default metrics are in the registry');
    assert.ok(!m.includes('ann@example.com'), 'no user names in metrics');

    // A second tenant in the same process counts on its own.
    await using other = await tenant();
    assert.equal(sample((await call(`${other.url}/metrics`)).text, 'phsync_tenant_batch_items_total', { result: 'applied' }), 0);
  });

  it('injects faults on batch requests for tests: a status with Retry-After, a reset, a reset after applying, a delay', async () => {
    const plan: FaultDecision[] = [{ status: 503, retryAfter: 2 }, 'reset', 'reset-after-apply', { delayMs: 50 }];
    const seen: string[] = [];
    await using t = await tenant({
      faults: (req) => {
        seen.push(`${req.method} ${req.url}`);
        return plan.shift() ?? 'none';
      },
    });
    const body = { batchId: 'f1', source: 's', items: [await item('a1', 'ann@example.com', 'pw')] };
    const unavailable = await t.batch(body);
    assertError(unavailable, 503, 'injected_fault');
    assert.equal(unavailable.headers.get('retry-after'), '2');
    assert.equal(t.store.countUsers(), 0);
    await assert.rejects(t.batch(body), TypeError);
    assert.equal(t.store.countUsers(), 0);
    await assert.rejects(t.batch(body), TypeError);
    assert.equal(t.store.countUsers(), 1, 'applied, though the answer was lost');
    const started = Date.now();
    const resumed = await call(`${t.url}/v1/credentials:batch/f1`, { headers: AUTH });
    assert.ok(Date.now() - started >= 45);
    assert.deepEqual(resumed.json, { batchId: 'f1', results: [{ status: 'applied' }] });
    assert.deepEqual(seen, ['POST /v1/credentials:batch', 'POST /v1/credentials:batch', 'POST /v1/credentials:batch', 'GET /v1/credentials:batch/f1']);
    // Sign-ins and health checks never see the hook.
    await call(`${t.url}/healthz`);
    assert.equal(seen.length, 4);
  });

  it('signs in through signInOverHttp: 200 → ok, 401 → refused, 429 → SIGNIN_LOCKED_OUT', async () => {
    await using t = await tenant({ lockout: { maxFailures: 1, windowMs: 60_000, baseDelayMs: 0 } });
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'pw', { forceChangePasswordNextSignIn: true })] });
    assert.deepEqual(await signInOverHttp(`${t.url}/`, 'ann@example.com', 'pw'), { ok: true, forceChangePassword: true });
    assert.deepEqual(await signInOverHttp(t.url, 'ann@example.com', 'nope'), { ok: false, reason: 'refused' });
    await assert.rejects(signInOverHttp(t.url, 'ann@example.com', 'pw'), { code: 'SIGNIN_LOCKED_OUT', message: /try again in 60 s/ });
    await assert.rejects(signInOverHttp(`${t.url}/elsewhere`, 'ann@example.com', 'pw'), { code: 'TENANT_HTTP_STATUS', message: /HTTP 404/ });
  });

  it('parses --listen addresses and knows loopback', () => {
    assert.deepEqual(parseListenAddress('127.0.0.1:8443'), { host: '127.0.0.1', port: 8443 });
    assert.deepEqual(parseListenAddress('[::1]:0'), { host: '::1', port: 0 });
    assert.deepEqual(parseListenAddress('localhost:80'), { host: 'localhost', port: 80 });
    for (const bad of ['127.0.0.1', ':80', '::1:80', '[nope]:80', 'h:99999', 'h:-1']) assert.equal(parseListenAddress(bad), undefined, bad);
    for (const yes of ['127.0.0.1', '127.9.9.9', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopback(yes), yes);
    for (const no of ['0.0.0.0', '::', '10.0.0.1', 'example.com', '128.0.0.1']) assert.ok(!isLoopback(no), no);
  });
});

describe('phsync tenant serve (the CLI)', () => {
  const dir = tempDir();
  const cert = dir.file('cert.pem');
  const key = dir.file('key.pem');
  const tokenFile = dir.file('token');
  const db = dir.file('tenant.db');
  // No token from the environment the tests run in.
  const env = { ...process.env, PHSYNC_TENANT_TOKEN: undefined } as NodeJS.ProcessEnv;

  before(() => {
    execFileSync('/usr/bin/openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-days', '2', '-keyout', key, '-out', cert,
    ], { stdio: 'ignore' });
    writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  });
  after(() => dir[Symbol.dispose]());

  /** POST over HTTPS trusting the test certificate (fetch cannot be given a CA). */
  function httpsPost(url: string, body: unknown, headers: Record<string, string>): Promise<{ status: number; json: unknown }> {
    const text = JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = httpsRequest(url, { method: 'POST', ca: readFileSync(cert), headers: { ...headers, 'content-length': String(Buffer.byteLength(text)) }, agent: false }, (res) => {
        let data = '';
        res.setEncoding('utf8').on('data', (d: string) => (data += d)).on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(data) as unknown }));
      });
      req.on('error', reject);
      req.end(text);
    });
  }

  it('serves HTTPS with a token from a file; signin --tenant https://… --tls-ca signs in; SIGTERM exits 0', async () => {
    const server = startCli(['tenant', 'serve', '--db', db, '--listen', '127.0.0.1:0', '--token-file', tokenFile, '--tls-cert', cert, '--tls-key', key], { env });
    let stderr = '';
    const url = await new Promise<string>((resolve, reject) => {
      server.child.stderr!.on('data', (d: Buffer | string) => {
        stderr += String(d);
        const match = /phsync: tenant listening on (https:\/\/127\.0\.0\.1:\d+)\n/.exec(stderr);
        if (match !== null) resolve(match[1]!);
      });
      void server.done.then((r) => reject(new Error(`the tenant exited (${r.code}): ${r.stderr}`)));
    });

    const applied = await httpsPost(`${url}/v1/credentials:batch`, { batchId: 'cli-1', source: 's', items: [await item('a1', 'ann@example.com', 'Zoë "quoted" pw')] }, WRITE);
    assert.deepEqual(applied, { status: 200, json: { batchId: 'cli-1', results: [{ status: 'applied' }] } });
    assert.equal((await httpsPost(`${url}/v1/credentials:batch`, { batchId: 'cli-2', source: 's', items: [] }, { ...JSON_TYPE, authorization: 'Bearer wrong' })).status, 401);

    const ok = await runCli(['signin', '--tenant', url, '--tls-ca', cert, '--user', 'ann@example.com'], { stdin: 'Zoë "quoted" pw\n' });
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stdout, /signed in as ann@example.com/);
    const wrong = await runCli(['signin', '--tenant', url, '--tls-ca', cert, '--user', 'ann@example.com'], { stdin: 'nope\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /sign-in refused for ann@example.com: .*invalid_grant/);
    const untrusted = await runCli(['signin', '--tenant', url, '--user', 'ann@example.com'], { stdin: 'Zoë "quoted" pw\n' });
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /TENANT_TLS_FAILED/);

    server.child.kill('SIGTERM');
    const result = await server.done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /SIGTERM received, closing/);
    for (const output of [result.stderr, result.stdout, ok.stderr, ok.stdout, wrong.stderr]) {
      assert.ok(!output.includes(TOKEN), 'the token is never printed');
      assert.ok(!output.includes('quoted'), 'the password is never printed');
    }
    // The store was closed cleanly and holds the user.
    using store = TenantStore.open(db);
    assert.equal(store.countUsers(), 1);
  });

  it('refuses to serve without a token on a non-loopback address, and warns on loopback', async () => {
    const refused = await runCli(['tenant', 'serve', '--db', dir.file('t2.db'), '--listen', '0.0.0.0:0'], { env });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /TENANT_TOKEN_REQUIRED/);

    const server = startCli(['tenant', 'serve', '--db', dir.file('t3.db'), '--listen', '127.0.0.1:0'], { env });
    let stderr = '';
    const url = await new Promise<string>((resolve) => {
      server.child.stderr!.on('data', (d: Buffer | string) => {
        stderr += String(d);
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stderr);
        if (match !== null) resolve(match[1]!);
      });
    });
    assert.match(stderr, /writes are unauthenticated/);
    assert.equal((await call(`${url}/v1/credentials:batch`, { method: 'POST', headers: JSON_TYPE, body: JSON.stringify({ batchId: 'b', source: 's', items: [] }) })).status, 200);
    server.child.kill('SIGINT');
    assert.equal((await server.done).code, 0);
  });
});

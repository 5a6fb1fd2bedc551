import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ItemResult } from '../../src/target/credential-batch.ts';
import { MAX_PAIRS } from '../../src/tenant/http/leaked-credentials-request.ts';
import { credentialItem } from '../support/credential-item.ts';
import { JSON_TYPE, assertError, call, startTestTenant } from '../support/tenant-http.ts';
import type { Answer } from '../support/tenant-http.ts';

const TOKEN = randomBytes(24).toString('base64url');
const item = credentialItem;
const at = (day: number): string => new Date(Date.UTC(2026, 0, day)).toISOString();
const tenant = (options = {}) => startTestTenant(TOKEN, options);
type Tenant = Awaited<ReturnType<typeof tenant>>;

const pairs = (t: Tenant, list: readonly { userPrincipalName: string; password: string }[], headers?: Record<string, string>): Promise<Answer> =>
  t.post('/v1/leaked-credentials', { pairs: list }, headers);
const risk = (t: Tenant, upn: string, headers?: Record<string, string>): Promise<Answer> => t.get(`/v1/users/${encodeURIComponent(upn)}/risk`, headers);

/** The value of one sample in Prometheus text: `name{labels} value` (no labels: `name value`). */
function sample(metrics: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of metrics.split('\n')) {
    if (Object.keys(labels).length === 0 && line.startsWith(`${name} `)) return Number(line.slice(name.length + 1));
    if (!line.startsWith(`${name}{`)) continue;
    const found = Object.fromEntries([...line.slice(name.length + 1, line.lastIndexOf('}')).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]));
    const keys = Object.keys(labels);
    if (keys.length === Object.keys(found).length && keys.every((k) => found[k] === labels[k])) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

function assertIsoNear(value: unknown, from: number, to: number): void {
  assert.equal(typeof value, 'string');
  const ms = Date.parse(value as string);
  assert.ok(ms >= from && ms <= to, `${String(value)} within the request`);
  assert.equal(new Date(ms).toISOString(), value);
}

describe('tenant HTTP: user risk and leaked credentials', () => {
  it('records riskLevel from batch items (high: leaked-hash), keeps it through a disable item, refuses it on one, and clears it with the next credential', async () => {
    await using t = await tenant();
    const before = Date.now();
    const applied = await t.batch({ batchId: 'b1', source: 's', items: [await item('a1', 'ann@example.com', 'Spring2024!', { riskLevel: 'high' }), await item('a2', 'bob@example.com', 'pw', { riskLevel: 'none' })] });
    assert.deepEqual(applied.json['results'], [{ status: 'applied' }, { status: 'applied' }], applied.text);
    const high = await risk(t, 'ann@example.com');
    assert.equal(high.status, 200);
    assert.deepEqual(Object.keys(high.json), ['userPrincipalName', 'riskLevel', 'source', 'detectedAt']);
    assert.equal(high.json['riskLevel'], 'high');
    assert.equal(high.json['source'], 'leaked-hash');
    assertIsoNear(high.json['detectedAt'], before, Date.now());
    assert.deepEqual((await risk(t, 'bob@example.com')).json, { userPrincipalName: 'bob@example.com', riskLevel: 'none' });

    const disable = { sourceAnchor: 'a1', userPrincipalName: 'ann@example.com', forceChangePasswordNextSignIn: false, disabled: true, changedAt: at(2) };
    const disabled = await t.batch({ batchId: 'b2', source: 's', items: [disable, { ...disable, riskLevel: 'high' }] });
    const results = disabled.json['results'] as ItemResult[];
    assert.deepEqual(results[0], { status: 'applied' });
    assert.equal(results[1]?.status, 'invalid');
    assert.match(results[1]?.status === 'invalid' ? results[1].reason : '', /riskLevel goes only with a credential/);
    assert.deepEqual((await risk(t, 'ann@example.com')).json, high.json, 'a disable item leaves the risk as it was');

    assert.equal((await t.batch({ batchId: 'b3', source: 's', items: [await item('a1', 'ann@example.com', 'N3w-pass', { changedAt: at(3) })] })).status, 200);
    assert.deepEqual((await risk(t, 'ann@example.com')).json, { userPrincipalName: 'ann@example.com', riskLevel: 'none' });
    // A riskLevel that is neither is the item's problem, not the batch's.
    const odd = await t.batch({ batchId: 'b4', source: 's', items: [{ ...(await item('a3', 'cy@example.com', 'pw')), riskLevel: 'medium' }] });
    assert.deepEqual(odd.json['results'], [{ status: 'invalid', reason: "riskLevel must be 'none' or 'high'" }]);
  });

  it('checks leaked pairs: one result per pair in order, a match marks the user high risk (leaked-credentials), names compared case-insensitively', async () => {
    await using t = await tenant();
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'Ann@Example.com', 'Pa$$w0rd'), await item('a2', 'bob@example.com', 'Zoë-2026')] });
    const before = Date.now();
    const answer = await pairs(t, [
      { userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' },
      { userPrincipalName: 'bob@example.com', password: 'Zoe-2026' },
      { userPrincipalName: 'nobody@example.com', password: 'Pa$$w0rd' },
      { userPrincipalName: 'no-at-sign', password: 'x' },
    ]);
    assert.equal(answer.status, 200, answer.text);
    assert.deepEqual(answer.json, {
      results: [
        { userPrincipalName: 'ann@example.com', result: 'match' },
        { userPrincipalName: 'bob@example.com', result: 'no-match' },
        { userPrincipalName: 'nobody@example.com', result: 'unknown-user' },
        { userPrincipalName: 'no-at-sign', result: 'invalid', reason: 'userPrincipalName must look like name@domain' },
      ],
    });
    const ann = await risk(t, 'ANN@example.COM');
    assert.equal(ann.status, 200);
    assert.equal(ann.json['userPrincipalName'], 'Ann@Example.com', 'the name as the tenant holds it');
    assert.equal(ann.json['riskLevel'], 'high');
    assert.equal(ann.json['source'], 'leaked-credentials');
    assertIsoNear(ann.json['detectedAt'], before, Date.now());
    assert.deepEqual((await risk(t, 'bob@example.com')).json, { userPrincipalName: 'bob@example.com', riskLevel: 'none' });
    assert.deepEqual((await pairs(t, [])).json, { results: [] });

    // Risk is reported, not enforced: Ann still signs in.
    assert.equal((await t.post('/v1/signin', { userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }, JSON_TYPE)).status, 200);

    // A new password: the risk is gone, the old password no longer matches, the new one would.
    assert.equal((await t.batch({ batchId: 'b2', source: 's', items: [await item('a1', 'Ann@Example.com', 'Fresh-0ne', { changedAt: at(5) })] })).status, 200);
    assert.equal((await risk(t, 'ann@example.com')).json['riskLevel'], 'none');
    assert.deepEqual((await pairs(t, [{ userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }])).json, { results: [{ userPrincipalName: 'ann@example.com', result: 'no-match' }] });
    assert.equal((await risk(t, 'ann@example.com')).json['riskLevel'], 'none');
    assert.deepEqual((await pairs(t, [{ userPrincipalName: 'ann@example.com', password: 'Fresh-0ne' }])).json, { results: [{ userPrincipalName: 'ann@example.com', result: 'match' }] });

    const metrics = (await call(`${t.url}/metrics`)).text;
    assert.equal(sample(metrics, 'phsync_tenant_leaked_credential_pairs_total', { result: 'match' }), 2);
    assert.equal(sample(metrics, 'phsync_tenant_leaked_credential_pairs_total', { result: 'no-match' }), 2);
    assert.equal(sample(metrics, 'phsync_tenant_leaked_credential_pairs_total', { result: 'unknown-user' }), 1);
    assert.equal(sample(metrics, 'phsync_tenant_leaked_credential_pairs_total', { result: 'invalid' }), 1);
    assert.equal(sample(metrics, 'phsync_tenant_high_risk_users'), 1);
    assert.equal(sample(metrics, 'phsync_tenant_http_requests_total', { route: '/v1/leaked-credentials', method: 'POST', status: '200' }), 4);
    assert.equal(sample(metrics, 'phsync_tenant_http_requests_total', { route: '/v1/users/{userPrincipalName}/risk', method: 'GET', status: '200' }), 4);
    assert.ok(!metrics.includes('example.com'), 'no user names in metrics, not even in a route label');
  });

  it('checks a pair only against a credential stored before the pair was received', async () => {
    await using t = await tenant();
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'Old-pass1')] });
    // The request arrives (its head, and half its body); then a new credential lands; then the body ends.
    const body = JSON.stringify({ pairs: [{ userPrincipalName: 'ann@example.com', password: 'New-pass2' }] });
    const answer = new Promise<{ status: number; json: unknown }>((resolve, reject) => {
      const req = httpRequest(`${t.url}/v1/leaked-credentials`, { method: 'POST', headers: { ...t.auth, ...JSON_TYPE, 'content-length': String(Buffer.byteLength(body)) } }, (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d)).on('end', () => resolve({ status: res.statusCode ?? 0, json: JSON.parse(text) as unknown }));
      });
      req.on('error', reject);
      req.write(body.slice(0, 10));
      void sleep(150).then(async () => {
        t.store.applyBatch({ batchId: 'later', source: 's', items: [await item('a1', 'ann@example.com', 'New-pass2', { changedAt: at(9) })] });
        req.end(body.slice(10));
      });
    });
    assert.deepEqual(await answer, {
      status: 200,
      json: { results: [{ userPrincipalName: 'ann@example.com', result: 'no-match', reason: 'the user\'s credential was stored after the pair was received; pairs are checked only against a credential stored before them' }] },
    });
    assert.equal((await risk(t, 'ann@example.com')).json['riskLevel'], 'none');
    // Sent again now, after the credential: it matches.
    assert.equal(((await pairs(t, [{ userPrincipalName: 'ann@example.com', password: 'New-pass2' }])).json['results'] as { result: string }[])[0]?.result, 'match');
  });

  it('answers GET /v1/users/{upn}/risk for a percent-encoded name, 404 for an unknown one, 400 for bad encoding, 405 with Allow', async () => {
    await using t = await tenant();
    const odd = "o'brien+risk/ops#1@example.com";
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', odd, 'pw', { riskLevel: 'high' })] });
    const found = await risk(t, odd.toUpperCase());
    assert.equal(found.status, 200, found.text);
    assert.equal(found.json['userPrincipalName'], odd);
    assert.equal(found.json['riskLevel'], 'high');
    assert.equal((await t.get(`/v1/users/${encodeURIComponent(odd)}/risk?fresh=1`)).status, 200);
    assert.equal((await call(`${t.url}/v1/users/${encodeURIComponent(odd)}/risk`, { method: 'HEAD', headers: t.auth })).status, 200);
    assertError(await risk(t, 'nobody@example.com'), 404, 'user_not_found');
    assertError(await t.get('/v1/users/%zz@example.com/risk'), 400, 'invalid_request', /userPrincipalName in the path is not valid percent-encoding/);
    assertError(await t.get('/v1/users//risk'), 404, 'not_found');
    assertError(await t.get('/v1/users/a/b/risk'), 404, 'not_found');
    assertError(await t.get('/v1/users/ann@example.com'), 404, 'not_found');
    const wrong = await t.post(`/v1/users/${encodeURIComponent(odd)}/risk`, {});
    assertError(wrong, 405, 'method_not_allowed');
    assert.equal(wrong.headers.get('allow'), 'GET, HEAD');
    const getPairs = await t.get('/v1/leaked-credentials');
    assertError(getPairs, 405, 'method_not_allowed');
    assert.equal(getPairs.headers.get('allow'), 'POST');
  });

  it('needs the bearer token on both routes (401), and then tells nobody who exists', async () => {
    await using t = await tenant();
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'Pa$$w0rd')] });
    for (const headers of [JSON_TYPE, { ...JSON_TYPE, authorization: 'Bearer wrong' }, { ...JSON_TYPE, authorization: `Basic ${TOKEN}` }]) {
      const refused = await pairs(t, [{ userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }], headers);
      assertError(refused, 401, 'unauthorized');
      assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer /);
      const { authorization } = headers as { authorization?: string };
      const read = authorization === undefined ? {} : { authorization };
      assertError(await risk(t, 'ann@example.com', read), 401, 'unauthorized');
      assertError(await risk(t, 'nobody@example.com', read), 401, 'unauthorized');
    }
    assert.equal(t.store.riskOf('ann@example.com')?.riskLevel, 'none', 'a refused request checks nothing');
  });

  it('answers a bad body with a named 400, too many pairs or too large a body with a named 413, a wrong content type with 415, never quoting a password', async () => {
    await using t = await tenant();
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', 'Pa$$w0rd')] });
    const secret = 'S3cret-Leak!';
    const good = { userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' };
    const cases: [unknown, number, string, RegExp][] = [
      [`{"pairs":[{"userPrincipalName":"ann@example.com","password":"${secret}"}]`, 400, 'invalid_json', /^invalid JSON at position/],
      [[good], 400, 'invalid_request', /JSON object/],
      [{ pairs: [good], extra: secret }, 400, 'invalid_request', /unknown field "extra" in the request/],
      [{ pairs: { 0: good } }, 400, 'invalid_request', /pairs must be an array/],
      [{}, 400, 'invalid_request', /pairs must be an array/],
      [{ pairs: [good, null] }, 400, 'invalid_request', /pairs\[1\] must be an object/],
      [{ pairs: [good, { ...good, password: secret, hash: secret }] }, 400, 'invalid_request', /pairs\[1\] has unknown field "hash"/],
      [{ pairs: [{ password: secret }] }, 400, 'invalid_request', /pairs\[0\]\.userPrincipalName must be a string/],
      [{ pairs: [{ userPrincipalName: 'ann@example.com', password: 7 }] }, 400, 'invalid_request', /pairs\[0\]\.password must be a string/],
      [{ pairs: [good, { ...good, password: `${secret}${'x'.repeat(257 - secret.length)}` }] }, 400, 'invalid_request', /pairs\[1\]\.password is longer than 256 characters/],
      [{ pairs: Array.from({ length: MAX_PAIRS + 1 }, () => ({ ...good, password: secret })) }, 413, 'too_many_pairs', /1001 pairs; at most 1000/],
      [{ pairs: [good], pad: 'x'.repeat(5 * 1024 * 1024) }, 413, 'payload_too_large', /bytes/],
    ];
    for (const [body, status, code, message] of cases) {
      const answer = await t.post('/v1/leaked-credentials', body);
      assertError(answer, status, code, message);
      assert.ok(!answer.text.includes(secret) && !answer.text.includes('Pa$$w0rd'), answer.text);
    }
    assertError(await t.post('/v1/leaked-credentials', { pairs: [good] }, { ...t.auth, 'content-type': 'text/plain' }), 415, 'unsupported_media_type');
    // A password of exactly 256 characters is fine.
    assert.equal((await pairs(t, [{ ...good, password: 'y'.repeat(256) }])).status, 200);
    assert.equal(t.store.riskOf('ann@example.com')?.riskLevel, 'none', 'no refused request marked anyone');
  });

  it('never writes a password to the store file or the server log, nor echoes one, even when a request fails inside', async () => {
    const logs: string[] = [];
    await using t = await tenant({ log: (message: string) => logs.push(message) });
    const leaked = 'Unique-Leaked-Passw0rd-7f3a';
    const other = 'Another-Wr0ng-Guess-91c2';
    await t.batch({ batchId: 'b', source: 's', items: [await item('a1', 'ann@example.com', leaked), await item('a2', 'bob@example.com', 'bobs-pass')] });
    const answers = [
      await pairs(t, [{ userPrincipalName: 'ann@example.com', password: leaked }, { userPrincipalName: 'bob@example.com', password: other }, { userPrincipalName: 'nobody@example.com', password: leaked }]),
      await pairs(t, [{ userPrincipalName: 'bad name', password: leaked }]),
      await t.post('/v1/leaked-credentials', { pairs: [{ userPrincipalName: 'ann@example.com', password: leaked, note: other }] }),
    ];
    assert.equal(t.store.riskOf('ann@example.com')?.riskLevel, 'high');
    // A failure inside the check (the store closed under it) is logged: without the request's content.
    t.store.close();
    answers.push(await pairs(t, [{ userPrincipalName: 'ann@example.com', password: leaked }]));
    assertError(answers.at(-1)!, 500, 'internal_error');
    assert.ok(logs.length > 0, 'the internal error was logged');
    await t.server.close();

    for (const answer of answers) assert.ok(!answer.text.includes(leaked) && !answer.text.includes(other), answer.text);
    for (const line of logs) assert.ok(!line.includes(leaked) && !line.includes(other) && !line.includes('ann@example.com'), line);
    // The store, its WAL and shared memory, in every encoding a string could take there.
    const files = readdirSync(t.dir.path).map((name) => readFileSync(join(t.dir.path, name)));
    assert.ok(files.length >= 1);
    for (const bytes of files) {
      for (const secret of [leaked, other]) {
        for (const encoding of ['utf8', 'utf16le', 'latin1'] as const) assert.equal(bytes.indexOf(Buffer.from(secret, encoding)), -1, `${secret} (${encoding}) in the store`);
      }
    }
  });
});

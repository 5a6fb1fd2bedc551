import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { formatCredential, parseCredential } from '../../src/phs/credential.ts';
import { isUserPrincipalName } from '../../src/tenant/item-validation.ts';
import { JSON_TYPE, call, startTestTenant } from '../support/tenant-http.ts';

/**
 * Property-based fuzzing of the tenant's POST /v1/credentials:batch on a real server on loopback
 * (issue 9): random bytes, random JSON, and batches with random fields. Never a 5xx; a 4xx is a
 * named error; a 200 answers one result per item, and again the same on replay; the server stays
 * up and its store stays consistent. Seeded (FUZZ_SEED to replay).
 */
const SEED = Number(process.env['FUZZ_SEED'] ?? 20_251_127);
const TOKEN = 'fuzz-token-0123456789';
const MAX_ITEMS = 8;
const MAX_BODY = 16 * 1024;
const ERROR_CODES = new Set(['invalid_json', 'invalid_request', 'too_many_items', 'payload_too_large', 'unsupported_media_type', 'unauthorized']);
const params = (numRuns: number) => ({ seed: SEED, numRuns, endOnFailure: true });

type Tenant = Awaited<ReturnType<typeof startTestTenant>>;

async function post(tenant: Tenant, body: string | Uint8Array, headers: Record<string, string> = { ...tenant.auth, ...JSON_TYPE }) {
  return call(`${tenant.url}/v1/credentials:batch`, { method: 'POST', headers, body });
}

function assertAnswer(answer: Awaited<ReturnType<typeof post>>, itemCount?: number): void {
  assert.ok(answer.status < 500, `no 5xx: ${answer.status} ${answer.text}`);
  if (answer.status === 200) {
    const results = answer.json['results'];
    assert.ok(Array.isArray(results), answer.text);
    if (itemCount !== undefined) assert.equal(results.length, itemCount);
    for (const r of results as { status: string }[]) assert.ok(['applied', 'stale', 'invalid'].includes(r.status), JSON.stringify(r));
    return;
  }
  assert.ok(answer.status >= 400, `${answer.status}`);
  assert.ok(ERROR_CODES.has(String(answer.json['error'])), `a named error: ${answer.text}`);
  assert.equal(typeof answer.json['message'], 'string');
}

/** Every stored user is one the tenant would accept, and SQLite finds nothing wrong. */
function assertStoreConsistent(dbPath: string): void {
  const db = new Database(dbPath, { readonly: true });
  try {
    assert.equal((db.pragma('integrity_check', { simple: true }) as string), 'ok');
    const rows = db.prepare('SELECT upn, anchor, credential FROM tenant_users').all() as { upn: string; anchor: string; credential: string | null }[];
    for (const row of rows) {
      assert.ok(isUserPrincipalName(row.upn), row.upn);
      assert.ok(row.anchor.length > 0 && row.anchor.length <= 256);
      if (row.credential !== null) assert.ok(parseCredential(row.credential) !== undefined, 'a stored credential parses');
    }
  } finally {
    db.close();
  }
}

const credential = fc.uint8Array({ minLength: 42, maxLength: 42 }).map((b) => formatCredential(b.subarray(0, 10), 1000, b.subarray(10)));
const anyValue = fc.oneof(fc.string({ maxLength: 20 }), fc.integer(), fc.boolean(), fc.constant(null), fc.double(), fc.array(fc.nat(), { maxLength: 3 }), fc.object({ maxDepth: 1 }));
const itemLike = fc.record(
  {
    sourceAnchor: fc.oneof(fc.constantFrom('a1', 'a2', 'a3', ''), fc.string({ maxLength: 300 }), anyValue),
    userPrincipalName: fc.oneof(fc.constantFrom('u1@example.com', 'u2@example.com', 'U1@EXAMPLE.COM', 'no-at', 'a b@c', 'nul\0@x.y'), fc.emailAddress(), anyValue),
    credential: fc.oneof(credential, credential, fc.string({ maxLength: 100 }), anyValue),
    forceChangePasswordNextSignIn: fc.oneof(fc.boolean(), anyValue),
    disabled: fc.oneof(fc.boolean(), anyValue),
    changedAt: fc.oneof(fc.date({ noInvalidDate: true }).map((d) => d.toISOString()), fc.string({ maxLength: 30 }), anyValue),
    riskLevel: fc.oneof(fc.constantFrom('none', 'high'), anyValue),
    samePassword: fc.oneof(fc.constant(true), anyValue),
  },
  { requiredKeys: [] },
);
const batchLike = fc.record(
  {
    batchId: fc.oneof(fc.uuid(), fc.string({ maxLength: 300 }), anyValue),
    source: fc.oneof(fc.constantFrom('default', 'forest-2'), fc.string({ maxLength: 300 }), anyValue),
    items: fc.oneof(fc.array(fc.oneof({ weight: 5, arbitrary: itemLike }, { weight: 1, arbitrary: anyValue }), { maxLength: MAX_ITEMS + 2 }), anyValue),
  },
  { requiredKeys: [] },
).chain((b) => fc.oneof({ weight: 9, arbitrary: fc.constant<Record<string, unknown>>(b) }, { weight: 1, arbitrary: fc.constant<Record<string, unknown>>({ ...b, extra: 1 }) }));

describe('fuzzing the tenant batch endpoint', { timeout: 60_000 }, () => {
  it('random bytes, random JSON and random batches: never a 5xx, named 4xx, consistent store, server up', async () => {
    await using tenant = await startTestTenant(TOKEN, { maxItems: MAX_ITEMS, maxBodyBytes: MAX_BODY });
    let requests = 0;
    const applied = new Set<string>();

    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 2048 }), async (bytes) => {
        requests++;
        assertAnswer(await post(tenant, bytes));
      }),
      params(600),
    );
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        requests++;
        assertAnswer(await post(tenant, JSON.stringify(value) ?? 'null'));
      }),
      params(600),
    );
    await fc.assert(
      fc.asyncProperty(batchLike, async (batch) => {
        requests++;
        const body = JSON.stringify(batch);
        const answer = await post(tenant, body);
        // A batchId applied before gets that batch's results whatever this one holds (the documented
        // replay contract, tested in test/tenant/http-server.test.ts): the count is checked for new ones.
        const fresh = typeof batch['batchId'] === 'string' && !applied.has(batch['batchId']);
        const items = Array.isArray(batch['items']) && fresh ? batch['items'].length : undefined;
        assertAnswer(answer, answer.status === 200 ? items : undefined);
        if (answer.status === 200) {
          applied.add(String(batch['batchId']));
          // Idempotent by batchId: the same batch again gets the same results.
          requests++;
          const again = await post(tenant, body);
          assert.equal(again.status, 200);
          assert.deepEqual(again.json, answer.json);
        }
      }),
      params(2500),
    );
    // Headers: no token, a wrong token, other content types, over the size limit.
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Record<string, string>>({}, { authorization: 'Bearer nope' }, { ...tenant.auth }, { ...tenant.auth, 'content-type': 'text/plain' }, { ...tenant.auth, 'content-type': 'application/json; charset=latin1' }, { ...tenant.auth, ...JSON_TYPE }),
        fc.oneof(fc.constant('{}'), fc.constant(`{"batchId":"x","source":"s","items":[],"pad":"${'x'.repeat(MAX_BODY)}"}`), fc.string({ maxLength: 64 })),
        async (headers, body) => {
          requests++;
          assertAnswer(await post(tenant, body, headers));
        },
      ),
      params(200),
    );

    assertStoreConsistent(tenant.dbPath);
    // Still up, still applying.
    const ok = await post(tenant, JSON.stringify({ batchId: `final-${randomBytes(4).toString('hex')}`, source: 'default', items: [] }));
    assert.equal(ok.status, 200, ok.text);
    assert.ok(requests >= 2000, `${requests} requests`);
  });
});

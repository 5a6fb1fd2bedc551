import assert from 'node:assert/strict';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { HashPool } from '../../src/hash/hash-pool.ts';
import { runSync } from '../../src/pipeline/sync-run.ts';
import { LdifSource } from '../../src/source/ldif-source.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { HttpTarget } from '../../src/target/http-target.ts';
import type { FaultDecision } from '../../src/tenant/http/faults.ts';
import { startTenantServer } from '../../src/tenant/http/tenant-server.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const PASSWORDS = fileURLToPath(new URL('../../fixtures/sample-passwords.csv', import.meta.url));

/** A seeded PRNG (mulberry32): the same faults on every run. */
function prng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

it('a full sync through a tenant that fails, throttles, stalls and drops connections applies every user exactly once', { timeout: 120_000 }, async () => {
  using dir = tempDir();
  using tenantStore = TenantStore.open(dir.file('tenant.db'));
  const random = prng(20261127);
  const seen: string[] = [];
  const faults = (): FaultDecision => {
    const r = random();
    const decision: FaultDecision =
      r < 0.1 ? { status: 500 } : r < 0.13 ? { status: 429, retryAfter: 1 } : r < 0.2 ? 'reset' : r < 0.27 ? 'reset-after-apply' : r < 0.32 ? { delayMs: 400 } : 'none';
    seen.push(typeof decision === 'string' ? decision : 'status' in decision ? String(decision.status) : 'slow');
    return decision;
  };
  await using server = await startTenantServer({ store: tenantStore, listen: { host: '127.0.0.1', port: 0 }, token: 'fault-token', faults });
  const target = HttpTarget.open({ url: server.url, token: 'fault-token', timeoutMs: 250, maxItemsPerRequest: 8, retry: { maxRetries: 20, minDelayMs: 5, maxDelayMs: 50, factor: 2 } });
  using state = StateStore.open(dir.file('state.db'));
  const pool = await HashPool.create({ workers: 2, kernel: 'node' });
  let summary;
  try {
    summary = await runSync({
      source: new LdifSource({ path: SAMPLE, name: 'default', mapping: openldapSamba }),
      target,
      state,
      hasher: pool,
      policy: { syncEmptyPasswords: false, forcePasswordChangeOnLogon: false },
      iterations: 1000,
      batchSize: 32,
      maxBatchesInFlight: 4,
      dryRun: false,
    });
  } finally {
    await pool.close();
    await target.close();
  }
  const inScope = readPasswordsCsv(PASSWORDS).filter((p) => !p.disabled && !p.empty && !p.mustChange);
  assert.equal(summary.status, 'succeeded', JSON.stringify(summary.fatal));
  assert.equal(summary.counts.synced, inScope.length);
  assert.equal(tenantStore.countUsers(), inScope.length, 'the tenant holds each user once');
  assert.deepEqual(new Set([...tenantStore.users()].map((u) => u.userPrincipalName)), new Set(inScope.map((p) => p.userPrincipalName)));
  assert.ok(target.stats.retries > 20, `faults were met and retried (${target.stats.retries} retries)`);
  for (const kind of ['500', '429', 'reset', 'reset-after-apply', 'slow']) assert.ok(seen.includes(kind), `fault ${kind} was injected`);
});

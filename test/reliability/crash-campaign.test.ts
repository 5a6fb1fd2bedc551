import assert from 'node:assert/strict';
import { it } from 'node:test';
import { campaignProblems, formatCampaign } from './crash-campaign.ts';
import { runCrashCampaign } from './crash-harness.ts';

// The CI version of the crash campaign (`node test/reliability/crash-campaign.ts` runs the long one):
// a real slapd, an HTTP tenant and the engine as child processes; the engine SIGKILLed 8 times at
// seeded moments and the tenant SIGKILLed and restarted once, then a run to the end.
it('crash at any instant: 8 engine kills and a tenant restart, then every user exactly once, verifying, the state store agreeing', { timeout: 120_000 }, async () => {
  const result = await runCrashCampaign({ users: 3000, kills: 8, seed: 'crash-campaign-ci', killTenantEvery: 4, workers: 2, batchSize: 256, independentSample: 200 });
  const table = formatCampaign(result);
  const v = result.verification;
  assert.equal(result.killsLanded, 8, table);
  assert.ok(result.tenantRestarts >= 1, table);
  assert.equal(v.missing, 0, table);
  assert.equal(v.duplicates, 0, table);
  assert.equal(v.extra, 0, table);
  assert.equal(v.tenantUsers, result.inScope, table);
  assert.equal(v.credentialsFailed, 0, table);
  assert.equal(v.independentlyFailed, 0, table);
  assert.equal(v.stateDisagrees + v.stateExtra, 0, table);
  assert.equal(v.batchesLeftInFlight, 0, table);
  assert.deepEqual(campaignProblems(result), [], table);
  // The last run hashed exactly the users the tenant did not have yet.
  assert.equal(result.finalRun.hashed, result.inScope - result.finalRun.tenantBefore, table);
  // Goal: a kill costs at most the batches in flight (batch size × 2 × workers).
  assert.ok(result.maxExtraPerKill <= result.batchWindow, table);
});

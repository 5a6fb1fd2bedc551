import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { HashPool } from '../../src/hash/hash-pool.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { DEFAULT_POLICY } from '../../src/pipeline/sync-policy.ts';
import { runSync } from '../../src/pipeline/sync-run.ts';
import { LdifSource } from '../../src/source/ldif-source.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { StateStore } from '../../src/state/state-store.ts';
import { SqliteTarget } from '../../src/target/sqlite-target.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { tempDir } from '../support/temp-dir.ts';

async function writeLdif(path: string, uids: readonly string[]): Promise<void> {
  const records = await Promise.all(uids.map(async (uid, i) => `dn: uid=${uid},ou=People,dc=example,dc=com\nuid: ${uid}\nuserPrincipalName: ${uid}@example.com\nsambaNTPassword: ${Buffer.from(await ntHash(`pw-${uid}`)).toString('hex')}\nsambaAcctFlags: [U          ]\nsambaPwdLastSet: 1700000000\nentryUUID: 00000000-0000-4000-8000-${String(i).padStart(12, '0')}\n\n`));
  writeFileSync(path, records.join(''));
}

// A wrong filter or an empty dump must not lock everyone out of the cloud in one cycle.
it('a full run refuses to disable more users as out of scope than the limit, and does it once allowed', async () => {
  using dir = tempDir();
  const ldif = dir.file('dir.ldif');
  await writeLdif(ldif, ['u0', 'u1', 'u2', 'u3', 'u4']);
  using state = StateStore.open(dir.file('state.db'));
  const target = await SqliteTarget.open(dir.file('tenant.db'));
  const pool = await HashPool.create({ workers: 1, kernel: 'node' });
  const run = (limit: number) => runSync({ source: new LdifSource({ path: ldif, name: 'corp', mapping: openldapSamba }), target, state, hasher: pool, policy: DEFAULT_POLICY, iterations: 1000, batchSize: 16, maxBatchesInFlight: 2, dryRun: false, kind: 'full', maxOutOfScopeDisables: limit });
  try {
    assert.equal((await run(3)).counts.synced, 5);
    await writeLdif(ldif, ['u0']);
    const refused = await run(3);
    assert.equal(refused.status, 'partial');
    assert.deepEqual(refused.counts.failed, { MASS_DISABLE_PREVENTED: 1 });
    assert.match(refused.errors[0]?.message ?? '', /4 users would be disabled .* limit of 3/);
    using tenant = TenantStore.open(dir.file('tenant.db'));
    assert.equal([...tenant.users()].filter((u) => u.disabled).length, 0, 'nobody was disabled');
    const allowed = await run(4);
    assert.equal(allowed.status, 'succeeded');
    assert.equal([...tenant.users()].filter((u) => u.disabled).length, 4);
  } finally {
    await pool.close();
    await target.close();
  }
});

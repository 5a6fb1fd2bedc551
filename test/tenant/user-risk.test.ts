import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CredentialItem, ItemResult } from '../../src/target/credential-batch.ts';
import { checkLeakedPairs } from '../../src/tenant/leaked-credentials.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { credentialItem } from '../support/credential-item.ts';
import { tempDir } from '../support/temp-dir.ts';

const item = credentialItem;
let batches = 0;
const apply = (store: TenantStore, ...items: CredentialItem[]): ItemResult[] => store.applyBatch({ batchId: `b${++batches}`, source: 's', items });
const at = (day: number): string => new Date(Date.UTC(2026, 0, day)).toISOString();

/** Runs `work` and returns [the time before, the time after]: what a recorded `now` must fall within. */
function during(work: () => void): [number, number] {
  const before = Date.now();
  work();
  return [before, Date.now()];
}

function assertWithin(value: number | undefined, [from, to]: [number, number]): void {
  assert.ok(value !== undefined && value >= from && value <= to, `${value} within [${from}, ${to}]`);
}

describe('user risk in the tenant store', () => {
  it('records the engine\'s leaked-hash finding from a credential item, keeps it through a disable item, and clears it with the next credential', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    const risky = await item('a1', 'ann@example.com', 'Spring2024!', { riskLevel: 'high', changedAt: at(2) });
    const applied = during(() => assert.deepEqual(apply(store, risky), [{ status: 'applied' }]));
    const high = store.riskOf('ANN@example.com');
    assert.equal(high?.userPrincipalName, 'ann@example.com');
    assert.equal(high?.riskLevel, 'high');
    assert.equal(high?.riskLevel === 'high' ? high.source : undefined, 'leaked-hash');
    assertWithin(high?.riskLevel === 'high' ? high.detectedAt : undefined, applied);
    assertWithin(store.findByAnchor('s', 'a1')?.credentialSetAt, applied);
    assert.equal(store.countHighRisk(), 1);
    // Risk is reported, not enforced: the user still signs in.
    assert.deepEqual(await signIn(store, 'ann@example.com', 'Spring2024!'), { ok: true, forceChangePassword: false });

    // A disable item leaves the risk, and the time the credential was stored, as they were.
    const before = store.findByAnchor('s', 'a1');
    assert.deepEqual(apply(store, { sourceAnchor: 'a1', userPrincipalName: 'ann@example.com', forceChangePasswordNextSignIn: false, disabled: true, changedAt: at(3) }), [{ status: 'applied' }]);
    const disabled = store.findByAnchor('s', 'a1');
    assert.equal(disabled?.disabled, true);
    assert.deepEqual(disabled?.risk, before?.risk);
    assert.equal(disabled?.credentialSetAt, before?.credentialSetAt);

    // A stale credential item changes nothing, risk included.
    assert.deepEqual(apply(store, await item('a1', 'ann@example.com', 'older', { changedAt: at(1) })), [{ status: 'stale' }]);
    assert.equal(store.riskOf('ann@example.com')?.riskLevel, 'high');

    // A new password without riskLevel clears it; so does one with riskLevel 'none'.
    const newer = await item('a1', 'ann@example.com', 'N3w-and-unique', { changedAt: at(4) });
    assertWithin(store.findByAnchor('s', 'a1')?.credentialSetAt, applied);
    const replaced = during(() => assert.deepEqual(apply(store, newer), [{ status: 'applied' }]));
    assert.deepEqual(store.riskOf('ann@example.com'), { userPrincipalName: 'ann@example.com', riskLevel: 'none' });
    assertWithin(store.findByAnchor('s', 'a1')?.credentialSetAt, replaced);
    assert.equal(store.countHighRisk(), 0);
    apply(store, await item('a1', 'ann@example.com', 'Spring2024!', { riskLevel: 'high', changedAt: at(5) }));
    assert.equal(store.countHighRisk(), 1);
    apply(store, await item('a1', 'ann@example.com', 'other', { riskLevel: 'none', changedAt: at(6) }));
    assert.equal(store.riskOf('ann@example.com')?.riskLevel, 'none');
    assert.equal(store.riskOf('nobody@example.com'), undefined);
  });

  it('refuses riskLevel on a disable item, and any value but none or high, leaving the user as it was', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    apply(store, await item('a1', 'ann@example.com', 'pw', { riskLevel: 'high' }));
    const before = store.findByAnchor('s', 'a1');
    const disableItem: CredentialItem = { sourceAnchor: 'a1', userPrincipalName: 'ann@example.com', forceChangePasswordNextSignIn: false, disabled: true, changedAt: at(9), riskLevel: 'none' };
    const results = apply(
      store,
      disableItem,
      { ...(await item('a1', 'ann@example.com', 'pw2', { changedAt: at(9) })), riskLevel: 'medium' as never },
      { ...(await item('a2', 'bob@example.com', 'pw3')), riskLevel: null as never },
    );
    assert.deepEqual(results, [
      { status: 'invalid', reason: 'riskLevel goes only with a credential: a disable item leaves the user\'s risk as it is' },
      { status: 'invalid', reason: "riskLevel must be 'none' or 'high'" },
      { status: 'invalid', reason: "riskLevel must be 'none' or 'high'" },
    ]);
    assert.deepEqual(store.findByAnchor('s', 'a1'), before);
    assert.equal(store.countUsers(), 1);
  });
});

describe('leaked username/password pairs', () => {
  async function tenantWithUsers() {
    const dir = tempDir();
    const store = TenantStore.open(dir.file('tenant.db'));
    apply(
      store,
      await item('a1', 'Ann@Example.com', 'Pa$$w0rd'),
      await item('a2', 'bob@example.com', 'Zoë-2026', { riskLevel: 'high' }),
      await item('a3', 'cy@example.com', 'cy-pass', { disabled: true }),
    );
    return Object.assign(store, {
      [Symbol.dispose]() {
        store.close();
        dir[Symbol.dispose]();
      },
    });
  }

  it('answers each pair in order and marks users whose current password matched high risk (leaked-credentials), whatever the case of the name', async () => {
    using store = await tenantWithUsers();
    const before = Date.now();
    const outcomes = await checkLeakedPairs(store, [
      { userPrincipalName: 'ann@example.COM', password: 'Pa$$w0rd' },
      { userPrincipalName: 'bob@example.com', password: 'zoë-2026' },
      { userPrincipalName: 'nobody@example.com', password: 'Pa$$w0rd' },
      { userPrincipalName: 'not a name', password: 'x' },
      { userPrincipalName: 'cy@example.com', password: 'cy-pass' },
      { userPrincipalName: 'bob@example.com', password: 'Zoë-2026' },
    ], Date.now());
    const checked: [number, number] = [before, Date.now()];
    assert.deepEqual(outcomes, [
      { userPrincipalName: 'ann@example.COM', result: 'match' },
      { userPrincipalName: 'bob@example.com', result: 'no-match' },
      { userPrincipalName: 'nobody@example.com', result: 'unknown-user' },
      { userPrincipalName: 'not a name', result: 'invalid', reason: 'userPrincipalName must look like name@domain' },
      // A disabled user's password would work again once the user is enabled.
      { userPrincipalName: 'cy@example.com', result: 'match' },
      { userPrincipalName: 'bob@example.com', result: 'match' },
    ]);
    const ann = store.riskOf('ann@example.com');
    assert.equal(ann?.riskLevel === 'high' && ann.source, 'leaked-credentials');
    assertWithin(ann?.riskLevel === 'high' ? ann.detectedAt : undefined, checked);
    // A leaked pair takes the place of a leaked-hash finding: it ties the password to this user.
    const bob = store.riskOf('bob@example.com');
    assert.equal(bob?.riskLevel === 'high' && bob.source, 'leaked-credentials');
    assert.equal(store.countHighRisk(), 3);

    // The same pair again: still a match, and the time it was first found stands.
    await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(await checkLeakedPairs(store, [{ userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }], Date.now()), [{ userPrincipalName: 'ann@example.com', result: 'match' }]);
    assert.deepEqual(store.riskOf('ann@example.com'), ann);
  });

  it('checks a pair only against a credential stored before it was received, and marks nobody whose credential changed since the check', async () => {
    using store = await tenantWithUsers();
    const storedAt = store.findByAnchor('s', 'a1')!.credentialSetAt;
    assert.deepEqual(await checkLeakedPairs(store, [{ userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }], storedAt - 1), [
      { userPrincipalName: 'ann@example.com', result: 'no-match', reason: 'the user\'s credential was stored after the pair was received; pairs are checked only against a credential stored before them' },
    ]);
    assert.equal(store.riskOf('ann@example.com')?.riskLevel, 'none');
    assert.equal((await checkLeakedPairs(store, [{ userPrincipalName: 'ann@example.com', password: 'Pa$$w0rd' }], storedAt))[0]?.result, 'match', 'stored in the same millisecond counts as before');

    // The mark is conditional on the credential the pair was checked against.
    const old = store.findByAnchor('s', 'a3')!;
    apply(store, await item('a3', 'cy@example.com', 'cy-new', { changedAt: at(20) }));
    assert.deepEqual(store.markLeakedCredentials([{ source: 's', anchor: 'a3', credential: old.credential }, { source: 's', anchor: 'a1', credential: store.findByAnchor('s', 'a1')!.credential }]), [false, true]);
    assert.equal(store.riskOf('cy@example.com')?.riskLevel, 'none');
    // And the old password no longer matches the new credential.
    assert.equal((await checkLeakedPairs(store, [{ userPrincipalName: 'cy@example.com', password: 'cy-pass' }], Date.now()))[0]?.result, 'no-match');
  });

  it('keeps what it knows of a password the engine sends again as samePassword (a rename, a flag, re-enabled), and takes a new finding on top', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    assert.deepEqual(apply(store, await item('d1', 'dee@example.com', 'dee-pass', { changedAt: at(1) })), [{ status: 'applied' }]);
    const setAt = store.findByAnchor('s', 'd1')?.credentialSetAt;
    assert.equal((await checkLeakedPairs(store, [{ userPrincipalName: 'dee@example.com', password: 'dee-pass' }], Date.now()))[0]?.result, 'match');
    const matched = store.riskOf('dee@example.com');
    assert.equal(matched?.riskLevel === 'high' ? matched.source : undefined, 'leaked-credentials');

    // Renamed, same password: the pair's finding stays, and so does the time the password was stored.
    assert.deepEqual(apply(store, await item('d1', 'dee.renamed@example.com', 'dee-pass', { changedAt: at(2), samePassword: true })), [{ status: 'applied' }]);
    assert.deepEqual(store.riskOf('dee.renamed@example.com'), { ...matched, userPrincipalName: 'dee.renamed@example.com' });
    assert.equal(store.findByAnchor('s', 'd1')?.credentialSetAt, setAt);

    // Without samePassword the same rename would have cleared it: the tenant cannot tell by itself.
    assert.deepEqual(apply(store, await item('d1', 'dee@example.com', 'dee-pass', { changedAt: at(3) })), [{ status: 'applied' }]);
    assert.equal(store.riskOf('dee@example.com')?.riskLevel, 'none');

    // Same password, no risk known, and the engine finds it leaked now: high, from the engine.
    assert.deepEqual(apply(store, await item('d1', 'dee@example.com', 'dee-pass', { changedAt: at(4), samePassword: true, riskLevel: 'high' })), [{ status: 'applied' }]);
    const found = store.riskOf('dee@example.com');
    assert.equal(found?.riskLevel === 'high' ? found.source : undefined, 'leaked-hash');

    // samePassword only with a credential, and only as true.
    const disable = { sourceAnchor: 'd1', userPrincipalName: 'dee@example.com', forceChangePasswordNextSignIn: false, disabled: true, changedAt: at(5), samePassword: true } as const;
    assert.deepEqual(apply(store, disable), [{ status: 'invalid', reason: 'samePassword goes only with a credential' }]);
    const odd = { ...(await item('d1', 'dee@example.com', 'dee-pass', { changedAt: at(6) })), samePassword: false } as unknown as CredentialItem;
    assert.deepEqual(apply(store, odd), [{ status: 'invalid', reason: 'samePassword is true when present' }]);
  });
});

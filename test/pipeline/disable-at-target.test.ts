import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { HashPool } from '../../src/hash/hash-pool.ts';
import { DEFAULT_ITERATIONS } from '../../src/phs/credential.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { DEFAULT_POLICY } from '../../src/pipeline/sync-policy.ts';
import { runSync } from '../../src/pipeline/sync-run.ts';
import type { SyncSummary } from '../../src/pipeline/sync-counts.ts';
import { LdifSource } from '../../src/source/ldif-source.ts';
import { openldapSamba } from '../../src/source/presets/openldap-samba.ts';
import { StateStore } from '../../src/state/state-store.ts';
import type { CredentialBatch, CredentialItem, ItemResult } from '../../src/target/credential-batch.ts';
import type { CredentialTarget } from '../../src/target/credential-target.ts';
import { HttpTarget } from '../../src/target/http-target.ts';
import { NdjsonTarget } from '../../src/target/ndjson-target.ts';
import { SqliteTarget } from '../../src/target/sqlite-target.ts';
import { startTenantServer } from '../../src/tenant/http/tenant-server.ts';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { tempDir } from '../support/temp-dir.ts';

const SOURCE = 'corp';
const TOKEN = randomBytes(24).toString('base64url');

interface DirUser {
  readonly uid: string;
  readonly disabled?: boolean;
  /** An NT hash attribute that is not one: the user is read, and fails. */
  readonly badHash?: boolean;
}

const anchorOf = (uid: string): string => `00000000-0000-4000-8000-${uid.padStart(12, '0')}`;
const upnOf = (uid: string): string => `${uid}@example.com`;
const passwordOf = (uid: string): string => `Pw-${uid}-River42!`;

/** An openldap-samba LDIF: each user's password is passwordOf(uid); sambaPwdLastSet is in 2023. */
async function writeLdif(path: string, users: readonly DirUser[]): Promise<void> {
  const records = await Promise.all(
    users.map(async (u) => {
      const nt = u.badHash === true ? 'XYZ' : Buffer.from(await ntHash(passwordOf(u.uid))).toString('hex').toUpperCase();
      return [
        `dn: uid=${u.uid},ou=People,dc=example,dc=com`,
        'objectClass: inetOrgPerson',
        'objectClass: sambaSamAccount',
        `uid: ${u.uid}`,
        `userPrincipalName: ${upnOf(u.uid)}`,
        `sambaNTPassword: ${nt}`,
        `sambaAcctFlags: ${u.disabled === true ? '[UD         ]' : '[U          ]'}`,
        'sambaPwdLastSet: 1700000000',
        `entryUUID: ${anchorOf(u.uid)}`,
        '',
        '',
      ].join('\n');
    }),
  );
  writeFileSync(path, `version: 1\n\n${records.join('')}`);
}

/** A target that passes every batch on and keeps the items it was given, for the test to look at. */
class RecordingTarget implements CredentialTarget {
  readonly inner: CredentialTarget;
  readonly written: CredentialItem[] = [];

  constructor(inner: CredentialTarget) {
    this.inner = inner;
  }

  get id(): string {
    return this.inner.id;
  }

  async write(batch: CredentialBatch): Promise<ItemResult[]> {
    this.written.push(...batch.items);
    return this.inner.write(batch);
  }

  appliedResults(batchId: string): Promise<readonly ItemResult[] | undefined> {
    return this.inner.appliedResults(batchId);
  }

  take(): CredentialItem[] {
    return this.written.splice(0);
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}

let pool: HashPool;
before(async () => {
  pool = await HashPool.create({ workers: 1, kernel: 'node' });
});
after(async () => {
  await pool.close();
});

/** A state store, an LDIF file and a target, and runSync over them. */
function engine(dir: ReturnType<typeof tempDir>, inner: CredentialTarget) {
  const ldif = dir.file('directory.ldif');
  const state = StateStore.open(dir.file('state.db'));
  const target = new RecordingTarget(inner);
  return {
    ldif,
    state,
    target,
    write: (users: readonly DirUser[]) => writeLdif(ldif, users),
    run: (options: { kind?: 'full' | 'delta'; dryRun?: boolean; signal?: AbortSignal } = {}): Promise<SyncSummary> =>
      runSync({
        source: new LdifSource({ path: ldif, name: SOURCE, mapping: openldapSamba }),
        target,
        state,
        hasher: pool,
        policy: DEFAULT_POLICY,
        iterations: DEFAULT_ITERATIONS,
        batchSize: 2,
        maxBatchesInFlight: 2,
        dryRun: options.dryRun ?? false,
        ...(options.kind === undefined ? {} : { kind: options.kind }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      }),
    synced: (uid: string) => state.screen(target.id, [{ source: SOURCE, anchor: anchorOf(uid) }])[0],
    async [Symbol.asyncDispose]() {
      state.close();
      await target.close();
    },
  };
}

async function sqliteEngine(dir: ReturnType<typeof tempDir>) {
  const e = engine(dir, await SqliteTarget.open(dir.file('tenant.db')));
  // The tenant's own view, over its own connection.
  const tenant = TenantStore.open(dir.file('tenant.db'));
  return Object.assign(e, {
    tenant,
    user: (uid: string) => tenant.findByAnchor(SOURCE, anchorOf(uid)),
    signIn: (uid: string) => signIn(tenant, upnOf(uid), passwordOf(uid)),
    async [Symbol.asyncDispose]() {
      tenant.close();
      e.state.close();
      await e.target.close();
    },
  });
}

const ABC: readonly DirUser[] = [{ uid: 'a' }, { uid: 'b' }, { uid: 'c' }];

function assertDisableItem(item: CredentialItem | undefined, uid: string): void {
  assert.ok(item !== undefined, `a disable item for ${uid}`);
  assert.equal(item.sourceAnchor, anchorOf(uid));
  assert.equal(item.userPrincipalName, upnOf(uid));
  assert.equal(item.disabled, true);
  assert.ok(!('credential' in item), 'a disable item has no credential');
}

describe('disabling users at the target', () => {
  it('disables a user disabled in the directory at the next run without hashing, sends nothing more, and syncs it again once enabled', async () => {
    using dir = tempDir();
    await using e = await sqliteEngine(dir);
    await e.write(ABC);
    const first = await e.run();
    assert.equal(first.status, 'succeeded');
    assert.equal(first.counts.synced, 3);
    assert.equal(first.counts.disabledAtTarget, 0);
    const credentialBefore = e.user('b')?.credential;
    e.target.take();

    await e.write([{ uid: 'a' }, { uid: 'b', disabled: true }, { uid: 'c' }]);
    const second = await e.run();
    assert.equal(second.status, 'succeeded');
    assert.equal(second.counts.hashed, 0, 'a disable item costs no hashing');
    assert.equal(second.counts.synced, 0);
    assert.equal(second.counts.disabledAtTarget, 1);
    assert.deepEqual(second.counts.skipped, { unchanged: 2, disabled: 1 });
    const sent = e.target.take();
    assert.equal(sent.length, 1);
    assertDisableItem(sent[0], 'b');
    assert.equal(e.user('b')?.disabled, true);
    assert.equal(e.user('b')?.credential, credentialBefore, 'the target keeps the credential it had');
    assert.deepEqual(await e.signIn('b'), { ok: false, reason: 'disabled' });
    assert.deepEqual(await e.signIn('a'), { ok: true, forceChangePassword: false });
    assert.equal(e.synced('b')?.disabled, true, 'synced.disabled = 1');
    assert.equal(e.state.userStatus(SOURCE, anchorOf('b'))?.reason, 'disabled');

    const third = await e.run();
    assert.equal(e.target.take().length, 0, 'nothing changed: nothing sent');
    assert.equal(third.counts.hashed, 0);
    assert.equal(third.counts.disabledAtTarget, 0);
    assert.deepEqual(third.counts.skipped, { unchanged: 2, disabled: 1 });

    await e.write(ABC);
    const fourth = await e.run();
    assert.equal(fourth.counts.hashed, 1);
    assert.equal(fourth.counts.synced, 1, 'enabled again: a credential, newer than the disable (not target-newer)');
    assert.deepEqual(fourth.counts.skipped, { unchanged: 2 });
    const [enabled] = e.target.take();
    assert.equal(enabled?.disabled, false);
    assert.equal(typeof enabled?.credential, 'string');
    assert.equal(e.user('b')?.disabled, false);
    assert.notEqual(e.user('b')?.credential, credentialBefore, 'a fresh salt');
    assert.deepEqual(await e.signIn('b'), { ok: true, forceChangePassword: false });
    assert.equal(e.synced('b')?.disabled, false);
    assert.equal(e.state.userStatus(SOURCE, anchorOf('b'))?.status, 'success');
  });

  it('skips a disabled user the target never had: nothing is sent for it', async () => {
    using dir = tempDir();
    await using e = await sqliteEngine(dir);
    await e.write([{ uid: 'a' }, { uid: 'd', disabled: true }]);
    const summary = await e.run();
    assert.equal(summary.counts.disabledAtTarget, 0);
    assert.deepEqual(summary.counts.skipped, { disabled: 1 });
    assert.deepEqual(e.target.take().map((i) => i.sourceAnchor), [anchorOf('a')]);
    assert.equal(e.user('d'), undefined);
    // Nor after a full run: the target never had it, so it is not out of scope either.
    await e.write([{ uid: 'a' }]);
    const again = await e.run();
    assert.equal(again.counts.disabledAtTarget, 0);
    assert.equal(e.target.take().length, 0);
  });

  it('disables at the target, after a full run, a user that left the scope; a delta run, an interrupted run and a user that fails do not', async () => {
    using dir = tempDir();
    await using e = await sqliteEngine(dir);
    await e.write(ABC);
    await e.run();
    e.target.take();

    // c is gone from the directory and b is malformed: only c left the scope.
    await e.write([{ uid: 'a' }, { uid: 'b', badHash: true }]);
    const delta = await e.run({ kind: 'delta' });
    assert.equal(delta.counts.disabledAtTarget, 0, 'a delta reads only what changed');
    assert.equal(e.target.take().length, 0);
    assert.equal(e.user('c')?.disabled, false);

    const stopped = new AbortController();
    stopped.abort();
    const interrupted = await e.run({ signal: stopped.signal });
    assert.equal(interrupted.status, 'interrupted');
    assert.equal(e.target.take().length, 0, 'a run that did not read its source to the end disables no one');

    const dry = await e.run({ dryRun: true });
    assert.equal(dry.counts.skipped['out-of-scope'], 1, 'a dry run says who would be disabled');
    assert.equal(e.target.take().length, 0);

    const full = await e.run();
    assert.equal(full.status, 'partial', 'b failed');
    assert.deepEqual(full.counts.failed, { INVALID_NT_HASH: 1 });
    assert.equal(full.counts.disabledAtTarget, 1);
    assert.equal(full.counts.hashed, 0);
    assert.deepEqual(full.counts.skipped, { unchanged: 1, 'out-of-scope': 1 });
    const sent = e.target.take();
    assert.equal(sent.length, 1);
    assertDisableItem(sent[0], 'c');
    assert.equal(e.user('c')?.disabled, true);
    assert.equal(e.user('b')?.disabled, false, 'a user read but malformed is still in scope');
    assert.deepEqual(await e.signIn('c'), { ok: false, reason: 'disabled' });
    assert.equal(e.synced('c')?.disabled, true);
    const status = e.state.userStatus(SOURCE, anchorOf('c'));
    assert.equal(status?.status, 'skipped');
    assert.equal(status?.reason, 'out-of-scope');

    const again = await e.run();
    assert.equal(again.counts.disabledAtTarget, 0);
    assert.equal(e.target.take().length, 0, 'already disabled: nothing sent');

    // c comes back: synced again, and signs in.
    await e.write(ABC);
    const back = await e.run();
    assert.equal(back.counts.synced, 1, 'c; b, fixed, is what the target already has');
    assert.deepEqual(back.counts.skipped, { unchanged: 2 });
    assert.equal(back.counts.disabledAtTarget, 0);
    assert.equal(e.user('c')?.disabled, false);
    assert.deepEqual(await e.signIn('c'), { ok: true, forceChangePassword: false });
  });

  it('disables users out of scope in batches of the batch size, while other users are synced', async () => {
    using dir = tempDir();
    await using e = await sqliteEngine(dir);
    const many = ['1', '2', '3', '4', '5'].map((uid) => ({ uid }));
    await e.write(many);
    await e.run();
    e.target.take();
    await e.write([{ uid: '6' }]);
    const summary = await e.run();
    assert.equal(summary.counts.synced, 1);
    assert.equal(summary.counts.disabledAtTarget, 5);
    assert.equal(summary.counts.skipped['out-of-scope'], 5);
    const sent = e.target.take();
    assert.equal(sent.filter((i) => i.credential === undefined).length, 5);
    assert.deepEqual([...e.tenant.users()].filter((u) => u.disabled).map((u) => u.userPrincipalName).sort(), many.map((u) => upnOf(u.uid)).sort());
  });

  it('writes a disable line to NDJSON: no credential, disabled true', async () => {
    using dir = tempDir();
    const out = dir.file('out.ndjson');
    await using e = engine(dir, await NdjsonTarget.open(out));
    await e.write([{ uid: 'a' }, { uid: 'b' }]);
    await e.run();
    await e.write([{ uid: 'a', disabled: true }]);
    const summary = await e.run();
    assert.equal(summary.counts.disabledAtTarget, 2);
    const lines = readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.equal(lines.length, 4);
    assert.deepEqual(Object.keys(lines[0]!), ['sourceAnchor', 'userPrincipalName', 'credential', 'forceChangePasswordNextSignIn', 'changedAt'], 'a credential line is as before');
    const disables = lines.slice(2).sort((x, y) => String(x['sourceAnchor']).localeCompare(String(y['sourceAnchor'])));
    assert.deepEqual(Object.keys(disables[0]!), ['sourceAnchor', 'userPrincipalName', 'disabled', 'changedAt']);
    assert.deepEqual(
      disables.map((l) => [l['sourceAnchor'], l['userPrincipalName'], l['disabled']]),
      [
        [anchorOf('a'), upnOf('a'), true],
        [anchorOf('b'), upnOf('b'), true],
      ],
    );
    assert.ok(!Number.isNaN(Date.parse(String(disables[0]!['changedAt']))));
  });

  it('disables through the tenant HTTP API, which accepts disable items and refuses a credential-less enabled item', async () => {
    using dir = tempDir();
    using store = TenantStore.open(dir.file('tenant.db'));
    await using server = await startTenantServer({ store, listen: { host: '127.0.0.1', port: 0 }, token: TOKEN });
    await using e = engine(dir, HttpTarget.open({ url: server.url, token: TOKEN }));
    await e.write([{ uid: 'a' }, { uid: 'b' }]);
    assert.equal((await e.run()).counts.synced, 2);
    await e.write([{ uid: 'a' }, { uid: 'b', disabled: true }]);
    const summary = await e.run();
    assert.equal(summary.status, 'succeeded');
    assert.equal(summary.counts.disabledAtTarget, 1);
    assert.equal(store.findByAnchor(SOURCE, anchorOf('b'))?.disabled, true);
    const refused = await fetch(`${server.url}/v1/signin`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userPrincipalName: upnOf('b'), password: passwordOf('b') }) });
    assert.equal(refused.status, 401);

    const post = async (items: unknown[]): Promise<ItemResult[]> => {
      const res = await fetch(`${server.url}/v1/credentials:batch`, {
        method: 'POST',
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
        body: JSON.stringify({ batchId: randomUUID(), source: SOURCE, items }),
      });
      assert.equal(res.status, 200);
      return ((await res.json()) as { results: ItemResult[] }).results;
    };
    const base = { userPrincipalName: upnOf('a'), forceChangePasswordNextSignIn: false, changedAt: new Date().toISOString() };
    const before = store.countUsers();
    const results = await post([
      { ...base, sourceAnchor: anchorOf('a'), disabled: false },
      { ...base, sourceAnchor: anchorOf('a') },
      { ...base, sourceAnchor: anchorOf('a'), disabled: true, credential: null },
      { ...base, sourceAnchor: 'nobody', userPrincipalName: 'nobody@example.com', disabled: true },
      { ...base, sourceAnchor: anchorOf('a'), disabled: true, changedAt: '2020-01-01T00:00:00Z' },
    ]);
    assert.deepEqual(results, [
      { status: 'invalid', reason: 'credential is required unless the item disables the user' },
      { status: 'invalid', reason: 'credential is required unless the item disables the user' },
      { status: 'invalid', reason: 'credential is not a v1;PPH1_MD4 credential' },
      { status: 'applied' },
      { status: 'stale' },
    ]);
    assert.equal(store.countUsers(), before, 'a disable item for an unknown user stores nothing');
    assert.equal(store.findByAnchor(SOURCE, 'nobody'), undefined);
    assert.equal(store.findByAnchor(SOURCE, anchorOf('a'))?.disabled, false);
  });

  it('recovers a disable batch whose acknowledgement was lost, without sending it again; one that never landed is sent again', async () => {
    using dir = tempDir();
    await using e = await sqliteEngine(dir);
    await e.write(ABC);
    await e.run();
    e.target.take();

    // A run records a disable batch for b and the tenant applies it; then the engine dies.
    const killed = e.state.beginRun('full', SOURCE, e.target.id);
    const landed = randomUUID();
    const synced = e.synced('b')!;
    const changedAt = new Date().toISOString();
    e.state.recordBatch(killed, e.target.id, landed, [{ source: SOURCE, anchor: anchorOf('b'), userPrincipalName: upnOf('b'), fingerprint: synced.fingerprint, forceChange: false, disableReason: 'disabled' }]);
    const applied = await e.target.inner.write({ batchId: landed, source: SOURCE, items: [{ sourceAnchor: anchorOf('b'), userPrincipalName: upnOf('b'), forceChangePasswordNextSignIn: false, disabled: true, changedAt }] });
    assert.deepEqual(applied, [{ status: 'applied' }]);
    // And one for c that never reached the tenant.
    const lost = randomUUID();
    e.state.recordBatch(killed, e.target.id, lost, [{ source: SOURCE, anchor: anchorOf('c'), userPrincipalName: upnOf('c'), fingerprint: Buffer.alloc(0), forceChange: false, disableReason: 'out-of-scope' }]);
    assert.equal(e.synced('b')?.disabled, false, 'not acknowledged yet');
    const updatedAt = e.user('b')?.changedAt;

    await e.write([{ uid: 'a' }, { uid: 'b', disabled: true }]);
    const resumed = await e.run();
    assert.equal(resumed.counts.recoveredBatches, 1);
    assert.equal(resumed.counts.droppedBatches, 1);
    assert.deepEqual(e.state.inFlightBatches(e.target.id), []);
    const sent = e.target.take();
    assert.equal(sent.length, 1, 'b is not sent again; c is');
    assertDisableItem(sent[0], 'c');
    assert.equal(resumed.counts.hashed, 0);
    assert.equal(resumed.counts.disabledAtTarget, 1);
    assert.deepEqual(resumed.counts.skipped, { unchanged: 1, disabled: 1, 'out-of-scope': 1 });
    assert.equal(e.synced('b')?.disabled, true);
    assert.deepEqual(e.synced('b')?.fingerprint, synced.fingerprint, 'a disable keeps the fingerprint');
    assert.equal(e.user('b')?.changedAt, updatedAt, 'the tenant applied b once');
    assert.equal(e.user('b')?.disabled, true);
    assert.equal(e.user('c')?.disabled, true);
    assert.equal(e.state.userStatus(SOURCE, anchorOf('b'))?.reason, 'disabled');
    assert.deepEqual(await e.signIn('b'), { ok: false, reason: 'disabled' });

    const quiet = await e.run();
    assert.equal(e.target.take().length, 0);
    assert.equal(quiet.counts.disabledAtTarget, 0);
  });
});

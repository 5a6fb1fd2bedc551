import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { EngineLock } from '../../src/state/engine-lock.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli } from '../support/run-cli.ts';
import type { CliResult } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const PASSWORDS = fileURLToPath(new URL('../../fixtures/sample-passwords.csv', import.meta.url));
const IN_SCOPE = readPasswordsCsv(PASSWORDS).filter((p) => !p.disabled && !p.empty && !p.mustChange).length;
// One kernel, no self-test race with other suites for the CPU; the faults are the subject here.
const FAST = ['--kernel', 'native', '--workers', '1', '--no-progress'];

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

function sync(state: string, tenant: string, extra: readonly string[] = []): Promise<CliResult> {
  return runCli(['sync', '--source', SAMPLE, '--target', `sqlite:${tenant}`, '--state', state, ...FAST, ...extra]);
}

/** A fatal error is one line with its code, never a stack trace. */
function assertOneLineFatal(result: CliResult, code: string, message: RegExp): void {
  assert.equal(result.code, 1, result.stderr);
  assert.match(result.stderr, new RegExp(`\\[${code}\\]`));
  assert.match(result.stderr, message);
  assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
  assert.doesNotMatch(result.stderr, /SuppressedError|An error was suppressed/);
}

/** A checkpointed store (WAL folded in, no -wal/-shm): its bytes are the whole of it. */
function checkpoint(path: string): void {
  const db = new Database(path);
  db.pragma('wal_checkpoint(TRUNCATE)');
  db.close();
}

/** Users in a tenant store, and how many distinct anchors they have: every user exactly once. */
function tenantUsers(path: string): { rows: number; anchors: number } {
  const db = new Database(path, { readonly: true });
  try {
    const { rows, anchors } = db.prepare('SELECT count(*) AS rows, count(DISTINCT source || char(0) || anchor) AS anchors FROM tenant_users').get() as { rows: number; anchors: number };
    return { rows, anchors };
  } finally {
    db.close();
  }
}

describe('local faults', { timeout: 60_000 }, () => {
  it('a state store locked by another engine: STATE_LOCKED, exit 1, nothing written', async () => {
    using dir = tempDir();
    const state = dir.file('state.db');
    const tenant = dir.file('tenant.db');
    // A fresh store held by another engine: the refused run creates neither store nor tenant.
    {
      using lock = EngineLock.acquire(state);
      const refused = await sync(state, tenant);
      assertOneLineFatal(refused, 'STATE_LOCKED', /in use by another phsync engine/);
      assert.equal(existsSync(state), false, 'no state store created');
      assert.equal(existsSync(tenant), false, 'no tenant created');
      void lock;
    }
    // An existing store: its bytes and the tenant stay as they were.
    const first = await sync(state, tenant);
    assert.equal(first.code, 0, first.stderr);
    checkpoint(state);
    checkpoint(tenant);
    const before = [sha256(state), sha256(tenant)];
    {
      using lock = EngineLock.acquire(state);
      const refused = await sync(state, tenant, ['--full']);
      assertOneLineFatal(refused, 'STATE_LOCKED', /wait for it to finish or stop it/);
      void lock;
    }
    assert.deepEqual([sha256(state), sha256(tenant)], before, 'neither store was touched');
    // The lock released, the same command works.
    const again = await sync(state, tenant);
    assert.equal(again.code, 0, again.stderr);
  });

  it('a corrupt state store (random bytes, a truncated database) and a corrupt tenant store are refused and left byte for byte as they were', async () => {
    using dir = tempDir();
    const tenant = dir.file('tenant.db');
    const random = dir.file('random.db');
    writeFileSync(random, randomBytes(64 * 1024));
    const randomHash = sha256(random);
    const r1 = await sync(random, tenant);
    assertOneLineFatal(r1, 'STORE_CORRUPT', /is not a SQLite database or is corrupt; it was left untouched/);
    assert.equal(sha256(random), randomHash);
    assert.equal(existsSync(tenant), false, 'the run stopped before the target was opened');
    assert.equal(existsSync(`${random}-wal`), false, 'no WAL made beside it');

    // A real state store cut short: the header and schema page survive, the tables' pages do not.
    const good = dir.file('good.db');
    const made = await sync(good, dir.file('scratch-tenant.db'));
    assert.equal(made.code, 0, made.stderr);
    checkpoint(good);
    const truncated = dir.file('truncated.db');
    writeFileSync(truncated, readFileSync(good));
    writeFileSync(`${truncated}.key`, readFileSync(`${good}.key`), { mode: 0o600 });
    truncateSync(truncated, Math.floor(statSync(good).size / 3));
    const truncatedHash = sha256(truncated);
    const r2 = await sync(truncated, tenant);
    assertOneLineFatal(r2, 'STORE_CORRUPT', /corrupt/);
    assert.equal(sha256(truncated), truncatedHash, 'the truncated store is not altered');

    // The tenant store (sqlite: target) of random bytes.
    const badTenant = dir.file('bad-tenant.db');
    writeFileSync(badTenant, randomBytes(32 * 1024));
    const badTenantHash = sha256(badTenant);
    const r3 = await sync(dir.file('state3.db'), badTenant);
    assertOneLineFatal(r3, 'STORE_CORRUPT', /tenant store .* is not a SQLite database/);
    assert.equal(sha256(badTenant), badTenantHash);

    // Read-only commands refuse it the same way.
    const status = await runCli(['status', '--state', random]);
    assertOneLineFatal(status, 'STORE_CORRUPT', /not a SQLite database/);
    assert.equal(sha256(random), randomHash);
  });

  it('a state store and a tenant store of a newer schema version are refused (STORE_SCHEMA_NEWER) and never altered', async () => {
    using dir = tempDir();
    const state = dir.file('state.db');
    const tenant = dir.file('tenant.db');
    const first = await sync(state, tenant);
    assert.equal(first.code, 0, first.stderr);
    const bump = (path: string, table: string): void => {
      const db = new Database(path);
      db.prepare(`UPDATE ${table} SET value = '99' WHERE key = 'schema_version'`).run();
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
    };
    bump(state, 'meta');
    const stateHash = sha256(state);
    const tenantHash = sha256(tenant);
    const r1 = await sync(state, tenant, ['--full']);
    assertOneLineFatal(r1, 'STORE_SCHEMA_NEWER', /state store .* has schema version 99; this phsync understands up to \d+\. Use a newer phsync\./);
    assert.equal(sha256(state), stateHash);
    assert.equal(sha256(tenant), tenantHash);

    const state2 = dir.file('state2.db');
    bump(tenant, 'tenant_meta');
    const tenantHash2 = sha256(tenant);
    const r2 = await sync(state2, tenant);
    assertOneLineFatal(r2, 'STORE_SCHEMA_NEWER', /tenant store .* has schema version 99/);
    assert.equal(sha256(tenant), tenantHash2);
  });
});

// A small tmpfs holds the state store; a filler file leaves it too little room for a full sync.
const TMPFS_SIZE = '2m';
const FILLER_BYTES = 1_750_000;

describe('disk full while checkpointing (a 2 MiB tmpfs)', { timeout: 60_000 }, () => {
  const mountDir = `/tmp/phsync-tmpfs-${process.pid}`;
  let mounted = false;
  let whyNot = '';
  before(() => {
    mkdirSync(mountDir, { recursive: true });
    try {
      execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${TMPFS_SIZE}`, 'tmpfs', mountDir], { stdio: 'pipe' });
      mounted = true;
    } catch (err) {
      whyNot = String((err as { stderr?: unknown }).stderr ?? err).trim();
    }
  });
  after(() => {
    if (mounted) execFileSync('umount', [mountDir], { stdio: 'pipe' });
    rmSync(mountDir, { recursive: true, force: true });
  });

  it('the run stops with STORE_DISK_FULL (no crash, no stack), and once there is room a rerun finishes with every user exactly once', async (t) => {
    if (!mounted) {
      t.skip(`cannot mount a tmpfs here (${whyNot}): needs root`);
      return;
    }
    using dir = tempDir();
    const tenant = dir.file('tenant.db');
    const state = `${mountDir}/state.db`;
    const filler = `${mountDir}/filler`;
    writeFileSync(filler, Buffer.alloc(FILLER_BYTES));

    const full = await sync(state, tenant, ['--json', '--batch-size', '64']);
    assertOneLineFatal(full, 'STORE_DISK_FULL', /state store .*: the disk is full \(SQLITE_FULL\); nothing was half-written/);
    const landed = tenantCount(tenant);
    assert.ok(landed < IN_SCOPE, `the run stopped part way (${landed} of ${IN_SCOPE} at the tenant)`);

    // Room again (the filler goes): the same command resumes.
    rmSync(filler);
    const resumed = await sync(state, tenant, ['--json', '--batch-size', '64']);
    assert.equal(resumed.code, 0, resumed.stderr);
    const summary = JSON.parse(resumed.stdout) as { counts: { synced: number; hashed: number; skipped: Record<string, number>; failed: Record<string, number> } };
    assert.deepEqual(summary.counts.failed, {});
    assert.deepEqual(tenantUsers(tenant), { rows: IN_SCOPE, anchors: IN_SCOPE }, 'every in-scope user exactly once');
    assert.ok((summary.counts.skipped['unchanged'] ?? 0) > 0, 'users acknowledged before the disk filled are not hashed again');
    assert.equal(summary.counts.synced + (summary.counts.skipped['unchanged'] ?? 0), IN_SCOPE);

    // The state store can also be moved elsewhere (with its key) and used from there.
    const moved = dir.file('moved-state.db');
    assert.equal(existsSync(`${state}-wal`), false, 'the rerun closed the store cleanly (WAL folded in)');
    copyFileSync(state, moved);
    copyFileSync(`${state}.key`, `${moved}.key`);
    const fromMoved = await sync(moved, tenant, ['--json']);
    assert.equal(fromMoved.code, 0, fromMoved.stderr);
    assert.equal((JSON.parse(fromMoved.stdout) as { counts: { hashed: number } }).counts.hashed, 0, 'nothing rehashed');
  });
});

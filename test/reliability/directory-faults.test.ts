import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { startCli } from '../support/run-cli.ts';
import { startLdapBusyProxy } from '../support/ldap-busy-proxy.ts';
import { startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';
import { tenantCount } from '../support/tenant-count.ts';

// slapd SIGKILLed and restarted mid-sync: test/ldap/ldap-sync.test.ts. Here: a clean stop and
// restart mid-page, and a server that hangs (SIGSTOP) so that only the LDAP timeout gets the engine out.

function expectedUsers(slapd: Slapd): number {
  return readPasswordsCsv(slapd.passwordsCsv!).filter((p) => !p.disabled && !p.empty && !p.mustChange).length;
}

function exactlyOnce(path: string): { rows: number; anchors: number } {
  using store = TenantStore.open(path);
  const users = [...store.users()];
  return { rows: users.length, anchors: new Set(users.map((u) => u.anchor)).size };
}

describe('directory faults against a real slapd', { timeout: 90_000 }, () => {
  it('slapd stopped (SIGTERM) mid-page and restarted: the engine reconnects, pages again, every user exactly once', async () => {
    await using slapd = await startSlapd({ users: 2500, seed: 'dir-restart' });
    using dir = tempDir();
    const tenant = dir.file('tenant.db');
    const { child, done } = startCli(['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${tenant}`, '--state', dir.file('state.db'), '--page-size', '100', '--kernel', 'node', '--workers', '1', '--batch-size', '50', '--no-progress', '--json'], { env: { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword } });
    while (child.exitCode === null && tenantCount(tenant) < 300) await sleep(5);
    assert.equal(child.exitCode, null, 'still reading when slapd stops');
    await slapd.stop();
    await sleep(500);
    await slapd.restart();
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stderr, /\[LDAP_(CONNECTION_LOST|UNREACHABLE|UNAVAILABLE)\]; reconnecting/);
    const summary = JSON.parse(result.stdout) as { counts: { synced: number; failed: Record<string, number> } };
    assert.deepEqual(summary.counts.failed, {});
    const n = expectedUsers(slapd);
    assert.equal(summary.counts.synced, n);
    assert.deepEqual(exactlyOnce(tenant), { rows: n, anchors: n });
  });

  it('a hung slapd (SIGSTOP): the LDAP timeout fires and is retried; resumed, the run finishes; hung for good, LDAP_TIMEOUT within bounded time', async () => {
    await using slapd = await startSlapd({ users: 1200, seed: 'dir-stall' });
    using dir = tempDir();
    const tenant = dir.file('tenant.db');
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const args = (name: string, retries: number): string[] => ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file(`${name}.db`)}`, '--state', dir.file(`${name}-state.db`), '--page-size', '50', '--kernel', 'node', '--workers', '1', '--batch-size', '50', '--ldap-timeout', '1', '--ldap-retries', String(retries), '--no-progress', '--json'];

    // Hung for a while, then back: the timeout, a reconnect, and the run completes.
    {
      const { child, done } = startCli(args('tenant', 20), { env });
      while (child.exitCode === null && tenantCount(tenant) < 200) await sleep(5);
      assert.equal(child.exitCode, null, 'still reading when slapd hangs');
      await slapd.pause();
      await sleep(2500);
      await slapd.resume();
      const result = await done;
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stderr, /did not answer in time \[LDAP_TIMEOUT\]; reconnecting/);
      const n = expectedUsers(slapd);
      assert.deepEqual(exactlyOnce(tenant), { rows: n, anchors: n });
    }

    // Hung for good: two retries of a 1 s timeout, then a named fatal error, well before any test timeout.
    {
      await slapd.pause();
      const started = Date.now();
      const { done } = startCli(args('hung', 2), { env });
      const result = await done;
      const seconds = (Date.now() - started) / 1000;
      await slapd.resume();
      assert.equal(result.code, 1, result.stderr);
      assert.match(result.stderr, /\[LDAP_TIMEOUT\]/);
      assert.doesNotMatch(result.stderr, /^\s+at /m, 'no stack trace');
      assert.ok(seconds < 30, `gave up in ${seconds.toFixed(1)} s`);
    }
  });

  it('a directory answering busy (51) or unavailable (52): retried with a reconnect, and the run completes; unavailable for good, LDAP_UNAVAILABLE', async () => {
    await using slapd = await startSlapd({ users: 600, seed: 'dir-busy' });
    using dir = tempDir();
    const upstream = new URL(slapd.url);
    const env = { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword };
    const args = (url: string, name: string, retries: number): string[] => ['sync', '--source', url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file(`${name}.db`)}`, '--state', dir.file(`${name}-state.db`), '--page-size', '100', '--kernel', 'node', '--workers', '1', '--batch-size', '50', '--ldap-retries', String(retries), '--no-progress', '--json'];

    // Busy at the first page, unavailable at a later page (mid-paging), then served.
    {
      await using proxy = await startLdapBusyProxy({ host: upstream.hostname, port: Number(upstream.port) }, (n) => (n === 1 ? 51 : n === 4 ? 52 : undefined));
      const result = await startCli(args(proxy.url, 'busy', 8), { env }).done;
      assert.equal(result.code, 0, result.stderr);
      assert.equal(proxy.refused, 2);
      assert.match(result.stderr, /busy or unavailable \(result 51\).*\[LDAP_UNAVAILABLE\]; reconnecting/);
      assert.match(result.stderr, /busy or unavailable \(result 52\).*\[LDAP_UNAVAILABLE\]; reconnecting/);
      const summary = JSON.parse(result.stdout) as { counts: { synced: number; failed: Record<string, number> } };
      assert.deepEqual(summary.counts.failed, {});
      const n = expectedUsers(slapd);
      assert.equal(summary.counts.synced, n);
      assert.deepEqual(exactlyOnce(dir.file('busy.db')), { rows: n, anchors: n });
    }

    // Unavailable for good: every retry refused, then a named error and exit 1.
    {
      await using proxy = await startLdapBusyProxy({ host: upstream.hostname, port: Number(upstream.port) }, () => 52);
      const result = await startCli(args(proxy.url, 'down', 2), { env }).done;
      assert.equal(result.code, 1, result.stderr);
      assert.equal(proxy.refused, 3, 'the first try and two retries');
      assert.match(result.stderr, /\[LDAP_UNAVAILABLE\]/);
    }
  });
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { HttpTarget } from '../../src/target/http-target.ts';
import type { CredentialItem } from '../../src/target/credential-batch.ts';
import { credentialItem } from '../support/credential-item.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { startTestTenant } from '../support/tenant-http.ts';
import { tempDir } from '../support/temp-dir.ts';

// 500s, slow answers (timeouts), resets before and after applying: test/e2e/http-faults.test.ts and
// test/target/http-target.test.ts. Here: Retry-After measured against the real tenant server, a
// response cut in the middle of its body by a proxy, and a batch the tenant partly rejects.

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const PASSWORDS = fileURLToPath(new URL('../../fixtures/sample-passwords.csv', import.meta.url));
const TOKEN = 'target-faults-token-4e1d';
function items(prefix: string, n: number): Promise<CredentialItem[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => credentialItem(`${prefix}-${i}`, `${prefix}.${i}@example.com`, `Pass-${i}`)));
}

/**
 * A TCP proxy in front of the tenant that cuts the first `cuts` answers `keepBytes` bytes into their
 * body (the status line, the headers and part of the JSON reach the engine, then a reset).
 */
async function cuttingProxy(upstreamPort: number, cuts: number, keepBytes: number) {
  let left = cuts;
  let cut = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    const upstream = connect(upstreamPort, '127.0.0.1');
    sockets.add(upstream);
    const cutThis = left > 0;
    if (cutThis) left--;
    let sent = 0;
    let seenBytes = Buffer.alloc(0);
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => {
      if (!cutThis) {
        client.write(chunk);
        return;
      }
      seenBytes = Buffer.concat([seenBytes, chunk]);
      const headerEnd = seenBytes.indexOf('\r\n\r\n');
      // Wait for the end of the headers: the cut falls keepBytes into the body.
      if (headerEnd === -1 || seenBytes.length < headerEnd + 4 + keepBytes) return;
      client.write(seenBytes.subarray(0, headerEnd + 4 + keepBytes));
      sent = seenBytes.length;
      if (sent > 0) {
        cut++;
        client.resetAndDestroy();
        upstream.destroy();
      }
    });
    upstream.on('end', () => client.end());
    const close = (): void => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    get cut() {
      return cut;
    },
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

describe('target faults', { timeout: 60_000 }, () => {
  it('429 with Retry-After from the real tenant server: the retry comes no sooner than asked, then the batch applies once', async () => {
    let refused = 0;
    const seen: number[] = [];
    await using tenant = await startTestTenant(TOKEN, {
      faults: (req) => {
        if (req.method !== 'POST') return 'none';
        seen.push(performance.now());
        return refused++ < 1 ? { status: 429, retryAfter: 1 } : 'none';
      },
    });
    const target = HttpTarget.open({ url: tenant.url, token: TOKEN, retry: { maxRetries: 3, minDelayMs: 1, maxDelayMs: 5, factor: 2 } });
    try {
      const results = await target.write({ batchId: 'b-429', source: 'default', items: await items('ra', 20) });
      assert.ok(results.every((r) => r.status === 'applied'));
    } finally {
      await target.close();
    }
    assert.equal(seen.length, 2, 'one refusal, one retry');
    assert.ok(seen[1]! - seen[0]! >= 1000, `the retry waited the Retry-After second (${Math.round(seen[1]! - seen[0]!)} ms), not the 5 ms backoff`);
    assert.equal(tenant.store.countUsers(), 20);
  });

  it('answers cut in the middle of their body: retried, the batch id makes the resend apply once', async () => {
    await using tenant = await startTestTenant(TOKEN);
    const port = Number(new URL(tenant.url).port);
    // Enough of the answer for the status line and headers, not the whole JSON body.
    const proxy = await cuttingProxy(port, 3, 40);
    const target = HttpTarget.open({ url: proxy.url, token: TOKEN, timeoutMs: 2000, retry: { maxRetries: 6, minDelayMs: 5, maxDelayMs: 20, factor: 2 } });
    try {
      const results = await target.write({ batchId: 'b-cut', source: 'default', items: await items('cut', 50) });
      assert.equal(results.length, 50);
      assert.ok(results.every((r) => r.status === 'applied'), JSON.stringify(results.slice(0, 3)));
      assert.ok(proxy.cut >= 1, 'an answer was cut mid-body');
      assert.ok(target.stats.retries >= 1, `retried (${target.stats.retries})`);
    } finally {
      await target.close();
      proxy.close();
    }
    assert.equal(tenant.store.countUsers(), 50, 'applied once despite the resends');
  });

  it('a batch partly rejected: the invalid items become those users\' errors, the rest is applied, exit 2; the rejected stay failed on rerun', async () => {
    using dir = tempDir();
    const inScope = readPasswordsCsv(PASSWORDS).filter((p) => !p.disabled && !p.empty && !p.mustChange);
    const taken = inScope[3]!.userPrincipalName;
    // Another source already holds that sign-in name at the tenant: the tenant rejects the sample's user.
    const other = dir.file('other.ldif');
    writeFileSync(other, `dn: uid=squatter,ou=People,dc=other,dc=example\nuid: squatter\nuserPrincipalName: ${taken}\nentryUUID: 0f0f0f0f-2222-4333-8444-555555555555\nsambaNTPassword: ${Buffer.from(await ntHash('Other-Pass-1')).toString('hex')}\nsambaAcctFlags: [U          ]\nsambaPwdLastSet: 1700000000\n\n`);
    const tenantDb = dir.file('tenant.db');
    const seeded = await runCli(['sync', '--source', other, '--source-name', 'other', '--target', `sqlite:${tenantDb}`, '--state', dir.file('other-state.db')]);
    assert.equal(seeded.code, 0, seeded.stderr);
    writeFileSync(dir.file('token'), `${TOKEN}\n`, { mode: 0o600 });
    const server = startCli(['tenant', 'serve', '--db', tenantDb, '--listen', '127.0.0.1:0', '--token-file', dir.file('token')]);
    try {
      let err = '';
      while (!/listening on (\S+)/.test(err)) err += String(((await once(server.child.stderr!, 'data')) as [Buffer])[0]);
      const url = /listening on (\S+)/.exec(err)![1]!;
      const args = ['sync', '--source', SAMPLE, '--target', url, '--target-token-file', dir.file('token'), '--state', dir.file('state.db'), '--json', '--no-progress'];
      const result = await runCli(args);
      assert.equal(result.code, 2, result.stderr);
      const summary = JSON.parse(result.stdout) as { status: string; counts: { synced: number; failed: Record<string, number> }; errors: { code: string; message: string }[] };
      assert.equal(summary.status, 'partial');
      assert.deepEqual(summary.counts.failed, { TARGET_REJECTED: 1 });
      assert.equal(summary.counts.synced, inScope.length - 1);
      assert.match(summary.errors.find((e) => e.code === 'TARGET_REJECTED')?.message ?? '', /belongs to another user/);
      const explain = await runCli(['explain', '--state', dir.file('state.db'), '--user', taken, '--json']);
      assert.match(explain.stdout, /TARGET_REJECTED/);
      const again = await runCli(args);
      assert.equal(again.code, 2, 'still failing: retried each run, the rest unchanged');
      assert.deepEqual((JSON.parse(again.stdout) as { counts: { synced: number; failed: Record<string, number> } }).counts.failed, { TARGET_REJECTED: 1 });
    } finally {
      server.child.kill('SIGTERM');
      await server.done;
    }
  });
});

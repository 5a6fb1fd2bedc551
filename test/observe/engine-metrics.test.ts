import assert from 'node:assert/strict';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { METRICS } from '../../src/observe/metric-catalog.ts';
import type { SyncSummary } from '../../src/pipeline/sync-counts.ts';
import { parsePromText, samplesOf, valueOf } from '../support/prom-text.ts';
import type { PromSample } from '../support/prom-text.ts';
import { startPushgateway } from '../support/pushgateway.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const NT_HASHES = [...readFileSync(SAMPLE, 'utf8').matchAll(/^sambaNTPassword: ([0-9A-F]{32})$/gmu)].map((m) => m[1]!);

async function scrape(url: string): Promise<{ text: string; samples: PromSample[] }> {
  const res = await fetch(url);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  const text = await res.text();
  return { text, samples: parsePromText(text) };
}

/** Waits for a line matching the pattern on a growing text (the child's stderr or stdout). */
async function waitFor(read: () => string, pattern: RegExp, what: string): Promise<RegExpExecArray> {
  for (let i = 0; i < 600; i++) {
    const m = pattern.exec(read());
    if (m !== null) return m;
    await sleep(50);
  }
  throw new Error(`timed out waiting for ${what}; got: ${read()}`);
}

/** Every counter of users equals the run's counts (source "default"). */
function assertCountsMatch(samples: readonly PromSample[], summary: SyncSummary, source = 'default'): void {
  const c = summary.counts;
  assert.equal(valueOf(samples, 'phsync_users_scanned_total', { source }), c.scanned);
  assert.equal(valueOf(samples, 'phsync_users_synced_total', { source }), c.synced);
  assert.equal(valueOf(samples, 'phsync_credentials_hashed_total', { source }), c.hashed);
  assert.equal(valueOf(samples, 'phsync_users_disabled_at_target_total', { source }), c.disabledAtTarget);
  for (const [reason, n] of Object.entries(c.skipped)) assert.equal(valueOf(samples, 'phsync_users_skipped_total', { source, reason }), n, `skipped ${reason}`);
  for (const [code, n] of Object.entries(c.failed)) assert.equal(valueOf(samples, 'phsync_users_failed_total', { source, code }), n, `failed ${code}`);
  assert.equal(samplesOf(samples, 'phsync_users_skipped_total', { source }).length, Object.keys(c.skipped).length);
  assert.equal(samplesOf(samples, 'phsync_users_failed_total', { source }).length, Object.keys(c.failed).length);
}

describe('Prometheus metrics of the engine', () => {
  it('the daemon serves /metrics whose counters equal its cycle counts, with the heartbeat, the pool and the process', async () => {
    using dir = tempDir();
    const started = Date.now() / 1000;
    const { child, done } = startCli(['run', '--interval', '1h', '--source', SAMPLE, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--metrics-listen', '127.0.0.1:0', '--workers', '2', '--json']);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    try {
      const url = (await waitFor(() => stderr, /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/u, 'the metrics URL'))[1]!;
      const line = (await waitFor(() => stdout, /^(\{.*\})$/mu, 'the first cycle'))[1]!;
      const { summary } = JSON.parse(line) as { summary: SyncSummary };
      assert.equal(summary.status, 'succeeded');
      assert.ok(summary.counts.synced > 500);

      const { text, samples } = await scrape(url);
      assertCountsMatch(samples, summary);
      assert.equal(valueOf(samples, 'phsync_cycles_total', { source: 'default', kind: 'full', status: 'succeeded' }), 1);
      assert.equal(valueOf(samples, 'phsync_cycle_duration_seconds_count', { source: 'default', kind: 'full', status: 'succeeded' }), 1);
      assert.equal(valueOf(samples, 'phsync_run_in_progress', { source: 'default' }), 0);
      assert.equal(valueOf(samples, 'phsync_users_in_flight', { source: 'default' }), 0);
      const heartbeat = valueOf(samples, 'phsync_last_success_timestamp_seconds', { source: 'default' });
      assert.ok(heartbeat >= started && heartbeat <= Date.now() / 1000, `heartbeat ${heartbeat}`);
      assert.equal(valueOf(samples, 'phsync_last_run_status', { source: 'default', status: 'succeeded' }), 1);
      assert.equal(valueOf(samples, 'phsync_last_run_status', { source: 'default', status: 'failed' }), 0);
      // Batches: every credential batch was acknowledged, and its items applied.
      const target = `sqlite:${dir.file('t.db')}`;
      assert.equal(valueOf(samples, 'phsync_batches_total', { source: 'default', target, kind: 'credential' }), summary.counts.batches);
      assert.equal(valueOf(samples, 'phsync_target_items_total', { source: 'default', target, kind: 'credential', result: 'applied' }), summary.counts.synced);
      assert.equal(valueOf(samples, 'phsync_batch_hash_seconds_count', { kernel: summary.kernel }), summary.counts.batches);
      assert.equal(valueOf(samples, 'phsync_kernel_info', { kernel: summary.kernel }), 1);
      assert.equal(valueOf(samples, 'phsync_pool_workers'), 2);
      const utilization = valueOf(samples, 'phsync_pool_utilization_ratio');
      assert.ok(utilization > 0 && utilization <= 1, `utilization ${utilization}`);
      assert.ok(valueOf(samples, 'phsync_peak_rss_bytes') > 10 * 2 ** 20);
      assert.ok(valueOf(samples, 'process_resident_memory_bytes') > 0, 'process metrics are served');
      // Every metric of the catalog is declared, and nothing else of phsync's.
      for (const spec of METRICS) assert.match(text, new RegExp(`^# TYPE ${spec.name} ${spec.type}$`, 'm'), spec.name);
      // No NT hash of the directory, in any case.
      const upper = text.toUpperCase();
      assert.equal(NT_HASHES.filter((h) => upper.includes(h)).length, 0);

      // Only /metrics, and only reads.
      assert.equal((await fetch(url.replace('/metrics', '/'))).status, 404);
      assert.equal((await fetch(url, { method: 'POST' })).status, 405);
    } finally {
      child.kill('SIGTERM');
    }
    const result = await done;
    assert.equal(result.code, 0, stderr);
  });

  it('a scrape during a sync sees the run in progress and counters that only grow up to the final counts', async () => {
    using dir = tempDir();
    const ldif = dir.file('d.ldif');
    const fixture = await runCli(['fixture', '--users', '12000', '--out', ldif]);
    assert.equal(fixture.code, 0, fixture.stderr);
    const { child, done } = startCli(['sync', '--source', ldif, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--metrics-listen', '127.0.0.1:0', '--workers', '1', '--json']);
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const url = (await waitFor(() => stderr, /metrics at (http:\/\/127\.0\.0\.1:\d+\/metrics)/u, 'the metrics URL'))[1]!;
    const seen: { scanned: number; synced: number; inProgress: number }[] = [];
    const exited = once(child, 'exit');
    let running = true;
    void exited.then(() => (running = false));
    while (running) {
      try {
        const { samples } = await scrape(url);
        const value = (name: string): number => samplesOf(samples, name, { source: 'default' })[0]?.value ?? 0;
        seen.push({ scanned: value('phsync_users_scanned_total'), synced: value('phsync_users_synced_total'), inProgress: value('phsync_run_in_progress') });
      } catch {
        break; // the server closed as the run ended
      }
      await sleep(20);
    }
    const result = await done;
    assert.equal(result.code, 0, result.stderr);
    const summary = JSON.parse(result.stdout) as SyncSummary;
    const during = seen.filter((s) => s.inProgress === 1 && s.scanned > 0);
    assert.ok(during.length >= 2, `scrapes during the run: ${JSON.stringify(seen.slice(0, 5))}`);
    for (let i = 1; i < seen.length; i++) {
      assert.ok(seen[i]!.scanned >= seen[i - 1]!.scanned && seen[i]!.synced >= seen[i - 1]!.synced, 'counters never go down');
    }
    for (const s of seen) assert.ok(s.scanned <= summary.counts.scanned && s.synced <= summary.counts.synced);
    assert.ok(during.some((s) => s.scanned < summary.counts.scanned), 'some scrape saw the run part way');
  });

  it('pushes the final values of a batch run to a real Pushgateway, without process metrics', async () => {
    await using gateway = await startPushgateway();
    using dir = tempDir();
    const sync = await runCli(['sync', '--source', SAMPLE, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--pushgateway', gateway.url, '--job', 'phsync-nightly', '--json']);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stderr, /metrics pushed to http:\/\/127\.0\.0\.1:\d+ \(job phsync-nightly\)/);
    const summary = JSON.parse(sync.stdout) as SyncSummary;
    const samples = parsePromText(await (await fetch(`${gateway.url}/metrics`)).text()).filter((s) => s.labels['job'] === 'phsync-nightly');
    assertCountsMatch(samples, summary);
    assert.equal(valueOf(samples, 'phsync_cycles_total', { source: 'default', kind: 'full', status: 'succeeded' }), 1);
    assert.ok(valueOf(samples, 'phsync_last_success_timestamp_seconds', { source: 'default' }) > 0);
    assert.ok(valueOf(samples, 'push_time_seconds') > 0, 'the Pushgateway recorded the push');
    assert.deepEqual(samples.filter((s) => /^(process|nodejs)_/.test(s.name)).map((s) => s.name), [], 'process metrics are not pushed');

    // A second run replaces the group: the values are the last run's, not a sum.
    const again = await runCli(['sync', '--source', SAMPLE, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--pushgateway', gateway.url, '--job', 'phsync-nightly', '--json']);
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout) as SyncSummary;
    const after = parsePromText(await (await fetch(`${gateway.url}/metrics`)).text()).filter((s) => s.labels['job'] === 'phsync-nightly');
    assertCountsMatch(after, second);
    assert.equal(valueOf(after, 'phsync_users_synced_total', { source: 'default' }), 0);
  });

  it('a Pushgateway that cannot be reached is a warning: the run keeps its outcome', async () => {
    using dir = tempDir();
    const sync = await runCli(['sync', '--source', SAMPLE, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--pushgateway', 'http://127.0.0.1:9', '--json']);
    assert.equal(sync.code, 0, sync.stderr);
    assert.match(sync.stderr, /^phsync: cannot push metrics to http:\/\/127\.0\.0\.1:9: \S/m);
    assert.equal((JSON.parse(sync.stdout) as SyncSummary).status, 'succeeded');
  });

  it('refuses a --metrics-listen that is not HOST:PORT and a --pushgateway URL with credentials, before any work', async () => {
    using dir = tempDir();
    const badListen = await runCli(['sync', '--source', SAMPLE, '--state', dir.file('s.db'), '--target', `sqlite:${dir.file('t.db')}`, '--metrics-listen', '9464']);
    assert.equal(badListen.code, 1);
    assert.match(badListen.stderr, /--metrics-listen must be HOST:PORT .*\[OPTION_INVALID\]/);
    const badPush = await runCli(['sync', '--source', SAMPLE, '--state', dir.file('s.db'), '--target', `sqlite:${dir.file('t.db')}`, '--pushgateway', 'http://user:secret@127.0.0.1:9091']);
    assert.equal(badPush.code, 1);
    assert.match(badPush.stderr, /no user, password, query or fragment/);
    assert.doesNotMatch(badPush.stderr, /secret/);
  });
});

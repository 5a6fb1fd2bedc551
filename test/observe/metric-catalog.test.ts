import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { publish } from '../../src/observe/engine-events.ts';
import { EngineMetrics } from '../../src/observe/engine-metrics.ts';
import { METRICS } from '../../src/observe/metric-catalog.ts';
import { emptyCounts } from '../../src/pipeline/sync-counts.ts';
import type { SyncSummary } from '../../src/pipeline/sync-counts.ts';
import { parsePromText, valueOf } from '../support/prom-text.ts';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');

describe('the metric catalog', () => {
  it('names every metric once, in Prometheus style, and the README documents each with its type and labels', () => {
    const names = METRICS.map((m) => m.name);
    assert.equal(new Set(names).size, names.length);
    for (const m of METRICS) {
      assert.match(m.name, /^phsync_[a-z0-9_]+$/);
      assert.equal(m.name.endsWith('_total'), m.type === 'counter', `${m.name}: counters, and only counters, end in _total`);
      const labels = m.labels.length === 0 ? '—' : m.labels.map((l) => `\`${l}\``).join(', ');
      assert.ok(README.includes(`| \`${m.name}\` | ${m.type} | ${labels} |`), `README row for ${m.name}`);
    }
    const documented = [...README.matchAll(/^\| `(phsync_[a-z0-9_]+)` \|/gmu)].map((r) => r[1]!);
    assert.deepEqual(documented.filter((n) => !names.includes(n as never)), [], 'README rows without a metric');
  });
});

describe('EngineMetrics', () => {
  it('turns a run\'s progress and end into counters equal to its counts, however often progress is told', async () => {
    using metrics = new EngineMetrics({ version: '9.9.9' });
    const counts = emptyCounts();
    publish('runStart', { runId: 7, kind: 'full', source: 'corp', target: 'sqlite:t.db', dryRun: false, startedAt: 1_700_000_000_000, expectedUsers: 40 });
    counts.scanned = 10;
    counts.skipped['unchanged'] = 3;
    publish('runProgress', { runId: 7, source: 'corp', counts, usersInFlight: 5 });
    let samples = parsePromText(await metrics.scrape());
    assert.equal(valueOf(samples, 'phsync_users_scanned_total', { source: 'corp' }), 10);
    assert.equal(valueOf(samples, 'phsync_users_in_flight', { source: 'corp' }), 5);
    assert.equal(valueOf(samples, 'phsync_run_in_progress', { source: 'corp' }), 1);
    assert.equal(valueOf(samples, 'phsync_run_expected_users', { source: 'corp' }), 40);
    assert.equal(valueOf(samples, 'phsync_run_started_timestamp_seconds', { source: 'corp' }), 1_700_000_000);
    // The same counts told twice add nothing.
    publish('runProgress', { runId: 7, source: 'corp', counts, usersInFlight: 5 });
    counts.scanned = 40;
    counts.synced = 30;
    counts.hashed = 31;
    counts.skipped['unchanged'] = 9;
    counts.failed['INVALID_NT_HASH'] = 1;
    const summary: SyncSummary = { runId: 7, status: 'partial', source: 'corp', sourceLocation: 'x', target: 'sqlite:t.db', kernel: 'node', workers: 2, dryRun: false, counts, elapsedMs: 2000, usersPerSecond: 20, maxRssMiB: 80, errors: [], fatal: undefined };
    publish('runFinish', { kind: 'full', summary });
    samples = parsePromText(await metrics.scrape());
    assert.equal(valueOf(samples, 'phsync_users_scanned_total', { source: 'corp' }), 40);
    assert.equal(valueOf(samples, 'phsync_users_synced_total', { source: 'corp' }), 30);
    assert.equal(valueOf(samples, 'phsync_credentials_hashed_total', { source: 'corp' }), 31);
    assert.equal(valueOf(samples, 'phsync_users_skipped_total', { source: 'corp', reason: 'unchanged' }), 9);
    assert.equal(valueOf(samples, 'phsync_users_failed_total', { source: 'corp', code: 'INVALID_NT_HASH' }), 1);
    assert.equal(valueOf(samples, 'phsync_cycles_total', { source: 'corp', kind: 'full', status: 'partial' }), 1);
    assert.equal(valueOf(samples, 'phsync_cycle_duration_seconds_sum', { source: 'corp', kind: 'full', status: 'partial' }), 2);
    assert.equal(valueOf(samples, 'phsync_last_run_status', { source: 'corp', status: 'partial' }), 1);
    assert.equal(valueOf(samples, 'phsync_run_in_progress', { source: 'corp' }), 0);
    assert.ok(valueOf(samples, 'phsync_last_success_timestamp_seconds', { source: 'corp' }) > 1_700_000_000, 'a partial cycle read its source to the end: a heartbeat');
    assert.equal(valueOf(samples, 'phsync_build_info', { version: '9.9.9', node: process.versions.node }), 1);

    // A failed cycle does not beat the heartbeat; a second run's counters add to the first's.
    const before = valueOf(samples, 'phsync_last_success_timestamp_seconds', { source: 'corp' });
    publish('runStart', { runId: 8, kind: 'delta', source: 'corp', target: 'sqlite:t.db', dryRun: false, startedAt: Date.now(), expectedUsers: undefined });
    const second = emptyCounts();
    second.scanned = 2;
    publish('runFinish', { kind: 'delta', summary: { ...summary, runId: 8, status: 'failed', counts: second } });
    samples = parsePromText(await metrics.scrape());
    assert.equal(valueOf(samples, 'phsync_users_scanned_total', { source: 'corp' }), 42);
    assert.equal(valueOf(samples, 'phsync_last_success_timestamp_seconds', { source: 'corp' }), before);
    assert.equal(valueOf(samples, 'phsync_last_run_status', { source: 'corp', status: 'failed' }), 1);
    assert.equal(valueOf(samples, 'phsync_last_run_status', { source: 'corp', status: 'partial' }), 0);
  });

  it('stops listening when closed', async () => {
    const metrics = new EngineMetrics({ version: '1' });
    metrics.close();
    publish('retry', { component: 'target', name: 'http:x', code: 'TARGET_UNAVAILABLE' });
    assert.doesNotMatch(await metrics.scrape(), /^phsync_retries_total\{/m);
  });
});

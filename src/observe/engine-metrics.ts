/**
 * The engine's Prometheus metrics: a prom-client registry built from the metric catalog, fed by the
 * engine's diagnostics-channel events. The core never imports this module (nor prom-client); the
 * CLI creates one EngineMetrics per process when metrics are asked for.
 *
 * Counters of users come from the run's own counts, as differences between successive progress
 * events: at the end of a run they equal its summary exactly, whatever the event rate.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { SyncCounts } from '../pipeline/sync-counts.ts';
import { subscribe } from './engine-events.ts';
import { METRICS } from './metric-catalog.ts';
import type { MetricName, MetricSpec } from './metric-catalog.ts';

/** What the metrics read from the hash pool when scraped. */
export interface ObservedPool {
  readonly workers: number;
  readonly queueDepth: number;
  readonly utilization: number;
}

export interface EngineMetricsOptions {
  /** phsync's version, for phsync_build_info. */
  readonly version: string;
  /** Also the Node.js process metrics (CPU, memory, event loop lag, GC). Served, never pushed. */
  readonly processMetrics?: boolean;
}

const RUN_STATUSES = ['succeeded', 'partial', 'failed', 'interrupted'] as const;

/** The parts of SyncCounts turned into counters, as last seen for one source. */
interface CountsSeen {
  scanned: number;
  synced: number;
  hashed: number;
  leaked: number;
  disabledAtTarget: number;
  skipped: Record<string, number>;
  failed: Record<string, number>;
}

const nothingSeen = (): CountsSeen => ({ scanned: 0, synced: 0, hashed: 0, leaked: 0, disabledAtTarget: 0, skipped: {}, failed: {} });

type AnyMetric = Counter<string> | Gauge<string> | Histogram<string>;

export class EngineMetrics implements Disposable {
  /** phsync's own metrics: what a batch job pushes. */
  readonly registry = new Registry();
  /** The Node.js process metrics, when asked for. */
  readonly processRegistry: Registry | undefined;
  readonly #metrics = new Map<MetricName, AnyMetric>();
  readonly #seen = new Map<string, CountsSeen>();
  readonly #unsubscribe: (() => void)[] = [];
  #pool: ObservedPool | undefined;

  constructor(options: EngineMetricsOptions) {
    for (const spec of METRICS as readonly MetricSpec[]) this.#metrics.set(spec.name as MetricName, this.#create(spec));
    this.#gauge('phsync_build_info').set({ version: options.version, node: process.versions.node }, 1);
    if (options.processMetrics === true) {
      this.processRegistry = new Registry();
      collectDefaultMetrics({ register: this.processRegistry });
    }
    this.#listen();
  }

  /** Reads the pool's workers, queue depth and utilization at every scrape. */
  observePool(pool: ObservedPool): void {
    this.#pool = pool;
  }

  /** Text exposition format of every metric (phsync's, then the process's). */
  async scrape(): Promise<string> {
    const own = await this.registry.metrics();
    return this.processRegistry === undefined ? own : `${own}\n${await this.processRegistry.metrics()}`;
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    for (const stop of this.#unsubscribe.splice(0)) stop();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #create(spec: MetricSpec): AnyMetric {
    const common = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
    switch (spec.type) {
      case 'counter':
        return new Counter(common);
      case 'histogram':
        return new Histogram({ ...common, buckets: [...(spec.buckets ?? [])] });
      case 'gauge':
        return new Gauge({ ...common, ...this.#collector(spec.name) });
    }
  }

  /** Gauges read at scrape time rather than set by events. */
  #collector(name: string): { collect?: (this: Gauge<string>) => void } {
    const observed = (): ObservedPool | undefined => this.#pool;
    const pool = (read: (p: ObservedPool) => number) => ({
      collect(this: Gauge<string>) {
        const p = observed();
        if (p !== undefined) this.set(read(p));
      },
    });
    switch (name) {
      case 'phsync_pool_workers':
        return pool((p) => p.workers);
      case 'phsync_pool_queue_depth':
        return pool((p) => p.queueDepth);
      case 'phsync_pool_utilization_ratio':
        return pool((p) => p.utilization);
      case 'phsync_peak_rss_bytes':
        return {
          collect(this: Gauge<string>) {
            this.set(process.resourceUsage().maxRSS * 1024);
          },
        };
      default:
        return {};
    }
  }

  #counter(name: MetricName): Counter<string> {
    return this.#metrics.get(name) as Counter<string>;
  }

  #gauge(name: MetricName): Gauge<string> {
    return this.#metrics.get(name) as Gauge<string>;
  }

  #histogram(name: MetricName): Histogram<string> {
    return this.#metrics.get(name) as Histogram<string>;
  }

  #listen(): void {
    const on = this.#unsubscribe;
    on.push(
      subscribe('runStart', (e) => {
        this.#seen.set(e.source, nothingSeen());
        this.#gauge('phsync_run_in_progress').set({ source: e.source }, 1);
        this.#gauge('phsync_run_started_timestamp_seconds').set({ source: e.source }, e.startedAt / 1000);
        this.#gauge('phsync_run_expected_users').set({ source: e.source }, e.expectedUsers ?? 0);
        this.#gauge('phsync_users_in_flight').set({ source: e.source }, 0);
        // Series that exist from the start read 0 instead of being absent until the first increment.
        for (const name of ['phsync_users_scanned_total', 'phsync_users_synced_total', 'phsync_credentials_hashed_total', 'phsync_users_leaked_total', 'phsync_users_disabled_at_target_total'] as const) {
          this.#counter(name).inc({ source: e.source }, 0);
        }
      }),
      subscribe('runProgress', (e) => {
        this.#addCounts(e.source, e.counts);
        this.#gauge('phsync_users_in_flight').set({ source: e.source }, e.usersInFlight);
      }),
      subscribe('runFinish', ({ kind, summary: s }) => {
        this.#addCounts(s.source, s.counts);
        const labels = { source: s.source, kind, status: s.status };
        this.#counter('phsync_cycles_total').inc(labels);
        this.#histogram('phsync_cycle_duration_seconds').observe(labels, s.elapsedMs / 1000);
        this.#gauge('phsync_run_in_progress').set({ source: s.source }, 0);
        this.#gauge('phsync_users_in_flight').set({ source: s.source }, 0);
        this.#gauge('phsync_last_run_users_per_second').set({ source: s.source }, s.usersPerSecond);
        for (const status of RUN_STATUSES) this.#gauge('phsync_last_run_status').set({ source: s.source, status }, status === s.status ? 1 : 0);
        // A dry run is not a sync: it does not beat the heartbeat.
        if (!s.dryRun && (s.status === 'succeeded' || s.status === 'partial')) {
          this.#gauge('phsync_last_success_timestamp_seconds').set({ source: s.source }, Date.now() / 1000);
        }
      }),
      subscribe('batchHashed', (e) => {
        this.#histogram('phsync_batch_hash_seconds').observe({ kernel: e.kernel }, e.seconds);
      }),
      subscribe('batchWritten', (e) => {
        const items = this.#counter('phsync_target_items_total');
        const base = { source: e.source, target: e.target, kind: e.kind };
        items.inc({ ...base, result: 'applied' }, e.applied);
        items.inc({ ...base, result: 'stale' }, e.stale);
        items.inc({ ...base, result: 'rejected' }, e.rejected);
        this.#counter('phsync_batches_total').inc(base);
        this.#histogram('phsync_batch_write_seconds').observe({ target: e.target, kind: e.kind }, e.writeSeconds);
      }),
      subscribe('targetRequest', (e) => {
        this.#counter('phsync_target_requests_total').inc({ target: e.target, method: e.method, status: String(e.status) });
        this.#counter('phsync_target_sent_bytes_total').inc({ target: e.target }, e.bytesSent);
        this.#histogram('phsync_target_request_seconds').observe({ target: e.target, method: e.method }, e.seconds);
      }),
      subscribe('retry', (e) => {
        this.#counter('phsync_retries_total').inc({ component: e.component, name: e.name, code: e.code });
      }),
      subscribe('kernelSelected', (e) => {
        const info = this.#gauge('phsync_kernel_info');
        info.reset();
        info.set({ kernel: e.kernel }, 1);
        for (const [kernel, rate] of Object.entries(e.rates)) this.#gauge('phsync_kernel_hashes_per_second').set({ kernel }, rate);
      }),
    );
  }

  /** Adds what the counts gained since they were last seen for this source. */
  #addCounts(source: string, counts: Readonly<SyncCounts>): void {
    const seen = this.#seen.get(source) ?? nothingSeen();
    this.#seen.set(source, seen);
    const add = (name: MetricName, key: 'scanned' | 'synced' | 'hashed' | 'leaked' | 'disabledAtTarget'): void => {
      const gained = counts[key] - seen[key];
      if (gained > 0) this.#counter(name).inc({ source }, gained);
      seen[key] = Math.max(seen[key], counts[key]);
    };
    add('phsync_users_scanned_total', 'scanned');
    add('phsync_users_synced_total', 'synced');
    add('phsync_credentials_hashed_total', 'hashed');
    add('phsync_users_leaked_total', 'leaked');
    add('phsync_users_disabled_at_target_total', 'disabledAtTarget');
    const addTable = (name: MetricName, label: 'reason' | 'code', now: Readonly<Record<string, number>>, before: Record<string, number>): void => {
      for (const [key, value] of Object.entries(now)) {
        const gained = value - (before[key] ?? 0);
        if (gained > 0) this.#counter(name).inc({ source, [label]: key }, gained);
        before[key] = Math.max(before[key] ?? 0, value);
      }
    };
    addTable('phsync_users_skipped_total', 'reason', counts.skipped, seen.skipped);
    addTable('phsync_users_failed_total', 'code', counts.failed, seen.failed);
  }
}

import type { Argv } from 'yargs';
import { subscribe } from '../observe/engine-events.ts';
import { EngineMetrics } from '../observe/engine-metrics.ts';
import type { ObservedPool } from '../observe/engine-metrics.ts';
import { log, setLineHooks } from '../observe/logger.ts';
import { serveMetrics } from '../observe/metrics-server.ts';
import type { MetricsServer } from '../observe/metrics-server.ts';
import { checkPushgatewayUrl, pushMetrics } from '../observe/pushgateway.ts';
import { errorMessage } from '../errors.ts';
import { PHSYNC_VERSION } from './package-paths.ts';
import { ProgressDisplay } from './progress-display.ts';

const GROUP = 'Observability:';

/** Options of the commands that run the engine: metrics, Pushgateway, progress. */
export function observabilityOptions<T>(y: Argv<T>) {
  return y
    .option('metrics-listen', { type: 'string', group: GROUP, describe: 'serve Prometheus metrics on HOST:PORT/metrics while the engine runs (e.g. 127.0.0.1:9464; port 0: any free port, logged)' })
    .option('pushgateway', { type: 'string', group: GROUP, describe: 'push the final metrics of each run to this Prometheus Pushgateway URL (batch jobs)' })
    .option('job', { type: 'string', default: 'phsync', group: GROUP, describe: 'the job label of pushed metrics (the Pushgateway group)' })
    .option('progress', { type: 'boolean', default: true, group: GROUP, describe: 'a progress line on stderr when it is a terminal (--no-progress: none)' });
}

export interface ObservabilityArgs {
  readonly 'metrics-listen'?: string | undefined;
  readonly pushgateway?: string | undefined;
  readonly job: string;
  readonly progress: boolean;
}

/** What the engine's observers hold for the life of a command; disposed last. */
export interface Observability extends AsyncDisposable {
  /** Reads the pool's queue and utilization at each scrape. */
  observePool(pool: ObservedPool): void;
  /** Pushes the metrics to the Pushgateway, if one was given; a failure is logged, not thrown. */
  push(): Promise<void>;
}

/**
 * Starts what watches the engine: the metrics (when served or pushed), the progress line (on a
 * terminal), and the log lines for the kernel choice and each run's start and end. Every piece
 * subscribes to the engine's events; none is on the pipeline's path.
 */
export async function startObservability(args: ObservabilityArgs, options: { readonly textLogs: boolean }): Promise<Observability> {
  const pushUrl = args.pushgateway === undefined ? undefined : checkPushgatewayUrl(args.pushgateway).href;
  const wantMetrics = args['metrics-listen'] !== undefined || pushUrl !== undefined;
  const metrics = wantMetrics ? new EngineMetrics({ version: PHSYNC_VERSION, processMetrics: args['metrics-listen'] !== undefined }) : undefined;
  const unsubscribe = logEngineEvents(options.textLogs);
  let server: MetricsServer | undefined;
  let progress: ProgressDisplay | undefined;
  const dispose = async (): Promise<void> => {
    progress?.close();
    setLineHooks(undefined);
    unsubscribe();
    await server?.close();
    metrics?.close();
  };
  try {
    if (metrics !== undefined && args['metrics-listen'] !== undefined) {
      server = await serveMetrics(args['metrics-listen'], metrics);
      log().info({ url: server.url }, `metrics at ${server.url}`);
    }
    // On a terminal, with text logs: JSON logs on stderr are for machines, and a status line in them
    // would corrupt every line.
    if (args.progress && options.textLogs) progress = ProgressDisplay.start(process.stderr);
    if (progress !== undefined) {
      const shown = progress;
      setLineHooks({ before: () => shown.clear(), after: () => shown.redraw() });
    }
  } catch (err) {
    await dispose();
    throw err;
  }
  return {
    observePool: (pool) => metrics?.observePool(pool),
    push: async () => {
      if (metrics === undefined || pushUrl === undefined) return;
      try {
        await pushMetrics({ url: pushUrl, job: args.job, body: await metrics.registry.metrics(), contentType: metrics.registry.contentType });
        log().info({ pushgateway: new URL(pushUrl).origin, job: args.job }, `metrics pushed to ${new URL(pushUrl).origin} (job ${args.job})`);
      } catch (err) {
        // The run itself is done and recorded; the missing heartbeat will alert on its own.
        log().warn({ err: errorMessage(err) }, errorMessage(err));
      }
    },
    [Symbol.asyncDispose]: dispose,
  };
}

/**
 * Log lines for the kernel chosen and every run's start and end. A run's start and end are info in
 * JSON logs (a machine has no other record of them there) and debug in text logs, where the
 * command prints the run's summary itself.
 */
function logEngineEvents(textLogs: boolean): () => void {
  const runLevel = textLogs ? 'debug' : 'info';
  const stops = [
    subscribe('kernelSelected', (e) => {
      const rates = Object.entries(e.rates).map(([k, r]) => `${k} ${Math.round(r).toLocaleString('en-US')}/s`);
      log().info({ kernel: e.kernel, workers: e.workers, rates: e.rates, unavailable: e.unavailable }, `kernel ${e.kernel}, ${e.workers} worker thread${e.workers === 1 ? '' : 's'}${rates.length === 0 ? '' : ` (measured per thread: ${rates.join(', ')})`}`);
      for (const [kernel, why] of Object.entries(e.unavailable)) log().info({ kernel, why }, `kernel ${kernel} not used: ${why}`);
    }),
    subscribe('runStart', (e) => {
      log()[runLevel]({ runId: e.runId, source: e.source, kind: e.kind, target: e.target, dryRun: e.dryRun, expectedUsers: e.expectedUsers }, `run ${e.runId}: ${e.kind} sync of ${e.source} to ${e.target} started`);
    }),
    subscribe('runFinish', ({ kind, summary: s }) => {
      const fields = { runId: s.runId, source: s.source, kind, status: s.status, counts: s.counts, elapsedMs: Math.round(s.elapsedMs), usersPerSecond: Math.round(s.usersPerSecond), maxRssMiB: s.maxRssMiB, fatal: s.fatal };
      const line = `run ${s.runId}: ${kind} sync of ${s.source} ${s.status} in ${(s.elapsedMs / 1000).toFixed(1)} s`;
      log()[s.status === 'failed' && !textLogs ? 'error' : runLevel](fields, line);
    }),
  ];
  return () => {
    for (const stop of stops) stop();
  };
}

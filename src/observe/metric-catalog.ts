/**
 * Every metric phsync exports, in one list: the metrics module builds its registry from it, the
 * README's metric table is checked against it, and the alert rules and the Grafana dashboard in ops/
 * may only name metrics found here. Labels never hold a user, a hash or a secret: sources and
 * targets by name, outcomes by a fixed word or an error code.
 */

export type MetricType = 'counter' | 'gauge' | 'histogram';

export interface MetricSpec {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly labels: readonly string[];
  /** Histogram bucket upper bounds, in the metric's unit. */
  readonly buckets?: readonly number[];
}

const SECONDS_FAST = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];
const SECONDS_CYCLE = [0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 7200];

export const METRICS = Object.freeze([
  { name: 'phsync_users_scanned_total', type: 'counter', help: 'Directory entries read that are users (they carry an NT hash attribute), valid or not.', labels: ['source'] },
  { name: 'phsync_users_synced_total', type: 'counter', help: 'Users whose credential the target applied.', labels: ['source'] },
  { name: 'phsync_users_skipped_total', type: 'counter', help: 'Users not sent a credential, by reason (unchanged, disabled, out-of-scope, empty-password, temporary-password, target-newer, dry-run).', labels: ['source', 'reason'] },
  { name: 'phsync_users_failed_total', type: 'counter', help: 'Users that failed, by error code (each is in the state store with its message).', labels: ['source', 'code'] },
  { name: 'phsync_users_disabled_at_target_total', type: 'counter', help: 'Users the target was told are disabled (disabled in the directory, or out of scope).', labels: ['source'] },
  { name: 'phsync_users_leaked_total', type: 'counter', help: 'Users hashed whose NT hash is in the leaked-hash store (--leaked-store): synced with riskLevel high, or not synced (--leaked-policy skip).', labels: ['source'] },
  { name: 'phsync_credentials_hashed_total', type: 'counter', help: 'NT hashes turned into PBKDF2 credentials.', labels: ['source'] },
  { name: 'phsync_target_items_total', type: 'counter', help: 'Items written to the target, by kind (credential, disable) and the result the target gave (applied, stale, rejected).', labels: ['source', 'target', 'kind', 'result'] },
  { name: 'phsync_batches_total', type: 'counter', help: 'Batches acknowledged by the target, by kind (credential, disable).', labels: ['source', 'target', 'kind'] },
  { name: 'phsync_retries_total', type: 'counter', help: 'Requests tried again after a transient failure, by component (source, target) and error code.', labels: ['component', 'name', 'code'] },
  { name: 'phsync_target_requests_total', type: 'counter', help: 'HTTP requests to the tenant API, by method and status (0: no answer).', labels: ['target', 'method', 'status'] },
  { name: 'phsync_target_sent_bytes_total', type: 'counter', help: 'Request body bytes sent to the tenant API.', labels: ['target'] },
  { name: 'phsync_cycles_total', type: 'counter', help: 'Sync cycles finished, by kind (full, delta) and status (succeeded, partial, failed, interrupted).', labels: ['source', 'kind', 'status'] },
  { name: 'phsync_batch_hash_seconds', type: 'histogram', help: 'Time to hash one batch in the worker pool, queueing included.', labels: ['kernel'], buckets: SECONDS_FAST },
  { name: 'phsync_target_request_seconds', type: 'histogram', help: 'Time of one HTTP request to the tenant API, until the whole answer is read.', labels: ['target', 'method'], buckets: SECONDS_FAST },
  { name: 'phsync_batch_write_seconds', type: 'histogram', help: 'Time to write one batch to the target and record its acknowledgement, retries included.', labels: ['target', 'kind'], buckets: SECONDS_FAST },
  { name: 'phsync_cycle_duration_seconds', type: 'histogram', help: 'Duration of one sync cycle, by kind and status.', labels: ['source', 'kind', 'status'], buckets: SECONDS_CYCLE },
  { name: 'phsync_run_in_progress', type: 'gauge', help: '1 while a cycle of this source runs, else 0.', labels: ['source'] },
  { name: 'phsync_run_started_timestamp_seconds', type: 'gauge', help: 'Start time of the current or last cycle of this source (Unix seconds): a run stuck shows as an old start with run_in_progress 1.', labels: ['source'] },
  { name: 'phsync_users_in_flight', type: 'gauge', help: 'Users taken from the source and not yet settled at the target (hashing or being written).', labels: ['source'] },
  { name: 'phsync_run_expected_users', type: 'gauge', help: 'Users the last full run of this source scanned: the expected total of a full run (0 when unknown).', labels: ['source'] },
  { name: 'phsync_last_success_timestamp_seconds', type: 'gauge', help: 'End of the last cycle that read its source to the end (succeeded, or partial with per-user failures), in Unix seconds: the heartbeat to alert on.', labels: ['source'] },
  { name: 'phsync_last_run_status', type: 'gauge', help: '1 for the status of the last finished cycle of this source, 0 for the other statuses.', labels: ['source', 'status'] },
  { name: 'phsync_last_run_users_per_second', type: 'gauge', help: 'Users scanned per second in the last finished cycle of this source.', labels: ['source'] },
  { name: 'phsync_peak_rss_bytes', type: 'gauge', help: 'Peak resident memory of the engine process (main thread and hash workers).', labels: [] },
  { name: 'phsync_pool_workers', type: 'gauge', help: 'Hash worker threads.', labels: [] },
  { name: 'phsync_pool_queue_depth', type: 'gauge', help: 'Batches accepted by the hash pool and waiting for a thread.', labels: [] },
  { name: 'phsync_pool_utilization_ratio', type: 'gauge', help: 'Share of the hash threads\' time spent hashing since the pool started (0 to 1).', labels: [] },
  { name: 'phsync_kernel_info', type: 'gauge', help: 'The PBKDF2 kernel the hash workers use (value 1).', labels: ['kernel'] },
  { name: 'phsync_kernel_hashes_per_second', type: 'gauge', help: 'Single-thread PBKDF2 rate measured at start-up for each kernel that passed its self-test (--kernel auto).', labels: ['kernel'] },
  { name: 'phsync_build_info', type: 'gauge', help: 'phsync and Node.js versions (value 1).', labels: ['version', 'node'] },
] as const satisfies readonly MetricSpec[]);

export type MetricName = (typeof METRICS)[number]['name'];

/** The Node.js process metrics prom-client adds (served on /metrics, not pushed): their prefix. */
export const PROCESS_METRIC_PREFIXES = Object.freeze(['process_', 'nodejs_']);

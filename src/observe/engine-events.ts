/**
 * What the engine tells observers while it works: runs starting, progressing and finishing, batches
 * hashed and written, requests to the target, retries, the kernel chosen. Published on
 * node:diagnostics_channel, so the core depends on no metrics or logging library: the metrics
 * module, the progress display and anything else (an APM agent) subscribe by channel name.
 *
 * Publishing costs one `hasSubscribers` check when nobody listens. No event carries an NT hash, a
 * credential, a salt or a secret: only names, counts and durations.
 */
import diagnosticsChannel from 'node:diagnostics_channel';
import type { SyncCounts, SyncSummary } from '../pipeline/sync-counts.ts';

export interface RunStartEvent {
  readonly runId: number;
  readonly kind: 'full' | 'delta';
  readonly source: string;
  readonly target: string;
  readonly dryRun: boolean;
  /** Epoch milliseconds. */
  readonly startedAt: number;
  /** Users the last full run of this source scanned: an estimate of this run's total, for an ETA. */
  readonly expectedUsers: number | undefined;
}

export interface RunProgressEvent {
  readonly runId: number;
  readonly source: string;
  /** The run's counts so far: a live object, to be read during the event and not kept. */
  readonly counts: Readonly<SyncCounts>;
  /** Users taken from the source and not yet settled at the target (hashing or being written). */
  readonly usersInFlight: number;
}

export interface RunFinishEvent {
  readonly kind: 'full' | 'delta';
  readonly summary: SyncSummary;
}

export interface BatchHashedEvent {
  readonly source: string;
  readonly kernel: string;
  readonly users: number;
  readonly seconds: number;
}

export interface BatchWrittenEvent {
  readonly runId: number;
  readonly source: string;
  readonly target: string;
  /** credential: hashed users; disable: users told to the target as disabled. */
  readonly kind: 'credential' | 'disable';
  readonly users: number;
  /** Time from the batch's dispatch to its acknowledgement in the state store. */
  readonly hashSeconds: number;
  readonly writeSeconds: number;
  readonly applied: number;
  readonly stale: number;
  readonly rejected: number;
}

export interface TargetRequestEvent {
  readonly target: string;
  readonly method: string;
  /** The HTTP status, or 0 when no answer came (connection refused, reset, timeout). */
  readonly status: number;
  readonly seconds: number;
  readonly bytesSent: number;
}

export interface RetryEvent {
  readonly component: 'source' | 'target';
  /** The source's name or the target's id. */
  readonly name: string;
  /** The error code of the failure that is retried. */
  readonly code: string;
}

export interface KernelSelectedEvent {
  readonly kernel: string;
  readonly workers: number;
  /** Single-thread hashes per second measured for each kernel that passed its self-test (auto only). */
  readonly rates: Readonly<Record<string, number>>;
  /** Kernels that could not be used here, and why (auto only). */
  readonly unavailable: Readonly<Record<string, string>>;
}

/** Channel names: stable, documented in the README for other subscribers. */
export const CHANNELS = Object.freeze({
  runStart: 'phsync:run:start',
  runProgress: 'phsync:run:progress',
  runFinish: 'phsync:run:finish',
  batchHashed: 'phsync:batch:hashed',
  batchWritten: 'phsync:batch:written',
  targetRequest: 'phsync:target:request',
  retry: 'phsync:retry',
  kernelSelected: 'phsync:kernel:selected',
});

export interface EngineEvents {
  readonly runStart: RunStartEvent;
  readonly runProgress: RunProgressEvent;
  readonly runFinish: RunFinishEvent;
  readonly batchHashed: BatchHashedEvent;
  readonly batchWritten: BatchWrittenEvent;
  readonly targetRequest: TargetRequestEvent;
  readonly retry: RetryEvent;
  readonly kernelSelected: KernelSelectedEvent;
}

export type EngineEventName = keyof EngineEvents;

const channels = Object.fromEntries(Object.entries(CHANNELS).map(([name, channel]) => [name, diagnosticsChannel.channel(channel)])) as Record<EngineEventName, diagnosticsChannel.Channel>;

/** Whether anyone listens: lets a publisher skip building an event nobody reads. */
export function observed(name: EngineEventName): boolean {
  return channels[name].hasSubscribers;
}

export function publish<K extends EngineEventName>(name: K, event: EngineEvents[K]): void {
  const channel = channels[name];
  if (channel.hasSubscribers) channel.publish(event);
}

/** Subscribes to one event; returns the function that unsubscribes. */
export function subscribe<K extends EngineEventName>(name: K, listener: (event: EngineEvents[K]) => void): () => void {
  const handler = (message: unknown): void => listener(message as EngineEvents[K]);
  diagnosticsChannel.subscribe(CHANNELS[name], handler);
  return () => {
    diagnosticsChannel.unsubscribe(CHANNELS[name], handler);
  };
}

import http from 'node:http';
import type { IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { FatalError, PhsyncError } from '../errors.ts';
import { publish } from '../observe/engine-events.ts';
import { isLoopback } from '../util/listen-address.ts';
import { DEFAULT_RETRY, retryDelay } from '../util/retry-policy.ts';
import type { RetryPolicy } from '../util/retry-policy.ts';
import type { CredentialBatch, ItemResult } from './credential-batch.ts';
import type { CredentialTarget } from './credential-target.ts';
import { RequestTimeoutError, TargetTransientError, statusError, translateRequestError } from './http-errors.ts';
import { RequestSlots } from './request-slots.ts';
import { parseRetryAfter } from './retry-after.ts';
import { partBatchId, splitBatch } from './split-batch.ts';
import type { BatchPart } from './split-batch.ts';

export interface HttpTargetOptions {
  /** The tenant API's base: `https://host[:port][/path]`, or `http://` to a loopback host only. */
  readonly url: string;
  /** Sent as `Authorization: Bearer <token>`, and nowhere else. */
  readonly token: string | undefined;
  /** CA certificates (PEM) to trust instead of the system's. */
  readonly ca?: Buffer | undefined;
  /** Skip TLS certificate verification. Explicit; the caller warns. */
  readonly insecure?: boolean | undefined;
  /** Per request, from sending it to the last byte of the answer. */
  readonly timeoutMs?: number | undefined;
  readonly retry?: RetryPolicy | undefined;
  readonly maxItemsPerRequest?: number | undefined;
  readonly maxBytesPerRequest?: number | undefined;
  /** HTTP requests open at once, across every write and appliedResults call on this target. */
  readonly maxRequestsInFlight?: number | undefined;
  /** Told about each retry (one line, no secrets), for the caller to log. */
  readonly onNotice?: ((message: string) => void) | undefined;
}

export interface HttpTargetStats {
  /** HTTP requests sent, retries included. */
  readonly requests: number;
  /** Of which retries. */
  readonly retries: number;
  /** Request body bytes sent, retries included. */
  readonly bytesSent: number;
}

export const HTTP_TARGET_DEFAULTS = Object.freeze({
  timeoutMs: 30_000,
  retry: DEFAULT_RETRY,
  maxItemsPerRequest: 1000,
  maxBytesPerRequest: 4 * 1024 * 1024,
  maxRequestsInFlight: 4,
});

/** The API's paths, below the target URL's own path. */
const BATCH_PATH = '/v1/credentials:batch';
/** An answer larger than this is not the tenant's (results for 1,000 items are a few tens of kB). */
const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;
/** appliedResults stops probing here: more parts than the largest batch has items. */
const MAX_PARTS = 1_000_000;
// A bearer token is one visible ASCII word: no spaces or line breaks that could end the header.
const TOKEN_PATTERN = /^[\x21-\x7e]+$/u;

interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

/** 127.0.0.0/8, ::1 and localhost: the only hosts plain http:// may reach. */
export function isLoopbackHost(hostname: string): boolean {
  return isLoopback(hostname.replace(/^\[(.*)\]$/u, '$1'));
}

function positiveInteger(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`HttpTarget: ${name} must be a positive integer, got ${value}`);
  return value;
}

function isItemResult(value: unknown): value is ItemResult {
  if (typeof value !== 'object' || value === null) return false;
  const o = value as Record<string, unknown>;
  return o['status'] === 'applied' || o['status'] === 'stale' || (o['status'] === 'invalid' && typeof o['reason'] === 'string');
}

/** A copy with only the fields an ItemResult has. */
function cleanResult(result: ItemResult): ItemResult {
  return result.status === 'invalid' ? { status: 'invalid', reason: result.reason } : { status: result.status };
}

/**
 * The tenant's HTTP API as a target. A write is split into requests bounded in items and bytes,
 * each with its own derived batch id (see partBatchId), so every request is idempotent at the tenant
 * and may be retried blindly: network errors, timeouts, 5xx and 429 are retried with exponential
 * backoff and full jitter (Retry-After honoured, up to 5 minutes); other 4xx are fatal at once.
 *
 * appliedResults(batchId) probes the parts in order. A batch whose first parts landed but not all of
 * them counts as not applied: the engine drops it and sends those users again under a new batch id,
 * which the tenant applies as a newer change (same password, fresh salt). That costs some hashing
 * after a crash in the middle of a multi-part write, and never loses or corrupts a user; answering
 * the applied parts alone would give the state store fewer results than the batch has users.
 *
 * The token travels only in the Authorization header: not in the id, a message, a notice or an error.
 */
export class HttpTarget implements CredentialTarget {
  readonly id: string;
  readonly #token: string | undefined;
  readonly #base: URL;
  readonly #basePath: string;
  readonly #client: typeof http | typeof https;
  readonly #agent: http.Agent;
  readonly #timeoutMs: number;
  readonly #retry: RetryPolicy;
  readonly #limits: { readonly maxItems: number; readonly maxBytes: number };
  readonly #slots: RequestSlots;
  readonly #onNotice: ((message: string) => void) | undefined;
  readonly #closing = new AbortController();
  #stats = { requests: 0, retries: 0, bytesSent: 0 };

  private constructor(options: HttpTargetOptions, url: URL) {
    this.#base = url;
    this.#basePath = url.pathname.replace(/\/+$/u, '');
    this.id = `http:${url.origin}${this.#basePath}`;
    this.#token = options.token;
    this.#timeoutMs = positiveInteger('timeoutMs', options.timeoutMs ?? HTTP_TARGET_DEFAULTS.timeoutMs);
    this.#retry = options.retry ?? HTTP_TARGET_DEFAULTS.retry;
    if (!Number.isInteger(this.#retry.maxRetries) || this.#retry.maxRetries < 0) throw new RangeError(`HttpTarget: retry.maxRetries must be a non-negative integer, got ${this.#retry.maxRetries}`);
    this.#limits = {
      maxItems: positiveInteger('maxItemsPerRequest', options.maxItemsPerRequest ?? HTTP_TARGET_DEFAULTS.maxItemsPerRequest),
      maxBytes: positiveInteger('maxBytesPerRequest', options.maxBytesPerRequest ?? HTTP_TARGET_DEFAULTS.maxBytesPerRequest),
    };
    const inFlight = positiveInteger('maxRequestsInFlight', options.maxRequestsInFlight ?? HTTP_TARGET_DEFAULTS.maxRequestsInFlight);
    this.#slots = new RequestSlots(inFlight);
    this.#onNotice = options.onNotice;
    const agentOptions = { keepAlive: true, maxSockets: inFlight, maxFreeSockets: inFlight };
    if (url.protocol === 'https:') {
      this.#client = https;
      this.#agent = new https.Agent({ ...agentOptions, ...(options.ca === undefined ? {} : { ca: options.ca }), rejectUnauthorized: options.insecure !== true });
    } else {
      this.#client = http;
      this.#agent = new http.Agent(agentOptions);
    }
  }

  /**
   * Checks the URL and options and makes the target; no request is sent until the first write.
   * Throws FatalError TARGET_INVALID (not an http(s) URL, credentials or a query in it, a malformed
   * token), TARGET_INSECURE (http:// to a host that is not loopback).
   */
  static open(options: HttpTargetOptions): HttpTarget {
    let url: URL;
    try {
      url = new URL(options.url);
    } catch {
      // Not repeated: a malformed URL may still hold a secret.
      throw new FatalError('TARGET_INVALID', '--target is not a valid http(s) URL: use https://HOST[:PORT][/PATH]');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new FatalError('TARGET_INVALID', `--target ${url.protocol}… is not an http(s) URL`);
    }
    if (url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
      // Whatever is there may be a secret: the message does not repeat it.
      throw new FatalError('TARGET_INVALID', `--target ${url.origin}: a target URL has no user, password, query or fragment; the token goes in --target-token-file`);
    }
    if (url.protocol === 'http:' && !isLoopbackHost(url.hostname)) {
      throw new FatalError('TARGET_INSECURE', `--target ${url.origin}${url.pathname}: plain http:// would send the token and the credentials unencrypted; use https:// (http:// is allowed only to 127.0.0.0/8, ::1 and localhost)`);
    }
    if (options.token !== undefined && !TOKEN_PATTERN.test(options.token)) {
      throw new FatalError('TARGET_INVALID', 'the target token is empty or contains spaces, line breaks or control characters; a token file holds the token alone');
    }
    return new HttpTarget(options, url);
  }

  /** A snapshot of the counters, for metrics. */
  get stats(): HttpTargetStats {
    return { ...this.#stats };
  }

  async write(batch: CredentialBatch): Promise<ItemResult[]> {
    this.#checkOpen();
    const parts = splitBatch(batch, this.#limits);
    // A part that fails for good stops its siblings' retries: the write fails either way.
    const stop = new AbortController();
    const signal = AbortSignal.any([this.#closing.signal, stop.signal]);
    let failure: unknown;
    const settled = await Promise.allSettled(
      parts.map((part) =>
        this.#post(part, signal).catch((err: unknown) => {
          failure ??= this.#closing.signal.aborted ? this.#closedError(`batch ${batch.batchId}`) : err;
          stop.abort();
          throw err;
        }),
      ),
    );
    if (failure !== undefined) throw this.#redact(failure);
    const results: ItemResult[] = [];
    for (const outcome of settled) {
      if (outcome.status === 'fulfilled') results.push(...outcome.value);
    }
    return results;
  }

  async appliedResults(batchId: string): Promise<readonly ItemResult[] | undefined> {
    this.#checkOpen();
    const signal = this.#closing.signal;
    try {
      const results: ItemResult[] = [];
      for (let index = 0; index < MAX_PARTS; index++) {
        const last = await this.#get(partBatchId(batchId, index, true), signal);
        if (last !== undefined) return [...results, ...last];
        const part = await this.#get(partBatchId(batchId, index, false), signal);
        // Part `index` never landed: the batch as a whole did not (see the class comment).
        if (part === undefined) return undefined;
        results.push(...part);
      }
      return undefined;
    } catch (err) {
      throw this.#redact(this.#closing.signal.aborted ? this.#closedError(`the question about batch ${batchId}`) : err);
    }
  }

  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort(new FatalError('TARGET_CLOSED', `${this.id}: the target is closed`));
    this.#agent.destroy();
  }

  #checkOpen(): void {
    if (this.#closing.signal.aborted) throw this.#closedError('a request');
  }

  #closedError(what: string): FatalError {
    return new FatalError('TARGET_CLOSED', `${this.id}: the target was closed before ${what} finished`);
  }

  async #post(part: BatchPart, signal: AbortSignal): Promise<ItemResult[]> {
    const what = `batch ${part.batchId} (${part.count} items, ${part.body.length} bytes)`;
    const answer = await this.#withRetries(what, signal, () => this.#send('POST', `${this.#basePath}${BATCH_PATH}`, part.body, signal));
    if (answer.status < 200 || answer.status > 299) throw this.#statusError(answer, what);
    return this.#results(answer, part.batchId, part.count, what);
  }

  /** The results the tenant recorded for one tenant batch id, or undefined on 404. */
  async #get(tenantBatchId: string, signal: AbortSignal): Promise<ItemResult[] | undefined> {
    const what = `the results of batch ${tenantBatchId}`;
    const answer = await this.#withRetries(what, signal, () => this.#send('GET', `${this.#basePath}${BATCH_PATH}/${encodeURIComponent(tenantBatchId)}`, undefined, signal));
    if (answer.status === 404) return undefined;
    if (answer.status < 200 || answer.status > 299) throw this.#statusError(answer, what);
    return this.#results(answer, tenantBatchId, undefined, what);
  }

  #statusError(answer: Answer, what: string): PhsyncError {
    return statusError({ where: this.id, what, status: answer.status, body: answer.body, retryAfterMs: parseRetryAfter(answer.headers['retry-after']) });
  }

  /** `{ batchId, results }` with the id asked about and, when known, one valid result per item. */
  #results(answer: Answer, tenantBatchId: string, count: number | undefined, what: string): ItemResult[] {
    const bad = (why: string): FatalError => new FatalError('TARGET_BAD_RESPONSE', `${this.id}: the answer about ${what} is not the tenant API's: ${why}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(answer.body.toString('utf8'));
    } catch {
      throw bad(`not JSON (HTTP ${answer.status}, ${answer.body.length} bytes)`);
    }
    if (typeof parsed !== 'object' || parsed === null) throw bad('not a JSON object');
    const o = parsed as Record<string, unknown>;
    if (o['batchId'] !== tenantBatchId) throw bad(`it is about batch ${JSON.stringify(o['batchId'])}`);
    const results = o['results'];
    if (!Array.isArray(results)) throw bad('no results array');
    if (count !== undefined && results.length !== count) throw bad(`${results.length} results for ${count} items`);
    const index = results.findIndex((r) => !isItemResult(r));
    if (index >= 0) throw bad(`result ${index} is not { status: applied | stale | invalid (with a reason) }`);
    return (results as ItemResult[]).map(cleanResult);
  }

  /**
   * One request with retries: each attempt waits for a slot, holds it only while the request is
   * open (not while backing off), and transient failures and retryable statuses are tried again.
   * Returns the final answer, whatever its status, when that status is not retryable.
   */
  async #withRetries(what: string, signal: AbortSignal, send: () => Promise<Answer>): Promise<Answer> {
    for (let retry = 0; ; retry++) {
      let error: PhsyncError;
      try {
        const release = await this.#slots.acquire(signal);
        let answer: Answer;
        try {
          answer = await send();
        } finally {
          release();
        }
        if (answer.status !== 429 && (answer.status < 500 || answer.status > 599)) return answer;
        error = this.#statusError(answer, what);
      } catch (err) {
        if (signal.aborted) throw signal.reason ?? err;
        error = translateRequestError(err, this.id);
      }
      if (!(error instanceof TargetTransientError)) throw error;
      if (retry >= this.#retry.maxRetries) {
        throw new FatalError(error.code, `${error.message}; gave up after ${retry + 1} attempts`, { cause: error });
      }
      const delay = Math.max(error.retryAfterMs ?? 0, retryDelay(this.#retry, retry + 1));
      this.#stats.retries++;
      publish('retry', { component: 'target', name: this.id, code: error.code });
      this.#onNotice?.(this.#scrub(`${error.message} [${error.code}]; retry ${retry + 1} of ${this.#retry.maxRetries} in ${delay} ms`));
      try {
        await sleep(delay, undefined, { signal });
      } catch (err) {
        throw signal.reason ?? err;
      }
    }
  }

  /** One HTTP exchange: the whole answer within the timeout, or an error. */
  #send(method: 'GET' | 'POST', path: string, body: Buffer | undefined, signal: AbortSignal): Promise<Answer> {
    const headers: http.OutgoingHttpHeaders = { accept: 'application/json' };
    if (this.#token !== undefined) headers['authorization'] = `Bearer ${this.#token}`;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    this.#stats.requests++;
    this.#stats.bytesSent += body?.length ?? 0;
    return new Promise<Answer>((resolve, reject) => {
      let done = false;
      const finish = (err: unknown, answer?: Answer): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        publish('targetRequest', { target: this.id, method, status: answer?.status ?? 0, seconds: (performance.now() - sent) / 1000, bytesSent: body?.length ?? 0 });
        if (err === undefined && answer !== undefined) resolve(answer);
        else reject(err);
      };
      const req = this.#client.request(
        {
          agent: this.#agent,
          method,
          protocol: this.#base.protocol,
          hostname: this.#base.hostname.replace(/^\[(.*)\]$/u, '$1'),
          port: this.#base.port === '' ? undefined : Number(this.#base.port),
          path,
          headers,
          signal,
        },
        (res) => {
          const chunks: Buffer[] = [];
          let size = 0;
          res.on('data', (chunk: Buffer) => {
            size += chunk.length;
            if (size > MAX_RESPONSE_BYTES) {
              req.destroy(new FatalError('TARGET_BAD_RESPONSE', `${this.id}: an answer larger than ${MAX_RESPONSE_BYTES} bytes is not the tenant API's`));
            } else {
              chunks.push(chunk);
            }
          });
          res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
          res.on('error', (err) => finish(err));
          res.on('close', () => {
            if (!res.complete) finish(Object.assign(new Error('aborted: the connection closed in the middle of the answer'), { code: 'ECONNRESET' }));
          });
        },
      );
      const sent = performance.now();
      const timer = setTimeout(() => req.destroy(new RequestTimeoutError(`${this.#timeoutMs} ms`)), this.#timeoutMs);
      req.on('error', (err) => finish(err));
      req.end(body);
    });
  }

  /** The token, should it ever reach a text, replaced. */
  #scrub(text: string): string {
    return this.#token === undefined ? text : text.replaceAll(this.#token, '[redacted]');
  }

  #redact(err: unknown): unknown {
    for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
      e.message = this.#scrub(e.message);
      if (e.stack !== undefined) e.stack = this.#scrub(e.stack);
    }
    return err;
  }
}

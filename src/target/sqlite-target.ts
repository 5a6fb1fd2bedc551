import { resolve } from 'node:path';
import { Worker } from 'node:worker_threads';
import { FatalError, PhsyncError } from '../errors.ts';
import type { CredentialBatch, ItemResult } from './credential-batch.ts';
import type { CredentialTarget } from './credential-target.ts';
import type { TenantReply, TenantRequest, WireError } from './sqlite-target-protocol.ts';

type Pending = { resolve(value: TenantReply & { ok: true }): void; reject(err: Error): void };

const WORKER_URL = new URL('./sqlite-target-worker.ts', import.meta.url);
/**
 * The tenant thread's name, which Node gives the OS thread: `top -H`, `ps -L` and /proc tell it from
 * the hash workers (all "WorkerThread"), and the e2e bench measures its CPU apart. At most 15 bytes.
 */
export const TENANT_THREAD_NAME = 'phsync-tenant';

function toError(e: WireError): PhsyncError {
  return e.fatal ? new FatalError(e.code, e.message) : new PhsyncError(e.code, e.message);
}

/**
 * The embedded tenant as a target. A batch is one transaction in the tenant and is recorded there by
 * batchId, so a batch that landed just before a crash is recognised on resume, not applied twice.
 *
 * The tenant runs on a thread of its own, as a real tenant runs in a process of its own: its SQLite
 * work (about a third of the main thread's time per user when it ran there) then overlaps the
 * engine's reading, screening and acknowledging instead of adding to it. Batches are applied in the
 * order they are written. The thread keeps the process alive only while a request is pending.
 */
export class SqliteTarget implements CredentialTarget {
  readonly id: string;
  readonly #worker: Worker;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #closed: Promise<void> | undefined;
  #failure: Error | undefined;

  private constructor(path: string, worker: Worker) {
    this.id = `sqlite:${resolve(path)}`;
    this.#worker = worker;
    worker.on('message', (reply: TenantReply) => this.#settle(reply));
    worker.on('error', (err) => this.#fail(new FatalError('TARGET_WRITE_FAILED', `${this.id}: the tenant thread failed: ${err.message}`, { cause: err })));
    worker.on('exit', () => this.#fail(new FatalError('TARGET_CLOSED', `${this.id}: the tenant thread has exited`)));
  }

  /** Opens (and creates or migrates) the tenant store on its thread; its errors are thrown here. */
  static async open(path: string): Promise<SqliteTarget> {
    // A small young generation: the thread's garbage is one batch's items at a time.
    const worker = new Worker(WORKER_URL, { name: TENANT_THREAD_NAME, workerData: { path }, resourceLimits: { maxYoungGenerationSizeMb: 8 } });
    const opened = await new Promise<TenantReply>((resolveOpen, rejectOpen) => {
      worker.once('message', resolveOpen);
      worker.once('error', rejectOpen);
    });
    if (!opened.ok) {
      await worker.terminate();
      throw toError(opened.error);
    }
    worker.unref();
    return new SqliteTarget(path, worker);
  }

  async write(batch: CredentialBatch): Promise<ItemResult[]> {
    const reply = await this.#ask({ id: 0, op: 'write', batch });
    return reply.value as ItemResult[];
  }

  async appliedResults(batchId: string): Promise<readonly ItemResult[] | undefined> {
    const reply = await this.#ask({ id: 0, op: 'results', batchId });
    return reply.value;
  }

  /** Lets the batches already written finish, closes the store and ends the thread. Idempotent. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#failure === undefined) {
        await this.#ask({ id: 0, op: 'close' }).catch(() => undefined);
      }
      await this.#worker.terminate();
    })();
    return this.#closed;
  }

  #ask(request: TenantRequest): Promise<TenantReply & { ok: true }> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#closed !== undefined && request.op !== 'close') return Promise.reject(new FatalError('TARGET_CLOSED', `${this.id}: the target is closed`));
    const id = this.#nextId++;
    return new Promise((resolveReply, rejectReply) => {
      this.#pending.set(id, { resolve: resolveReply, reject: rejectReply });
      if (this.#pending.size === 1) this.#worker.ref();
      this.#worker.postMessage({ ...request, id });
    });
  }

  #settle(reply: TenantReply): void {
    const pending = this.#pending.get(reply.id);
    if (pending === undefined) return;
    this.#pending.delete(reply.id);
    if (this.#pending.size === 0) this.#worker.unref();
    if (reply.ok) pending.resolve(reply);
    else pending.reject(toError(reply.error));
  }

  #fail(err: Error): void {
    this.#failure ??= err;
    for (const pending of this.#pending.values()) pending.reject(this.#failure);
    this.#pending.clear();
  }
}

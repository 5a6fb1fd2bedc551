/**
 * The thread that owns the embedded tenant's SQLite file for a SqliteTarget: it opens the store, then
 * applies batches and answers questions about them, one message at a time, in order.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { MessagePort } from 'node:worker_threads';
import { FatalError, PhsyncError, errorMessage } from '../errors.ts';
import { TenantStore } from '../tenant/tenant-store.ts';
import type { TenantRequest, TenantReply, WireError } from './sqlite-target-protocol.ts';

function wireError(err: unknown): WireError {
  return { code: err instanceof PhsyncError ? err.code : 'TARGET_WRITE_FAILED', message: errorMessage(err), fatal: err instanceof FatalError };
}

// Imported on the main thread only to fill the compile cache (bin/warm-compile-cache.js): then it
// does nothing.
if (parentPort !== null) serve(parentPort, (workerData as { path: string }).path);

function serve(port: MessagePort, path: string): void {
  let store: TenantStore | undefined;
  try {
    store = TenantStore.open(path);
    port.postMessage({ id: 0, ok: true, value: undefined } satisfies TenantReply);
  } catch (err) {
    port.postMessage({ id: 0, ok: false, error: wireError(err) } satisfies TenantReply);
  }

  port.on('message', (request: TenantRequest) => {
    let reply: TenantReply;
    try {
      if (store === undefined) throw new FatalError('TARGET_CLOSED', 'the tenant store is not open');
      switch (request.op) {
        case 'write':
          reply = { id: request.id, ok: true, value: store.applyBatch(request.batch) };
          break;
        case 'results':
          reply = { id: request.id, ok: true, value: store.batchResults(request.batchId) };
          break;
        case 'close':
          store.close();
          store = undefined;
          reply = { id: request.id, ok: true, value: undefined };
          break;
      }
    } catch (err) {
      reply = { id: request.id, ok: false, error: wireError(err) };
    }
    port.postMessage(reply);
    if (request.op === 'close') port.close();
  });
}

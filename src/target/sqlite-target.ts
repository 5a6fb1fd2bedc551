import { resolve } from 'node:path';
import { TenantStore } from '../tenant/tenant-store.ts';
import type { CredentialBatch, ItemResult } from './credential-batch.ts';
import type { CredentialTarget } from './credential-target.ts';

/**
 * The embedded tenant as a target. A batch is one transaction in the tenant and is recorded there by
 * batchId, so a batch that landed just before a crash is recognised on resume, not applied twice.
 */
export class SqliteTarget implements CredentialTarget {
  readonly id: string;
  readonly #store: TenantStore;

  constructor(path: string) {
    this.id = `sqlite:${resolve(path)}`;
    this.#store = TenantStore.open(path);
  }

  async write(batch: CredentialBatch): Promise<ItemResult[]> {
    return this.#store.applyBatch(batch);
  }

  async appliedResults(batchId: string): Promise<readonly ItemResult[] | undefined> {
    return this.#store.batchResults(batchId);
  }

  async close(): Promise<void> {
    this.#store.close();
  }
}

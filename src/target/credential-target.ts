import type { CredentialBatch, ItemResult } from './credential-batch.ts';

/**
 * Where credentials go. A target answers one result per item, in order; the engine acknowledges a
 * user only after that answer. `id` is stable for the same destination, because acknowledgements
 * in the state store are kept per target.
 */
export interface CredentialTarget {
  readonly id: string;
  write(batch: CredentialBatch): Promise<ItemResult[]>;
  /**
   * The results of a batch this target already applied, or undefined when it did not apply it or
   * cannot tell. Asked on resume for batches a killed run left in flight.
   */
  appliedResults(batchId: string): Promise<readonly ItemResult[] | undefined>;
  close(): Promise<void>;
}

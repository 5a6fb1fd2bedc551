import type { CredentialBatch, ItemResult } from './credential-batch.ts';

/** What the main thread asks the tenant thread (see sqlite-target-worker.ts). */
export type TenantRequest =
  | { readonly id: number; readonly op: 'write'; readonly batch: CredentialBatch }
  | { readonly id: number; readonly op: 'results'; readonly batchId: string }
  | { readonly id: number; readonly op: 'close' };

/** An error as it crosses the thread boundary: its code, its message, and whether it stops the run. */
export interface WireError {
  readonly code: string;
  readonly message: string;
  readonly fatal: boolean;
}

/** The answer to request `id`; id 0 answers the opening of the store. */
export type TenantReply =
  | { readonly id: number; readonly ok: true; readonly value: ItemResult[] | readonly ItemResult[] | undefined }
  | { readonly id: number; readonly ok: false; readonly error: WireError };

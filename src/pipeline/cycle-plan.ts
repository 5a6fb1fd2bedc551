import type { Watermark } from '../state/watermark-store.ts';

export type CycleRequest = 'auto' | 'full' | 'delta';

export interface CyclePlan {
  readonly kind: 'full' | 'delta';
  /** Why, for the operator: "first sync", "scope changed", "daily full scan", "asked for"… */
  readonly reason: string;
}

/**
 * Full or delta. A delta needs a watermark from a cycle with the same scope; a file source is always
 * read whole (its "delta" is the fingerprint comparison); a full scan is due every `fullScanEveryMs`
 * to find users deleted from the directory.
 */
export function planCycle(options: {
  readonly requested: CycleRequest;
  readonly watermark: Watermark | undefined;
  readonly scopeHash: string;
  readonly tracksChanges: boolean;
  readonly now: number;
  readonly fullScanEveryMs: number;
}): CyclePlan {
  const { requested, watermark } = options;
  if (requested === 'full') return { kind: 'full', reason: 'asked for' };
  if (!options.tracksChanges) return { kind: 'full', reason: 'an LDIF file is read whole' };
  if (watermark === undefined) return { kind: 'full', reason: 'first sync of this source' };
  if (watermark.scopeHash !== options.scopeHash) return { kind: 'full', reason: 'the scope or mapping changed' };
  if (requested === 'auto' && options.now - watermark.fullScanAt >= options.fullScanEveryMs) return { kind: 'full', reason: 'periodic full scan' };
  return { kind: 'delta', reason: requested === 'delta' ? 'asked for' : 'changes since the last cycle' };
}

import type { CredentialBatch, CredentialItem } from './credential-batch.ts';

/** One HTTP request's share of a batch: items [start, start + count), already serialised. */
export interface BatchPart {
  /** The id the tenant records this request under (see partBatchId). */
  readonly batchId: string;
  readonly start: number;
  readonly count: number;
  /** The JSON body, `{ batchId, source, items }`, exactly as sent. */
  readonly body: Buffer;
}

export interface SplitLimits {
  readonly maxItems: number;
  readonly maxBytes: number;
}

/**
 * The tenant batch id of part `index` of batch `batchId`: `<batchId>.<index>`, and
 * `<batchId>.<index>.last` for the final part. Every request is then idempotent at the tenant on its
 * own, and the final marker lets appliedResults tell "all parts landed" from "the first parts
 * landed" without knowing how the batch was split.
 */
export function partBatchId(batchId: string, index: number, last: boolean): string {
  return last ? `${batchId}.${index}.last` : `${batchId}.${index}`;
}

/**
 * An item as the tenant API has it: the documented fields only, in a fixed order. A disable item has
 * no `credential` field at all (not null: the tenant reads an absent credential as "keep the one you
 * have").
 */
function itemJson(item: CredentialItem): string {
  return JSON.stringify({
    sourceAnchor: item.sourceAnchor,
    userPrincipalName: item.userPrincipalName,
    ...(item.credential === undefined ? {} : { credential: item.credential }),
    forceChangePasswordNextSignIn: item.forceChangePasswordNextSignIn,
    disabled: item.disabled,
    changedAt: item.changedAt,
  });
}

function envelope(batchId: string, source: string): [string, string] {
  return [`{"batchId":${JSON.stringify(batchId)},"source":${JSON.stringify(source)},"items":[`, ']}'];
}

/**
 * Splits a batch into requests of at most `maxItems` items and `maxBytes` bytes of body, greedily and
 * in order, so the split depends only on the batch's content and the limits. An item too large for
 * a request on its own still goes, alone: the tenant then answers 413, which says what to change.
 * An empty batch has no parts.
 */
export function splitBatch(batch: CredentialBatch, limits: SplitLimits): BatchPart[] {
  const n = batch.items.length;
  if (n === 0) return [];
  const jsons = batch.items.map(itemJson);
  const sizes = jsons.map((j) => Buffer.byteLength(j, 'utf8'));
  // The envelope's size with the longest id any part can have (index < n, with the final marker).
  const [head, tail] = envelope(partBatchId(batch.batchId, n, true), batch.source);
  const overhead = Buffer.byteLength(head, 'utf8') + Buffer.byteLength(tail, 'utf8');

  const ranges: [number, number][] = [];
  let start = 0;
  while (start < n) {
    let end = start + 1;
    let bytes = overhead + sizes[start]!;
    while (end < n && end - start < limits.maxItems && bytes + 1 + sizes[end]! <= limits.maxBytes) {
      bytes += 1 + sizes[end]!;
      end++;
    }
    ranges.push([start, end]);
    start = end;
  }
  return ranges.map(([from, to], index) => {
    const id = partBatchId(batch.batchId, index, index === ranges.length - 1);
    const [h, t] = envelope(id, batch.source);
    return { batchId: id, start: from, count: to - from, body: Buffer.from(`${h}${jsons.slice(from, to).join(',')}${t}`, 'utf8') };
  });
}

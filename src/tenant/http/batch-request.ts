import type { CredentialBatch, CredentialItem } from '../../target/credential-batch.ts';
import { HttpError } from './http-error.ts';

const BATCH_FIELDS = new Set(['batchId', 'source', 'items']);
const ITEM_FIELDS = new Set<string>(['sourceAnchor', 'userPrincipalName', 'credential', 'forceChangePasswordNextSignIn', 'disabled', 'changedAt', 'riskLevel', 'samePassword'] satisfies (keyof CredentialItem)[]);
export const MAX_ID_LENGTH = 256;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(message: string): HttpError {
  return new HttpError(400, 'invalid_request', message);
}

/** Field names as the client sent them, quoted, shortened, at most five: enough to find them. */
export function nameFields(names: readonly string[]): string {
  const shown = names.slice(0, 5).map((name) => JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name));
  return `${names.length === 1 ? 'field' : 'fields'} ${shown.join(', ')}${names.length > 5 ? ` and ${names.length - 5} more` : ''}`;
}

export function unknownFields(value: Record<string, unknown>, known: ReadonlySet<string>): string[] {
  return Object.keys(value).filter((key) => !known.has(key));
}

function requireId(body: Record<string, unknown>, field: 'batchId' | 'source'): string {
  const value = body[field];
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_ID_LENGTH) {
    throw invalid(`${field} must be a non-empty string of at most ${MAX_ID_LENGTH} characters`);
  }
  return value;
}

/**
 * The shape of POST /v1/credentials:batch: a 400 for what makes the batch unreadable (not an object,
 * a missing or ill-typed batchId, source or items, an item that is not an object, a field nobody
 * knows), a 413 for too many items. What is wrong inside one item's values is not checked here: the
 * store answers that item `invalid` with the reason and applies the rest.
 */
export function parseBatchRequest(body: unknown, maxItems: number): CredentialBatch {
  if (!isObject(body)) throw invalid('the body must be a JSON object { batchId, source, items }');
  const extra = unknownFields(body, BATCH_FIELDS);
  if (extra.length > 0) throw invalid(`unknown ${nameFields(extra)} in the batch (known: batchId, source, items)`);
  const batchId = requireId(body, 'batchId');
  const source = requireId(body, 'source');
  const items = body['items'];
  if (!Array.isArray(items)) throw invalid('items must be an array');
  if (items.length > maxItems) {
    throw new HttpError(413, 'too_many_items', `the batch has ${items.length} items; at most ${maxItems} are accepted in one batch`);
  }
  items.forEach((item: unknown, index) => {
    if (!isObject(item)) throw invalid(`items[${index}] must be an object`);
    const unknown = unknownFields(item, ITEM_FIELDS);
    if (unknown.length > 0) throw invalid(`items[${index}] has unknown ${nameFields(unknown)} (known: ${[...ITEM_FIELDS].join(', ')})`);
  });
  // Field values are the store's to judge, item by item (item-validation.ts); so is a missing field:
  // `credential` may be absent from a disable item (`disabled: true`), and from no other.
  return { batchId, source, items: items as CredentialItem[] };
}

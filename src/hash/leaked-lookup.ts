import { LeakedStore } from '../leaked/leaked-store.ts';

/**
 * The leaked-hash stores a worker thread has open, by path: opened on a thread's first batch and kept
 * for the thread's life (one mapping or file descriptor per thread; the OS page cache is shared by
 * all of them).
 */
const stores = new Map<string, LeakedStore>();

/** How a worker reads the store: LeakedStore's choice, or forced (`--leaked-lookup`). */
export type LeakedLookupMode = 'auto' | 'mmap' | 'pread';
export const LEAKED_LOOKUP_MODES: readonly LeakedLookupMode[] = ['auto', 'mmap', 'pread'];

/**
 * Which of `count` NT hashes are in the store: 1 or 0 per user. Throws the store's PhsyncError when it
 * cannot be opened, which fails the batch (the pool checked it at start, so that means it changed).
 */
export function lookUpLeaked(path: string, mode: LeakedLookupMode, ntHashes: Uint8Array, count: number): Uint8Array<ArrayBuffer> {
  const key = `${mode}:${path}`;
  let store = stores.get(key);
  if (store === undefined) {
    store = LeakedStore.open(path, { mode });
    stores.set(key, store);
  }
  const found = new Uint8Array(count);
  store.lookupBatch(ntHashes, count, found); // mapped: the whole batch in one native call
  return found;
}

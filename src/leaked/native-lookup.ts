import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PhsyncError, errorMessage } from '../errors.ts';
import { LEAKED_ADDON_PATH, LEAKED_BUILD_COMMAND } from './native/build-leaked-native.ts';

export { LEAKED_ADDON_PATH, LEAKED_BUILD_COMMAND };

/** A mapped store, as native/leaked_lookup.c hands it out: opaque to JavaScript. */
export type MappedStore = { readonly __brand: 'MappedStore' };

/** What native/leaked_lookup.c exports. All synchronous; TypeError/RangeError on bad arguments. */
export interface LeakedLookupAddon {
  /** Maps the whole file open on `fd` (which the caller still closes). Throws an Error coded with the errno name. */
  open(fd: number): MappedStore;
  /** The prevalence of the hash at ntHashes[offset..offset+16), or 0. */
  lookup(handle: MappedStore, ntHashes: Uint8Array, offset: number): number;
  /** out[i] = 1/0 (Uint8Array) or the prevalence/0 (Uint32Array) for `count` hashes; returns how many were found. */
  lookupBatch(handle: MappedStore, ntHashes: Uint8Array, count: number, out: Uint8Array | Uint32Array): number;
  /** Unmaps (idempotent); lookups then throw LEAKED_STORE_CLOSED. */
  close(handle: MappedStore): void;
}

/**
 * Loads the compiled addon. Throws LEAKED_MMAP_UNAVAILABLE when it is missing (it is optional at
 * install: no compiler, or Windows) or does not load; LeakedStore then reads by pread.
 */
export function loadLeakedLookupAddon(addonPath: string = LEAKED_ADDON_PATH): LeakedLookupAddon {
  if (!existsSync(addonPath)) {
    throw new PhsyncError('LEAKED_MMAP_UNAVAILABLE', `the native leaked-hash lookup is not built (${addonPath} is missing); build it with \`${LEAKED_BUILD_COMMAND}\` (needs gcc)`);
  }
  let addon: unknown;
  try {
    addon = createRequire(import.meta.url)(addonPath);
  } catch (err) {
    throw new PhsyncError('LEAKED_MMAP_UNAVAILABLE', `the native leaked-hash lookup (${addonPath}) cannot be loaded: ${errorMessage(err)}; rebuild it with \`${LEAKED_BUILD_COMMAND}\``, {
      cause: err,
    });
  }
  if (!isLeakedLookupAddon(addon)) {
    throw new PhsyncError('LEAKED_MMAP_UNAVAILABLE', `${addonPath} is not the native leaked-hash lookup; rebuild it with \`${LEAKED_BUILD_COMMAND}\``);
  }
  return addon;
}

function isLeakedLookupAddon(value: unknown): value is LeakedLookupAddon {
  if (typeof value !== 'object' || value === null) return false;
  const functions = value as Record<string, unknown>;
  return ['open', 'lookup', 'lookupBatch', 'close'].every((name) => typeof functions[name] === 'function');
}

// Node's module compile cache for phsync's own TypeScript: the type-stripped source and V8's code
// cache, kept on disk and keyed by each file's content and the Node version (a changed file is simply
// stripped again). Without it, every thread that imports a .ts file (the main thread, each hash
// worker, the embedded tenant's thread) instantiates Node's TypeScript stripper, a WebAssembly build
// of swc whose memory is never returned: measured, ~30 MB more peak RSS in a 100,000-user sync and
// twice the start-up time (0.57 → 0.31 s for --help).
//
// The cache lives in the package (node_modules/.cache/phsync), not in the shared temp directory
// Node would pick by default: whoever can write there can already change phsync's code, so a cache
// entry can never be a way in. A read-only install simply runs without it. NODE_COMPILE_CACHE
// (another directory) and NODE_DISABLE_COMPILE_CACHE=1 work as Node documents them.
import module from 'node:module';
import { fileURLToPath } from 'node:url';

export const COMPILE_CACHE_DIR = fileURLToPath(new URL('../node_modules/.cache/phsync/compile-cache', import.meta.url));

/**
 * Enables the cache for this thread and, through the environment, for the worker threads and child
 * processes started after it. Never throws: the cache is an optimization. Returns where it is, or
 * undefined and why not.
 */
export function enableCompileCache() {
  if (typeof module.enableCompileCache !== 'function') return { directory: undefined, reason: 'this Node has no compile cache' };
  const base = process.env.NODE_COMPILE_CACHE ?? COMPILE_CACHE_DIR;
  const result = module.enableCompileCache(base);
  const directory = result.directory;
  if (directory === undefined) return { directory: undefined, reason: result.message ?? 'disabled' };
  // Worker threads copy process.env when they start: they share the cache. The base, not the
  // directory Node returns: that one already ends in Node's version subdirectory, which a worker
  // would add again, and its lookups would all miss.
  process.env.NODE_COMPILE_CACHE = base;
  return { directory, reason: undefined };
}

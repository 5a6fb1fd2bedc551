// Run at `npm install`: fills the compile cache (see compile-cache.js) with every module phsync's
// threads load, so that even the first sync after installing (often the big one) runs without the
// TypeScript stripper's memory. Importing these modules runs nothing: each one only defines.
// Never fails the install: without the cache phsync works, with more memory.
import module, { createRequire } from 'node:module';
import { enableCompileCache } from './compile-cache.js';

const { directory, reason } = enableCompileCache();
if (directory === undefined) {
  process.stdout.write(`phsync: no compile cache (${reason}); phsync runs without it\n`);
} else {
  try {
    // The main thread's modules, a hash worker's, the embedded tenant's thread's.
    const { loadEveryCommand } = await import('../src/cli/main.ts');
    await loadEveryCommand();
    await import('../src/hash/hash-worker.ts');
    await import('../src/target/sqlite-target-worker.ts');
    // piscina first tries require() on its worker file, and the cache keys a file loaded that way
    // by its path, apart from the import above. That require() strips the file's types, then fails
    // (the worker's module graph has a top-level await) and piscina imports it: so does this.
    try {
      createRequire(import.meta.url)('../src/hash/hash-worker.ts');
    } catch (err) {
      if (err?.code !== 'ERR_REQUIRE_ASYNC_MODULE') throw err;
    }
    module.flushCompileCache();
    process.stdout.write(`phsync: compile cache filled in ${directory}\n`);
  } catch (err) {
    process.stdout.write(`phsync: the compile cache was not filled (${err instanceof Error ? err.message : String(err)}); phsync runs without it\n`);
  }
}

#!/usr/bin/env -S MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=131072 MALLOC_TRIM_THRESHOLD_=1048576 node --max-semi-space-size=8 --max-old-space-size=2000
// --max-semi-space-size=8: a young generation of at most 2 × 8 MB instead of V8's 2 × 16 MB or more. The engine's
// per-user objects die young either way, and a 100,000-user full sync peaks ~60 MB lower at the same
// throughput (measured). V8 reads it only at start-up, hence the shebang; `node bin/phsync.js` runs
// without it unless NODE_OPTIONS has it. Worker threads set their own limit.
// --max-old-space-size=2000: V8 lets the old generation grow up to 4× its live size between full
// collections when the heap may reach 2 GB or more (its default here is 4 GB), and about 2× below
// that. The engine's live heap is small and flat, so the cap costs nothing there and lowers the
// peak (1,000,000-user LDIF sync into the embedded tenant, the executables of two worktrees
// alternating, 2 rounds: 287-295 → 252 MiB, 78.2-79.5 → 76.1-77.7 s, no more CPU). Only `phsync audit` keeps every user in memory (~250 bytes each): past ~7
// million users, run it as `node --max-old-space-size=8000 bin/phsync.js audit …`.
// The MALLOC_* variables (glibc; ignored elsewhere) keep freed memory from piling up in the process:
// two malloc arenas instead of one per thread, buffers over 128 KiB (LDAP pages, SQLite's sorter) in
// their own mappings returned at free, and free memory at the top of the heap trimmed past 1 MiB.
// glibc otherwise raises the mmap threshold after the first large free, and the main thread's heap
// then kept ~60 MB more in a 1M-user sync (measured: [heap] 96 → 37 MiB, peak RSS 403 → 347 MiB).
// phsync runs its TypeScript sources directly on Node 24 (type stripping). The project pins Node 24
// as a devDependency, which npm scripts and npx put first on the PATH; say so when an older node runs us.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(`phsync needs Node.js 24 or later (this is ${process.version}). Run it as "npx phsync" from the project, after "npm install", which brings Node 24.\n`);
  process.exit(1);
}
// Until a command installs its own handler (src/cli/shutdown-signal.ts and the like), a SIGINT or
// SIGTERM finds nothing started: exit 130 at once, as documented, rather than die by the signal while
// modules load. Once another handler listens, it decides.
const stopEarly = (signal) => {
  if (process.listenerCount(signal) === 1) process.exit(130);
};
process.on('SIGINT', stopEarly);
process.on('SIGTERM', stopEarly);
// Before the first TypeScript module loads (see compile-cache.js); imported only now, after the
// version check, since an old Node could not even link it.
const { enableCompileCache } = await import('./compile-cache.js');
enableCompileCache();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);

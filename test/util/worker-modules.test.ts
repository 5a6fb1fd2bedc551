import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { it } from 'node:test';
import { projectModuleGraph } from '../support/module-graph.ts';

const ROOT = resolve(import.meta.dirname, '../..');

/** Every module that src/ loads by URL (`new URL('./x.ts', import.meta.url)`): the worker threads' entries. */
function workerEntries(): string[] {
  const entries: string[] = [];
  for (const file of readdirSync(join(ROOT, 'src'), { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'))) {
    const path = join(ROOT, 'src', file);
    for (const match of readFileSync(path, 'utf8').matchAll(/new URL\('(\.{1,2}\/[^']+\.ts)', import\.meta\.url\)/g)) entries.push(resolve(dirname(path), match[1]!));
  }
  return entries;
}

// V8 aborts the whole process (SIGTRAP, "Check failed: (location_) != nullptr" in
// SourceTextModule::AsyncModuleExecutionFulfilled) when a worker thread is terminated while an async
// module graph, one with a top-level await anywhere in it, is still evaluating: a hash pool closed
// right after it started (a sync with nothing to hash) did that now and then. So no module a worker
// loads may await at its top level.
it('no module a worker thread loads awaits at its top level', () => {
  const entries = workerEntries();
  assert.deepEqual(entries.map((e) => relative(ROOT, e)).sort(), ['src/hash/hash-worker.ts', 'src/target/sqlite-target-worker.ts']);
  for (const entry of entries) {
    const graph = projectModuleGraph(entry);
    assert.ok(graph.modules.some((m) => m.endsWith('src/hash/wasm-simd/build-wasm.ts')) || !entry.endsWith('hash-worker.ts'), 'the hash worker loads the wasm-simd build module (the one that had a top-level await)');
    assert.deepEqual(graph.topLevelAwaits.map((a) => `${relative(ROOT, a.file)}:${a.line}: ${a.text}`), [], `modules loaded by ${relative(ROOT, entry)}`);
  }
});

it('finds a top-level await wherever the module evaluates it, and none inside functions', () => {
  const graph = projectModuleGraph(join(ROOT, 'bin/phsync.js'));
  const lines = graph.topLevelAwaits.filter((a) => a.file.endsWith('bin/phsync.js')).map((a) => a.text);
  // The executable's entry does await at its top level (the main thread is never terminated).
  assert.ok(lines.includes("await main(process.argv)"), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith("await import('./compile-cache.js')")), lines.join('\n'));
});

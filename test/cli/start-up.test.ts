import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { PHSYNC_BIN } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const WARM = join(ROOT, 'bin', 'warm-compile-cache.js');
const COMMANDS = ['sync', 'run', 'signin', 'status', 'report', 'explain', 'audit', 'fixture', 'tenant', 'leaked'];

/** The pinned Node on a script, with an environment of our choosing (undefined removes a variable). */
function node(args: readonly string[], extra: Record<string, string | undefined> = {}): { status: number | null; stdout: string; stderr: string } {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  const result = spawnSync(process.execPath, args, { cwd: ROOT, encoding: 'utf8', env });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

describe('start-up', () => {
  it('loads a command\'s module only for that command: every command still has its options and help', () => {
    const top = node([PHSYNC_BIN, '--help']);
    assert.equal(top.status, 0, top.stderr);
    for (const command of COMMANDS) {
      assert.match(top.stdout, new RegExp(`phsync ${command}\\b`), `${command} is listed`);
      const help = node([PHSYNC_BIN, command, '--help']);
      assert.equal(help.status, 0, `${command} --help: ${help.stderr}`);
      assert.ok(help.stdout.length > top.stdout.length / 10, `${command} --help says something`);
    }
    // Options belong to their command: sync's are known to sync and unknown at the top.
    assert.match(node([PHSYNC_BIN, 'sync', '--help']).stdout, /--source/);
    const unknown = node([PHSYNC_BIN, 'status', '--source', 'x']);
    assert.equal(unknown.status, 1);
    assert.match(unknown.stderr, /Unknown argument/);
    const none = node([PHSYNC_BIN]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /name a command/);
  });

  it('runs nothing when its entry modules are imported (the compile cache is filled that way)', () => {
    const script = "await import('./src/cli/main.ts'); await import('./src/target/sqlite-target-worker.ts'); await import('./src/hash/hash-worker.ts'); process.stdout.write('imported');";
    const result = node(['--input-type=module', '-e', script]);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, 'imported');
    assert.equal(result.stderr, '');
  });

  it('fills a compile cache with every TypeScript module a sync loads, in every thread', () => {
    using dir = tempDir();
    const cache = dir.file('cache');
    const env = { NODE_COMPILE_CACHE: cache, NODE_DISABLE_COMPILE_CACHE: undefined };
    const warm = node([WARM], env);
    assert.equal(warm.status, 0, warm.stderr);
    assert.match(warm.stdout, /compile cache filled in/);
    assert.ok(filesUnder(cache).length > 100, 'phsync\'s modules and its dependencies\' are there');
    // Node's own trace of the cache: every lookup, in the main thread, the hash workers and the
    // embedded tenant's thread.
    const sync = node([PHSYNC_BIN, 'sync', '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'), '--no-progress', '--json'], { ...env, NODE_DEBUG_NATIVE: 'COMPILE_CACHE' });
    assert.equal(sync.status, 0, sync.stderr);
    assert.equal((JSON.parse(sync.stdout) as { status: string }).status, 'succeeded');
    // Threads write the trace at once, so its lines interleave: look for Node's phrases, not lines.
    const trace = sync.stderr;
    const hits = trace.match(/retrieving transpile cache for StrippedTypeScript/g)?.length ?? 0;
    assert.ok(hits > 100, `${hits} TypeScript modules found in the cache`);
    assert.match(trace, /StrippedTypeScript \S*hash-worker\.ts/, 'the hash workers looked theirs up');
    assert.match(trace, /StrippedTypeScript \S*sqlite-target-worker\.ts/, 'the tenant\'s thread looked its up');
    // None missed: no thread stripped a file's types itself (and loaded Node's stripper for it).
    const missed = [...trace.matchAll(/no transpile cache for StrippedTypeScript (\S+)/g)].map((m) => m[1]);
    assert.deepEqual(missed, []);
    assert.doesNotMatch(trace, /saving transpilation cache for StrippedTypeScript/);
    // The workers share the main thread's directory (not one nested in it).
    assert.deepEqual(readdirSync(cache), readdirSync(cache).filter((name) => name.startsWith('v')).slice(0, 1));
    assert.ok(filesUnder(cache).every((f) => f.split('/').length === 2), 'no nested cache directory');
  });

  it('says so and goes on when the cache cannot be written', () => {
    using dir = tempDir();
    const result = node([WARM], { NODE_DISABLE_COMPILE_CACHE: '1' });
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /no compile cache \(.+\); phsync runs without it/);
    void dir;
  });
});

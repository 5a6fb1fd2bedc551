/**
 * A git revision of this repository checked out beside it, ready to run: for A/B runs of two
 * versions of phsync on the same machine in the same session (native-bench/ab.bench.ts).
 *
 * The checkout shares this repository's node_modules (a symlink), so both versions must have the
 * same dependencies: a revision whose package-lock.json differs from the working tree's is refused.
 * Its own kernels (the native addons, the WebAssembly module) are built from its own sources, since
 * a revision may change them, and Node's compile cache is filled for it as `npm install` would.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

export interface Checkout {
  /** Where the revision is checked out. */
  readonly dir: string;
  /** The full commit id. */
  readonly commit: string;
  /** Removes the checkout (git worktree remove). */
  remove(): void;
}

/** The build steps of `npm install`, relative to a checkout, each run when that revision has it. */
const BUILD_STEPS: readonly (readonly string[])[] = [
  ['src/hash/native/build-native.ts', '--strict'],
  ['src/leaked/native/build-leaked-native.ts', '--strict'],
  ['src/hash/wasm-simd/build-wasm.ts'],
  ['bin/warm-compile-cache.js'],
];

function git(repo: string, args: readonly string[]): { ok: boolean; out: string } {
  const r = spawnSync('git', ['-C', repo, ...args], { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() };
}

/** The full commit id `rev` names in `repo`; throws with git's words if it names none. */
export function resolveCommit(repo: string, rev: string): string {
  const r = git(repo, ['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]);
  if (!r.ok || !/^[0-9a-f]{40}$/.test(r.out)) throw new Error(`${rev} is not a commit of ${repo}`);
  return r.out;
}

/** Checks `rev` out in `dir` (which must not exist) and builds it; `node` runs the build steps. */
export function checkoutRevision(repo: string, rev: string, dir: string, node: string): Checkout {
  const commit = resolveCommit(repo, rev);
  if (!git(repo, ['diff', '--quiet', commit, '--', 'package-lock.json']).ok) {
    throw new Error(`${rev} has other dependencies than the working tree (package-lock.json differs): compare it in a clone of its own, after npm install there`);
  }
  const added = git(repo, ['worktree', 'add', '--detach', dir, commit]);
  if (!added.ok) throw new Error(`git worktree add ${dir} ${rev}: ${added.out}`);
  const remove = (): void => void git(repo, ['worktree', 'remove', '--force', dir]);
  try {
    symlinkSync(join(repo, 'node_modules'), join(dir, 'node_modules'), 'dir');
    for (const [script, ...args] of BUILD_STEPS) {
      if (!existsSync(join(dir, script!))) continue;
      const r = spawnSync(node, [script!, ...args], { cwd: dir, encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`${rev}: ${script} failed: ${`${r.stdout}${r.stderr}`.trim()}`);
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { dir, commit, remove };
}

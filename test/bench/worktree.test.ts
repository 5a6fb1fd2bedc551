import assert from 'node:assert/strict';
import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkoutRevision, resolveCommit } from '../../native-bench/bench-support/worktree.ts';
import { tempDir } from '../support/temp-dir.ts';

const repo = fileURLToPath(new URL('../..', import.meta.url));

describe('bench-support/worktree: a revision checked out and built for the A/B bench', { timeout: 120_000 }, () => {
  it('resolves revisions to commits, and refuses a name that is none', () => {
    assert.match(resolveCommit(repo, 'HEAD'), /^[0-9a-f]{40}$/);
    assert.throws(() => resolveCommit(repo, 'no-such-revision-anywhere'), /is not a commit/);
  });

  it('checks HEAD out beside the repository, builds its kernels, and removes it again', () => {
    using parent = tempDir('phsync-worktree-test-');
    const dir = join(parent.path, 'head');
    const checkout = checkoutRevision(repo, 'HEAD', dir, process.execPath);
    try {
      assert.equal(checkout.commit, resolveCommit(repo, 'HEAD'));
      assert.ok(existsSync(join(dir, 'bin', 'phsync.js')), 'the revision\'s files are there');
      assert.ok(lstatSync(join(dir, 'node_modules')).isSymbolicLink(), 'it shares the repository\'s node_modules');
      assert.ok(existsSync(join(dir, 'src', 'hash', 'native', 'build', 'phsync_pbkdf2.node')), 'its native kernel was built from its own sources');
      assert.ok(existsSync(join(dir, 'src', 'hash', 'wasm-simd', 'pbkdf2-sha256.wasm')), 'its WebAssembly kernel was built');
    } finally {
      checkout.remove();
    }
    assert.ok(!existsSync(dir), 'removed');
  });
});

import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteTarget, TENANT_THREAD_NAME } from '../../src/target/sqlite-target.ts';
import { tempDir } from '../support/temp-dir.ts';

/** The OS names of this process's threads (Linux). */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((tid) => {
    try {
      return readFileSync(`/proc/self/task/${tid}/comm`, 'utf8').trim();
    } catch {
      return ''; // the thread ended meanwhile
    }
  });
}

describe('the embedded tenant thread', () => {
  it('carries its name in the OS, so that top -H, ps -L and the e2e bench tell it from the hash workers', async () => {
    assert.ok(Buffer.byteLength(TENANT_THREAD_NAME) <= 15, 'Linux keeps 15 bytes of a thread name');
    assert.ok(!threadNames().includes(TENANT_THREAD_NAME), 'no tenant thread before the target is opened');
    using dir = tempDir('phsync-tenant-thread-');
    const target = await SqliteTarget.open(join(dir.path, 'tenant.db'));
    try {
      assert.ok(threadNames().includes(TENANT_THREAD_NAME), threadNames().join(', '));
    } finally {
      await target.close();
    }
  });
});

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { EngineLock } from '../../src/state/engine-lock.ts';
import { tempDir } from '../support/temp-dir.ts';

const LOCK_MODULE = new URL('../../src/state/engine-lock.ts', import.meta.url).href;

describe('engine lock', () => {
  it('refuses a second engine in the same process until the first releases', () => {
    using dir = tempDir();
    const state = dir.file('state.db');
    const first = EngineLock.acquire(state);
    assert.throws(() => EngineLock.acquire(state), { code: 'STATE_LOCKED', message: /in use by another phsync engine/ });
    first.release();
    EngineLock.acquire(state).release();
  });

  it('is held by another process and freed when that process is killed with SIGKILL', async () => {
    using dir = tempDir();
    const state = dir.file('state.db');
    const holder = spawn(process.execPath, ['--input-type=module', '-e', `
      const { EngineLock } = await import(${JSON.stringify(LOCK_MODULE)});
      // Kept referenced: a collected lock is closed, and so released.
      globalThis.lock = EngineLock.acquire(${JSON.stringify(state)});
      process.stdout.write('held\\n');
      setInterval(() => {}, 1000);
    `], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      const [chunk] = (await once(holder.stdout, 'data')) as [Buffer];
      assert.equal(chunk.toString().trim(), 'held');
      assert.throws(() => EngineLock.acquire(state), { code: 'STATE_LOCKED' });
    } finally {
      holder.kill('SIGKILL');
      await once(holder, 'exit');
    }
    EngineLock.acquire(state).release();
  });
});

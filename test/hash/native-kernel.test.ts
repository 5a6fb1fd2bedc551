import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHmac, randomFillSync } from 'node:crypto';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { before, describe, it } from 'node:test';
import { Worker } from 'node:worker_threads';
import { PhsyncError } from '../../src/errors.ts';
import type { HashKernel } from '../../src/hash/hash-kernel.ts';
import { selfTestKernel } from '../../src/hash/kernel-selection.ts';
import { NATIVE_ADDON_PATH, createNativeKernel, loadNativeAddon } from '../../src/hash/native-kernel.ts';
import type { NativeAddon } from '../../src/hash/native-kernel.ts';
import { NATIVE_SOURCE_PATH } from '../../src/hash/native/build-native.ts';
import { createNodeKernel } from '../../src/hash/node-kernel.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../../src/phs/credential.ts';
import { tempDir } from '../support/temp-dir.ts';

const BUILD_SCRIPT = path.join(path.dirname(NATIVE_SOURCE_PATH), 'build-native.ts');

/** Builds the addon when it is missing or older than its source, so the tests never run a stale build. */
function ensureBuilt(): void {
  if (existsSync(NATIVE_ADDON_PATH) && statSync(NATIVE_ADDON_PATH).mtimeMs >= statSync(NATIVE_SOURCE_PATH).mtimeMs) return;
  const result = spawnSync(process.execPath, [BUILD_SCRIPT, '--strict'], { encoding: 'utf8' });
  assert.equal(result.status, 0, `the native kernel build failed (CI needs gcc and libc6-dev):\n${result.stdout}${result.stderr}`);
}

/** The CPU's own word on SHA-NI, where the OS gives it. */
function cpuinfoHasShaNi(): boolean | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  return /^flags\s*:.*\bsha_ni\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
}

/** A view at an odd offset inside a buffer filled with a sentinel, so stray reads/writes show. */
function framed(bytes: number, offset: number): Uint8Array {
  return new Uint8Array(bytes + 2 * offset + 1).fill(0xa5).subarray(offset, offset + bytes);
}

function assertFrameIntact(view: Uint8Array): void {
  const whole = new Uint8Array(view.buffer);
  const outside = [...whole.subarray(0, view.byteOffset), ...whole.subarray(view.byteOffset + view.length)];
  assert.ok(
    outside.every((b) => b === 0xa5),
    'nothing outside the view was written',
  );
}

let addon: NativeAddon;
let sha = false;

before(() => {
  ensureBuilt();
  const raw = loadRaw();
  sha = raw.shaNi;
  if (sha) addon = loadNativeAddon();
});

/** The addon without the kernel's checks, to see what it says about itself. */
function loadRaw(): NativeAddon {
  return createRequire(import.meta.url)(NATIVE_ADDON_PATH) as NativeAddon;
}

describe('native kernel build', () => {
  it('detects SHA-NI as /proc/cpuinfo reports it', (t) => {
    const expected = cpuinfoHasShaNi();
    if (expected === undefined) return t.skip('no /proc/cpuinfo on this platform');
    assert.equal(loadRaw().shaNi, expected);
  });

  it('reports a missing addon as KERNEL_UNAVAILABLE, with the build command', async () => {
    await assert.rejects(createNativeKernel({ addonPath: path.join(path.dirname(NATIVE_ADDON_PATH), 'missing.node') }), (err: unknown) => {
      assert.ok(err instanceof PhsyncError);
      assert.equal(err.code, 'KERNEL_UNAVAILABLE');
      assert.match(err.message, /build-native\.ts/);
      return true;
    });
  });

  it('reports a file that is not a loadable addon as KERNEL_UNAVAILABLE', async () => {
    using dir = tempDir();
    writeFileSync(dir.file('broken.node'), 'not an ELF file');
    await assert.rejects(createNativeKernel({ addonPath: dir.file('broken.node') }), { code: 'KERNEL_UNAVAILABLE', message: /cannot be loaded/ });
  });

  it('reports a CPU without SHA extensions as KERNEL_UNAVAILABLE, and the addon refuses to hash there', async () => {
    using dir = tempDir();
    const include = path.join(path.dirname(createRequire(import.meta.url).resolve('node-api-headers/package.json')), 'include');
    const addonPath = dir.file('no-sha.node');
    const cc = spawnSync(process.env['CC'] || 'gcc', ['-shared', '-fPIC', '-O1', '-DPHSYNC_TEST_NO_SHA', '-I', include, '-o', addonPath, NATIVE_SOURCE_PATH, '-lm'], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    await assert.rejects(createNativeKernel({ addonPath }), { code: 'KERNEL_UNAVAILABLE', message: /this CPU has no SHA extensions/ });
    const raw = createRequire(import.meta.url)(addonPath) as NativeAddon;
    assert.equal(raw.shaNi, false);
    assert.throws(() => raw.hashBatch(new Uint8Array(64), new Uint8Array(10), 1, 1, new Uint8Array(32)), { code: 'KERNEL_UNAVAILABLE' });
  });

  it('never fails an install: a missing compiler is one line and exit 0, or exit 1 under --strict', () => {
    const env = { ...process.env, CC: 'phsync-no-such-compiler' };
    for (const [args, status] of [[[], 0], [['--strict'], 1]] as const) {
      const result = spawnSync(process.execPath, [BUILD_SCRIPT, ...args], { encoding: 'utf8', env });
      assert.equal(result.status, status);
      assert.equal(
        (result.stdout + result.stderr).trim(),
        'phsync: the native hash kernel was not built (no C compiler: phsync-no-such-compiler not found); phsync will use the next best kernel',
      );
    }
    assert.ok(existsSync(NATIVE_ADDON_PATH), 'a failed build leaves the previous build in place');
  });
});

describe('native kernel', () => {
  let kernel: HashKernel;
  const node = createNodeKernel();

  before(async () => {
    if (!sha) {
      await assert.rejects(createNativeKernel(), { code: 'KERNEL_UNAVAILABLE', message: /no SHA extensions/ });
      return;
    }
    kernel = await createNativeKernel();
  });

  const needsSha = (t: { skip(message: string): void }): boolean => {
    if (!sha) t.skip('this CPU has no SHA extensions (the kernel reports itself unavailable, checked above)');
    return sha;
  };

  it('is named native and passes the known-answer self-test', async (t) => {
    if (!needsSha(t)) return;
    assert.equal(kernel.name, 'native');
    await selfTestKernel(kernel);
  });

  for (const iterations of [1, 2, 100, 1000]) {
    it(`equals the node kernel byte for byte at ${iterations} iterations, batches of 0 to 1000 at odd offsets`, async (t) => {
      if (!needsSha(t)) return;
      for (const count of [0, 1, 2, 3, 4, 5, 255, 256, 1000]) {
        const input = framed(count * PBKDF2_INPUT_BYTES, 7);
        const salts = framed(count * SALT_BYTES, 3);
        const out = framed(count * HASH_BYTES, 5);
        randomFillSync(input);
        randomFillSync(salts);
        const inputCopy = input.slice();
        const expected = new Uint8Array(count * HASH_BYTES);
        await node.hashBatch(input, salts, count, iterations, expected);
        await kernel.hashBatch(input, salts, count, iterations, out);
        assert.ok(Buffer.from(out).equals(expected), `${count} users at ${iterations} iterations`);
        assert.deepEqual(input, inputCopy, 'the input is only read');
        for (const view of [input, salts, out]) assertFrameIntact(view);
      }
    });
  }

  it('uses only the first count users of longer buffers', async (t) => {
    if (!needsSha(t)) return;
    const input = randomFillSync(new Uint8Array(6 * PBKDF2_INPUT_BYTES));
    const salts = randomFillSync(new Uint8Array(6 * SALT_BYTES));
    const out = new Uint8Array(6 * HASH_BYTES).fill(0xee);
    const expected = new Uint8Array(5 * HASH_BYTES);
    await node.hashBatch(input, salts, 5, 10, expected);
    await kernel.hashBatch(input, salts, 5, 10, out);
    assert.deepEqual(out.subarray(0, 5 * HASH_BYTES), expected);
    assert.ok(out.subarray(5 * HASH_BYTES).every((b) => b === 0xee));
  });

  it('loads and hashes in a worker thread too (the pool runs kernels there)', async (t) => {
    if (!needsSha(t)) return;
    const input = randomFillSync(new Uint8Array(3 * PBKDF2_INPUT_BYTES));
    const salts = randomFillSync(new Uint8Array(3 * SALT_BYTES));
    const expected = new Uint8Array(3 * HASH_BYTES);
    await node.hashBatch(input, salts, 3, 50, expected);
    const source = `
      const { parentPort, workerData } = require('node:worker_threads');
      const addon = require(workerData.path);
      const out = new Uint8Array(3 * 32);
      addon.hashBatch(workerData.input, workerData.salts, 3, 50, out);
      parentPort.postMessage(out);`;
    const worker = new Worker(source, { eval: true, workerData: { path: NATIVE_ADDON_PATH, input, salts } });
    const [got] = (await new Promise((resolve, reject) => {
      worker.once('message', (m: Uint8Array) => resolve([m]));
      worker.once('error', reject);
    })) as [Uint8Array];
    await worker.terminate();
    assert.deepEqual(Buffer.from(got), Buffer.from(expected));
  });

  it('rejects a batch shape the kernel API does not allow, as HASH_BATCH_INVALID', async (t) => {
    if (!needsSha(t)) return;
    const input = new Uint8Array(2 * PBKDF2_INPUT_BYTES);
    const salts = new Uint8Array(2 * SALT_BYTES);
    const out = new Uint8Array(2 * HASH_BYTES);
    for (const [count, iterations] of [[3, 1000], [2, 0], [-1, 1000], [1.5, 1000], [2, 2 ** 32]] as const) {
      await assert.rejects(kernel.hashBatch(input, salts, count, iterations, out), { code: 'HASH_BATCH_INVALID' }, `count ${count}, iterations ${iterations}`);
    }
  });

  it('checks its arguments in C too: wrong types throw TypeError, wrong lengths and numbers RangeError', (t) => {
    if (!needsSha(t)) return;
    const input = new Uint8Array(2 * PBKDF2_INPUT_BYTES);
    const salts = new Uint8Array(2 * SALT_BYTES);
    const out = new Uint8Array(2 * HASH_BYTES);
    const call = (...args: unknown[]) => () => (addon.hashBatch as (...a: unknown[]) => void)(...args);

    for (const bad of [new Uint16Array(64), new Uint8ClampedArray(128), new Int8Array(128), input.buffer, Buffer.alloc(0).buffer, [1, 2], 'abc', null, undefined, 42, new DataView(input.buffer)]) {
      assert.throws(call(bad, salts, 2, 1, out), TypeError);
      assert.throws(call(input, bad, 2, 1, out), TypeError);
      assert.throws(call(input, salts, 2, 1, bad), TypeError);
    }
    assert.throws(call(input, salts, 2, 1), TypeError);
    assert.throws(call(), TypeError);
    for (const bad of ['2', 2n, null, undefined, {}]) {
      assert.throws(call(input, salts, bad, 1, out), TypeError);
      assert.throws(call(input, salts, 2, bad, out), TypeError);
    }
    for (const count of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, 3]) assert.throws(call(input, salts, count, 1, out), RangeError, `count ${count}`);
    for (const iterations of [0, -1, 0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 32]) assert.throws(call(input, salts, 1, iterations, out), RangeError, `iterations ${iterations}`);
    assert.throws(call(input.subarray(1), salts, 2, 1, out), RangeError);
    assert.throws(call(input, salts.subarray(0, 19), 2, 1, out), RangeError);
    assert.throws(call(input, salts, 2, 1, out.subarray(0, 63)), RangeError);
    // Buffers (Uint8Array subclasses) are fine, and count 0 touches nothing.
    assert.doesNotThrow(call(Buffer.alloc(0), Buffer.alloc(0), 0, 1000, Buffer.alloc(0)));
    assert.doesNotThrow(call(Buffer.from(input), Buffer.from(salts), 2, 2, Buffer.from(out)));
  });

  it('computes HMAC-SHA256 of 16-byte messages, truncated to 16 bytes, as node:crypto does: every key length, groups and tails', (t) => {
    if (!needsSha(t)) return;
    const hmacBatch = addon.hmacBatch!.bind(addon);
    for (const keyLength of [0, 1, 16, 32, 63, 64]) {
      for (const count of [0, 1, 2, 3, 4, 5, 7, 8, 9, 256, 1001]) {
        const key = randomFillSync(new Uint8Array(keyLength));
        const messages = randomFillSync(framed(count * 16, 3));
        const out = framed(count * 16, 5);
        hmacBatch(key, messages, count, out);
        assertFrameIntact(out);
        for (let i = 0; i < count; i++) {
          const expected = createHmac('sha256', key).update(messages.subarray(16 * i, 16 * i + 16)).digest().subarray(0, 16);
          assert.deepEqual(Buffer.from(out.subarray(16 * i, 16 * i + 16)), expected, `key ${keyLength} bytes, message ${i} of ${count}`);
        }
      }
    }
    // The MAC's own known answer: RFC 4231 test case 2's key and message, a 16-byte prefix of the message.
    const out = new Uint8Array(16);
    hmacBatch(Buffer.from('Jefe'), Buffer.from('what do ya want '), 1, out);
    assert.equal(Buffer.from(out).toString('hex'), createHmac('sha256', 'Jefe').update('what do ya want ').digest('hex').slice(0, 32));
  });

  it('checks the HMAC\'s arguments in C: wrong types throw TypeError, a long key and short buffers RangeError', (t) => {
    if (!needsSha(t)) return;
    const call = (...args: unknown[]) => () => (addon.hmacBatch as (...a: unknown[]) => void)(...args);
    const key = new Uint8Array(32);
    const messages = new Uint8Array(32);
    const out = new Uint8Array(32);
    for (const bad of [new Uint16Array(16), messages.buffer, 'abc', null, undefined, 42]) {
      assert.throws(call(bad, messages, 2, out), TypeError);
      assert.throws(call(key, bad, 2, out), TypeError);
      assert.throws(call(key, messages, 2, bad), TypeError);
    }
    assert.throws(call(key, messages, 2), TypeError);
    assert.throws(call(key, messages, '2', out), TypeError);
    for (const count of [-1, 1.5, Number.NaN, 3]) assert.throws(call(key, messages, count, out), RangeError, `count ${count}`);
    assert.throws(call(new Uint8Array(65), messages, 2, out), RangeError);
    assert.throws(call(key, messages.subarray(1), 2, out), RangeError);
    assert.throws(call(key, messages, 2, out.subarray(0, 31)), RangeError);
    assert.doesNotThrow(call(key, Buffer.alloc(0), 0, Buffer.alloc(0)));
  });
});

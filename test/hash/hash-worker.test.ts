import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { transferableSymbol, valueSymbol } from 'piscina';
import { HASH_BYTES, NT_HASH_BYTES, SALT_BYTES, deriveHash } from '../../src/phs/credential.ts';
import type { HashResult, HashTask } from '../../src/hash/hash-protocol.ts';
import hashWorker from '../../src/hash/hash-worker.ts';
import type { WorkerReply } from '../../src/hash/hash-worker.ts';
import { KERNEL_NAMES } from '../../src/hash/kernels.ts';

// The worker function called directly on this thread: what piscina would post back is the reply's
// value, with the reply's transfer list.
function valueOf(reply: WorkerReply): HashResult {
  return valueSymbol in reply ? reply[valueSymbol] : reply;
}

describe('hash worker', () => {
  for (const kernel of KERNEL_NAMES) {
    it(`hashes a batch with the ${kernel} kernel: fresh salts, hashes that verify with deriveHash`, async () => {
      const count = 64;
      const ntHashes = randomFillSync(new Uint8Array(count * NT_HASH_BYTES));
      ntHashes.set(ntHashes.subarray(0, NT_HASH_BYTES), NT_HASH_BYTES); // users 0 and 1 share an NT hash
      const expected = ntHashes.slice();
      const result = valueOf(await hashWorker({ kernel, iterations: 1000, count, ntHashes: ntHashes.buffer }));
      assert.ok(result.ok, JSON.stringify(result));
      assert.equal(result.salts.byteLength, count * SALT_BYTES);
      assert.equal(result.hashes.byteLength, count * HASH_BYTES);
      const salts = new Uint8Array(result.salts);
      const hashes = new Uint8Array(result.hashes);
      const seen = new Set<string>();
      for (let i = 0; i < count; i++) {
        const salt = salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES);
        seen.add(Buffer.from(salt).toString('hex'));
        const reference = deriveHash(expected.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), salt, 1000);
        assert.deepEqual(Buffer.from(hashes.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), reference, `user ${i}`);
      }
      assert.equal(seen.size, count, 'every user gets its own salt');
      assert.notDeepEqual(hashes.subarray(0, HASH_BYTES), hashes.subarray(HASH_BYTES, 2 * HASH_BYTES), 'equal NT hashes, different credentials');
    });
  }

  it('zeroes the NT hash buffer before replying', async () => {
    const ntHashes = randomFillSync(new Uint8Array(4 * NT_HASH_BYTES));
    const reply = await hashWorker({ kernel: 'node', iterations: 1000, count: 4, ntHashes: ntHashes.buffer });
    assert.ok(valueOf(reply).ok);
    assert.deepEqual(ntHashes, new Uint8Array(4 * NT_HASH_BYTES));
  });

  it('marks a success for piscina to transfer both result buffers', async () => {
    const reply = await hashWorker({ kernel: 'node', iterations: 100, count: 2, ntHashes: randomFillSync(new Uint8Array(2 * NT_HASH_BYTES)).buffer });
    assert.ok(transferableSymbol in reply && valueSymbol in reply);
    const value = reply[valueSymbol];
    assert.deepEqual(reply[transferableSymbol], [value.salts, value.hashes]);
    // piscina only transfers replies that went through move(), which tags them with its private marker.
    assert.ok(Object.getOwnPropertySymbols(reply).some((s) => s.description === 'Piscina.kMovable'));
  });

  it('gives two runs of the same NT hash different salts', async () => {
    const nt = randomFillSync(new Uint8Array(NT_HASH_BYTES));
    const runs = await Promise.all([0, 1].map(async () => valueOf(await hashWorker({ kernel: 'node', iterations: 1000, count: 1, ntHashes: nt.slice().buffer }))));
    const [a, b] = runs;
    assert.ok(a?.ok && b?.ok);
    assert.notDeepEqual(new Uint8Array(a.salts), new Uint8Array(b.salts));
    assert.notDeepEqual(new Uint8Array(a.hashes), new Uint8Array(b.hashes));
  });

  it('reports a malformed task as data (the code survives the thread boundary) and still zeroes the buffer', async () => {
    const ntHashes = randomFillSync(new Uint8Array(3 * NT_HASH_BYTES));
    const bad: unknown[] = [
      { kernel: 'node', iterations: 1000, count: 2, ntHashes: ntHashes.buffer }, // count disagrees with the buffer
      { kernel: 'gpu', iterations: 1000, count: 3, ntHashes: new ArrayBuffer(48) },
      { kernel: 'node', iterations: 0, count: 3, ntHashes: new ArrayBuffer(48) },
      { kernel: 'node', iterations: 10_000_000, count: 3, ntHashes: new ArrayBuffer(48) },
      { kernel: 'node', iterations: 1000, count: 0, ntHashes: new ArrayBuffer(0) },
      { kernel: 'node', iterations: 1000, count: 1, ntHashes: new Uint8Array(16) },
      null,
    ];
    for (const task of bad) {
      const result = valueOf(await hashWorker(task as HashTask));
      assert.equal(result.ok, false, JSON.stringify(task));
      assert.ok(!result.ok);
      assert.equal(result.code, 'HASH_TASK_INVALID');
      assert.equal(typeof result.message, 'string');
    }
    assert.deepEqual(ntHashes, new Uint8Array(3 * NT_HASH_BYTES));
  });
});

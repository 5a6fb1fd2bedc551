import assert from 'node:assert/strict';
import { randomFillSync } from 'node:crypto';
import { describe, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { PhsyncError } from '../../src/errors.ts';
import { HASH_BYTES, NT_HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES, deriveHash, writePbkdf2Input } from '../../src/phs/credential.ts';
import type { KernelName } from '../../src/hash/hash-kernel.ts';
import { KERNEL_KNOWN_ANSWERS } from '../../src/hash/kernel-selection.ts';
import { KERNEL_NAMES, createKernel } from '../../src/hash/kernels.ts';
import { knownAnswers } from '../support/known-answers.ts';

interface Batch {
  ntHashes: Uint8Array;
  input: Uint8Array;
  salts: Uint8Array;
}

function randomBatch(count: number): Batch {
  const ntHashes = randomFillSync(new Uint8Array(count * NT_HASH_BYTES));
  const input = new Uint8Array(count * PBKDF2_INPUT_BYTES);
  for (let i = 0; i < count; i++) writePbkdf2Input(ntHashes.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), input, i * PBKDF2_INPUT_BYTES);
  return { ntHashes, input, salts: randomFillSync(new Uint8Array(count * SALT_BYTES)) };
}

/** User i's hash per the reference implementation, one user at a time. */
function referenceHash(batch: Batch, i: number, iterations: number): Buffer {
  return deriveHash(batch.ntHashes.subarray(i * NT_HASH_BYTES, (i + 1) * NT_HASH_BYTES), batch.salts.subarray(i * SALT_BYTES, (i + 1) * SALT_BYTES), iterations);
}

async function assertMatchesReference(name: KernelName, count: number, iterations: number): Promise<void> {
  const kernel = await createKernel(name);
  const batch = randomBatch(count);
  const out = new Uint8Array(count * HASH_BYTES);
  await kernel.hashBatch(batch.input, batch.salts, count, iterations, out);
  for (let i = 0; i < count; i++) {
    assert.deepEqual(Buffer.from(out.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), referenceHash(batch, i, iterations), `user ${i}`);
  }
}

for (const name of KERNEL_NAMES) {
  describe(`${name} kernel`, () => {
    it('has its registry name', async () => {
      assert.equal((await createKernel(name)).name, name);
    });

    for (const iterations of [1000, 100]) {
      it(`gives every known answer at ${iterations} iterations, in one batch`, async () => {
        const vectors = knownAnswers().filter((v) => v.iterations === iterations);
        assert.ok(vectors.length >= 1);
        const kernel = await createKernel(name);
        const input = new Uint8Array(vectors.length * PBKDF2_INPUT_BYTES);
        const salts = new Uint8Array(vectors.length * SALT_BYTES);
        const out = new Uint8Array(vectors.length * HASH_BYTES);
        vectors.forEach((v, i) => {
          writePbkdf2Input(Buffer.from(v.ntHash, 'hex'), input, i * PBKDF2_INPUT_BYTES);
          salts.set(Buffer.from(v.salt, 'hex'), i * SALT_BYTES);
        });
        await kernel.hashBatch(input, salts, vectors.length, iterations, out);
        vectors.forEach((v, i) => {
          assert.equal(Buffer.from(out.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)).toString('hex'), v.hash, v.note);
        });
      });
    }

    it('gives the same bytes as deriveHash on a random batch of 80 users at 1000 iterations', async () => {
      await assertMatchesReference(name, 80, 1000);
    });

    it('gives the same bytes as deriveHash on a random batch of 64 users at 100 iterations', async () => {
      await assertMatchesReference(name, 64, 100);
    });

    it('gives the right bytes for two batches started at once on one instance (a pool thread holds two)', async () => {
      const kernel = await createKernel(name);
      const batches = [randomBatch(12), randomBatch(9)];
      const outs = batches.map((b) => new Uint8Array((b.salts.length / SALT_BYTES) * HASH_BYTES));
      await Promise.all(batches.map((b, k) => kernel.hashBatch(b.input, b.salts, b.salts.length / SALT_BYTES, 100, outs[k]!)));
      batches.forEach((b, k) => {
        for (let i = 0; i < b.salts.length / SALT_BYTES; i++) {
          assert.deepEqual(Buffer.from(outs[k]!.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), referenceHash(b, i, 100), `batch ${k}, user ${i}`);
        }
      });
    });

    it('reads and writes only its slices of views at odd offsets', async () => {
      // 7 = a group of 4 and a tail of 3 for the kernels that hash 4 users at a time.
      const count = 7;
      const batch = randomBatch(count);
      // Each buffer sits inside a larger one filled with a sentinel, at an offset that is not a
      // multiple of anything the kernel uses.
      const frame = (bytes: number): Uint8Array => new Uint8Array(bytes + 14).fill(0xa5).subarray(7, 7 + bytes);
      const input = frame(batch.input.length);
      input.set(batch.input);
      const salts = frame(batch.salts.length);
      salts.set(batch.salts);
      const out = frame(count * HASH_BYTES);
      out.fill(0);
      const kernel = await createKernel(name);
      await kernel.hashBatch(input, salts, count, 1000, out);
      for (let i = 0; i < count; i++) {
        assert.deepEqual(Buffer.from(out.subarray(i * HASH_BYTES, (i + 1) * HASH_BYTES)), referenceHash(batch, i, 1000));
      }
      for (const view of [input, salts, out]) {
        const whole = new Uint8Array(view.buffer);
        assert.deepEqual([...whole.subarray(0, 7), ...whole.subarray(7 + view.length)], new Array(14).fill(0xa5));
      }
      assert.deepEqual(input, batch.input, 'the kernel does not modify its input');
    });

    it('rejects a batch whose buffers are shorter than count needs', async () => {
      const kernel = await createKernel(name);
      const batch = randomBatch(2);
      await assert.rejects(kernel.hashBatch(batch.input, batch.salts, 3, 1000, new Uint8Array(3 * HASH_BYTES)), (err: unknown) => {
        assert.ok(err instanceof PhsyncError);
        assert.equal(err.code, 'HASH_BATCH_INVALID');
        return true;
      });
      await assert.rejects(kernel.hashBatch(batch.input, batch.salts, 2, 0, new Uint8Array(2 * HASH_BYTES)), { code: 'HASH_BATCH_INVALID' });
    });
  });
}

describe('kernel registry', () => {
  it('refuses an unknown kernel name', async () => {
    await assert.rejects(createKernel('gpu' as KernelName), { code: 'KERNEL_UNKNOWN' });
  });

  // src cannot read the fixtures, so it carries a copy; this keeps the copy honest.
  it('embeds every 1000-iteration known answer, exactly as in the fixtures', () => {
    const fixtures = knownAnswers().map(({ ntHash, salt, iterations, hash }) => ({ ntHash, salt, iterations, hash }));
    for (const embedded of KERNEL_KNOWN_ANSWERS) assert.ok(fixtures.some((f) => isDeepStrictEqual(f, { ...embedded })), `not in fixtures: ${JSON.stringify(embedded)}`);
    for (const f of fixtures.filter((v) => v.iterations === 1000)) {
      assert.ok(KERNEL_KNOWN_ANSWERS.some((e) => isDeepStrictEqual(f, { ...e })), `not embedded: ${JSON.stringify(f)}`);
    }
  });
});


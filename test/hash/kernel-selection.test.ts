import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PhsyncError } from '../../src/errors.ts';
import type { HashKernel, KernelName } from '../../src/hash/hash-kernel.ts';
import { selectKernel, selfTestKernel } from '../../src/hash/kernel-selection.ts';
import { KERNEL_NAMES, createKernel } from '../../src/hash/kernels.ts';

/** A kernel that computes correctly and then flips one output bit. */
function corrupted(kernel: HashKernel): HashKernel {
  return {
    name: kernel.name,
    async hashBatch(input, salts, count, iterations, out) {
      await kernel.hashBatch(input, salts, count, iterations, out);
      out[out.length - 1]! ^= 1;
    },
  };
}

/** A kernel that always runs 1000 iterations, whatever it is asked for. */
function ignoresIterations(kernel: HashKernel): HashKernel {
  return { name: kernel.name, hashBatch: (input, salts, count, _iterations, out) => kernel.hashBatch(input, salts, count, 1000, out) };
}

function factory(overrides: Partial<Record<KernelName, (real: HashKernel) => HashKernel>>, unavailable: KernelName[] = []) {
  return async (name: KernelName): Promise<HashKernel> => {
    if (unavailable.includes(name)) throw new Error(`${name} is not available here`);
    const real = await createKernel(name);
    return overrides[name]?.(real) ?? real;
  };
}

function isCode(code: string) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof PhsyncError, `expected a PhsyncError, got ${String(err)}`);
    assert.equal(err.code, code);
    return true;
  };
}

describe('selectKernel', () => {
  it("'auto' self-tests and times every kernel and picks the fastest", async () => {
    const selection = await selectKernel('auto', 1000);
    assert.ok(KERNEL_NAMES.includes(selection.name));
    assert.deepEqual(Object.keys(selection.measured).sort(), [...KERNEL_NAMES].sort());
    for (const rate of Object.values(selection.measured)) assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
    const fastest = Math.max(...Object.values(selection.measured));
    assert.equal(selection.measured[selection.name], fastest);
    assert.deepEqual(selection.rejected, []);
    assert.ok(Object.isFrozen(selection) && Object.isFrozen(selection.measured));
  });

  for (const name of KERNEL_NAMES) {
    it(`an explicit '${name}' is self-tested but not timed`, async () => {
      const selection = await selectKernel(name, 1000);
      assert.equal(selection.name, name);
      assert.deepEqual(selection.measured, {});
      assert.deepEqual(selection.rejected, []);
    });
  }

  it("'auto' never picks a kernel that gives a wrong answer", async () => {
    // Every kernel but one corrupted: that one is picked, whatever the speeds.
    for (const good of KERNEL_NAMES) {
      const overrides = Object.fromEntries(KERNEL_NAMES.filter((n) => n !== good).map((n) => [n, corrupted]));
      const selection = await selectKernel('auto', 1000, { createKernel: factory(overrides) });
      assert.equal(selection.name, good);
      assert.deepEqual([...selection.rejected].sort(), KERNEL_NAMES.filter((n) => n !== good).sort());
      assert.deepEqual(Object.keys(selection.measured), [good]);
    }
  });

  it("'auto' falls back when a kernel cannot be created (e.g. no WebAssembly)", async () => {
    const selection = await selectKernel('auto', 1000, { createKernel: factory({}, ['native', 'wasm-simd', 'hash-wasm']) });
    assert.equal(selection.name, 'node');
    assert.deepEqual(selection.rejected, ['native', 'wasm-simd', 'hash-wasm']);
    assert.match(selection.reasons['native'] ?? '', /not available here/);
  });

  it("'auto' fails when no kernel passes", async () => {
    await assert.rejects(selectKernel('auto', 1000, { createKernel: factory(Object.fromEntries(KERNEL_NAMES.map((n) => [n, corrupted]))) }), isCode('KERNEL_SELF_TEST_FAILED'));
  });

  it('an explicit kernel that gives a wrong answer is refused with KERNEL_SELF_TEST_FAILED', async () => {
    await assert.rejects(selectKernel('hash-wasm', 1000, { createKernel: factory({ 'hash-wasm': corrupted }) }), isCode('KERNEL_SELF_TEST_FAILED'));
  });

  it('an explicit kernel that cannot be created is refused with KERNEL_UNAVAILABLE', async () => {
    await assert.rejects(selectKernel('node', 1000, { createKernel: factory({}, ['node']) }), isCode('KERNEL_UNAVAILABLE'));
  });

  it("'auto' at a very high iteration count times at 1000 and reports the scaled rate", async () => {
    const selection = await selectKernel('auto', 5_000_000);
    for (const rate of Object.values(selection.measured)) assert.ok(Number.isFinite(rate) && rate > 0);
  });

  it('rejects iterations that are not a positive integer', async () => {
    for (const bad of [0, -1, 1.5, Number.NaN]) await assert.rejects(selectKernel('node', bad), isCode('HASH_BATCH_INVALID'));
  });
});

describe('selfTestKernel', () => {
  it('passes the real kernels', async () => {
    for (const name of KERNEL_NAMES) await selfTestKernel(await createKernel(name));
  });

  it('catches a kernel that ignores its iteration count (the 100-iteration vector)', async () => {
    await assert.rejects(selfTestKernel(ignoresIterations(await createKernel('node'))), isCode('KERNEL_SELF_TEST_FAILED'));
  });

  it('turns a kernel that throws into KERNEL_SELF_TEST_FAILED, keeping the cause', async () => {
    const boom = new Error('boom');
    const throwing: HashKernel = { name: 'node', hashBatch: () => Promise.reject(boom) };
    await assert.rejects(selfTestKernel(throwing), (err: unknown) => {
      assert.ok(err instanceof PhsyncError);
      assert.equal(err.code, 'KERNEL_SELF_TEST_FAILED');
      assert.equal(err.cause, boom);
      return true;
    });
  });
});

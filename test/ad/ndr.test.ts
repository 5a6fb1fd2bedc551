import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NdrReader } from '../../src/ad/ndr/ndr-reader.ts';
import { NdrWriter } from '../../src/ad/ndr/ndr-writer.ts';

describe('NDR primitives', () => {
  it('grow past the initial size without losing a byte, and align relative to the stub', () => {
    const w = new NdrWriter(4);
    w.u8(1).u32(0xdeadbeef).u16(7).u64(1n << 60n).bytes(Buffer.alloc(300, 0xab)).wideString('DC=test').i32(-2);
    const stub = w.finish();
    const r = new NdrReader(stub);
    assert.equal(r.u8(), 1);
    assert.equal(r.u32(), 0xdeadbeef);
    assert.equal(r.offset, 8);
    assert.equal(r.u16(), 7);
    assert.equal(r.u64(), 1n << 60n);
    assert.equal(r.offset, 24);
    assert.deepEqual(r.bytes(300), Buffer.alloc(300, 0xab));
    assert.equal(r.wideString(), 'DC=test');
    assert.equal(r.i32(), -2);
    assert.equal(r.remaining, 0);
  });

  it('refuse reads past the end and counts larger than the stub, naming the offset', () => {
    assert.throws(() => new NdrReader(Buffer.alloc(3)).u32(), { name: 'NdrError', message: /offset 0/ });
    const w = new NdrWriter().u32(1_000_000).finish();
    assert.throws(() => new NdrReader(w).count('array', 16), { name: 'NdrError', message: /claims 1000000 elements/ });
  });
});

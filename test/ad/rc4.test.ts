import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Rc4, rc4 } from '../../src/ad/crypto/rc4.ts';

/**
 * RFC 6229 "Test Vectors for the Stream Cipher RC4", section 2: the key stream (RC4 of zeros) at the
 * given byte offsets, 16 bytes per row; offsets are the RFC's "DEC" column. Two of its keys: the
 * 40-bit 0x0102030405 and the 128-bit 0x0102..10.
 */
const RFC6229: ReadonlyArray<{ key: string; rows: ReadonlyArray<readonly [number, string]> }> = [
  {
    key: '0102030405',
    rows: [
      [0, 'b2396305f03dc027ccc3524a0a1118a8'],
      [16, '6982944f18fc82d589c403a47a0d0919'],
      [240, '28cb1132c96ce286421dcaadb8b69eae'],
      [256, '1cfcf62b03eddb641d77dfcf7f8d8c93'],
      [496, '42b7d0cdd918a8a33dd51781c81f4041'],
      [512, '6459844432a7da923cfb3eb4980661f6'],
      [768, 'eb62638d4f0ba1fe9fca20e05bf8ff2b'],
      [1536, 'd8729db41882259bee4f825325f5a130'],
      [3072, 'ec0e11c479dc329dc8da7968fe965681'],
      [4080, '068326a2118416d21f9d04b2cd1ca050'],
      [4096, 'ff25b58995996707e51fbdf08b34d875'],
    ],
  },
  {
    key: '0102030405060708090a0b0c0d0e0f10',
    rows: [
      [0, '9ac7cc9a609d1ef7b2932899cde41b97'],
      [16, '5248c4959014126a6e8a84f11d1a9e1c'],
      [240, '065902e4b620f6cc36c8589f66432f2b'],
      [256, 'd39d566bc6bce3010768151549f3873f'],
      [496, 'b6d1e6c4a5e4771cad79538df295fb11'],
      [512, 'c68c1d5c559a974123df1dbc52a43b89'],
      [768, 'eccbe13de1fcc91c11a0b26c0bc8fa4d'],
      [1536, 'ffa0b514647ec04f6306b892ae661181'],
      [3072, 'c05d88abd50357f935a63c59ee537623'],
      [4080, 'ff38265c1642c1abe8d3c2fe5e572bf8'],
      [4096, 'a36a4c301ae8ac13610ccbc12256cacc'],
    ],
  },
];

const STREAM_LENGTH = 4096 + 16;

describe('Rc4', () => {
  for (const { key, rows } of RFC6229) {
    it(`produces the RFC 6229 key stream for key ${key} (${key.length * 4} bits)`, () => {
      const stream = new Rc4(Buffer.from(key, 'hex')).process(Buffer.alloc(STREAM_LENGTH));
      for (const [offset, expected] of rows) {
        assert.equal(stream.subarray(offset, offset + 16).toString('hex'), expected, `offset ${offset}`);
      }
    });
  }

  it('carries the stream state across process() calls, whatever the chunk sizes', () => {
    const key = Buffer.from('0102030405', 'hex');
    const whole = new Rc4(key).process(Buffer.alloc(STREAM_LENGTH));
    const cipher = new Rc4(key);
    const pieces: Buffer[] = [];
    const sizes = [0, 1, 15, 16, 207, 1, 16, 3000, 255, 0];
    let total = 0;
    for (const size of sizes) {
      pieces.push(cipher.process(Buffer.alloc(size)));
      total += size;
    }
    pieces.push(cipher.process(Buffer.alloc(STREAM_LENGTH - total)));
    assert.deepEqual(Buffer.concat(pieces), whole);
  });

  it('processes in place and returns the same buffer; decrypting is encrypting again', () => {
    const key = Buffer.from('0102030405060708090a0b0c0d0e0f10', 'hex');
    const data = Buffer.from('attack at dawn, or at 04:00 UTC');
    const original = Buffer.from(data);
    const returned = new Rc4(key).process(data);
    assert.equal(returned, data);
    assert.notDeepEqual(data, original);
    new Rc4(key).process(data);
    assert.deepEqual(data, original);
  });

  it('rc4() works on a copy and leaves its input alone', () => {
    const key = Buffer.from('0102030405', 'hex');
    const zeros = new Uint8Array(32);
    const out = rc4(key, zeros);
    assert.deepEqual(zeros, new Uint8Array(32));
    assert.equal(out.toString('hex'), 'b2396305f03dc027ccc3524a0a1118a86982944f18fc82d589c403a47a0d0919');
  });

  it('rejects an empty key and one longer than 256 bytes', () => {
    assert.throws(() => new Rc4(new Uint8Array(0)), RangeError);
    assert.throws(() => new Rc4(new Uint8Array(257)), RangeError);
    assert.doesNotThrow(() => new Rc4(new Uint8Array(256)));
  });
});

import assert from 'node:assert/strict';
import { it } from 'node:test';
import { halfSipHash64, halfSipKey } from '../../src/pipeline/half-siphash.ts';

// The reference implementation's vectors (veorq/SipHash, vectors.h, vectors_hsip64): key 00 01 … 07,
// message 00 01 … (n−1) for n = 0 … 63, the 8 result bytes in hex. A text holds whole code units,
// so the messages of even length are the ones a text can spell: code unit i is bytes 2i, 2i+1.
const VECTORS_HSIP64_EVEN = new Map<number, string>([
  [0, '218d1f59b9b83cc8'], [2, '064f39ef7c50eb57'], [4, 'd5e78a175be52ea1'], [6, 'ce3e91358aa2bc25'],
  [8, 'edfee820bce4858c'], [10, '95b0469f06a6f2ee'], [12, '7bc71f9faef5c799'], [14, '3bb1a870eae8e658'],
  [16, '7336aad25f7bf3b5'], [18, 'c9b2db2b9a3e42f9'], [20, '1bf52b0a6feea7db'], [22, 'e20103fa1ba776ef'],
  [24, '70741045ae3fa6f1'], [26, '0d899ed8112923f0'], [28, '2d925ffb1e0016b5'], [30, '291aaf864898179d'],
  [32, '28709d46d811626c'], [34, '8324e4d7528f9830'], [36, '86d67a40ec4276dc'], [38, 'cbd92ee724d42109'],
  [40, '5b38c81c67c8ae4c'], [42, 'a91a52c025327024'], [44, '1e30f3ad27dcb15a'], [46, '495c0f995557dc38'],
  [48, 'a9eaa8c04ba93e3e'], [50, '912d568fd8f65a49'], [52, '02445a7998f550e1'], [54, '359569e7d289e3bc'],
  [56, 'a1a492f942f15f1d'], [58, '5d1b5ea1b231d89d'], [60, 'd6762890bf26e460'], [62, 'f90b3ab572d46693'],
]);

const referenceKey = halfSipKey(Uint8Array.from({ length: 8 }, (_, i) => i));

function resultHex([low, high]: [number, number]): string {
  const bytes = Buffer.alloc(8);
  bytes.writeUInt32LE(low, 0);
  bytes.writeUInt32LE(high, 4);
  return bytes.toString('hex');
}

it('gives the reference vectors of HalfSipHash-2-4-64 for every message a text can spell (whole words and a half word)', () => {
  for (const [length, expected] of VECTORS_HSIP64_EVEN) {
    const message = Uint8Array.from({ length }, (_, i) => i);
    const text = Buffer.from(message).toString('utf16le');
    assert.equal(text.length, length / 2);
    assert.equal(resultHex(halfSipHash64(referenceKey, text)), expected, `message of ${length} bytes`);
  }
});

it('hashes the text, not only its ASCII part: code units above 0xFF and lone surrogates count', () => {
  const results = new Set(['é', 'ĉ', '\ud800', '\udc00', 'a\ud800', 'a\udc00', '', '\0', '\0\0'].map((t) => resultHex(halfSipHash64(referenceKey, t))));
  assert.equal(results.size, 9);
});

it('depends on the key', () => {
  const other = halfSipKey(Uint8Array.from({ length: 8 }, (_, i) => i + 1));
  assert.notEqual(resultHex(halfSipHash64(other, 'anchor')), resultHex(halfSipHash64(referenceKey, 'anchor')));
  assert.throws(() => halfSipKey(new Uint8Array(16)), /8 bytes, got 16/);
});

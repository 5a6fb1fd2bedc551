import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { it } from 'node:test';
import { parseHexNtHash } from '../../src/phs/hex-nt-hash.ts';

it('decodes 32 hex digits in either case to the 16 bytes Buffer.from(hex) gives', () => {
  for (let i = 0; i < 2000; i++) {
    const bytes = randomBytes(16);
    const hex = bytes.toString('hex');
    const text = i % 3 === 0 ? hex.toUpperCase() : i % 3 === 1 ? hex : [...hex].map((c, j) => (j % 2 ? c.toUpperCase() : c)).join('');
    const parsed = parseHexNtHash(text);
    assert.ok(parsed instanceof Uint8Array && !Buffer.isBuffer(parsed), 'an array of its own, not a pooled Buffer');
    assert.deepEqual(Buffer.from(parsed), bytes);
  }
  assert.deepEqual(Buffer.from(parseHexNtHash('0123456789abcdefABCDEF0000ffFF99')!).toString('hex'), '0123456789abcdefabcdef0000ffff99');
});

it('refuses any text that is not exactly 32 hex digits, whichever digit is wrong', () => {
  const good = '31d6cfe0d16ae931b73c59d7e0c089c0';
  for (const bad of ['', good.slice(1), `${good}0`, ` ${good.slice(1)}`, `${good.slice(0, 31)} `, `${good.slice(0, 31)}\n`]) assert.equal(parseHexNtHash(bad), undefined, JSON.stringify(bad));
  // Every position, with characters next to the digit ranges, and beyond ASCII (٣ is a digit to \d).
  for (const wrong of ['/', ':', '@', 'G', '`', 'g', 'x', '\u0663', '\uff10', '\u0130']) {
    for (let at = 0; at < 32; at++) {
      const text = good.slice(0, at) + wrong + good.slice(at + 1);
      assert.equal(parseHexNtHash(text), undefined, `${JSON.stringify(wrong)} at ${at}`);
    }
  }
});

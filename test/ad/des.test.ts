import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Des, desKeyFrom56 } from '../../src/ad/crypto/des.ts';

const hex = (s: string): Buffer => Buffer.from(s, 'hex');

function encrypt(key: string | Uint8Array, block: string | Uint8Array): string {
  const out = Buffer.alloc(8);
  new Des(typeof key === 'string' ? hex(key) : key).encryptBlock(typeof block === 'string' ? hex(block) : block, 0, out, 0);
  return out.toString('hex');
}

function decrypt(key: string, block: string): string {
  const out = Buffer.alloc(8);
  new Des(hex(key)).decryptBlock(hex(block), 0, out, 0);
  return out.toString('hex');
}

/**
 * [key, plaintext, ciphertext]. The first is the worked example that accompanies FIPS 46; the others
 * are from the NBS/NIST DES validation tests (NIST SP 800-17 appendix B: variable plaintext,
 * variable key, permutation and substitution-table tests). Each was also checked with
 * `openssl enc -des-ecb -provider legacy`.
 */
const VECTORS: ReadonlyArray<readonly [string, string, string]> = [
  ['133457799bbcdff1', '0123456789abcdef', '85e813540f0ab405'],
  // variable plaintext (key 01..01 is the all-zero key with odd parity)
  ['0101010101010101', '8000000000000000', '95f8a5e5dd31d900'],
  ['0101010101010101', '4000000000000000', 'dd7f121ca5015619'],
  ['0101010101010101', '2000000000000000', '2e8653104f3834ea'],
  ['0101010101010101', '0000000000000001', '166b40b44aba4bd6'],
  // variable key
  ['8001010101010101', '0000000000000000', '95a8d72813daa94d'],
  ['0101010101010102', '0000000000000000', '869efd7f9f265a09'],
  // permutation operation
  ['1046913489980131', '0000000000000000', '88d55e54f54c97b4'],
  // substitution tables
  ['7ca110454a1a6e57', '01a1d6d039776742', '690f5b0d9a26939b'],
  ['0131d9619dc1376e', '5cd54ca83def57da', '7a389d10354bd271'],
];

describe('Des', () => {
  it('matches the published DES vectors, both ways', () => {
    for (const [key, plain, cipher] of VECTORS) {
      assert.equal(encrypt(key, plain), cipher, `encrypt ${key} ${plain}`);
      assert.equal(decrypt(key, cipher), plain, `decrypt ${key} ${cipher}`);
    }
  });

  it("passes Rivest's iterated test (16 alternating encryptions and decryptions, each block the next key)", () => {
    // R. Rivest, "Testing implementations of DES" (1985): X0 = 9474B8E8C73BCA7D, X16 = 1B1A2DDB4C642438.
    let x: Uint8Array = hex('9474b8e8c73bca7d');
    for (let i = 0; i < 16; i++) {
      const des = new Des(x);
      const next = new Uint8Array(8);
      if (i % 2 === 0) des.encryptBlock(x, 0, next, 0);
      else des.decryptBlock(x, 0, next, 0);
      x = next;
    }
    assert.equal(Buffer.from(x).toString('hex'), '1b1a2ddb4c642438');
  });

  it('ignores the parity bits of the key', () => {
    assert.equal(encrypt('0000000000000000', '0000000000000000'), '8ca64de9c1b123a7');
    assert.equal(encrypt('0101010101010101', '0000000000000000'), '8ca64de9c1b123a7');
    const flipped = hex('133457799bbcdff1').map((b) => b ^ 1);
    assert.equal(encrypt(flipped, '0123456789abcdef'), '85e813540f0ab405');
  });

  it('decrypts what it encrypts (random keys and blocks)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 8, maxLength: 8 }), fc.uint8Array({ minLength: 8, maxLength: 8 }), (key, block) => {
        const des = new Des(key);
        const cipher = new Uint8Array(8);
        des.encryptBlock(block, 0, cipher, 0);
        const back = new Uint8Array(8);
        des.decryptBlock(cipher, 0, back, 0);
        assert.deepEqual(back, block);
      }),
      { seed: 20_260_301, numRuns: 500 },
    );
  });

  it('works at offsets and in place, and reuses one key for many blocks', () => {
    const des = new Des(hex('133457799bbcdff1'));
    const buf = Buffer.concat([hex('ffff'), hex('0123456789abcdef'), hex('0123456789abcdef'), hex('ee')]);
    des.encryptBlock(buf, 2, buf, 2);
    des.encryptBlock(buf, 10, buf, 10);
    assert.equal(buf.toString('hex'), `ffff${'85e813540f0ab405'.repeat(2)}ee`);
    const out = Buffer.alloc(9);
    des.decryptBlock(buf, 10, out, 1);
    assert.equal(out.toString('hex'), '000123456789abcdef');
  });

  it('rejects a key that is not 8 bytes and blocks that do not fit', () => {
    assert.throws(() => new Des(new Uint8Array(7)), RangeError);
    assert.throws(() => new Des(new Uint8Array(16)), RangeError);
    const des = new Des(new Uint8Array(8));
    assert.throws(() => des.encryptBlock(new Uint8Array(8), 1, new Uint8Array(8), 0), RangeError);
    assert.throws(() => des.encryptBlock(new Uint8Array(8), 0, new Uint8Array(15), 8), RangeError);
    assert.throws(() => des.decryptBlock(new Uint8Array(8), -1, new Uint8Array(8), 0), RangeError);
  });

  it('wipe() leaves a cipher that no longer encrypts with the old key', () => {
    const des = new Des(hex('133457799bbcdff1'));
    des.wipe();
    const out = Buffer.alloc(8);
    des.encryptBlock(hex('0123456789abcdef'), 0, out, 0);
    assert.notEqual(out.toString('hex'), '85e813540f0ab405');
  });
});

describe('desKeyFrom56', () => {
  it('puts each of the 56 key bits in the high seven bits of its byte, parity bits left 0', () => {
    for (let i = 0; i < 56; i++) {
      const key7 = new Uint8Array(7);
      key7[i >> 3] = 0x80 >> (i & 7);
      const expected = new Uint8Array(8);
      expected[Math.floor(i / 7)] = 0x80 >> (i % 7);
      assert.deepEqual(desKeyFrom56(key7), expected, `bit ${i}`);
    }
    assert.equal(Buffer.from(desKeyFrom56(hex('ffffffffffffff'))).toString('hex'), 'fefefefefefefefe');
    assert.equal(Buffer.from(desKeyFrom56(hex('00000000000000'))).toString('hex'), '0000000000000000');
  });

  it('gives the LAN Manager hashes of "PASSWORD" and "" (DES of "KGS!@#$%" under 7-byte keys)', () => {
    // Well-known: LM("password") = E52CAC67419A9A22 4A3B108F3FA6CB6D, LM("") = AAD3B435B51404EE twice.
    const magic = Buffer.from('KGS!@#$%', 'latin1');
    const lmHalf = (key7: Uint8Array): string => encrypt(desKeyFrom56(key7), magic);
    assert.equal(lmHalf(Buffer.from('PASSWOR', 'latin1')), 'e52cac67419a9a22');
    assert.equal(lmHalf(Buffer.from('D\0\0\0\0\0\0', 'latin1')), '4a3b108f3fa6cb6d');
    assert.equal(lmHalf(new Uint8Array(7)), 'aad3b435b51404ee');
  });

  it('rejects a key that is not 7 bytes', () => {
    assert.throws(() => desKeyFrom56(new Uint8Array(8)), RangeError);
    assert.throws(() => desKeyFrom56(new Uint8Array(0)), RangeError);
  });
});

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { UserDataError } from '../../src/errors.ts';
import { desKeyFrom56 } from '../../src/ad/crypto/des.ts';
import { addRidLayer, removeRidLayer } from '../../src/ad/secret/rid-des-layer.ts';
import { decryptReplicatedSecret, encryptReplicatedSecret, ntHashFromReplicatedUnicodePwd } from '../../src/ad/secret/replicated-secret.ts';

/** Made by vectors/make-replicated-secret-vectors.sh with openssl and python3, not with our code. */
interface UnicodePwdVector {
  name: string;
  kind: 'unicodePwd';
  password: string;
  rid: number;
  sessionKey: string;
  salt: string;
  ntHash: string;
  ridKey1: string;
  ridKey2: string;
  ridEncryptedHash: string;
  value: string;
}
interface GenericVector {
  name: string;
  kind: 'generic';
  sessionKey: string;
  salt: string;
  data: string;
  value: string;
}
type Vector = UnicodePwdVector | GenericVector;

const VECTORS = (JSON.parse(readFileSync(new URL('./vectors/replicated-secret-vectors.json', import.meta.url), 'utf8')) as { vectors: Vector[] }).vectors;
const PWD_VECTORS = VECTORS.filter((v): v is UnicodePwdVector => v.kind === 'unicodePwd');
const GENERIC_VECTORS = VECTORS.filter((v): v is GenericVector => v.kind === 'generic');

const hex = (s: string): Buffer => Buffer.from(s, 'hex');
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The first unicodePwd vector, used as the base for the failure cases. */
const BASE = PWD_VECTORS[0]!;

function isUserDataError(code: string, seen?: Error[]) {
  return (err: unknown): boolean => {
    assert.ok(err instanceof UserDataError, `expected a UserDataError, got ${String(err)}`);
    assert.equal(err.code, code);
    seen?.push(err);
    return true;
  };
}

describe('replicated secret vectors (openssl + python3)', () => {
  it('has the cases the script promises', () => {
    assert.ok(PWD_VECTORS.length >= 4);
    assert.ok(GENERIC_VECTORS.length >= 1);
    assert.ok(PWD_VECTORS.some((v) => v.ntHash === '31d6cfe0d16ae931b73c59d7e0c089c0'), 'the NT hash of ""');
    for (const rid of [500, 1103, 0x12345678]) assert.ok(PWD_VECTORS.some((v) => v.rid === rid), `RID ${rid}`);
  });

  for (const v of PWD_VECTORS) {
    it(`unicodePwd: ${v.name}`, () => {
      const sessionKey = hex(v.sessionKey);
      const value = hex(v.value);
      // Layer by layer, so a failure says which layer is wrong.
      assert.equal(toHex(decryptReplicatedSecret(sessionKey, value)), v.ridEncryptedHash, 'session-key layer');
      assert.equal(toHex(removeRidLayer(hex(v.ridEncryptedHash), v.rid)), v.ntHash, 'RID layer');
      assert.equal(toHex(ntHashFromReplicatedUnicodePwd(sessionKey, value, v.rid)), v.ntHash, 'both layers');
      // And back again.
      assert.equal(toHex(addRidLayer(hex(v.ntHash), v.rid)), v.ridEncryptedHash, 'addRidLayer');
      assert.equal(toHex(encryptReplicatedSecret(sessionKey, hex(v.ridEncryptedHash), hex(v.salt))), v.value, 'encryptReplicatedSecret');
      // The python key spreading agrees with desKeyFrom56 (MS-SAMR 2.2.11.1.3 byte order).
      const k = Buffer.alloc(4);
      k.writeUInt32LE(v.rid);
      assert.equal(toHex(desKeyFrom56(Uint8Array.of(k[0]!, k[1]!, k[2]!, k[3]!, k[0]!, k[1]!, k[2]!))), v.ridKey1, 'key1');
      assert.equal(toHex(desKeyFrom56(Uint8Array.of(k[3]!, k[0]!, k[1]!, k[2]!, k[3]!, k[0]!, k[1]!))), v.ridKey2, 'key2');
    });
  }

  for (const v of GENERIC_VECTORS) {
    it(`generic: ${v.name}`, () => {
      assert.equal(toHex(decryptReplicatedSecret(hex(v.sessionKey), hex(v.value))), v.data);
      assert.equal(toHex(encryptReplicatedSecret(hex(v.sessionKey), hex(v.data), hex(v.salt))), v.value);
    });
  }

  it('the RID matters: the same hash under two RIDs gives two different layered hashes', () => {
    const empty = PWD_VECTORS.filter((v) => v.ntHash === '31d6cfe0d16ae931b73c59d7e0c089c0');
    assert.ok(empty.length >= 2);
    assert.notEqual(empty[0]!.ridEncryptedHash, empty[1]!.ridEncryptedHash);
    assert.notEqual(toHex(removeRidLayer(hex(empty[0]!.ridEncryptedHash), empty[1]!.rid)), empty[0]!.ntHash);
  });
});

describe('decryptReplicatedSecret', () => {
  it('leaves its input alone and returns memory of its own', () => {
    const value = hex(BASE.value);
    const data = decryptReplicatedSecret(hex(BASE.sessionKey), value);
    assert.equal(toHex(value), BASE.value);
    assert.notEqual(data.buffer, value.buffer);
  });

  it('round-trips any data under any session key and salt', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 1, maxLength: 64 }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.uint8Array({ maxLength: 300 }),
        (sessionKey, salt, data) => {
          const value = encryptReplicatedSecret(sessionKey, data, salt);
          assert.equal(value.length, 20 + data.length);
          assert.deepEqual(toHex(value.subarray(0, 16)), toHex(salt));
          assert.deepEqual(toHex(decryptReplicatedSecret(sessionKey, value)), toHex(data));
        },
      ),
      { seed: 20_260_302, numRuns: 300 },
    );
  });

  it('a flipped ciphertext bit fails the checksum (DRS_SECRET_CRC_MISMATCH)', () => {
    const sessionKey = hex(BASE.sessionKey);
    // In the data, in the encrypted CRC, and in the salt (which changes the RC4 key).
    for (const [byte, bit] of [[20, 0], [35, 7], [16, 3], [19, 0], [0, 0], [15, 5]] as const) {
      const value = hex(BASE.value);
      value[byte] = value[byte]! ^ (1 << bit);
      assert.throws(() => decryptReplicatedSecret(sessionKey, value), isUserDataError('DRS_SECRET_CRC_MISMATCH'), `byte ${byte} bit ${bit}`);
      assert.throws(() => ntHashFromReplicatedUnicodePwd(sessionKey, value, BASE.rid), isUserDataError('DRS_SECRET_CRC_MISMATCH'));
    }
  });

  it('the wrong session key fails the checksum (DRS_SECRET_CRC_MISMATCH)', () => {
    const wrongKeys = [hex(BASE.sessionKey).map((b, i) => (i === 15 ? b ^ 0x80 : b)), hex('00'), hex(`${BASE.sessionKey}00`), Buffer.alloc(16)];
    for (const key of wrongKeys) {
      assert.throws(() => decryptReplicatedSecret(key, hex(BASE.value)), isUserDataError('DRS_SECRET_CRC_MISMATCH'), toHex(key));
    }
  });

  it('a value shorter than salt + CRC is DRS_SECRET_TOO_SHORT; exactly 20 bytes is empty data', () => {
    const sessionKey = hex(BASE.sessionKey);
    for (const length of [0, 1, 16, 19]) {
      assert.throws(() => decryptReplicatedSecret(sessionKey, hex(BASE.value).subarray(0, length)), isUserDataError('DRS_SECRET_TOO_SHORT'), `${length} bytes`);
    }
    assert.throws(() => ntHashFromReplicatedUnicodePwd(sessionKey, hex(BASE.value).subarray(0, 19), BASE.rid), isUserDataError('DRS_SECRET_TOO_SHORT'));
    const twenty = encryptReplicatedSecret(sessionKey, new Uint8Array(0), hex(BASE.salt));
    assert.equal(decryptReplicatedSecret(sessionKey, twenty).length, 0);
  });

  it('an empty session key is a RangeError (a caller bug, not a user problem)', () => {
    assert.throws(() => decryptReplicatedSecret(new Uint8Array(0), hex(BASE.value)), RangeError);
    assert.throws(() => ntHashFromReplicatedUnicodePwd(new Uint8Array(0), hex(BASE.value), BASE.rid), RangeError);
    assert.throws(() => encryptReplicatedSecret(new Uint8Array(0), new Uint8Array(16), new Uint8Array(16)), RangeError);
  });
});

describe('ntHashFromReplicatedUnicodePwd', () => {
  it('round-trips any hash and RID through both layers', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.integer({ min: 1, max: 0xffffffff }),
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (hash, rid, salt) => {
          const sessionKey = hex(BASE.sessionKey);
          const value = encryptReplicatedSecret(sessionKey, addRidLayer(hash, rid), salt);
          assert.equal(toHex(ntHashFromReplicatedUnicodePwd(sessionKey, value, rid)), toHex(hash));
        },
      ),
      { seed: 20_260_303, numRuns: 300 },
    );
  });

  it('data that is not 16 bytes is DRS_SECRET_FORMAT, with the size in the message', () => {
    const sessionKey = hex(BASE.sessionKey);
    for (const size of [20, 0, 15, 32]) {
      const value = encryptReplicatedSecret(sessionKey, new Uint8Array(size).fill(0x5a), hex(BASE.salt));
      assert.throws(
        () => ntHashFromReplicatedUnicodePwd(sessionKey, value, BASE.rid),
        (err: unknown) => isUserDataError('DRS_SECRET_FORMAT')(err) && (err as Error).message.includes(`${size} bytes`),
      );
    }
  });

  it("refuses RID 0 as that user's DRS_SID_INVALID, and non-uint32 RIDs as a RangeError (caller bug)", () => {
    assert.throws(() => ntHashFromReplicatedUnicodePwd(hex(BASE.sessionKey), hex(BASE.value), 0), isUserDataError('DRS_SID_INVALID'));
    for (const rid of [-1, 1.5, 2 ** 32, Number.NaN]) {
      assert.throws(() => ntHashFromReplicatedUnicodePwd(hex(BASE.sessionKey), hex(BASE.value), rid), RangeError, String(rid));
    }
  });

  it('puts no secret bytes in its error messages', () => {
    const errors: Error[] = [];
    const sessionKey = hex(BASE.sessionKey);
    // CRC mismatch, wrong key, too short, wrong size (20 bytes made of the layered hash + 4).
    const flipped = hex(BASE.value);
    flipped[25] = flipped[25]! ^ 1;
    assert.throws(() => ntHashFromReplicatedUnicodePwd(sessionKey, flipped, BASE.rid), isUserDataError('DRS_SECRET_CRC_MISMATCH', errors));
    assert.throws(() => ntHashFromReplicatedUnicodePwd(Buffer.alloc(16), hex(BASE.value), BASE.rid), isUserDataError('DRS_SECRET_CRC_MISMATCH', errors));
    assert.throws(() => ntHashFromReplicatedUnicodePwd(sessionKey, hex(BASE.value).subarray(0, 19), BASE.rid), isUserDataError('DRS_SECRET_TOO_SHORT', errors));
    const twenty = Buffer.concat([hex(BASE.ridEncryptedHash), hex('01020304')]);
    assert.throws(
      () => ntHashFromReplicatedUnicodePwd(sessionKey, encryptReplicatedSecret(sessionKey, twenty, hex(BASE.salt)), BASE.rid),
      isUserDataError('DRS_SECRET_FORMAT', errors),
    );
    assert.equal(errors.length, 4);

    const secrets = [BASE.ntHash, BASE.ridEncryptedHash, BASE.sessionKey, BASE.value.slice(32)];
    for (const err of errors) {
      const text = `${err.message}\n${err.stack ?? ''}\n${String(err.cause ?? '')}`.toLowerCase();
      for (const secret of secrets) {
        // Whole, and any 8-byte piece of it (a partial echo is still an echo).
        for (let at = 0; at + 16 <= secret.length; at += 2) {
          assert.ok(!text.includes(secret.slice(at, at + 16)), `${err.message} contains part of a secret`);
        }
      }
    }
  });
});

describe('rid DES layer', () => {
  it('removeRidLayer undoes addRidLayer, and rejects a block that is not 16 bytes', () => {
    const hash = hex(BASE.ntHash);
    for (const rid of [0, 1, 500, 1103, 0x12345678, 0xffffffff]) {
      assert.equal(toHex(removeRidLayer(addRidLayer(hash, rid), rid)), BASE.ntHash, `RID ${rid}`);
    }
    assert.throws(() => removeRidLayer(new Uint8Array(15), 500), RangeError);
    assert.throws(() => addRidLayer(new Uint8Array(17), 500), RangeError);
    assert.throws(() => removeRidLayer(new Uint8Array(16), -1), RangeError);
    assert.throws(() => removeRidLayer(new Uint8Array(16), 2 ** 32), RangeError);
  });
});

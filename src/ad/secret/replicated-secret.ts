/**
 * The session-key layer a DC puts around secret attribute values (unicodePwd, supplementalCredentials,
 * ...) in a DRSGetNCChanges reply, on top of whatever the RPC transport does.
 *
 * MS-DRSR EncryptValuesIfNecessary / DecryptValuesIfNecessary (4.1.10.5.11 / 4.1.10.6.17 in the
 * revision we read; Samba: libcli/drsuapi/repl_decrypt.c drsuapi_decrypt_attribute_value):
 *
 *   value     = salt (16 bytes, random per value) ‖ RC4(key, crc ‖ data)
 *   key       = MD5(sessionKey ‖ salt)
 *   crc       = CRC-32 of data, 4 bytes little-endian
 *
 * sessionKey is the security context's session key (MS-RPCE 3.3.1.5.2), not anything derived for
 * the transport. The CRC is the only integrity check: a mismatch means the session key is wrong or
 * the value is damaged, and we cannot tell which.
 */
import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { UserDataError } from '../../errors.ts';
import { Rc4 } from '../crypto/rc4.ts';
import { removeRidLayer } from './rid-des-layer.ts';

const SALT_LENGTH = 16;
const CRC_LENGTH = 4;
const NT_HASH_LENGTH = 16;

function checkSessionKey(sessionKey: Uint8Array): void {
  if (sessionKey.length === 0) throw new RangeError('the DRS session key is empty');
}

/** The per-value RC4 cipher. The MD5 output is the RC4 key, so it is zeroed once RC4 has its state. */
function valueCipher(sessionKey: Uint8Array, salt: Uint8Array): Rc4 {
  const key = createHash('md5').update(sessionKey).update(salt).digest();
  const cipher = new Rc4(key);
  key.fill(0);
  return cipher;
}

/**
 * Removes the session-key layer and returns the attribute's data (after the CRC), checking the CRC.
 * The returned buffer is the caller's to zero when done.
 */
export function decryptReplicatedSecret(sessionKey: Uint8Array, value: Uint8Array): Buffer {
  checkSessionKey(sessionKey);
  if (value.length < SALT_LENGTH + CRC_LENGTH) {
    throw new UserDataError(
      'DRS_SECRET_TOO_SHORT',
      `a replicated secret value is ${value.length} bytes; at least ${SALT_LENGTH + CRC_LENGTH} are needed for the salt and checksum`,
    );
  }
  // Buffer.alloc, not Buffer.from: our own memory (not a slice of the shared pool), so filling it
  // with zeros really removes the plaintext.
  const plain = Buffer.alloc(value.length - SALT_LENGTH);
  plain.set(value.subarray(SALT_LENGTH));
  valueCipher(sessionKey, value.subarray(0, SALT_LENGTH)).process(plain);

  const body = plain.subarray(CRC_LENGTH);
  const crcGiven = plain.readUInt32LE(0);
  const crcComputed = crc32(body);
  if (crcGiven !== crcComputed) {
    plain.fill(0);
    throw new UserDataError(
      'DRS_SECRET_CRC_MISMATCH',
      'a replicated secret value failed its checksum after decryption (wrong session key, or damaged data)',
    );
  }
  const data = Buffer.alloc(body.length);
  data.set(body);
  plain.fill(0);
  return data;
}

/**
 * The NT hash from a replicated unicodePwd value: the session-key layer, then the RID DES layer.
 * `rid` is the account's RID (last sub-authority of its objectSid). Like Samba we refuse RID 0,
 * which no account has: it comes from the DC's data, so it is that user's error (the same code as
 * any other unusable SID), not a RangeError that would end the run.
 */
export function ntHashFromReplicatedUnicodePwd(sessionKey: Uint8Array, value: Uint8Array, rid: number): Uint8Array {
  if (!Number.isInteger(rid) || rid < 0 || rid > 0xffffffff) throw new RangeError('a RID is an unsigned 32-bit integer');
  if (rid === 0) throw new UserDataError('DRS_SID_INVALID', "the object's SID ends in RID 0, which no account has");
  const data = decryptReplicatedSecret(sessionKey, value);
  try {
    if (data.length !== NT_HASH_LENGTH) {
      throw new UserDataError(
        'DRS_SECRET_FORMAT',
        `unicodePwd decrypted to ${data.length} bytes; an NT hash is ${NT_HASH_LENGTH}`,
      );
    }
    return removeRidLayer(data, rid);
  } finally {
    data.fill(0);
  }
}

/**
 * Adds the session-key layer, as a DC does: the inverse of decryptReplicatedSecret. `salt16` is
 * taken from the caller (a DC uses 16 random bytes) so tests and fixtures are reproducible. For
 * unicodePwd, `data` is the NT hash with the RID layer already on (addRidLayer).
 */
export function encryptReplicatedSecret(sessionKey: Uint8Array, data: Uint8Array, salt16: Uint8Array): Buffer {
  checkSessionKey(sessionKey);
  if (salt16.length !== SALT_LENGTH) throw new RangeError(`a replicated secret salt is ${SALT_LENGTH} bytes (${salt16.length})`);
  const out = Buffer.alloc(SALT_LENGTH + CRC_LENGTH + data.length);
  out.set(salt16, 0);
  out.writeUInt32LE(crc32(data), SALT_LENGTH);
  out.set(data, SALT_LENGTH + CRC_LENGTH);
  valueCipher(sessionKey, salt16).process(out.subarray(SALT_LENGTH));
  return out;
}

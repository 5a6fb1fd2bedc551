/**
 * The fixed DES layer that MS-SAMR and MS-DRSR put around a 16-byte NT (or LM) hash.
 *
 * It is keyed only by the account's RID, so it protects nothing (anyone who knows the RID can
 * remove it), but a DC sends unicodePwd with this layer still on under the session-key layer, and
 * the hash is wrong without taking it off. Key derivation: MS-SAMR 2.2.11.1.3 "Deriving Key1 and
 * Key2 from a Little-Endian, Unsigned Integer Key"; each 7-byte key is spread to 8 bytes as in
 * MS-SAMR 2.2.11.1.2 (desKeyFrom56). Same as Samba's sam_rid_crypt and impacket's
 * deriveKey/removeDESLayer.
 */
import { Des, desKeyFrom56 } from '../crypto/des.ts';

const HASH_LENGTH = 16;

/** Key1 = I0 I1 I2 I3 I0 I1 I2, Key2 = I3 I0 I1 I2 I3 I0 I1, with I the RID's little-endian bytes. */
function ridCiphers(rid: number): [Des, Des] {
  if (!Number.isInteger(rid) || rid < 0 || rid > 0xffffffff) throw new RangeError('a RID is an unsigned 32-bit integer');
  const i0 = rid & 0xff;
  const i1 = (rid >>> 8) & 0xff;
  const i2 = (rid >>> 16) & 0xff;
  const i3 = (rid >>> 24) & 0xff;
  const key1 = desKeyFrom56(Uint8Array.of(i0, i1, i2, i3, i0, i1, i2));
  const key2 = desKeyFrom56(Uint8Array.of(i3, i0, i1, i2, i3, i0, i1));
  const ciphers: [Des, Des] = [new Des(key1), new Des(key2)];
  // The RID is not secret, but the habit costs nothing and keeps key bytes from lingering.
  key1.fill(0);
  key2.fill(0);
  return ciphers;
}

function checkLength(block: Uint8Array): void {
  if (block.length !== HASH_LENGTH) throw new RangeError(`the RID DES layer works on 16 bytes (${block.length})`);
}

/** Takes the RID layer off: the result is the plain 16-byte hash. */
export function removeRidLayer(encrypted16: Uint8Array, rid: number): Uint8Array {
  checkLength(encrypted16);
  const [first, second] = ridCiphers(rid);
  const out = new Uint8Array(HASH_LENGTH);
  first.decryptBlock(encrypted16, 0, out, 0);
  second.decryptBlock(encrypted16, 8, out, 8);
  first.wipe();
  second.wipe();
  return out;
}

/** Puts the RID layer on (what a DC does before sending); the inverse of removeRidLayer. */
export function addRidLayer(hash16: Uint8Array, rid: number): Uint8Array {
  checkLength(hash16);
  const [first, second] = ridCiphers(rid);
  const out = new Uint8Array(HASH_LENGTH);
  first.encryptBlock(hash16, 0, out, 0);
  second.encryptBlock(hash16, 8, out, 8);
  first.wipe();
  second.wipe();
  return out;
}

import { createHash, timingSafeEqual } from 'node:crypto';
import { FatalError } from '../../errors.ts';
import { Rc4 } from '../crypto/rc4.ts';
import {
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_56,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
} from './ntlm-flags.ts';
import { hmacMd5 } from './ntlmv2-response.ts';

// MS-NLMP 3.4.5.2 / 3.4.5.3: the constants are hashed with their terminating NUL.
const CLIENT_SIGNING = 'session key to client-to-server signing key magic constant\0';
const SERVER_SIGNING = 'session key to server-to-client signing key magic constant\0';
const CLIENT_SEALING = 'session key to client-to-server sealing key magic constant\0';
const SERVER_SEALING = 'session key to server-to-client sealing key magic constant\0';

export interface SessionKeys {
  readonly clientSigningKey: Buffer;
  readonly serverSigningKey: Buffer;
  readonly clientSealingKey: Buffer;
  readonly serverSealingKey: Buffer;
}

/**
 * SIGNKEY and SEALKEY with extended session security. Only the sealing keys are weakened for
 * 56- or 40-bit sessions (first 7 or 5 bytes of the exported key), as the specification and Samba
 * do; the client refuses such sessions anyway, but the derivation stays faithful.
 */
export function deriveSessionKeys(exportedSessionKey: Uint8Array, flags: number): SessionKeys {
  const md5 = (key: Uint8Array, constant: string): Buffer => createHash('md5').update(key).update(constant, 'latin1').digest();
  const sealBase =
    (flags & NTLMSSP_NEGOTIATE_128) !== 0
      ? exportedSessionKey
      : exportedSessionKey.subarray(0, (flags & NTLMSSP_NEGOTIATE_56) !== 0 ? 7 : 5);
  return {
    clientSigningKey: md5(exportedSessionKey, CLIENT_SIGNING),
    serverSigningKey: md5(exportedSessionKey, SERVER_SIGNING),
    clientSealingKey: md5(sealBase, CLIENT_SEALING),
    serverSealingKey: md5(sealBase, SERVER_SEALING),
  };
}

/** One direction of the session: its signing key, its RC4 stream and its sequence number. */
class Direction {
  readonly signingKey: Buffer;
  readonly rc4: Rc4;
  seqNum = 0;

  constructor(signingKey: Buffer, sealingKey: Buffer) {
    this.signingKey = signingKey;
    this.rc4 = new Rc4(sealingKey);
  }

  nextSeqNum(): Buffer {
    const seq = Buffer.alloc(4);
    seq.writeUInt32LE(this.seqNum, 0);
    this.seqNum = (this.seqNum + 1) >>> 0;
    return seq;
  }
}

/**
 * The client side of NTLM session security (MS-NLMP 3.4) with extended session security: what
 * protects each DCE/RPC PDU after AUTH3 at PKT_PRIVACY.
 *
 * The RC4 stream of a direction runs on across messages and is shared by the data and the
 * checksums, so the order of operations is part of the protocol: sealing encrypts the data first
 * and the checksum after it; unsealing decrypts the data first and then encrypts the expected
 * checksum. The MAC covers `signed`, which for DCE/RPC is the whole PDU from the header through the
 * sec_trailer with the stub in plaintext, while only `data` (stub and padding) is encrypted: hence
 * two arguments (Samba, auth/ntlmssp/ntlmssp_sign.c: ntlmssp_seal_packet, ntlmssp_unseal_packet).
 */
export class NtlmSession {
  static readonly SIGNATURE_BYTES = 16;

  readonly #keyExchange: boolean;
  readonly #send: Direction;
  readonly #receive: Direction;

  constructor(exportedSessionKey: Uint8Array, negotiatedFlags: number) {
    if (exportedSessionKey.length !== 16) throw new RangeError(`an exported session key is 16 bytes (${exportedSessionKey.length})`);
    if ((negotiatedFlags & NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY) === 0) {
      // NTLMv1 session security (CRC32 checksums, one shared RC4 stream) is not implemented.
      throw new RangeError('NtlmSession needs NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY');
    }
    const keys = deriveSessionKeys(exportedSessionKey, negotiatedFlags);
    this.#keyExchange = (negotiatedFlags & NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
    this.#send = new Direction(keys.clientSigningKey, keys.clientSealingKey);
    this.#receive = new Direction(keys.serverSigningKey, keys.serverSealingKey);
  }

  /** Seals `data` in place (client→server) and returns the 16-byte signature; the MAC covers `signed`, the whole PDU as DCE/RPC defines it, which contains `data` in PLAINTEXT at call time. */
  seal(data: Buffer, signed: Buffer): Buffer {
    // The MAC first, over the plaintext: encrypting `data` changes `signed` too when it is a view into it.
    const seq = this.#send.nextSeqNum();
    const checksum = hmacMd5(this.#send.signingKey, seq, signed).subarray(0, 8);
    this.#send.rc4.process(data);
    return this.#signature(this.#send, checksum, seq);
  }

  /** Unseals server→client `data` in place, then verifies `signature` over `signed` (which must contain the now-plaintext data: the caller passes the PDU buffer in which data is a subarray) — throws FatalError('NTLM_SIGNATURE_INVALID') if it does not verify. */
  unseal(data: Buffer, signed: Buffer, signature: Buffer): void {
    this.#receive.rc4.process(data);
    this.verify(signed, signature);
  }

  /** Integrity only (client→server): the signature over `signed`. */
  sign(signed: Buffer): Buffer {
    const seq = this.#send.nextSeqNum();
    const checksum = hmacMd5(this.#send.signingKey, seq, signed).subarray(0, 8);
    return this.#signature(this.#send, checksum, seq);
  }

  /** Checks a server→client signature over `signed`; throws FatalError('NTLM_SIGNATURE_INVALID'). */
  verify(signed: Buffer, signature: Buffer): void {
    const seq = this.#receive.nextSeqNum();
    const checksum = hmacMd5(this.#receive.signingKey, seq, signed).subarray(0, 8);
    const expected = this.#signature(this.#receive, checksum, seq);
    // The RC4 stream has moved on whatever the outcome: after a bad signature the session is unusable, which is why this is fatal.
    if (signature.length !== NtlmSession.SIGNATURE_BYTES || !timingSafeEqual(expected, signature)) {
      throw new FatalError(
        'NTLM_SIGNATURE_INVALID',
        `NTLM: the signature of server message ${seq.readUInt32LE(0)} does not verify: the reply was altered in transit, or the session keys do not match`,
      );
    }
  }

  /** NTLMSSP_MESSAGE_SIGNATURE (MS-NLMP 2.2.2.9.1): Version 1 ‖ Checksum ‖ SeqNum. */
  #signature(direction: Direction, checksum: Buffer, seq: Buffer): Buffer {
    if (this.#keyExchange) direction.rc4.process(checksum);
    const out = Buffer.alloc(NtlmSession.SIGNATURE_BYTES);
    out.writeUInt32LE(1, 0);
    checksum.copy(out, 4);
    seq.copy(out, 12);
    return out;
  }
}

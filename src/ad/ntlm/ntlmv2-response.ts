import { createHmac } from 'node:crypto';
import { rc4 } from '../crypto/rc4.ts';

/**
 * The NTLMv2 computations of MS-NLMP 3.3.2 and the key exchange of 3.4.5.1 / 3.1.5.1.2, as pure
 * functions so that the specification's example (4.2.4) can check each step on its own. The client
 * holds the NT hash, never the password: NTOWFv2 starts from MD4(UTF-16LE(password)), which is
 * exactly what the directory stores and what ntHash() computes.
 */

export function hmacMd5(key: Uint8Array, ...parts: Uint8Array[]): Buffer {
  const mac = createHmac('md5', key);
  for (const part of parts) mac.update(part);
  return mac.digest();
}

/**
 * Uppercase as Windows does for NTOWFv2: one UTF-16 character to one. JavaScript's toUpperCase
 * may lengthen a character ('ß' becomes 'SS'), which Windows never does, and a different string
 * would give a different key; such characters are left as they are.
 */
export function upperCaseUser(user: string): string {
  let out = '';
  for (const ch of user) {
    const up = ch.toUpperCase();
    out += up.length === ch.length ? up : ch;
  }
  return out;
}

/** NTOWFv2 = HMAC_MD5(NT hash, UNICODE(Uppercase(User) ‖ UserDom)); the domain keeps its case. */
export function ntowfV2(ntHash: Uint8Array, user: string, domain: string): Buffer {
  if (ntHash.length !== 16) throw new RangeError(`an NT hash is 16 bytes (${ntHash.length})`);
  return hmacMd5(ntHash, Buffer.from(upperCaseUser(user) + domain, 'utf16le'));
}

/**
 * The NTLMv2_CLIENT_CHALLENGE structure (MS-NLMP 2.2.2.7), the "temp" of 3.3.2:
 * RespType 1, HiRespType 1, Z(6), Time, ClientChallenge, Z(4), AV pairs (ending in MsvAvEOL), Z(4).
 */
export function ntlmv2ClientChallenge(time: bigint, clientChallenge: Uint8Array, avPairs: Uint8Array): Buffer {
  if (clientChallenge.length !== 8) throw new RangeError(`a client challenge is 8 bytes (${clientChallenge.length})`);
  const out = Buffer.alloc(28 + avPairs.length + 4);
  out[0] = 1;
  out[1] = 1;
  out.writeBigUInt64LE(BigInt.asUintN(64, time), 8);
  out.set(clientChallenge, 16);
  out.set(avPairs, 28);
  return out;
}

export interface Ntlmv2Response {
  /** HMAC_MD5(ResponseKeyNT, ServerChallenge ‖ temp): the first 16 bytes of the NT response. */
  readonly ntProofStr: Buffer;
  /** NTProofStr ‖ temp: the NtChallengeResponse field. */
  readonly ntChallengeResponse: Buffer;
  /** HMAC_MD5(ResponseKeyNT, NTProofStr); with NTLMv2 the KeyExchangeKey is this key itself. */
  readonly sessionBaseKey: Buffer;
}

export function ntlmv2Response(responseKeyNt: Uint8Array, serverChallenge: Uint8Array, clientBlob: Uint8Array): Ntlmv2Response {
  if (serverChallenge.length !== 8) throw new RangeError(`a server challenge is 8 bytes (${serverChallenge.length})`);
  const ntProofStr = hmacMd5(responseKeyNt, serverChallenge, clientBlob);
  return {
    ntProofStr,
    ntChallengeResponse: Buffer.concat([ntProofStr, clientBlob]),
    sessionBaseKey: hmacMd5(responseKeyNt, ntProofStr),
  };
}

/** LMv2 response: HMAC_MD5(ResponseKeyLM, ServerChallenge ‖ ClientChallenge) ‖ ClientChallenge. */
export function lmv2Response(responseKeyLm: Uint8Array, serverChallenge: Uint8Array, clientChallenge: Uint8Array): Buffer {
  return Buffer.concat([hmacMd5(responseKeyLm, serverChallenge, clientChallenge), clientChallenge]);
}

/**
 * With NEGOTIATE_KEY_EXCH the client picks the session key itself (ExportedSessionKey) and sends
 * it RC4-encrypted under the KeyExchangeKey, so the key protecting the session (and later the
 * replicated secrets) does not come from the password alone.
 */
export function encryptRandomSessionKey(keyExchangeKey: Uint8Array, randomSessionKey: Uint8Array): Buffer {
  if (randomSessionKey.length !== 16) throw new RangeError(`a session key is 16 bytes (${randomSessionKey.length})`);
  return rc4(keyExchangeKey, randomSessionKey);
}

/** MIC = HMAC_MD5(ExportedSessionKey, NEGOTIATE ‖ CHALLENGE ‖ AUTHENTICATE with the MIC zeroed). */
export function computeMic(exportedSessionKey: Uint8Array, negotiate: Uint8Array, challenge: Uint8Array, authenticate: Uint8Array): Buffer {
  return hmacMd5(exportedSessionKey, negotiate, challenge, authenticate);
}

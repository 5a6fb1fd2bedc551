import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import { FatalError } from '../../errors.ts';
import { CLIENT_REQUESTED_FLAGS, CLIENT_REQUIRED_FLAGS, describeFlags, NTLMSSP_NEGOTIATE_VERSION } from './ntlm-flags.ts';
import type { AvPair } from './ntlm-messages.ts';
import {
  CLIENT_VERSION,
  decodeChallenge,
  encodeAuthenticate,
  encodeAvPairs,
  encodeNegotiate,
  findAvPair,
  MIC_OFFSET,
  MSV_AV_CHANNEL_BINDINGS,
  MSV_AV_FLAG_MIC_PRESENT,
  MSV_AV_FLAGS,
  MSV_AV_TARGET_NAME,
  MSV_AV_TIMESTAMP,
} from './ntlm-messages.ts';
import { NtlmSession } from './ntlm-session.ts';
import { computeMic, encryptRandomSessionKey, lmv2Response, ntlmv2ClientChallenge, ntlmv2Response, ntowfV2 } from './ntlmv2-response.ts';

export interface NtlmClientOptions {
  readonly user: string;
  readonly domain: string;
  /** MD4(UTF-16LE(password)), 16 bytes. Copied: the caller may wipe its own buffer. */
  readonly ntHash: Uint8Array;
  /** Sent as the AUTHENTICATE workstation name (the DC logs it); empty by default. */
  readonly workstation?: string;
  /** The server's SPN ('ldap/dc1.test.example') for MsvAvTargetName; servers that check it need it, Samba does not. */
  readonly targetName?: string;
  /** Test hook: the client challenge and the exported session key come from here. */
  readonly randomBytes?: (n: number) => Buffer;
  /** Test hook: the current time as a FILETIME, used when the server sent no MsvAvTimestamp. */
  readonly now?: () => bigint;
}

/** 100-ns intervals between 1601-01-01 and 1970-01-01. */
const FILETIME_UNIX_EPOCH = 116444736000000000n;

function filetimeNow(): bigint {
  return BigInt(Date.now()) * 10000n + FILETIME_UNIX_EPOCH;
}

interface Established {
  readonly flags: number;
  readonly exportedSessionKey: Buffer;
  readonly session: NtlmSession;
}

/**
 * An NTLMv2 client for one connection: negotiate() gives the NEGOTIATE_MESSAGE for the bind,
 * authenticate() turns the CHALLENGE from bind_ack into the AUTHENTICATE_MESSAGE for AUTH3, and
 * from then on `session` seals and unseals the PDUs.
 */
export class NtlmClient {
  readonly #user: string;
  readonly #domain: string;
  readonly #ntHash: Buffer;
  readonly #workstation: string;
  readonly #targetName: string | undefined;
  readonly #randomBytes: (n: number) => Buffer;
  readonly #now: () => bigint;
  #negotiate: Buffer | undefined;
  #established: Established | undefined;

  constructor(options: NtlmClientOptions) {
    if (options.ntHash.length !== 16) throw new RangeError(`an NT hash is 16 bytes (${options.ntHash.length})`);
    if (options.user === '') throw new RangeError('NTLM needs a user name');
    this.#user = options.user;
    this.#domain = options.domain;
    this.#ntHash = Buffer.from(options.ntHash);
    this.#workstation = options.workstation ?? '';
    this.#targetName = options.targetName;
    this.#randomBytes = options.randomBytes ?? cryptoRandomBytes;
    this.#now = options.now ?? filetimeNow;
  }

  /** The NEGOTIATE_MESSAGE; kept, because the MIC covers it. */
  negotiate(): Buffer {
    this.#negotiate = encodeNegotiate(CLIENT_REQUESTED_FLAGS);
    this.#established = undefined;
    return Buffer.from(this.#negotiate);
  }

  /** CHALLENGE_MESSAGE in, AUTHENTICATE_MESSAGE out; the session is ready afterwards. */
  authenticate(challengeMessage: Buffer): Buffer {
    const negotiate = this.#negotiate;
    if (negotiate === undefined) throw new Error('NtlmClient.authenticate() before negotiate()');
    const challenge = decodeChallenge(challengeMessage);
    const missing = (CLIENT_REQUIRED_FLAGS & ~challenge.flags) >>> 0;
    if (missing !== 0) {
      throw new FatalError(
        'NTLM_NEGOTIATION_FAILED',
        `NTLM: the server did not grant ${describeFlags(missing)}; replicating password secrets needs 128-bit sealing with key exchange and NTLMv2 session security`,
      );
    }
    // What both sides agreed on; this is also what the AUTHENTICATE message announces (MS-NLMP 3.1.5.1.2).
    const flags = (CLIENT_REQUESTED_FLAGS & challenge.flags) >>> 0;

    // With a server timestamp the blob carries the server's time (no clock skew to fail on), the
    // LM response is zeros, and a MIC binds the three messages together (MS-NLMP 3.1.5.1.2).
    const timestamp = findAvPair(challenge.targetInfo, MSV_AV_TIMESTAMP);
    const time = timestamp === undefined ? this.#now() : timestamp.value.readBigUInt64LE(0);
    const withMic = timestamp !== undefined;

    const clientChallenge = this.#random(8);
    const exportedSessionKey = this.#random(16);
    const responseKey = ntowfV2(this.#ntHash, this.#user, this.#domain);
    try {
      const blob = ntlmv2ClientChallenge(time, clientChallenge, encodeAvPairs(this.#clientAvPairs(challenge.targetInfo, withMic)));
      const response = ntlmv2Response(responseKey, challenge.serverChallenge, blob);
      const message = encodeAuthenticate({
        flags,
        lmChallengeResponse: withMic ? Buffer.alloc(24) : lmv2Response(responseKey, challenge.serverChallenge, clientChallenge),
        ntChallengeResponse: response.ntChallengeResponse,
        domain: this.#domain,
        user: this.#user,
        workstation: this.#workstation,
        encryptedRandomSessionKey: encryptRandomSessionKey(response.sessionBaseKey, exportedSessionKey),
        version: (flags & NTLMSSP_NEGOTIATE_VERSION) !== 0 ? CLIENT_VERSION : Buffer.alloc(8),
        mic: true,
      });
      if (withMic) computeMic(exportedSessionKey, negotiate, challengeMessage, message).copy(message, MIC_OFFSET);
      response.sessionBaseKey.fill(0);
      this.#established = { flags, exportedSessionKey, session: new NtlmSession(exportedSessionKey, flags) };
      return message;
    } finally {
      responseKey.fill(0);
    }
  }

  get session(): NtlmSession {
    return this.#require().session;
  }

  /** The key that also decrypts replicated secrets (MS-DRSR 4.1.10.6.13); a copy. */
  get exportedSessionKey(): Buffer {
    return Buffer.from(this.#require().exportedSessionKey);
  }

  /** The flags both sides agreed on. */
  get negotiatedFlags(): number {
    return this.#require().flags;
  }

  #require(): Established {
    if (this.#established === undefined) throw new Error('NTLM: not authenticated yet (call authenticate() first)');
    return this.#established;
  }

  #random(n: number): Buffer {
    const bytes = this.#randomBytes(n);
    if (bytes.length !== n) throw new RangeError(`randomBytes(${n}) returned ${bytes.length} bytes`);
    return Buffer.from(bytes);
  }

  /**
   * The server's AV pairs echoed unchanged (Samba refuses a response that alters or drops one),
   * then what the client adds: MsvAvFlags with the MIC bit when there will be a MIC, an all-zero
   * MsvChannelBindings (no TLS underneath; Windows clients send the same), and the SPN if known.
   * Channel bindings and target name are the client's to state, so any the server sent are dropped.
   */
  #clientAvPairs(serverPairs: readonly AvPair[], withMic: boolean): AvPair[] {
    const pairs: AvPair[] = [];
    let flagsSeen = false;
    for (const pair of serverPairs) {
      if (pair.id === MSV_AV_FLAGS) {
        flagsSeen = true;
        const value = Buffer.from(pair.value);
        if (withMic) value.writeUInt32LE((value.readUInt32LE(0) | MSV_AV_FLAG_MIC_PRESENT) >>> 0, 0);
        pairs.push({ id: pair.id, value });
      } else if (pair.id !== MSV_AV_CHANNEL_BINDINGS && pair.id !== MSV_AV_TARGET_NAME) {
        pairs.push(pair);
      }
    }
    if (withMic && !flagsSeen) {
      const value = Buffer.alloc(4);
      value.writeUInt32LE(MSV_AV_FLAG_MIC_PRESENT, 0);
      pairs.push({ id: MSV_AV_FLAGS, value });
    }
    pairs.push({ id: MSV_AV_CHANNEL_BINDINGS, value: Buffer.alloc(16) });
    if (this.#targetName !== undefined && this.#targetName !== '') {
      pairs.push({ id: MSV_AV_TARGET_NAME, value: Buffer.from(this.#targetName, 'utf16le') });
    }
    return pairs;
  }
}

import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { rc4 } from '../../src/ad/crypto/rc4.ts';
import { NtlmClient } from '../../src/ad/ntlm/ntlm-client.ts';
import { decodeAvPairs, decodeChallenge, encodeAuthenticate, encodeAvPairs, MIC_OFFSET, MSV_AV_CHANNEL_BINDINGS, MSV_AV_FLAGS, MSV_AV_NB_COMPUTER_NAME, MSV_AV_NB_DOMAIN_NAME } from '../../src/ad/ntlm/ntlm-messages.ts';
import { deriveSessionKeys, NtlmSession } from '../../src/ad/ntlm/ntlm-session.ts';
import { encryptRandomSessionKey, lmv2Response, ntlmv2ClientChallenge, ntlmv2Response, ntowfV2, upperCaseUser } from '../../src/ad/ntlm/ntlmv2-response.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';

/*
 * MS-NLMP 4.2.4 "NTLMv2 Authentication": User "User", UserDom "Domain", Passwd "Password",
 * ServerChallenge 0123456789abcdef, ClientChallenge aa×8, Time 0, RandomSessionKey 55×16,
 * workstation "COMPUTER", AV pairs NbDomainName "Domain" and NbComputerName "Server".
 * The expected bytes are the specification's (4.2.4.1.x, 4.2.4.2.x, 4.2.4.3, 4.2.4.4), as also
 * reproduced by other NTLM implementations' test suites.
 */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const SERVER_CHALLENGE = hex('0123456789abcdef');
const CLIENT_CHALLENGE = hex('aaaaaaaaaaaaaaaa');
const RANDOM_SESSION_KEY = Buffer.alloc(16, 0x55);
/** 4.2.4: the challenge flags (KEY_EXCH, 56, 128, VERSION, TARGET_INFO, ESS, TARGET_TYPE_SERVER, ALWAYS_SIGN, NTLM, SEAL, SIGN, OEM, UNICODE). */
const CHALLENGE_FLAGS = 0xe28a8233;
const TARGET_INFO = hex('02000c0044006f006d00610069006e00 01000c00530065007200760065007200 00000000');
const TEMP = hex('0101000000000000 0000000000000000 aaaaaaaaaaaaaaaa 00000000').toString('hex') + TARGET_INFO.toString('hex') + '00000000';
const CHALLENGE_MESSAGE = hex(
  '4e544c4d53535000020000000c000c003800000033828ae20123456789abcdef00000000000000002400240044000000' +
    '060070170000000f53006500720076006500720002000c0044006f006d00610069006e0001000c0053006500720076006500720000000000',
);
const AUTHENTICATE_MESSAGE = hex(
  '4e544c4d5353500003000000180018006c00000054005400840000000c000c00480000000800080054000000100010005c000000' +
    '10001000d8000000358288e20501280a0000000f44006f006d00610069006e00550073006500720043004f004d00500055005400' +
    '4500520086c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa68cd0ab851e51c96aabc927bebef6a1c010100000000000000' +
    '00000000000000aaaaaaaaaaaaaaaa0000000002000c0044006f006d00610069006e0001000c00530065007200760065007200000000' +
    '0000000000c5dad2544fc9799094ce1ce90bc9d03e',
);

describe('MS-NLMP 4.2.4 NTLMv2 example', () => {
  it('4.2.4.1.1 NTOWFv2: ResponseKeyNT', async () => {
    const key = ntowfV2(await ntHash('Password'), 'User', 'Domain');
    assert.equal(key.toString('hex'), '0c868a403bfd7a93a3001ef22ef02e3f');
    // The user name is uppercased, the domain is not.
    assert.deepEqual(ntowfV2(await ntHash('Password'), 'uSeR', 'Domain'), key);
    assert.notDeepEqual(ntowfV2(await ntHash('Password'), 'User', 'DOMAIN'), key);
  });

  it('4.2.4.2.1 LMv2 response', async () => {
    const key = ntowfV2(await ntHash('Password'), 'User', 'Domain');
    assert.equal(lmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE).toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
  });

  it('4.2.4.1.3 temp, 4.2.4.2.2 NTProofStr and NTLMv2 response, 4.2.4.1.2 session base key', async () => {
    const key = ntowfV2(await ntHash('Password'), 'User', 'Domain');
    const blob = ntlmv2ClientChallenge(0n, CLIENT_CHALLENGE, TARGET_INFO);
    assert.equal(blob.toString('hex'), TEMP);
    const response = ntlmv2Response(key, SERVER_CHALLENGE, blob);
    assert.equal(response.ntProofStr.toString('hex'), '68cd0ab851e51c96aabc927bebef6a1c');
    assert.equal(response.ntChallengeResponse.toString('hex'), `68cd0ab851e51c96aabc927bebef6a1c${TEMP}`);
    assert.equal(response.sessionBaseKey.toString('hex'), '8de40ccadbc14a82f15cb0ad0de95ca3');
  });

  it('4.2.4.2.3 EncryptedRandomSessionKey (KeyExchangeKey = SessionBaseKey)', () => {
    const encrypted = encryptRandomSessionKey(hex('8de40ccadbc14a82f15cb0ad0de95ca3'), RANDOM_SESSION_KEY);
    assert.equal(encrypted.toString('hex'), 'c5dad2544fc9799094ce1ce90bc9d03e');
  });

  it('4.2.4.3 CHALLENGE_MESSAGE decodes to the example values', () => {
    const challenge = decodeChallenge(CHALLENGE_MESSAGE);
    assert.equal(challenge.flags >>> 0, CHALLENGE_FLAGS);
    assert.deepEqual(challenge.serverChallenge, SERVER_CHALLENGE);
    assert.equal(challenge.targetName, 'Server');
    assert.deepEqual(
      challenge.targetInfo.map((p) => [p.id, p.value.toString('utf16le')]),
      [
        [MSV_AV_NB_DOMAIN_NAME, 'Domain'],
        [MSV_AV_NB_COMPUTER_NAME, 'Server'],
      ],
    );
    assert.deepEqual(encodeAvPairs(challenge.targetInfo), TARGET_INFO);
  });

  it('4.2.4.3 AUTHENTICATE_MESSAGE is reproduced byte for byte (the example carries no MIC)', async () => {
    const key = ntowfV2(await ntHash('Password'), 'User', 'Domain');
    const response = ntlmv2Response(key, SERVER_CHALLENGE, ntlmv2ClientChallenge(0n, CLIENT_CHALLENGE, TARGET_INFO));
    const message = encodeAuthenticate({
      flags: 0xe2888235,
      lmChallengeResponse: lmv2Response(key, SERVER_CHALLENGE, CLIENT_CHALLENGE),
      ntChallengeResponse: response.ntChallengeResponse,
      domain: 'Domain',
      user: 'User',
      workstation: 'COMPUTER',
      encryptedRandomSessionKey: encryptRandomSessionKey(response.sessionBaseKey, RANDOM_SESSION_KEY),
      version: hex('0501280a0000000f'),
      mic: false,
    });
    assert.equal(message.toString('hex'), AUTHENTICATE_MESSAGE.toString('hex'));
  });

  it('3.4.5.2 / 3.4.5.3 signing and sealing keys from the random session key', () => {
    const keys = deriveSessionKeys(RANDOM_SESSION_KEY, CHALLENGE_FLAGS);
    assert.equal(keys.clientSigningKey.toString('hex'), '4788dc861b4782f35d43fd98fe1a2d39');
    assert.equal(keys.clientSealingKey.toString('hex'), '59f600973cc4960a25480a7c196e4c58');
    // Not in the example: MD5 over the server-to-client constants, computed independently.
    assert.equal(keys.serverSigningKey.toString('hex'), 'd04d6f10741041d1d246d64188d7a8ad');
    assert.equal(keys.serverSealingKey.toString('hex'), '9355f3a957c1583d25c4c2f11e40390e');
  });

  it('4.2.4.4 GSS_WrapEx: sealed "Plaintext" and its signature', () => {
    const session = new NtlmSession(RANDOM_SESSION_KEY, CHALLENGE_FLAGS);
    const data = Buffer.from('Plaintext', 'utf16le');
    // GSS_WrapEx signs exactly the message, so `signed` is the data itself (still plaintext at call time).
    const signature = session.seal(data, data);
    assert.equal(data.toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
    assert.equal(signature.toString('hex'), '010000007fb38ec5c55d497600000000');
  });

  it('4.2.4.4 checksum before RC4 is HMAC_MD5(SigningKey, SeqNum ‖ Message)[0..7]', () => {
    const checksum = createHmac('md5', hex('4788dc861b4782f35d43fd98fe1a2d39'))
      .update(Buffer.alloc(4))
      .update(Buffer.from('Plaintext', 'utf16le'))
      .digest()
      .subarray(0, 8);
    assert.equal(checksum.toString('hex'), '70352851f2564309');
  });
});

describe('NtlmClient on the 4.2.4 example challenge', () => {
  const randomBytes = (n: number): Buffer => (n === 8 ? Buffer.from(CLIENT_CHALLENGE) : Buffer.from(RANDOM_SESSION_KEY));

  it('produces a response the example server keys accept, with the example session key', async () => {
    const nt = await ntHash('Password');
    const client = new NtlmClient({ user: 'User', domain: 'Domain', ntHash: nt, workstation: 'COMPUTER', randomBytes, now: () => 0n });
    client.negotiate();
    const message = client.authenticate(CHALLENGE_MESSAGE);

    const field = (at: number): Buffer => message.subarray(message.readUInt32LE(at + 4), message.readUInt32LE(at + 4) + message.readUInt16LE(at));
    // No MsvAvTimestamp in this challenge: an LMv2 response and no MIC.
    assert.equal(field(12).toString('hex'), '86c35097ac9cec102554764a57cccc19aaaaaaaaaaaaaaaa');
    assert.deepEqual(message.subarray(MIC_OFFSET, MIC_OFFSET + 16), Buffer.alloc(16));
    assert.equal(field(28).toString('utf16le'), 'Domain');
    assert.equal(field(36).toString('utf16le'), 'User');
    assert.equal(field(44).toString('utf16le'), 'COMPUTER');

    // What a server does: recompute NTProofStr over the client's blob, then recover the session key.
    const nt2 = field(20);
    const blob = nt2.subarray(16);
    assert.equal(blob.subarray(0, 28).toString('hex'), '0101000000000000' + '0000000000000000' + 'aaaaaaaaaaaaaaaa' + '00000000');
    const pairs = decodeAvPairs(blob.subarray(28, blob.length - 4));
    assert.deepEqual(
      pairs.map((p) => p.id),
      [MSV_AV_NB_DOMAIN_NAME, MSV_AV_NB_COMPUTER_NAME, MSV_AV_CHANNEL_BINDINGS],
    );
    assert.ok(!pairs.some((p) => p.id === MSV_AV_FLAGS), 'no MIC, so no MsvAvFlags');
    const key = ntowfV2(nt, 'User', 'Domain');
    const response = ntlmv2Response(key, SERVER_CHALLENGE, blob);
    assert.deepEqual(nt2.subarray(0, 16), response.ntProofStr);
    assert.deepEqual(rc4(response.sessionBaseKey, field(52)), RANDOM_SESSION_KEY);

    assert.deepEqual(client.exportedSessionKey, RANDOM_SESSION_KEY);
    // The flags announced are those both sides support, which here includes everything required.
    assert.equal(message.readUInt32LE(60), client.negotiatedFlags);
    assert.equal(client.negotiatedFlags, 0xe2888231);

    // And the session is the 4.2.4.4 one.
    const data = Buffer.from('Plaintext', 'utf16le');
    assert.equal(client.session.seal(data, data).toString('hex'), '010000007fb38ec5c55d497600000000');
    assert.equal(data.toString('hex'), '54e50165bf1936dc996020c1811b0f06fb5f');
  });
});

describe('upperCaseUser', () => {
  it('maps one character to one, as Windows does', () => {
    assert.equal(upperCaseUser('sync-äöü'), 'SYNC-ÄÖÜ');
    // JavaScript would make 'ß' into 'SS'; Windows keeps it.
    assert.equal(upperCaseUser('straße'), 'STRAßE');
    assert.equal(upperCaseUser('a😀b'), 'A😀B');
  });
});

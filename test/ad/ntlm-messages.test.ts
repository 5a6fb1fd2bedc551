import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { PhsyncError } from '../../src/errors.ts';
import { NtlmClient } from '../../src/ad/ntlm/ntlm-client.ts';
import {
  CLIENT_REQUESTED_FLAGS,
  NTLMSSP_NEGOTIATE_128,
  NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY,
  NTLMSSP_NEGOTIATE_KEY_EXCH,
  NTLMSSP_NEGOTIATE_SEAL,
  NTLMSSP_NEGOTIATE_SIGN,
  NTLMSSP_NEGOTIATE_UNICODE,
} from '../../src/ad/ntlm/ntlm-flags.ts';
import type { AvPair } from '../../src/ad/ntlm/ntlm-messages.ts';
import {
  decodeAvPairs,
  decodeChallenge,
  encodeAvPairs,
  encodeNegotiate,
  MIC_OFFSET,
  MSV_AV_CHANNEL_BINDINGS,
  MSV_AV_DNS_COMPUTER_NAME,
  MSV_AV_DNS_DOMAIN_NAME,
  MSV_AV_DNS_TREE_NAME,
  MSV_AV_FLAGS,
  MSV_AV_NB_COMPUTER_NAME,
  MSV_AV_NB_DOMAIN_NAME,
  MSV_AV_TARGET_NAME,
  MSV_AV_TIMESTAMP,
} from '../../src/ad/ntlm/ntlm-messages.ts';
import { ntlmv2Response, ntowfV2 } from '../../src/ad/ntlm/ntlmv2-response.ts';
import { rc4 } from '../../src/ad/crypto/rc4.ts';

const utf16 = (s: string): Buffer => Buffer.from(s, 'utf16le');
const SAMBA_FLAGS = 0xe2898235; // a Samba 4 DC's answer to CLIENT_REQUESTED_FLAGS (CLIENT_REQUESTED_FLAGS plus TARGET_TYPE_DOMAIN)
const TIMESTAMP = 0x01d9a1b2c3d4e5f6n;

function timestampPair(value = TIMESTAMP): AvPair {
  const v = Buffer.alloc(8);
  v.writeBigUInt64LE(value);
  return { id: MSV_AV_TIMESTAMP, value: v };
}

/** The AV pairs a Samba AD DC sends: NetBIOS and DNS names, then the timestamp. */
const SAMBA_PAIRS: AvPair[] = [
  { id: MSV_AV_NB_DOMAIN_NAME, value: utf16('TEST') },
  { id: MSV_AV_NB_COMPUTER_NAME, value: utf16('DC1') },
  { id: MSV_AV_DNS_DOMAIN_NAME, value: utf16('test.example') },
  { id: MSV_AV_DNS_COMPUTER_NAME, value: utf16('dc1.test.example') },
  { id: MSV_AV_DNS_TREE_NAME, value: utf16('test.example') },
  timestampPair(),
];

/** A CHALLENGE_MESSAGE: header, Version, target name, target info. */
function challengeMessage(options: { flags?: number; targetName?: string; targetInfo?: Buffer; serverChallenge?: Buffer } = {}): Buffer {
  const name = utf16(options.targetName ?? 'TEST');
  const info = options.targetInfo ?? encodeAvPairs(SAMBA_PAIRS);
  const head = Buffer.alloc(56);
  head.write('NTLMSSP\0', 0, 'latin1');
  head.writeUInt32LE(2, 8);
  head.writeUInt16LE(name.length, 12);
  head.writeUInt16LE(name.length, 14);
  head.writeUInt32LE(56, 16);
  head.writeUInt32LE((options.flags ?? SAMBA_FLAGS) >>> 0, 20);
  (options.serverChallenge ?? Buffer.from('1122334455667788', 'hex')).copy(head, 24);
  head.writeUInt16LE(info.length, 40);
  head.writeUInt16LE(info.length, 42);
  head.writeUInt32LE(56 + name.length, 44);
  Buffer.from([6, 1, 0, 0, 0, 0, 0, 15]).copy(head, 48);
  return Buffer.concat([head, name, info]);
}

function isCode(code: string): (err: unknown) => boolean {
  return (err: unknown) => {
    assert.ok(err instanceof PhsyncError, `expected a PhsyncError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    return true;
  };
}
const isInvalid = isCode('NTLM_MESSAGE_INVALID');

async function client(extra: { targetName?: string } = {}): Promise<NtlmClient> {
  const { ntHash } = await import('../../src/phs/nt-hash.ts');
  let counter = 0;
  return new NtlmClient({
    user: 'sync',
    domain: 'TEST',
    ntHash: await ntHash('Secret-123'),
    workstation: 'PHSYNC',
    randomBytes: (n) => Buffer.alloc(n, 0x11 * ++counter),
    now: () => 1n,
    ...extra,
  });
}

/** Reads the payload a security buffer descriptor at `at` points to. */
function field(message: Buffer, at: number): Buffer {
  const offset = message.readUInt32LE(at + 4);
  return message.subarray(offset, offset + message.readUInt16LE(at));
}

describe('NEGOTIATE_MESSAGE', () => {
  it('has the signature, type 1, the requested flags, empty names and the version', () => {
    const m = encodeNegotiate(CLIENT_REQUESTED_FLAGS);
    assert.equal(m.length, 40);
    assert.equal(m.subarray(0, 8).toString('latin1'), 'NTLMSSP\0');
    assert.equal(m.readUInt32LE(8), 1);
    assert.equal(m.readUInt32LE(12), CLIENT_REQUESTED_FLAGS);
    assert.equal(m.readUInt16LE(16), 0);
    assert.equal(m.readUInt16LE(24), 0);
    assert.deepEqual([...m.subarray(32, 40)], [6, 1, 0, 0, 0, 0, 0, 15]);
    assert.equal(CLIENT_REQUESTED_FLAGS >>> 0, 0xe2888235);
  });
});

describe('CHALLENGE_MESSAGE decoding', () => {
  it('decodes a Samba-style challenge', () => {
    const c = decodeChallenge(challengeMessage());
    assert.equal(c.flags >>> 0, SAMBA_FLAGS);
    assert.equal(c.targetName, 'TEST');
    assert.equal(c.serverChallenge.toString('hex'), '1122334455667788');
    assert.deepEqual(c.targetInfo, SAMBA_PAIRS);
  });

  const valid = challengeMessage();
  const bad: Array<[string, Buffer]> = [
    ['an empty message', Buffer.alloc(0)],
    ['a truncated header', valid.subarray(0, 47)],
    ['a wrong signature', Buffer.concat([Buffer.from('NTLMSSX\0', 'latin1'), valid.subarray(8)])],
    ['a NEGOTIATE instead', (() => { const m = Buffer.from(valid); m.writeUInt32LE(1, 8); return m; })()],
    ['a target-info offset past the end', (() => { const m = Buffer.from(valid); m.writeUInt32LE(m.length, 44); return m; })()],
    ['a target-info length past the end', (() => { const m = Buffer.from(valid); m.writeUInt16LE(m.readUInt16LE(40) + 1, 40); return m; })()],
    ['a huge target-info offset', (() => { const m = Buffer.from(valid); m.writeUInt32LE(0xffffffff, 44); return m; })()],
    ['a target-name past the end', (() => { const m = Buffer.from(valid); m.writeUInt32LE(m.length - 2, 16); return m; })()],
    ['a message cut inside the target info', valid.subarray(0, valid.length - 6)],
    ['target info without MsvAvEOL', challengeMessage({ targetInfo: encodeAvPairs(SAMBA_PAIRS).subarray(0, -4) })],
    ['an AV pair longer than the target info', challengeMessage({ targetInfo: Buffer.from([2, 0, 0xff, 0x00, 0x41, 0x00, 0, 0, 0, 0]) })],
    ['a truncated AV pair header', challengeMessage({ targetInfo: Buffer.from([2, 0, 0]) })],
    ['an MsvAvEOL with a value', challengeMessage({ targetInfo: Buffer.from([0, 0, 2, 0, 0x41, 0x00]) })],
    ['a 4-byte MsvAvTimestamp', challengeMessage({ targetInfo: Buffer.from([7, 0, 4, 0, 1, 2, 3, 4, 0, 0, 0, 0]) })],
    ['a 2-byte MsvAvFlags', challengeMessage({ targetInfo: Buffer.from([6, 0, 2, 0, 1, 2, 0, 0, 0, 0]) })],
  ];
  for (const [what, message] of bad) {
    it(`refuses ${what} with NTLM_MESSAGE_INVALID`, () => {
      assert.throws(() => decodeChallenge(message), isInvalid);
    });
  }

  it('takes empty target info as no AV pairs and ignores bytes after MsvAvEOL', () => {
    assert.deepEqual(decodeChallenge(challengeMessage({ targetInfo: Buffer.alloc(0) })).targetInfo, []);
    const padded = Buffer.concat([encodeAvPairs(SAMBA_PAIRS), Buffer.from([0xde, 0xad])]);
    assert.deepEqual(decodeAvPairs(padded), SAMBA_PAIRS);
  });

  it('never fails other than with NTLM_MESSAGE_INVALID on truncated or corrupted input', () => {
    for (let n = 0; n < valid.length; n++) {
      try {
        decodeChallenge(valid.subarray(0, n));
      } catch (err) {
        isInvalid(err);
      }
    }
    let seed = 12345;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 8;
    for (let round = 0; round < 2000; round++) {
      const m = Buffer.from(valid);
      for (let k = 0; k < 3; k++) m[next() % m.length] = next() & 0xff;
      try {
        decodeChallenge(m);
      } catch (err) {
        isInvalid(err);
      }
    }
  });

  it('the client turns a malformed challenge into NTLM_MESSAGE_INVALID', async () => {
    const c = await client();
    c.negotiate();
    assert.throws(() => c.authenticate(valid.subarray(0, 30)), isInvalid);
  });
});

describe('AUTHENTICATE_MESSAGE from NtlmClient', () => {
  it('with a server timestamp: zero LM response, echoed AV pairs, MsvAvFlags MIC bit, a valid MIC', async () => {
    const { ntHash } = await import('../../src/phs/nt-hash.ts');
    const c = await client();
    const negotiate = c.negotiate();
    const challenge = challengeMessage();
    const message = c.authenticate(challenge);

    assert.equal(message.readUInt32LE(8), 3);
    assert.deepEqual(field(message, 12), Buffer.alloc(24), 'LM response is 24 zero bytes');
    assert.equal(field(message, 28).toString('utf16le'), 'TEST');
    assert.equal(field(message, 36).toString('utf16le'), 'sync');
    assert.equal(field(message, 44).toString('utf16le'), 'PHSYNC');
    assert.equal(message.readUInt32LE(60), (CLIENT_REQUESTED_FLAGS & SAMBA_FLAGS) >>> 0);
    assert.deepEqual([...message.subarray(64, 72)], [6, 1, 0, 0, 0, 0, 0, 15]);

    const nt = field(message, 20);
    const blob = nt.subarray(16);
    assert.equal(blob.readBigUInt64LE(8), TIMESTAMP, 'the blob carries the server time, not the local clock');
    const pairs = decodeAvPairs(blob.subarray(28, blob.length - 4));
    assert.deepEqual(pairs.slice(0, SAMBA_PAIRS.length), SAMBA_PAIRS, 'every server pair echoed byte for byte, in order');
    const flagsPair = pairs.find((p) => p.id === MSV_AV_FLAGS);
    assert.ok(flagsPair);
    assert.equal(flagsPair.value.readUInt32LE(0), 0x2);
    assert.deepEqual(pairs.find((p) => p.id === MSV_AV_CHANNEL_BINDINGS)?.value, Buffer.alloc(16));

    // As a DC: check the proof, recover the exported session key, check the MIC.
    const key = ntowfV2(await ntHash('Secret-123'), 'sync', 'TEST');
    const response = ntlmv2Response(key, Buffer.from('1122334455667788', 'hex'), blob);
    assert.deepEqual(nt.subarray(0, 16), response.ntProofStr);
    const exported = rc4(response.sessionBaseKey, field(message, 52));
    assert.deepEqual(exported, c.exportedSessionKey);
    const zeroed = Buffer.from(message);
    zeroed.fill(0, MIC_OFFSET, MIC_OFFSET + 16);
    const mic = createHmac('md5', exported).update(negotiate).update(challenge).update(zeroed).digest();
    assert.deepEqual(message.subarray(MIC_OFFSET, MIC_OFFSET + 16), mic);
  });

  it('ORs the MIC bit into an MsvAvFlags the server sent, and adds MsvAvTargetName when given', async () => {
    const flags = Buffer.from([0x01, 0, 0, 0]);
    const c = await client({ targetName: 'ldap/dc1.test.example' });
    c.negotiate();
    const message = c.authenticate(challengeMessage({ targetInfo: encodeAvPairs([...SAMBA_PAIRS, { id: MSV_AV_FLAGS, value: flags }]) }));
    const blob = field(message, 20).subarray(16);
    const pairs = decodeAvPairs(blob.subarray(28, blob.length - 4));
    assert.deepEqual(
      pairs.filter((p) => p.id === MSV_AV_FLAGS).map((p) => p.value.readUInt32LE(0)),
      [0x3],
    );
    assert.equal(pairs.find((p) => p.id === MSV_AV_TARGET_NAME)?.value.toString('utf16le'), 'ldap/dc1.test.example');
  });

  it('without a server timestamp: an LMv2 response, the local time, no MIC', async () => {
    const c = await client();
    c.negotiate();
    const pairs = SAMBA_PAIRS.filter((p) => p.id !== MSV_AV_TIMESTAMP);
    const message = c.authenticate(challengeMessage({ targetInfo: encodeAvPairs(pairs) }));
    assert.notDeepEqual(field(message, 12), Buffer.alloc(24));
    const blob = field(message, 20).subarray(16);
    assert.equal(blob.readBigUInt64LE(8), 1n);
    assert.deepEqual(message.subarray(MIC_OFFSET, MIC_OFFSET + 16), Buffer.alloc(16));
    assert.ok(!decodeAvPairs(blob.subarray(28, blob.length - 4)).some((p) => p.id === MSV_AV_FLAGS));
  });

  for (const [name, bit] of [
    ['SEAL', NTLMSSP_NEGOTIATE_SEAL],
    ['SIGN', NTLMSSP_NEGOTIATE_SIGN],
    ['128', NTLMSSP_NEGOTIATE_128],
    ['KEY_EXCH', NTLMSSP_NEGOTIATE_KEY_EXCH],
    ['EXTENDED_SESSIONSECURITY', NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY],
    ['UNICODE', NTLMSSP_NEGOTIATE_UNICODE],
  ] as const) {
    it(`refuses a server that does not grant ${name} (NTLM_NEGOTIATION_FAILED)`, async () => {
      const c = await client();
      c.negotiate();
      assert.throws(
        () => c.authenticate(challengeMessage({ flags: (SAMBA_FLAGS & ~bit) >>> 0 })),
        (err: unknown) => isCode('NTLM_NEGOTIATION_FAILED')(err) && (err as Error).message.includes(`did not grant ${name};`),
      );
      assert.throws(() => c.session, /not authenticated/);
    });
  }

  it('needs negotiate() before authenticate(), and authenticate() before the session', async () => {
    const c = await client();
    assert.throws(() => c.authenticate(challengeMessage()), /before negotiate/);
    assert.throws(() => c.exportedSessionKey, /not authenticated/);
  });

  it('messages carry no key material', async () => {
    const c = await client();
    c.negotiate();
    c.authenticate(challengeMessage());
    const key = c.exportedSessionKey.toString('hex');
    try {
      c.session.verify(Buffer.from('pdu'), Buffer.alloc(16));
      assert.fail('verified');
    } catch (err) {
      assert.ok(!(err as Error).message.includes(key));
    }
  });
});

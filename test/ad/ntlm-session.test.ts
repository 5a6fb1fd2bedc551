import assert from 'node:assert/strict';
import { createHash, createHmac } from 'node:crypto';
import { describe, it } from 'node:test';
import { PhsyncError } from '../../src/errors.ts';
import { Rc4 } from '../../src/ad/crypto/rc4.ts';
import { NTLMSSP_NEGOTIATE_KEY_EXCH } from '../../src/ad/ntlm/ntlm-flags.ts';
import { NtlmSession } from '../../src/ad/ntlm/ntlm-session.ts';

const KEY = Buffer.from('0f1e2d3c4b5a69788796a5b4c3d2e1f0', 'hex');
/** UNICODE, SIGN, SEAL, NTLM, ALWAYS_SIGN, ESS, TARGET_INFO, VERSION, 128, KEY_EXCH, 56. */
const FLAGS = 0xe2888231;

/**
 * The DC's side, written from MS-NLMP 3.4 and Samba's ntlmssp_sign.c without the code under test:
 * it seals with the server-to-client keys and checks with the client-to-server keys.
 */
class HandBuiltServer {
  readonly #sendSign: Buffer;
  readonly #sendRc4: Rc4;
  readonly #recvSign: Buffer;
  readonly #recvRc4: Rc4;
  readonly #keyExchange: boolean;
  #sendSeq = 0;
  #recvSeq = 0;

  constructor(exportedSessionKey: Buffer, flags: number) {
    const md5 = (what: string): Buffer => createHash('md5').update(exportedSessionKey).update(`session key to ${what} key magic constant\0`).digest();
    this.#sendSign = md5('server-to-client signing');
    this.#sendRc4 = new Rc4(md5('server-to-client sealing'));
    this.#recvSign = md5('client-to-server signing');
    this.#recvRc4 = new Rc4(md5('client-to-server sealing'));
    this.#keyExchange = (flags & NTLMSSP_NEGOTIATE_KEY_EXCH) !== 0;
  }

  #mac(signKey: Buffer, rc4: Rc4, seq: number, signed: Buffer): Buffer {
    const seqBytes = Buffer.alloc(4);
    seqBytes.writeUInt32LE(seq);
    const checksum = createHmac('md5', signKey).update(seqBytes).update(signed).digest().subarray(0, 8);
    if (this.#keyExchange) rc4.process(checksum);
    return Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seqBytes]);
  }

  /** Server → client: MAC over the plaintext PDU, then RC4 the stub, then RC4 the checksum. */
  seal(pdu: Pdu): void {
    const seqBytes = Buffer.alloc(4);
    seqBytes.writeUInt32LE(this.#sendSeq);
    const checksum = createHmac('md5', this.#sendSign).update(seqBytes).update(pdu.signed).digest().subarray(0, 8);
    this.#sendRc4.process(pdu.stub);
    if (this.#keyExchange) this.#sendRc4.process(checksum);
    Buffer.concat([Buffer.from([1, 0, 0, 0]), checksum, seqBytes]).copy(pdu.verifier);
    this.#sendSeq++;
  }

  /** Client → server: RC4 the stub back, then check the signature; false if it does not match. */
  unseal(pdu: Pdu): boolean {
    this.#recvRc4.process(pdu.stub);
    return this.check(pdu);
  }

  check(pdu: Pdu): boolean {
    const expected = this.#mac(this.#recvSign, this.#recvRc4, this.#recvSeq++, pdu.signed);
    return expected.equals(pdu.verifier);
  }

  sign(pdu: Pdu): void {
    this.#mac(this.#sendSign, this.#sendRc4, this.#sendSeq++, pdu.signed).copy(pdu.verifier);
  }
}

/** A DCE/RPC-shaped PDU: 16-byte header, stub, 8-byte sec_trailer, 16-byte auth verifier. */
interface Pdu {
  readonly buffer: Buffer;
  readonly stub: Buffer;
  readonly signed: Buffer;
  readonly verifier: Buffer;
}

function pdu(stubText: string): Pdu {
  const stub = Buffer.from(stubText, 'utf8');
  const buffer = Buffer.alloc(16 + stub.length + 8 + 16);
  buffer.write('\x05\x00\x00\x03pdu header..', 0, 'latin1');
  stub.copy(buffer, 16);
  buffer.write('trailer!', 16 + stub.length, 'latin1');
  return {
    buffer,
    stub: buffer.subarray(16, 16 + stub.length),
    signed: buffer.subarray(0, 16 + stub.length + 8),
    verifier: buffer.subarray(16 + stub.length + 8),
  };
}

function isSignatureInvalid(err: unknown): boolean {
  return err instanceof PhsyncError && err.code === 'NTLM_SIGNATURE_INVALID';
}

describe('NtlmSession against a hand-built server', () => {
  it('client seal → server unseal, sequence numbers advancing', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    for (const [i, text] of ['first request', 'a second, longer request stub', '', 'x'.repeat(5000)].entries()) {
      const p = pdu(text);
      client.seal(p.stub, p.signed).copy(p.verifier);
      assert.equal(p.verifier.readUInt32LE(0), 1, 'signature version');
      assert.equal(p.verifier.readUInt32LE(12), i, 'sequence number');
      if (text.length > 0) assert.notEqual(p.stub.toString('utf8'), text, 'the stub is encrypted');
      assert.equal(p.buffer.subarray(0, 16).toString('latin1'), '\x05\x00\x00\x03pdu header..', 'the header is not');
      assert.ok(server.unseal(p), `message ${i} verifies`);
      assert.equal(p.stub.toString('utf8'), text);
    }
  });

  it('server seal → client unseal, sequence numbers advancing', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    for (const [i, text] of ['reply one', 'reply two with the secrets', 'three'].entries()) {
      const p = pdu(text);
      server.seal(p);
      assert.equal(p.verifier.readUInt32LE(12), i);
      client.unseal(p.stub, p.signed, p.verifier);
      assert.equal(p.stub.toString('utf8'), text);
    }
  });

  it('both directions interleaved keep independent streams', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    for (let i = 0; i < 5; i++) {
      const request = pdu(`request ${i}`);
      client.seal(request.stub, request.signed).copy(request.verifier);
      assert.ok(server.unseal(request));
      const reply = pdu(`reply ${i}`);
      server.seal(reply);
      client.unseal(reply.stub, reply.signed, reply.verifier);
      assert.equal(reply.stub.toString('utf8'), `reply ${i}`);
    }
  });

  for (const [what, tamper] of [
    ['a byte of the sealed stub', (p: Pdu) => void (p.stub[3]! ^= 0x01)],
    ['a byte of the header (signed, not sealed)', (p: Pdu) => void (p.buffer[5]! ^= 0x80)],
    ['a byte of the sec_trailer', (p: Pdu) => void (p.signed[p.signed.length - 1]! ^= 0x01)],
    ['the checksum', (p: Pdu) => void (p.verifier[6]! ^= 0x01)],
    ['the sequence number', (p: Pdu) => void p.verifier.writeUInt32LE(7, 12)],
  ] as const) {
    it(`a server reply with ${what} altered fails verification`, () => {
      const client = new NtlmSession(KEY, FLAGS);
      const server = new HandBuiltServer(KEY, FLAGS);
      const p = pdu('the replicated secrets');
      server.seal(p);
      tamper(p);
      assert.throws(() => client.unseal(p.stub, p.signed, p.verifier), isSignatureInvalid);
    });
  }

  it('a replayed reply fails verification', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    const first = pdu('reply');
    server.seal(first);
    const copy = Buffer.from(first.buffer);
    client.unseal(first.stub, first.signed, first.verifier);
    const replay: Pdu = { buffer: copy, stub: copy.subarray(16, 21), signed: copy.subarray(0, 29), verifier: copy.subarray(29) };
    assert.throws(() => client.unseal(replay.stub, replay.signed, replay.verifier), isSignatureInvalid);
  });

  it('a short signature fails verification', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    const p = pdu('reply');
    server.seal(p);
    assert.throws(() => client.unseal(p.stub, p.signed, p.verifier.subarray(0, 12)), isSignatureInvalid);
  });

  it('the error message carries no key material', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const p = pdu('reply');
    try {
      client.verify(p.signed, Buffer.alloc(16));
      assert.fail('verified a zero signature');
    } catch (err) {
      assert.ok(isSignatureInvalid(err));
      const message = (err as Error).message;
      assert.ok(!message.includes(KEY.toString('hex')));
      assert.match(message, /server message 0/);
    }
  });

  it('sign and verify (integrity only) round-trip, sharing the sequence with seal', () => {
    const client = new NtlmSession(KEY, FLAGS);
    const server = new HandBuiltServer(KEY, FLAGS);
    const sealed = pdu('sealed first');
    client.seal(sealed.stub, sealed.signed).copy(sealed.verifier);
    assert.ok(server.unseal(sealed));
    const signedOnly = pdu('then signed only');
    client.sign(signedOnly.signed).copy(signedOnly.verifier);
    assert.equal(signedOnly.verifier.readUInt32LE(12), 1);
    assert.equal(signedOnly.stub.toString('utf8'), 'then signed only', 'sign() does not encrypt');
    assert.ok(server.check(signedOnly));

    const reply = pdu('signed reply');
    server.sign(reply);
    client.verify(reply.signed, reply.verifier);
    const bad = pdu('signed reply');
    server.sign(bad);
    bad.stub[0] = 0x53;
    assert.throws(() => client.verify(bad.signed, bad.verifier), isSignatureInvalid);
  });

  it('without KEY_EXCH the checksum is not RC4-encrypted, and both sides still agree', () => {
    const flags = (FLAGS & ~NTLMSSP_NEGOTIATE_KEY_EXCH) >>> 0;
    const client = new NtlmSession(KEY, flags);
    const server = new HandBuiltServer(KEY, flags);
    const p = pdu('no key exchange');
    const plain = Buffer.from(p.signed);
    client.seal(p.stub, p.signed).copy(p.verifier);
    const seq = Buffer.alloc(4);
    const signKey = createHash('md5').update(KEY).update('session key to client-to-server signing key magic constant\0').digest();
    assert.deepEqual(p.verifier.subarray(4, 12), createHmac('md5', signKey).update(seq).update(plain).digest().subarray(0, 8));
    assert.ok(server.unseal(p));
  });

  it('refuses a session without extended session security', () => {
    assert.throws(() => new NtlmSession(KEY, 0x20000031), RangeError);
    assert.throws(() => new NtlmSession(KEY.subarray(0, 8), FLAGS), RangeError);
  });
});

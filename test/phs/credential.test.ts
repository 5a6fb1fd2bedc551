import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { deriveHash, formatCredential, parseCredential, pbkdf2Input, verifyCredential } from '../../src/phs/credential.ts';
import { EMPTY_PASSWORD_NT_HASH, ntHash } from '../../src/phs/nt-hash.ts';
import { knownAnswers } from '../support/known-answers.ts';

describe('credential known answers', () => {
  for (const v of knownAnswers()) {
    it(`${v.note}: ${JSON.stringify(v.password)} at ${v.iterations} iterations`, async () => {
      const nt = await ntHash(v.password);
      assert.equal(Buffer.from(nt).toString('hex'), v.ntHash);
      const salt = Buffer.from(v.salt, 'hex');
      const hash = deriveHash(nt, salt, v.iterations);
      assert.equal(hash.toString('hex'), v.hash);
      assert.equal(formatCredential(salt, v.iterations, hash), v.credential);
      assert.equal(verifyCredential(v.credential, nt), true);
    });
  }
});

describe('credential format', () => {
  it('builds the PBKDF2 input from the uppercase hex in UTF-16LE', () => {
    const nt = Buffer.from('92937945b518814341de3f726500d4ff', 'hex');
    assert.deepEqual(pbkdf2Input(nt), Buffer.from('92937945B518814341DE3F726500D4FF', 'utf16le'));
  });

  it('parses what it formats and rejects malformed credentials', () => {
    const c = 'v1;PPH1_MD4,181a3024085fcee2f70e,1000,b39525c3bc72a1136fcf7c8a338e0c14313d0450d1a4c98ef0a6ddada3bc5b0a;';
    const parsed = parseCredential(c);
    assert.ok(parsed);
    assert.equal(parsed.iterations, 1000);
    assert.equal(parsed.salt.toString('hex'), '181a3024085fcee2f70e');
    for (const bad of [c.slice(0, -1), c.toUpperCase(), c.replace('1000', '01000'), c.replace('v1;', 'v2;'), c.replace(',181a', ',181'), '']) {
      assert.equal(parseCredential(bad), undefined, bad);
    }
  });

  it('refuses a wrong NT hash', async () => {
    const c = 'v1;PPH1_MD4,181a3024085fcee2f70e,1000,b39525c3bc72a1136fcf7c8a338e0c14313d0450d1a4c98ef0a6ddada3bc5b0a;';
    assert.equal(verifyCredential(c, await ntHash('Pa$$w0rd')), true);
    assert.equal(verifyCredential(c, await ntHash('pa$$w0rd')), false);
    assert.equal(verifyCredential(c, EMPTY_PASSWORD_NT_HASH), false);
  });

  it('knows the NT hash of the empty password', async () => {
    assert.deepEqual(await ntHash(''), EMPTY_PASSWORD_NT_HASH);
  });
});

// The vectors file is shared with the other implementations; make sure the test really read it.
it('reads every known answer', () => {
  const raw = JSON.parse(readFileSync(new URL('../../fixtures/phs-known-answers.json', import.meta.url), 'utf8')) as { vectors: unknown[] };
  assert.equal(knownAnswers().length, raw.vectors.length);
  assert.ok(raw.vectors.length >= 5);
});

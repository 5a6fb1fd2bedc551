import assert from 'node:assert/strict';
import { it } from 'node:test';
import { independentNtHash, independentlyVerifies } from '../support/independent-credential.ts';
import { knownAnswers } from '../support/known-answers.ts';

// The cross-check implementation must itself be right before it may judge the engine's output.
it('the independent implementation reproduces every known answer', () => {
  for (const v of knownAnswers()) {
    assert.equal(independentNtHash(v.password).toString('hex'), v.ntHash, v.note);
    assert.equal(independentlyVerifies(v.credential, v.password), true, v.note);
    assert.equal(independentlyVerifies(v.credential, `${v.password}x`), false, v.note);
  }
});

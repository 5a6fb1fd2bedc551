import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { SeenAnchors } from '../../src/pipeline/seen-anchors.ts';

it('tells a new anchor, the same entry read again, and a duplicate anchor apart, per source, through growth', () => {
  const seen = new SeenAnchors();
  const anchors = Array.from({ length: 200_000 }, () => randomUUID());
  for (const a of anchors) assert.equal(seen.add('s', a, `uid=${a},dc=x`), 'new');
  assert.equal(seen.size, anchors.length);
  for (const a of anchors.slice(0, 1000)) assert.equal(seen.add('s', a, `UID=${a},DC=x`), 'again', 'DNs compare case-insensitively');
  for (const a of anchors.slice(0, 1000)) assert.equal(seen.add('s', a, `uid=other,dc=x`), 'duplicate');
  for (const a of anchors.slice(0, 1000)) assert.equal(seen.add('other', a, `uid=other,dc=x`), 'new', 'anchors are unique per source');
  // Source and anchor are kept apart: ("a", "bc") is not ("ab", "c").
  assert.equal(seen.add('a', 'bc', 'dn'), 'new');
  assert.equal(seen.add('ab', 'c', 'dn'), 'new');
  assert.equal(seen.size, anchors.length + 1002);
});

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { SeenAnchors } from '../../src/pipeline/seen-anchors.ts';

it('tells a new anchor from one already seen, per source, through growth', () => {
  const seen = new SeenAnchors();
  const anchors = Array.from({ length: 200_000 }, () => randomUUID());
  for (const a of anchors) assert.equal(seen.add('s', a), true);
  assert.equal(seen.size, anchors.length);
  for (const a of anchors.slice(0, 1000)) assert.equal(seen.add('s', a), false);
  for (const a of anchors.slice(0, 1000)) assert.equal(seen.add('other', a), true, 'anchors are unique per source');
  // Source and anchor are kept apart: ("a", "bc") is not ("ab", "c").
  assert.equal(seen.add('a', 'bc'), true);
  assert.equal(seen.add('ab', 'c'), true);
  assert.equal(seen.size, anchors.length + 1002);
});

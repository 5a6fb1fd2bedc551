import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { it } from 'node:test';
import { SeenAnchors, dnDigest } from '../../src/pipeline/seen-anchors.ts';

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

it('digests a DN as its lower case, folding ASCII itself and leaving any other DN to toLowerCase', () => {
  const dns = ['uid=Ann,OU=People,DC=example,DC=com', 'CN=ÉCOLE,DC=x', 'cn=İstanbul,dc=x', 'CN=ΣΊΣΥΦΟΣ', 'cn=a\u{1F600}B', 'ZZ@[\\]^_`{'];
  for (const dn of dns) assert.equal(dnDigest(dn), dnDigest(dn.toLowerCase()), dn);
  assert.equal(dnDigest('CN=ÉCOLE,DC=x'), dnDigest('cn=école,dc=x'));
  // Only A–Z fold: the characters next to them in ASCII stay themselves.
  const near = ['@', '[', '\\', ']', '^', '_', '`', '{', 'a', 'z'];
  assert.equal(new Set(near.map(dnDigest)).size, near.length);
  assert.notEqual(dnDigest('cn=a'), dnDigest('cn=b'));
  const seen = new SeenAnchors();
  assert.equal(seen.add('s', 'x', 'CN=ÉCOLE,DC=x'), 'new');
  assert.equal(seen.add('s', 'x', 'cn=école,dc=x'), 'again');
  assert.equal(seen.add('s', 'x', 'cn=ecole,dc=x'), 'duplicate');
});

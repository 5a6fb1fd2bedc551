import { UserDataError } from '../errors.ts';

/**
 * The RID: the last sub-authority of a binary SID (MS-DTYP 2.4.2.2: revision, count, 6-byte
 * authority, then `count` little-endian uint32 sub-authorities). The DES layer on replicated NT
 * hashes is keyed by it.
 */
export function ridOfSid(sid: Uint8Array): number {
  const count = sid.length >= 2 ? sid[1]! : 0;
  if (sid.length < 8 + 4 * count || count === 0 || sid[0] !== 1) throw new UserDataError('DRS_SID_INVALID', `the object's SID is not a valid SID (${sid.length} bytes)`);
  const at = 8 + 4 * (count - 1);
  return (sid[at]! | (sid[at + 1]! << 8) | (sid[at + 2]! << 16) | (sid[at + 3]! << 24)) >>> 0;
}

/** S-1-5-21-… text form, for messages and tests. */
export function sidText(sid: Uint8Array): string {
  const count = sid[1] ?? 0;
  let authority = 0;
  for (let i = 2; i < 8; i++) authority = authority * 256 + (sid[i] ?? 0);
  const subs: number[] = [];
  for (let i = 0; i < count; i++) {
    const at = 8 + 4 * i;
    subs.push(((sid[at] ?? 0) | ((sid[at + 1] ?? 0) << 8) | ((sid[at + 2] ?? 0) << 16) | ((sid[at + 3] ?? 0) << 24)) >>> 0);
  }
  return `S-${sid[0] ?? 0}-${authority}${subs.map((s) => `-${s}`).join('')}`;
}

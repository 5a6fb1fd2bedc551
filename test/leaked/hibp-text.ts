import { randomBytes } from 'node:crypto';
import { ntHash } from '../../src/phs/nt-hash.ts';

/** One line's worth of an HIBP list: a 16-byte hash and how often it was seen. */
export interface Entry {
  readonly hash: Buffer;
  readonly count: number;
}

export const KNOWN_PASSWORDS = ['password', '123456', 'Passw0rd!', 'Pässwörd€', 'correct horse battery staple', ''] as const;

/** Known passwords' NT hashes with counts 1000, 1001, ... (the empty password included). */
export async function knownEntries(): Promise<(Entry & { password: string })[]> {
  return Promise.all(KNOWN_PASSWORDS.map(async (password, i) => ({ password, hash: Buffer.from(await ntHash(password)), count: 1000 + i })));
}

export function randomEntries(n: number): Entry[] {
  return Array.from({ length: n }, (_, i) => ({ hash: randomBytes(16), count: 1 + (i % 97) }));
}

export function hex(hash: Uint8Array): string {
  return Buffer.from(hash).toString('hex').toUpperCase();
}

export function line(e: Entry, eol = '\n'): string {
  return `${hex(e.hash)}:${e.count}${eol}`;
}

export function sorted(entries: readonly Entry[]): Entry[] {
  return [...entries].sort((a, b) => Buffer.compare(a.hash, b.hash));
}

export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** What a store must answer for each hash: counts summed over duplicates, saturated at 65535. */
export function expectedCounts(entries: readonly Entry[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(hex(e.hash), Math.min(65_535, (counts.get(hex(e.hash)) ?? 0) + Math.min(e.count, 65_535)));
  return counts;
}

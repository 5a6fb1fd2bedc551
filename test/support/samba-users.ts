import { createHash } from 'node:crypto';

/** A user of the test Samba domain, with its password (test/support/samba-dc.ts). */
export interface SambaUser {
  /** sAMAccountName (≤ 20 characters); the user's DN is CN=<sam>,CN=Users,DC=test,DC=example. */
  readonly sam: string;
  /** userPrincipalName. */
  readonly upn: string;
  /** The clear-text password (set as unicodePwd: Samba computes the NT hash and Kerberos keys). */
  readonly password: string;
  /** userAccountControl 514 (ACCOUNTDISABLE, 0x2) instead of 512. */
  readonly disabled?: boolean;
  /** pwdLastSet = 0: the user must change the password at next logon (a simple bind is refused, AD error data 773). */
  readonly mustChange?: boolean;
}

export const SAMBA_REALM_LOWER = 'test.example';
export const DEFAULT_SAMBA_SEED = 'phsync-samba';

/** Generated users: every 17th (by 1-based index) is disabled… */
export const DISABLED_EVERY = 17;
/** …and every 19th must change its password (both for multiples of 323). */
export const MUST_CHANGE_EVERY = 19;

const UPPER = 'ABCDEFGHJKLMNPQRSTUVWXYZ';
const LOWER = 'abcdefghijkmnopqrstuvwxyz';
const DIGITS = '23456789';
const SYMBOLS = '!#$%&()*+,-./:;<=>?@[]^_{|}~';
/** Non-ASCII characters (BMP, 2 and 3 bytes of UTF-8; all one UTF-16 unit), one in every 7th password. */
const NON_ASCII = ['é', 'ü', 'ß', 'Ø', 'ñ', 'Ω', 'ж', '€', 'ı', '中'] as const;
/** Astral characters (a UTF-16 surrogate pair, 4 bytes of UTF-8), one in every 29th password. */
const ASTRAL = ['😀', '𝄞', '🔑'] as const;

/** The sAMAccountName of generated user `index` (1-based): user00001… (more digits past 99999). */
export function generatedSam(index: number): string {
  return `user${String(index).padStart(5, '0')}`;
}

/**
 * `count` users, deterministic from `seed`: sam user00001…, upn user00001@test.example, passwords
 * derived from (seed, index), 12 to 24 characters, all distinct, each with an upper-case letter, a
 * lower-case letter, a digit and a symbol (so Samba's default complexity rules accept them), some with
 * a space (every 11th), a non-ASCII character (every 7th) or an astral one (every 29th); every 17th
 * user disabled, every 19th must change its password. `first` (default 1) is the index of the first
 * user, so that more users can be generated later without clashing (generateSambaUsers(n, seed, 101)).
 */
export function generateSambaUsers(count: number, seed: string = DEFAULT_SAMBA_SEED, first = 1): SambaUser[] {
  if (!Number.isSafeInteger(count) || count < 0) throw new Error(`generateSambaUsers: count must be a whole number ≥ 0, not ${count}`);
  if (!Number.isSafeInteger(first) || first < 1) throw new Error(`generateSambaUsers: first must be a whole number ≥ 1, not ${first}`);
  const users: SambaUser[] = [];
  const seen = new Set<string>();
  for (let index = first; index < first + count; index++) {
    let password = generatedPassword(seed, index, 0);
    // A collision is astronomically unlikely, but "all distinct" is promised: derive again.
    for (let retry = 1; seen.has(password); retry++) password = generatedPassword(seed, index, retry);
    seen.add(password);
    const sam = generatedSam(index);
    const user: SambaUser = {
      sam,
      upn: `${sam}@${SAMBA_REALM_LOWER}`,
      password,
      ...(index % DISABLED_EVERY === 0 ? { disabled: true } : {}),
      ...(index % MUST_CHANGE_EVERY === 0 ? { mustChange: true } : {}),
    };
    users.push(user);
  }
  return users;
}

/** The password of generated user `index` for `seed` (before the distinctness retries). */
export function generatedPassword(seed: string, index: number, retry = 0): string {
  const bytes = byteStream(`phsync-samba-user\0${seed}\0${index}\0${retry}`);
  const next = (): number => bytes.next().value;
  const pick = (alphabet: string | readonly string[]): string => alphabet[next() % alphabet.length] as string;
  const length = 12 + (next() % 13);
  const all = UPPER + LOWER + DIGITS + SYMBOLS;
  // Code points, not UTF-16 units: an astral character counts as one.
  const chars: string[] = [];
  for (let i = 0; i < length; i++) chars.push(pick(all));
  // One of each class, at distinct positions.
  const positions = distinctPositions(length, 6, next);
  chars[positions[0] as number] = pick(UPPER);
  chars[positions[1] as number] = pick(LOWER);
  chars[positions[2] as number] = pick(DIGITS);
  chars[positions[3] as number] = pick(SYMBOLS);
  // A space never first or last (some tools trim), a non-ASCII or astral character anywhere.
  if (index % 11 === 5) {
    let p = 1 + (next() % (length - 2));
    while (positions.includes(p)) p = 1 + (p % (length - 2));
    chars[p] = ' ';
  }
  if (index % 7 === 3) chars[positions[4] as number] = pick(NON_ASCII);
  if (index % 29 === 13) chars[positions[5] as number] = pick(ASTRAL);
  return chars.join('');
}

function distinctPositions(length: number, n: number, next: () => number): number[] {
  const positions: number[] = [];
  while (positions.length < n) {
    const p = next() % length;
    if (!positions.includes(p)) positions.push(p);
  }
  return positions;
}

/** An endless stream of bytes: SHA-256(label ‖ counter) blocks. */
function* byteStream(label: string): Generator<number, never, void> {
  for (let block = 0; ; block++) {
    const digest = createHash('sha256').update(`${label}\0${block}`).digest();
    for (const byte of digest) yield byte;
  }
}

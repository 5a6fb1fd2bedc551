import { timingSafeEqual } from 'node:crypto';
import { HASH_BYTES, deriveHash, parseCredential } from '../phs/credential.ts';
import { ntHash } from '../phs/nt-hash.ts';

export type PasswordCheck = 'match' | 'mismatch' | 'no-credential';

// No credential (or an unreadable one) costs the same PBKDF2 as a real one, so the time taken does
// not tell whether the user exists.
const DECOY_SALT = Buffer.alloc(10);
const DECOY_ITERATIONS = 1000;
const DECOY_HASH = Buffer.alloc(HASH_BYTES);

/**
 * Checks a password the way the cloud does: the credential is recomputed from the password's NT hash
 * with the stored salt and iteration count, and compared in constant time. The tenant never stores
 * the NT hash; it exists here only for the length of this call.
 */
export async function checkPassword(credential: string | undefined, password: string): Promise<PasswordCheck> {
  const parsed = credential === undefined ? undefined : parseCredential(credential);
  const nt = await ntHash(password);
  try {
    const computed = deriveHash(nt, parsed?.salt ?? DECOY_SALT, parsed?.iterations ?? DECOY_ITERATIONS);
    const equal = timingSafeEqual(computed, parsed?.hash ?? DECOY_HASH);
    if (parsed === undefined) return 'no-credential';
    return equal ? 'match' : 'mismatch';
  } finally {
    nt.fill(0);
  }
}

import { setImmediate as nextTurn } from 'node:timers/promises';
import { isUserPrincipalName } from './item-validation.ts';
import { checkPassword } from './password-check.ts';
import type { LeakedCredentialMark, TenantStore } from './tenant-store.ts';

/** A username/password pair from a leak (a paste site, a dump), as a threat-intelligence feed reports it. */
export interface LeakedPair {
  readonly userPrincipalName: string;
  readonly password: string;
}

export type LeakedPairResult = 'match' | 'no-match' | 'unknown-user' | 'invalid';

/** One pair's answer: the name as sent, never the password. */
export interface LeakedPairOutcome {
  readonly userPrincipalName: string;
  readonly result: LeakedPairResult;
  readonly reason?: string;
}

// Each pair costs an MD4 and a PBKDF2 of 1000 iterations (~0.2 ms), all on the event loop: 1000 pairs
// hold it ~200 ms. Letting other requests in every so many pairs keeps sign-ins and batches answered
// meanwhile, at the cost of a few event-loop turns per request.
const PAIRS_PER_TURN = 64;

/**
 * Checks leaked pairs against the tenant's users, as the reference system's leaked-credentials
 * detection does: a pair matches when its password is the user's current password, checked against
 * the stored credential with the user's own salt. Only a credential the tenant already held when the
 * pair was received (`receivedAt`) is checked: a leak reported before a password was synced says
 * nothing about it. Matching users are marked high risk (`leaked-credentials`). Disabled users are
 * checked too: their password would work again once they are enabled. Passwords are neither kept
 * nor returned.
 */
export async function checkLeakedPairs(store: TenantStore, pairs: readonly LeakedPair[], receivedAt: number): Promise<LeakedPairOutcome[]> {
  const outcomes: LeakedPairOutcome[] = [];
  const matched: { index: number; mark: LeakedCredentialMark }[] = [];
  for (const [index, pair] of pairs.entries()) {
    if (index > 0 && index % PAIRS_PER_TURN === 0) await nextTurn();
    const { userPrincipalName } = pair;
    if (!isUserPrincipalName(userPrincipalName)) {
      outcomes.push({ userPrincipalName, result: 'invalid', reason: 'userPrincipalName must look like name@domain' });
      continue;
    }
    const user = store.findByUserPrincipalName(userPrincipalName);
    if (user === undefined) {
      outcomes.push({ userPrincipalName, result: 'unknown-user' });
      continue;
    }
    if (user.credentialSetAt > receivedAt) {
      outcomes.push({ userPrincipalName, result: 'no-match', reason: 'the user\'s credential was stored after the pair was received; pairs are checked only against a credential stored before them' });
      continue;
    }
    const check = await checkPassword(user.credential, pair.password);
    if (check === 'no-credential') outcomes.push({ userPrincipalName, result: 'unknown-user' });
    else if (check === 'mismatch') outcomes.push({ userPrincipalName, result: 'no-match' });
    else {
      matched.push({ index, mark: { source: user.source, anchor: user.anchor, credential: user.credential } });
      outcomes.push({ userPrincipalName, result: 'match' });
    }
  }
  // One transaction for every match: one commit, however many pairs matched.
  const marked = store.markLeakedCredentials(matched.map((m) => m.mark));
  for (const [i, { index }] of matched.entries()) {
    if (marked[i] !== true) {
      outcomes[index] = { userPrincipalName: pairs[index]!.userPrincipalName, result: 'no-match', reason: 'the user\'s credential changed while the pair was checked' };
    }
  }
  return outcomes;
}

/**
 * A user's sign-in risk as the tenant records it. Reported, not enforced: sign-in does not look at it
 * (as in the reference system, where a risk policy, not the detection, decides what a risk blocks).
 */

/**
 * What raised it: `leaked-hash`, the engine found the user's NT hash in a leaked-password list while
 * syncing it; `leaked-credentials`, a leaked username/password pair posted to the tenant matched the
 * user's current password.
 */
export type RiskSource = 'leaked-hash' | 'leaked-credentials';

/** Field names as GET /v1/users/{upn}/risk has them (detectedAt here in ms, there in ISO 8601). */
export type UserRisk =
  | { readonly riskLevel: 'none' }
  | { readonly riskLevel: 'high'; readonly source: RiskSource; readonly detectedAt: number };

export const NO_RISK: UserRisk = Object.freeze({ riskLevel: 'none' });

/** The store's risk columns; the table's CHECK keeps them consistent, so anything else is no risk. */
export function riskFromColumns(level: string, source: string | null, detectedAt: number | null): UserRisk {
  if (level === 'high' && (source === 'leaked-hash' || source === 'leaked-credentials') && detectedAt !== null) {
    return { riskLevel: 'high', source, detectedAt };
  }
  return NO_RISK;
}

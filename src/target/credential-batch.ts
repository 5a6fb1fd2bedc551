/**
 * What the engine ships to a target, and what a target answers per item. The same shape travels in
 * the tenant's HTTP API (POST /v1/credentials:batch), so every target speaks it.
 */
export interface CredentialItem {
  readonly sourceAnchor: string;
  readonly userPrincipalName: string;
  /**
   * `v1;PPH1_MD4,<salt>,<iterations>,<hash>;` — never the NT hash. Absent only in a *disable item*
   * (`disabled: true`): the target keeps the credential it has and only marks the user disabled, so
   * sign-in is refused. A disable item for a user the target does not hold is `applied` and stores
   * nothing (the user cannot sign in there either way).
   */
  readonly credential?: string;
  readonly forceChangePasswordNextSignIn: boolean;
  readonly disabled: boolean;
  /**
   * ISO 8601: when the change was made (the password set, the user disabled or enabled again); an
   * older change never overwrites a newer one.
   */
  readonly changedAt: string;
  /**
   * `high` when the engine found the user's NT hash in a leaked-password list while syncing it (see
   * `--leaked-store`). Absent means nothing was found: a new credential without it clears a risk the
   * target recorded for the user's previous password. Only on items with a credential.
   */
  readonly riskLevel?: RiskLevel;
  /**
   * `true` when the engine sends the password the target already holds for the user (its fingerprint
   * is unchanged: only the sign-in name or flags changed, or the user is enabled again), with a fresh
   * salt. The target then keeps what it knows of the password, such as a leaked-credentials risk.
   */
  readonly samePassword?: true;
}

/** A user's sign-in risk as the tenant records it: `high` when the password is known to have leaked. */
export type RiskLevel = 'none' | 'high';

export interface CredentialBatch {
  /** Unique per batch; the same batch applied twice is applied once. */
  readonly batchId: string;
  readonly source: string;
  readonly items: readonly CredentialItem[];
}

export type ItemResult =
  | { readonly status: 'applied' }
  /** The target already holds a newer change for this user. */
  | { readonly status: 'stale' }
  | { readonly status: 'invalid'; readonly reason: string };

export type UserStatusKind = 'success' | 'skipped' | 'error';

/** What happened to one user in the last run that saw it. Never holds a hash or a credential. */
export interface UserStatus {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName?: string;
  readonly status: UserStatusKind;
  /** For skipped: why (unchanged, disabled…); for error: the error code. */
  readonly reason?: string;
  readonly message?: string;
}

export type RunStatus = 'running' | 'succeeded' | 'partial' | 'failed' | 'aborted' | 'interrupted';

export interface RunRecord {
  readonly id: number;
  readonly kind: string;
  readonly source: string;
  readonly target: string;
  readonly startedAt: number;
  readonly finishedAt: number | undefined;
  readonly status: RunStatus;
  readonly counts: Record<string, unknown> | undefined;
  readonly error: string | undefined;
}

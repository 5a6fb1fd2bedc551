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
  /** The run's first errors (at most 50), also those without a user (an unparseable entry); empty if none or not recorded. */
  readonly errors: readonly RunError[];
}

/** One of a run's first errors, as the run summary lists it. Never holds a hash or a credential. */
export interface RunError {
  /** Where: a DN, an LDIF line, an anchor, the source's name, or "run". */
  readonly origin: string;
  readonly code: string;
  readonly message: string;
}

/** One batch the target acknowledged. Times in milliseconds; `finishedAt` is epoch milliseconds. */
export interface BatchLogEntry {
  readonly runId: number;
  /** A batch of credentials, or of users disabled at the target. */
  readonly kind: 'credential' | 'disable';
  readonly users: number;
  /** How long hashing the batch took (0 for a disable batch). */
  readonly hashMs: number;
  /** How long the write to the target took, until its acknowledgement. */
  readonly writeMs: number;
  readonly finishedAt: number;
  readonly applied: number;
  readonly stale: number;
  readonly rejected: number;
}

/** A run's totals so far, at `at` (epoch milliseconds). */
export interface RunSample {
  readonly at: number;
  readonly scanned: number;
  readonly synced: number;
  readonly hashed: number;
  readonly skipped: number;
  readonly failed: number;
}

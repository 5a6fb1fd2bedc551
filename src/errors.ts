/**
 * Errors with stable codes. Callers decide by `code`, never by message text, and the code is what
 * reaches the state store, the summary and (later) metrics. Foreign errors are translated at the
 * boundary that meets them.
 */
export class PhsyncError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'PhsyncError';
    this.code = code;
  }
}

/** A per-user problem: the user fails, the run goes on. */
export class UserDataError extends PhsyncError {
  override name = 'UserDataError';
}

/** A problem that stops the run (exit code 1) with a one-line cause. */
export class FatalError extends PhsyncError {
  override name = 'FatalError';
}

export function errorMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

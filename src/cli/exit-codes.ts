/** The documented exit codes of every phsync command. */
export const EXIT = Object.freeze({
  /** Every user in scope synced (or: signed in). */
  ok: 0,
  /** A fatal error (one-line cause on stderr), or: sign-in refused. */
  fatal: 1,
  /** The run finished, but some users failed; they are listed and kept in the state store. */
  someFailed: 2,
  /** Stopped by SIGINT or SIGTERM after finishing the batches in flight; the next run resumes. */
  interrupted: 130,
});

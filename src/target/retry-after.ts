/** The longest a server may make the engine wait with one Retry-After: more than that is an outage, not a pause. */
export const MAX_RETRY_AFTER_MS = 5 * 60_000;

/**
 * The wait a Retry-After header asks for (RFC 9110 §10.2.3), in milliseconds, capped at
 * MAX_RETRY_AFTER_MS: either delay-seconds (digits only) or an HTTP date, which counts from `now`
 * (a date in the past asks for no wait). Undefined when the header is absent or unreadable, and the
 * caller falls back to its own backoff.
 */
export function parseRetryAfter(value: string | readonly string[] | undefined, now: number = Date.now()): number | undefined {
  const text = (Array.isArray(value) ? value[0] : value)?.trim();
  if (text === undefined || text.length === 0) return undefined;
  if (/^\d+$/u.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP date always names a weekday and a month; anything else (e.g. "1.5", "-1", "soon") is unreadable.
  if (!/^[A-Za-z]{3}/u.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, at - now), MAX_RETRY_AFTER_MS);
}

import { PhsyncError } from '../../errors.ts';
import { HttpError } from './http-error.ts';

/**
 * A store that another process holds locked (an engine writing an embedded tenant, a backup) is a
 * pause, not a failure: the 503 to answer instead, asking the client to retry; undefined for any
 * other error.
 */
export function storeBusyError(err: unknown, retryWhat: string): HttpError | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  if (err instanceof PhsyncError || (code !== 'SQLITE_BUSY' && code !== 'SQLITE_LOCKED')) return undefined;
  return new HttpError(503, 'store_busy', `the tenant store is busy; retry the ${retryWhat}`, { headers: { 'retry-after': '1' } });
}

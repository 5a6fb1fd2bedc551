import { FatalError } from '../errors.ts';

/**
 * A failure to read an input file, as a named fatal error: SOURCE_NOT_FOUND or SOURCE_UNREADABLE.
 * An abort, or anything that is not a file-system error, is returned as it came.
 */
export function inputFileError(err: unknown, what: string, path: string): unknown {
  if (!(err instanceof Error) || err.name === 'AbortError') return err;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new FatalError('SOURCE_NOT_FOUND', `${what} not found: ${path}`, { cause: err });
  if (typeof code === 'string') return new FatalError('SOURCE_UNREADABLE', `cannot read ${what} ${path}: ${err.message}`, { cause: err });
  return err;
}

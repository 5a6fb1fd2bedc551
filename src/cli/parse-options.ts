import { access, constants } from 'node:fs/promises';
import { FatalError } from '../errors.ts';

/** Validates a whole-number option and names the option, the bad value and its type when it is not. */
export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FatalError('OPTION_INVALID', `--${name} must be a whole number from ${min} to ${max}, got ${typeof value === 'string' ? JSON.stringify(value) : String(value)} (${typeof value})`);
  }
  return value;
}

/** Checks an input file before any store is opened, so a typo costs nothing and says what is wrong. */
export async function assertReadable(path: string, option: string): Promise<void> {
  try {
    await access(path, constants.R_OK);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : String(code);
    throw new FatalError('SOURCE_NOT_FOUND', `--${option} ${path}: ${why}`, { cause: err });
  }
}

import { FatalError } from '../errors.ts';

/** Validates a whole-number option and names the option, the bad value and its type when it is not. */
export function integerOption(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new FatalError('OPTION_INVALID', `--${name} must be a whole number from ${min} to ${max}, got ${JSON.stringify(value)} (${typeof value})`);
  }
  return value;
}

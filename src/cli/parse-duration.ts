import { FatalError } from '../errors.ts';

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "90s", "2m", "24h", "1d", or a plain number of seconds, as milliseconds; a named error otherwise. */
export function parseDuration(option: string, value: unknown): number {
  const text = String(value).trim();
  const match = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)?$/.exec(text);
  const ms = match === null ? Number.NaN : Number(match[1]) * UNIT_MS[match[2] ?? 's']!;
  if (!Number.isFinite(ms) || ms <= 0) throw new FatalError('OPTION_INVALID', `--${option} must be a duration such as 90s, 2m, 24h or 1d, got ${JSON.stringify(text)}`);
  return ms;
}

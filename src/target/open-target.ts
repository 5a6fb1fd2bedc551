import { FatalError } from '../errors.ts';
import type { CredentialTarget } from './credential-target.ts';
import { NdjsonTarget } from './ndjson-target.ts';
import { SqliteTarget } from './sqlite-target.ts';

export const TARGET_FORMS = 'sqlite:PATH or ndjson:PATH (ndjson:- for stdout)';

/** Opens a target from its command-line form. */
export async function openTarget(spec: string): Promise<CredentialTarget> {
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (rest.length === 0 || (scheme !== 'sqlite' && scheme !== 'ndjson')) {
    throw new FatalError('TARGET_INVALID', `--target ${JSON.stringify(spec)} is not a target: use ${TARGET_FORMS}`);
  }
  return scheme === 'sqlite' ? new SqliteTarget(rest) : NdjsonTarget.open(rest);
}

import { FatalError } from '../errors.ts';
import type { CredentialTarget } from './credential-target.ts';
import { HttpTarget } from './http-target.ts';
import { NdjsonTarget } from './ndjson-target.ts';
import { SqliteTarget } from './sqlite-target.ts';

export const TARGET_FORMS = 'sqlite:PATH, ndjson:PATH (ndjson:- for stdout), or the tenant API: https://HOST[:PORT][/PATH] (http:// only to a loopback host)';

/** What an http(s) target needs besides its URL; the other targets ignore it. */
export interface OpenTargetOptions {
  /** The bearer token (e.g. read from --target-token-file). */
  readonly token?: string | undefined;
  /** CA certificates (PEM) to trust for https:// instead of the system's. */
  readonly ca?: Buffer | undefined;
  /** Skip TLS certificate verification; the caller warns. */
  readonly insecure?: boolean | undefined;
}

/** Opens a target from its command-line form. */
export async function openTarget(spec: string, options: OpenTargetOptions = {}): Promise<CredentialTarget> {
  if (/^https?:\/\//iu.test(spec)) {
    return HttpTarget.open({ url: spec, token: options.token, ca: options.ca, insecure: options.insecure });
  }
  const colon = spec.indexOf(':');
  const scheme = colon < 0 ? '' : spec.slice(0, colon);
  const rest = spec.slice(colon + 1);
  if (rest.length === 0 || (scheme !== 'sqlite' && scheme !== 'ndjson')) {
    throw new FatalError('TARGET_INVALID', `--target ${JSON.stringify(spec)} is not a target: use ${TARGET_FORMS}`);
  }
  return scheme === 'sqlite' ? SqliteTarget.open(rest) : NdjsonTarget.open(rest);
}

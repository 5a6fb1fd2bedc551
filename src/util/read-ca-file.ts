import { readFileSync } from 'node:fs';
import { FatalError } from '../errors.ts';

/** A PEM file of CA certificates, or a named fatal error that says which file and why. */
export function readCaFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new FatalError('TLS_CA_UNREADABLE', `cannot read the CA file ${path}: ${(err as { code?: string }).code ?? String(err)}`, { cause: err });
  }
}

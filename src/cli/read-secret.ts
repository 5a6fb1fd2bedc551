import { readFileSync, statSync } from 'node:fs';
import { FatalError } from '../errors.ts';
import { addSecret } from '../observe/logger.ts';

/**
 * A secret (bind password, token) from a file or an environment variable, never from argv: other
 * users of the machine can read a process's arguments. A file that others may read gets a warning.
 */
export function readSecret(options: { readonly file: string | undefined; readonly env: string; readonly what: string; readonly warn: (message: string) => void }): string | undefined {
  const secret = read(options);
  // Whatever path a secret might take to a log line (an error message quoting a server's answer…),
  // the logger replaces it there.
  if (secret !== undefined && secret !== '') {
    addSecret(secret);
    if (secret.trim() !== secret && secret.trim() !== '') addSecret(secret.trim());
  }
  return secret;
}

function read(options: { readonly file: string | undefined; readonly env: string; readonly what: string; readonly warn: (message: string) => void }): string | undefined {
  if (options.file !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.file, 'utf8');
      if ((statSync(options.file).mode & 0o077) !== 0) options.warn(`${options.what} file ${options.file} can be read by other users; chmod 600 it`);
    } catch (err) {
      throw new FatalError('SECRET_FILE_UNREADABLE', `cannot read the ${options.what} file ${options.file}: ${(err as { code?: string }).code ?? String(err)}`, { cause: err });
    }
    // One trailing newline is the editor's, not the password's.
    return text.replace(/\r?\n$/, '');
  }
  return process.env[options.env];
}

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Files shipped with phsync, found from the code's own location so the CLI works from any directory. */
export const SAMPLE_DIRECTORY = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));

/** phsync's version, from its package.json. */
export const PHSYNC_VERSION: string = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

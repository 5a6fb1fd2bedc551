import { fileURLToPath } from 'node:url';

/** Files shipped with phsync, found from the code's own location so the CLI works from any directory. */
export const SAMPLE_DIRECTORY = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));

import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** The first executable `name` in `dirs` (tried in order), then the PATH; undefined when none. */
export function findProgram(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of [...dirs, ...(process.env['PATH'] ?? '').split(delimiter)]) {
    if (dir === '') continue;
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here
    }
  }
  return undefined;
}

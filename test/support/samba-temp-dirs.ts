import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { procInfo } from './samba-proc.ts';

// Temp directories: removed at exit (normal exit), and by later harnesses if their owner died.

export const DC_DIR_PREFIX = 'phsync-samba-dc-';
export const BUILD_DIR_PREFIX = 'phsync-samba-build-';

export const OWNER_FILE = 'phsync-owner.json';
export const ownedDirs = new Set<string>();

export function markOwned(dir: string): void {
  writeFileSync(join(dir, OWNER_FILE), `${JSON.stringify({ pid: process.pid, since: new Date().toISOString() })}\n`);
  ownedDirs.add(dir);
}

/** Removes DC and build directories whose owner process is gone (killed while populating, say). */
export function sweepStaleDirs(): void {
  let names: string[];
  try {
    names = readdirSync(tmpdir());
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(DC_DIR_PREFIX) && !name.startsWith(BUILD_DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    if (ownedDirs.has(dir)) continue;
    let pid: unknown;
    try {
      pid = (JSON.parse(readFileSync(join(dir, OWNER_FILE), 'utf8')) as { pid?: unknown }).pid;
    } catch {
      continue; // no owner file (yet): leave it
    }
    const info = typeof pid === 'number' ? procInfo(pid) : undefined;
    if (info === undefined || info.zombie) rmSync(dir, { recursive: true, force: true });
  }
}

/** Empties `dir`, but for its owner file. */
export function emptyDir(dir: string): void {
  for (const name of readdirSync(dir)) if (name !== OWNER_FILE) rmSync(join(dir, name), { recursive: true, force: true });
}

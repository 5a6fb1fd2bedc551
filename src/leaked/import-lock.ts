/**
 * One import per work directory at a time: two would interleave bucket writes and checkpoints. The
 * lock is a file holding the owner's pid; a lock whose process is gone (killed, the machine
 * restarted) is taken over, since resuming after a kill is the point.
 */
import { closeSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { PhsyncError } from '../errors.ts';

export function lockWorkDir(workDir: string): { release(): void } {
  const path = join(workDir, 'lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return { release: () => rmSync(path, { force: true }) };
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EEXIST') throw err;
    }
    const owner = Number(readFileOr(path));
    if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
      throw new PhsyncError('LEAKED_IMPORT_BUSY', `another import (pid ${owner}) is using the work directory ${workDir} (if it is not running, remove ${path})`);
    }
    rmSync(path, { force: true });
  }
  throw new PhsyncError('LEAKED_IMPORT_BUSY', `cannot lock the work directory ${workDir}`);
}

function readFileOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as { code?: unknown }).code === 'EPERM';
  }
}

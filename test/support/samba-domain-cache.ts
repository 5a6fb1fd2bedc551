import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HeldLock } from './samba-dc-lock.ts';
import { program, requiredProgram, run, sambaVersion } from './samba-programs.ts';
import { ARCHIVE_FORMAT, ldbAdd, provisionDomain, readMeta, userLdif, writeSmbConf } from './samba-provision.ts';
import { BUILD_DIR_PREFIX, emptyDir, markOwned, OWNER_FILE, ownedDirs } from './samba-temp-dirs.ts';
import type { SambaUser } from './samba-users.ts';

/**
 * Archives of provisioned (and populated) domains under SAMBA_CACHE_DIR, and filling a DC's
 * directory with its domain: unpacked from the cache, or made (and cached).
 */

export const SAMBA_CACHE_DIR = join(tmpdir(), 'phsync-samba-cache');

/** Users per ldbadd run. */
const LDBADD_CHUNK = 1000;

function compressor(): { readonly ext: string; readonly create: string; readonly extract: string } {
  return program('zstd') !== undefined ? { ext: 'tar.zst', create: 'zstd -1 -T0', extract: 'zstd -d' } : { ext: 'tar.gz', create: 'gzip -1', extract: 'gzip -d' };
}

/** SAMBA_CACHE_DIR/<kind>-f<format>-<hash of format, Samba version, what>.tar.zst */
export function archivePath(kind: 'base' | 'users', what: unknown): string {
  const key = createHash('sha256').update(JSON.stringify({ format: ARCHIVE_FORMAT, samba: sambaVersion(), what })).digest('hex').slice(0, 24);
  return join(SAMBA_CACHE_DIR, `${kind}-f${ARCHIVE_FORMAT}-${key}.${compressor().ext}`);
}

/** Removes the archives (and their lock files) of other archive formats: never used again. */
export function pruneCache(): void {
  let names: string[];
  try {
    names = readdirSync(SAMBA_CACHE_DIR);
  } catch {
    return;
  }
  for (const name of names) {
    const format = /^(?:base|users)-(?:f(\d+)-)?[0-9a-f]+\./.exec(name);
    if (format !== null && Number(format[1] ?? 1) !== ARCHIVE_FORMAT) rmSync(join(SAMBA_CACHE_DIR, name), { force: true });
  }
}

/** Archives the domain in `dir` (never started: no logs, pid files, sockets) to `archive`, atomically. */
async function writeArchive(dir: string, archive: string): Promise<void> {
  mkdirSync(dirname(archive), { recursive: true });
  const partial = `${archive}.${process.pid}.${randomBytes(4).toString('hex')}.partial`;
  try {
    await run(requiredProgram('tar'), ['-I', compressor().create, '-cf', partial, '-C', dir, '--exclude=./logs', '--exclude=./run', '--exclude=./ncalrpc', '--exclude=./krb5cc', `--exclude=./${OWNER_FILE}`, '.'], 'tar (archive the domain)');
    renameSync(partial, archive);
  } finally {
    rmSync(partial, { force: true });
  }
}

async function unpackArchive(archive: string, dir: string): Promise<void> {
  await run(requiredProgram('tar'), ['-I', compressor().extract, '-xf', archive, '-C', dir], 'tar (unpack the domain)');
}

/** The bare provisioned domain's archive: made now if missing. Returns how long provisioning took, if it did. */
async function baseArchive(lockTimeoutMs: number): Promise<{ readonly archive: string; readonly provisionMs?: number }> {
  const archive = archivePath('base', 'base');
  if (existsSync(archive)) return { archive };
  const lock = await HeldLock.acquire(`${archive}.lock`, lockTimeoutMs, 'the build of the cached Samba domain', 'build');
  try {
    if (existsSync(archive)) return { archive }; // made by another process meanwhile
    const t0 = performance.now();
    const build = mkdtempSync(join(tmpdir(), BUILD_DIR_PREFIX));
    markOwned(build);
    try {
      await provisionDomain(build);
      await writeArchive(build, archive);
    } finally {
      rmSync(build, { recursive: true, force: true });
      ownedDirs.delete(build);
    }
    return { archive, provisionMs: performance.now() - t0 };
  } finally {
    await lock.release();
  }
}

export interface Prepared {
  readonly fromCache: boolean;
  readonly unpackMs: number;
  readonly provisionMs?: number;
  readonly populateMs?: number;
  readonly archiveMs?: number;
}

/**
 * Fills `dir` (empty) with the domain and its users: unpacked from the users' archive if cached,
 * else the base archive unpacked, the users added with ldbadd, and (`usersArchive`) archived. Needs
 * no DC lock: only archive builds are serialized (per archive).
 */
export async function prepareDomain(dir: string, users: readonly SambaUser[], usersArchive: string | undefined, lockTimeoutMs: number): Promise<Prepared> {
  if (usersArchive !== undefined) {
    const cached = await unpackCached(usersArchive, dir);
    if (cached !== undefined) return { fromCache: true, unpackMs: cached };
    const lock = await HeldLock.acquire(`${usersArchive}.lock`, lockTimeoutMs, 'the build of the cached Samba domain', 'build');
    try {
      const meanwhile = await unpackCached(usersArchive, dir); // made by another process while we waited?
      if (meanwhile !== undefined) return { fromCache: true, unpackMs: meanwhile };
      return await populate(dir, users, usersArchive, lockTimeoutMs);
    } finally {
      await lock.release();
    }
  }
  return populate(dir, users, undefined, lockTimeoutMs);
}

/** Unpacks a cached archive into `dir`: how long it took, or undefined if there is none (or it is unusable: then removed). */
async function unpackCached(archive: string, dir: string): Promise<number | undefined> {
  if (!existsSync(archive)) return undefined;
  const t = performance.now();
  try {
    await unpackArchive(archive, dir);
    readMeta(dir);
    return performance.now() - t;
  } catch {
    // Damaged, or made by an older harness: made again.
    rmSync(archive, { force: true });
    emptyDir(dir);
    return undefined;
  }
}

async function populate(dir: string, users: readonly SambaUser[], usersArchive: string | undefined, lockTimeoutMs: number): Promise<Prepared> {
  const base = await baseArchive(lockTimeoutMs);
  let provisionMs = base.provisionMs;
  const t = performance.now();
  let unpackMs = await unpackCached(base.archive, dir);
  if (unpackMs === undefined) {
    const again = await baseArchive(lockTimeoutMs);
    provisionMs = again.provisionMs;
    await unpackArchive(again.archive, dir);
    readMeta(dir);
    unpackMs = performance.now() - t;
  }
  const conf = writeSmbConf(dir);
  let populateMs: number | undefined;
  if (users.length > 0) {
    if (users.length >= 2000) process.stderr.write(`samba-dc: adding ${users.length} users to a Samba domain offline (about 30 ms each${usersArchive === undefined ? '' : ', once per machine: then cached'})\n`);
    const tp = performance.now();
    // In chunks, one ldbadd (and transaction) each: one process adding 10,000 users takes 25% longer
    // (its heap fragments: malloc_consolidate grows in the profile).
    for (let i = 0; i < users.length; i += LDBADD_CHUNK) {
      const chunk = users.slice(i, i + LDBADD_CHUNK);
      await ldbAdd(dir, conf, chunk.map(userLdif).join(''), `ldbadd of users ${i + 1} to ${i + chunk.length}`);
    }
    populateMs = performance.now() - tp;
  }
  let archiveMs: number | undefined;
  if (usersArchive !== undefined) {
    const ta = performance.now();
    await writeArchive(dir, usersArchive);
    archiveMs = performance.now() - ta;
  }
  return {
    fromCache: false,
    unpackMs,
    ...(provisionMs === undefined ? {} : { provisionMs }),
    ...(populateMs === undefined ? {} : { populateMs }),
    ...(archiveMs === undefined ? {} : { archiveMs }),
  };
}

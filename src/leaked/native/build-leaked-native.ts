/**
 * Builds the native leaked-hash lookup: compiles leaked_lookup.c (next to this file) into
 * build/phsync_leaked.node, a Node-API addon, the same way as the native hash kernel
 * (src/hash/native/build-native.ts: gcc against node-api-headers, no node-gyp).
 *
 *   node src/leaked/native/build-leaked-native.ts [--strict]
 *
 * Runs at install time, so it never fails the install: if the addon cannot be built (Windows, no
 * compiler, a compile error) it prints one line saying so and exits 0, and leaked-hash stores are
 * read by pread instead of through a mapping. --strict (CI, tests) exits 1 instead. The compiler is
 * $CC, else gcc. Imports only node: modules and files that do, so it runs before anything else.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NotBuilt, compileAddon } from '../../hash/native/build-native.ts';
import { HASH_BYTES, HEADER_BYTES, PREFIX_COUNT, RECORDS_OFFSET, RECORD_BYTES } from '../leaked-store-format.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const LEAKED_SOURCE_PATH = path.join(here, 'leaked_lookup.c');
export const LEAKED_ADDON_PATH = path.join(here, 'build', 'phsync_leaked.node');
export const LEAKED_BUILD_COMMAND = 'node src/leaked/native/build-leaked-native.ts';

interface BuiltAddon {
  open(fd: number): unknown;
  lookup(handle: unknown, ntHashes: Uint8Array, offset: number): number;
  lookupBatch(handle: unknown, ntHashes: Uint8Array, count: number, out: Uint8Array | Uint32Array): number;
  close(handle: unknown): void;
}

/** Compiles, loads and checks the addon (see compileAddon); returns its path. */
export function buildLeakedLookup(): string {
  compileAddon(LEAKED_SOURCE_PATH, LEAKED_ADDON_PATH, (addon) => checkLookups(addon as BuiltAddon));
  return LEAKED_ADDON_PATH;
}

/**
 * A miscompiled lookup must not be installed: a small store written here (every record in a few
 * buckets, the first and last hash possible among them) must give every count, and 0 for neighbours.
 */
function checkLookups(addon: BuiltAddon): void {
  const hashes: Buffer[] = [Buffer.alloc(HASH_BYTES, 0), Buffer.alloc(HASH_BYTES, 0xff)];
  for (let i = 0; i < 300; i++) {
    const hash = randomFillSync(Buffer.alloc(HASH_BYTES));
    hash[0] = i % 3; // crowded buckets: the search has to walk, not land on the estimate
    hashes.push(hash);
  }
  hashes.sort(Buffer.compare);
  const unique = hashes.filter((h, i) => i === 0 || !h.equals(hashes[i - 1]!));
  const file = Buffer.alloc(RECORDS_OFFSET + unique.length * RECORD_BYTES);
  const counts = new Uint32Array(PREFIX_COUNT);
  unique.forEach((hash, i) => {
    counts[hash.readUInt16BE(0)]!++;
    hash.copy(file, RECORDS_OFFSET + i * RECORD_BYTES, 2);
    file.writeUInt16LE(1 + i, RECORDS_OFFSET + i * RECORD_BYTES + 14);
  });
  for (let p = 0, total = 0; p <= PREFIX_COUNT; total += counts[p] ?? 0, p++) file.writeUInt32LE(total, HEADER_BYTES + 4 * p);

  const dir = mkdtempSync(path.join(tmpdir(), 'phsync-leaked-build-'));
  try {
    writeFileSync(path.join(dir, 'check.phsleak'), file);
    const fd = openSync(path.join(dir, 'check.phsleak'), 'r');
    let handle: unknown;
    try {
      handle = addon.open(fd);
    } finally {
      closeSync(fd);
    }
    const keys = Buffer.concat(unique);
    const wrong = new NotBuilt('the compiled addon gives wrong answers');
    for (let i = 0; i < unique.length; i++) {
      if (addon.lookup(handle, keys, i * HASH_BYTES) !== 1 + i) throw wrong;
      const neighbour = Buffer.from(unique[i]!);
      neighbour[15]! ^= 1;
      const present = unique.some((h) => h.equals(neighbour));
      if (!present && addon.lookup(handle, neighbour, 0) !== 0) throw wrong;
    }
    const counted = new Uint32Array(unique.length);
    const found = new Uint8Array(unique.length);
    if (addon.lookupBatch(handle, keys, unique.length, counted) !== unique.length || !counted.every((n, i) => n === 1 + i)) throw wrong;
    if (addon.lookupBatch(handle, keys, unique.length, found) !== unique.length || !found.every((f) => f === 1)) throw wrong;
    addon.close(handle);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function main(): void {
  const strict = process.argv.includes('--strict');
  const relative = path.relative(process.cwd(), LEAKED_ADDON_PATH);
  try {
    buildLeakedLookup();
    console.log(`phsync: built the native leaked-hash lookup (${relative})`);
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
    console.warn(`phsync: the native leaked-hash lookup was not built (${reason}); leaked-hash stores will be read by pread`);
    if (strict && err instanceof NotBuilt && err.detail !== '') console.warn(err.detail.trimEnd());
    else if (strict && !(err instanceof NotBuilt)) console.warn(err);
    process.exitCode = strict ? 1 : 0;
  }
}

if (import.meta.main) main();

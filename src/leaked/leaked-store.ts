/**
 * Looks NT hashes up in a leaked-hash store (format: leaked-store-format.ts), from any thread, in one
 * of three modes (LeakedStore.mode):
 *
 * - memory: a small store is read into memory once (one copy per thread; see IN_MEMORY_MAX_BYTES).
 * - mmap: a larger one is mapped by the native addon (native/leaked_lookup.c, optional at install),
 *   which searches the mapping itself, a batch of hashes per call: no system call per lookup, and
 *   the OS page cache holding the records is shared by every thread and process.
 * - pread: without the addon, a lookup reads a small window of records with one pread (fs.readSync
 *   with a position) into a buffer the store reuses: memory per thread stays at the 256 KiB index
 *   and a 64 KiB window. The hashes are uniform, so the index gives the 2-byte prefix's bucket and
 *   interpolation on the next 4 bytes estimates the place inside it within a few records: the window
 *   covers ±3 standard deviations of that estimate and brackets the key ~99.7% of the time;
 *   otherwise the next window over, and then a binary search by probes, find it.
 *
 * Each open() has its own descriptor, mapping and buffers, so worker threads open the same path side
 * by side. The looked-up hash is compared from numbers held in locals (here and in C): it is never
 * copied into a buffer, never logged and never part of an error message.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { PhsyncError } from '../errors.ts';
import { loadLeakedLookupAddon } from './native-lookup.ts';
import type { LeakedLookupAddon, MappedStore } from './native-lookup.ts';
import {
  HASH_BYTES,
  HEADER_BYTES,
  INDEX_BYTES,
  INDEX_ENTRIES,
  PREFIX_COUNT,
  RECORDS_OFFSET,
  RECORD_BYTES,
  decodeHeader,
  headerChecksum,
  storeBytes,
  storedChecksum,
} from './leaked-store-format.ts';

/**
 * Record areas up to this size (a million hashes) are read into memory at open, saving the system
 * call a pread lookup costs. Each thread holds its own copy, so the limit is low: an in-memory
 * lookup is 5-9× faster than pread (native-bench/leaked.bench.ts: ~0.15-0.25 µs against ~1.3 µs),
 * which matters little next to the ~40 µs of the PBKDF2 hash beside it (native kernel, README).
 * Larger stores are mapped when the native addon is built.
 */
export const IN_MEMORY_MAX_BYTES = 16 * 1024 * 1024;
/** The largest window read at once: 4096 records. */
const WINDOW_RECORDS = 4096;
const TWO_POW_32 = 2 ** 32;

export type LeakedStoreMode = 'memory' | 'mmap' | 'pread';
const MODES: readonly string[] = ['auto', 'memory', 'mmap', 'pread'];

export interface LeakedStoreOptions {
  /** In 'auto' mode, read the records into memory when they take at most this many bytes (0: never). Default IN_MEMORY_MAX_BYTES. */
  readonly inMemoryMaxBytes?: number;
  /**
   * 'auto' (the default): memory up to inMemoryMaxBytes, else mmap when the native addon loads and
   * maps the file, else pread. The others force that mode, for tests and benchmarks: 'memory' at any
   * size, 'mmap' throws LEAKED_MMAP_UNAVAILABLE without the addon.
   */
  readonly mode?: 'auto' | LeakedStoreMode;
  /** The native lookup addon; the build script's output by default. */
  readonly addonPath?: string;
}

/** Where lookups are served from, as open() decided. */
type Source =
  | { readonly mode: 'pread'; readonly fd: number }
  | { readonly mode: 'memory'; readonly records: Buffer }
  | { readonly mode: 'mmap'; readonly addon: LeakedLookupAddon; readonly handle: MappedStore };

export class LeakedStore {
  readonly path: string;
  readonly hashCount: number;
  readonly createdAt: Date;
  /** How lookups are served: from memory (a small store), from a mapping (native addon), or by pread. */
  readonly mode: LeakedStoreMode;
  /** Whether lookups are served from memory: mode === 'memory'. */
  readonly inMemory: boolean;
  readonly #source: Source;
  /** The descriptor pread reads (pread mode only; -1 otherwise). */
  readonly #fd: number;
  #closed = false;
  readonly #index: Uint32Array;
  /** The records (memory), or the pread window; unused when mapped. */
  readonly #window: Buffer;
  readonly #view: DataView;

  private constructor(path: string, hashCount: number, createdAtMs: number, index: Uint32Array, source: Source) {
    this.path = path;
    this.hashCount = hashCount;
    this.createdAt = new Date(createdAtMs);
    this.mode = source.mode;
    this.inMemory = source.mode === 'memory';
    this.#source = source;
    this.#fd = source.mode === 'pread' ? source.fd : -1;
    this.#index = index;
    this.#window = source.mode === 'memory' ? source.records : Buffer.alloc(source.mode === 'pread' ? WINDOW_RECORDS * RECORD_BYTES : 0);
    this.#view = new DataView(this.#window.buffer, this.#window.byteOffset, this.#window.byteLength);
  }

  /**
   * Opens and checks a store (header, checksum, index, size); throws LEAKED_STORE_UNREADABLE or
   * LEAKED_STORE_INVALID (and LEAKED_MMAP_UNAVAILABLE when mode 'mmap' is forced without the addon).
   */
  static open(path: string, options: LeakedStoreOptions = {}): LeakedStore {
    const requested = options.mode ?? 'auto';
    if (!MODES.includes(requested)) throw new TypeError(`LeakedStore.open: mode must be one of ${MODES.join(', ')}, got ${String(requested)} (${typeof requested})`);
    let fd: number;
    try {
      fd = openSync(path, 'r');
    } catch (err) {
      throw unreadable(path, 'cannot open it', err);
    }
    try {
      const stat = fstatSync(fd);
      if (!stat.isFile()) throw new PhsyncError('LEAKED_STORE_UNREADABLE', `leaked-hash store ${path}: not a regular file`);
      const header = readAt(fd, path, HEADER_BYTES, 0);
      const fields = decodeHeader(header);
      if (typeof fields === 'string') throw invalid(path, fields);
      if (stat.size < RECORDS_OFFSET) throw invalid(path, `truncated: ${stat.size} bytes, shorter than the header and index (${RECORDS_OFFSET})`);
      const indexBytes = readAt(fd, path, INDEX_BYTES, HEADER_BYTES);
      if (!headerChecksum(header, indexBytes).equals(storedChecksum(header))) throw invalid(path, 'the header or index does not match its checksum (corrupt)');
      const index = new Uint32Array(INDEX_ENTRIES);
      for (let p = 0; p < INDEX_ENTRIES; p++) index[p] = indexBytes.readUInt32LE(p * 4);
      const why = indexProblem(index, fields.hashCount);
      if (why !== undefined) throw invalid(path, why);
      const expected = storeBytes(fields.hashCount);
      if (stat.size !== expected) {
        throw invalid(path, `${stat.size < expected ? 'truncated' : 'trailing bytes'}: ${stat.size} bytes, a store of ${fields.hashCount} hashes has ${expected}`);
      }
      const recordBytes = fields.hashCount * RECORD_BYTES;
      const source = openSource(path, fd, recordBytes, requested, options);
      if (source.mode !== 'pread') closeSync(fd); // the records are in memory or mapped: the descriptor is done
      return new LeakedStore(path, fields.hashCount, fields.createdAtMs, index, source);
    } catch (err) {
      closeSync(fd);
      throw err;
    }
  }

  /**
   * Prevalence count (>= 1, saturated at 65535) of the 16-byte NT hash at ntHashes[offset..offset+16),
   * or 0 when absent. No allocation per call. Mapped, it does not check the file's size first as
   * lookupBatch does, so a store truncated in place under it kills the process (SIGBUS): the engine's
   * workers use lookupBatch.
   */
  lookup(ntHashes: Uint8Array, offset: number): number {
    if (this.#closed) throw this.#closedError();
    if (offset < 0 || offset + HASH_BYTES > ntHashes.length) throw new RangeError(`lookup: offset ${offset} leaves no 16-byte hash in ${ntHashes.length} bytes`);
    const source = this.#source;
    if (source.mode === 'mmap') return source.addon.lookup(source.handle, ntHashes, offset);
    const p = (ntHashes[offset]! << 8) | ntHashes[offset + 1]!;
    const lo = this.#index[p]!;
    const hi = this.#index[p + 1]!;
    if (lo === hi) return 0;
    const k0 = be32(ntHashes, offset + 2);
    const k1 = be32(ntHashes, offset + 6);
    const k2 = be32(ntHashes, offset + 10);
    const k3 = (ntHashes[offset + 14]! << 8) | ntHashes[offset + 15]!;
    const n = hi - lo;
    const estimate = lo + Math.floor((k0 / TWO_POW_32) * n);
    if (this.inMemory) return gallop(this.#view, lo, hi, estimate, k0, k1, k2, k3);
    // Positions inside a bucket scatter around the estimate by at most sqrt(n)/2 (binomial).
    const half = Math.min(WINDOW_RECORDS >> 1, Math.ceil(1.5 * Math.sqrt(n)) + 2);
    let a = lo;
    let b = hi;
    let from = Math.max(a, estimate - half);
    let to = Math.min(b, estimate + half + 1);
    for (let attempt = 0; attempt < 2; attempt++) {
      const count = to - from;
      this.#read(from, count);
      const view = this.#view;
      if (from > a && compare(view, 0, k0, k1, k2, k3) < 0) {
        b = from;
        to = from;
        from = Math.max(a, to - count);
      } else if (to < b && compare(view, (count - 1) * RECORD_BYTES, k0, k1, k2, k3) > 0) {
        a = to;
        from = to;
        to = Math.min(b, from + count);
      } else {
        return search(view, 0, count, k0, k1, k2, k3);
      }
    }
    return this.#probe(a, b, k0, k1, k2, k3);
  }

  /**
   * Which of the `count` hashes at ntHashes[0..16·count) are in the store: out[i] = 1 or 0. Returns
   * how many are. Mapped, the whole batch is one native call (and one check that the file was not
   * truncated in place since it was opened); otherwise a loop over lookup().
   */
  lookupBatch(ntHashes: Uint8Array, count: number, out: Uint8Array): number {
    if (this.#closed) throw this.#closedError();
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`lookupBatch: count must be a non-negative integer, got ${count}`);
    if (count * HASH_BYTES > ntHashes.length) throw new RangeError(`lookupBatch: ${count} hashes need ${count * HASH_BYTES} bytes, ntHashes has ${ntHashes.length}`);
    if (count > out.length) throw new RangeError(`lookupBatch: out has room for ${out.length} of ${count} answers`);
    const source = this.#source;
    if (source.mode === 'mmap') {
      try {
        return source.addon.lookupBatch(source.handle, ntHashes, count, out);
      } catch (err) {
        if ((err as { code?: unknown }).code === 'LEAKED_STORE_INVALID') throw invalid(this.path, 'truncated since it was opened');
        if (err instanceof TypeError || err instanceof RangeError) throw err;
        throw unreadable(this.path, 'cannot check its size', err);
      }
    }
    let found = 0;
    for (let i = 0; i < count; i++) {
      const hit = this.lookup(ntHashes, i * HASH_BYTES) > 0 ? 1 : 0;
      out[i] = hit;
      found += hit;
    }
    return found;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const source = this.#source;
    if (source.mode === 'pread') closeSync(this.#fd);
    else if (source.mode === 'mmap') source.addon.close(source.handle);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  /** The key is in records [a, b) if anywhere: halve by single-record reads until a window holds the rest. */
  #probe(a: number, b: number, k0: number, k1: number, k2: number, k3: number): number {
    while (b - a > WINDOW_RECORDS) {
      const m = (a + b) >>> 1;
      this.#read(m, 1);
      const c = compare(this.#view, 0, k0, k1, k2, k3);
      if (c === 0) return this.#view.getUint16(RECORD_BYTES - 2, true);
      if (c < 0) b = m;
      else a = m + 1;
    }
    if (a === b) return 0;
    this.#read(a, b - a);
    return search(this.#view, 0, b - a, k0, k1, k2, k3);
  }

  #closedError(): PhsyncError {
    return new PhsyncError('LEAKED_STORE_CLOSED', `leaked-hash store ${this.path} is closed`);
  }

  #read(first: number, count: number): void {
    const length = count * RECORD_BYTES;
    let got: number;
    try {
      got = readSync(this.#fd, this.#window, 0, length, RECORDS_OFFSET + first * RECORD_BYTES);
    } catch (err) {
      throw unreadable(this.path, 'cannot read it', err);
    }
    if (got !== length) throw invalid(this.path, 'truncated since it was opened');
  }
}

/** Decides the mode (see LeakedStoreOptions.mode) and reads or maps the records for it. */
function openSource(path: string, fd: number, recordBytes: number, requested: 'auto' | LeakedStoreMode, options: LeakedStoreOptions): Source {
  if (requested === 'memory' || (requested === 'auto' && recordBytes <= (options.inMemoryMaxBytes ?? IN_MEMORY_MAX_BYTES))) {
    return { mode: 'memory', records: readAt(fd, path, recordBytes, RECORDS_OFFSET) };
  }
  if (requested === 'pread') return { mode: 'pread', fd };
  let addon: LeakedLookupAddon;
  try {
    addon = loadLeakedLookupAddon(options.addonPath);
  } catch (err) {
    if (requested === 'mmap') throw err;
    return { mode: 'pread', fd };
  }
  try {
    return { mode: 'mmap', addon, handle: addon.open(fd) };
  } catch (err) {
    // A mapping can fail where reading works (an address-space limit, a file system without mmap).
    if (requested === 'mmap') throw unreadable(path, 'cannot map it', err);
    return { mode: 'pread', fd };
  }
}

function be32(bytes: Uint8Array, at: number): number {
  return ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0;
}

/** The sign of key − record, the record at byte `at` of `view`. */
function compare(view: DataView, at: number, k0: number, k1: number, k2: number, k3: number): number {
  let r = view.getUint32(at);
  if (k0 !== r) return k0 < r ? -1 : 1;
  r = view.getUint32(at + 4);
  if (k1 !== r) return k1 < r ? -1 : 1;
  r = view.getUint32(at + 8);
  if (k2 !== r) return k2 < r ? -1 : 1;
  return k3 - view.getUint16(at + 12);
}

/**
 * Exponential search outwards from the estimate, then binary search: the key is usually a few records
 * away, so this touches a cache line or two where a binary search over the bucket would touch ~10.
 */
function gallop(view: DataView, lo: number, hi: number, estimate: number, k0: number, k1: number, k2: number, k3: number): number {
  const c = compare(view, estimate * RECORD_BYTES, k0, k1, k2, k3);
  if (c === 0) return view.getUint16(estimate * RECORD_BYTES + 14, true);
  let a: number;
  let b: number;
  if (c > 0) {
    a = estimate + 1;
    b = hi;
    for (let step = 1; estimate + step < hi; step *= 2) {
      const probe = estimate + step;
      const d = compare(view, probe * RECORD_BYTES, k0, k1, k2, k3);
      if (d === 0) return view.getUint16(probe * RECORD_BYTES + 14, true);
      if (d < 0) {
        b = probe;
        break;
      }
      a = probe + 1;
    }
  } else {
    a = lo;
    b = estimate;
    for (let step = 1; estimate - step >= lo; step *= 2) {
      const probe = estimate - step;
      const d = compare(view, probe * RECORD_BYTES, k0, k1, k2, k3);
      if (d === 0) return view.getUint16(probe * RECORD_BYTES + 14, true);
      if (d > 0) {
        a = probe + 1;
        break;
      }
      b = probe;
    }
  }
  return a < b ? search(view, a, b - a, k0, k1, k2, k3) : 0;
}

/** Binary search over records [first, first + count) of `view`: the key's prevalence, or 0. */
function search(view: DataView, first: number, count: number, k0: number, k1: number, k2: number, k3: number): number {
  let a = first;
  let b = first + count - 1;
  while (a <= b) {
    const m = (a + b) >>> 1;
    const at = m * RECORD_BYTES;
    const c = compare(view, at, k0, k1, k2, k3);
    if (c === 0) return view.getUint16(at + 14, true);
    if (c < 0) b = m - 1;
    else a = m + 1;
  }
  return 0;
}

function indexProblem(index: Uint32Array, hashCount: number): string | undefined {
  if (index[0] !== 0) return `the index does not start at record 0 (${index[0]})`;
  for (let p = 0; p < PREFIX_COUNT; p++) {
    if (index[p + 1]! < index[p]!) return `the index goes backwards at prefix ${p.toString(16).padStart(4, '0')}`;
  }
  if (index[PREFIX_COUNT] !== hashCount) return `the index ends at ${index[PREFIX_COUNT]} records, the header says ${hashCount}`;
  return undefined;
}

function readAt(fd: number, path: string, length: number, position: number): Buffer {
  const buffer = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    let got: number;
    try {
      got = readSync(fd, buffer, done, length - done, position + done);
    } catch (err) {
      throw unreadable(path, 'cannot read it', err);
    }
    if (got === 0) return buffer.subarray(0, done);
    done += got;
  }
  return buffer;
}

function unreadable(path: string, what: string, err: unknown): PhsyncError {
  const code = (err as { code?: unknown }).code;
  return new PhsyncError('LEAKED_STORE_UNREADABLE', `leaked-hash store ${path}: ${what} (${typeof code === 'string' ? code : String(err)})`, { cause: err });
}

function invalid(path: string, why: string): PhsyncError {
  return new PhsyncError('LEAKED_STORE_INVALID', `leaked-hash store ${path}: ${why}`);
}

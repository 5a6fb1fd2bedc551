/**
 * The machine's limit for PBKDF2-HMAC-SHA256: how many SHA-256 compressions one thread does per
 * second on one stream, divided by the compressions one PBKDF2 needs.
 *
 * Source of the compression rate, best first:
 *  - `openssl speed -evp sha256 -bytes 16384 -seconds 2`: OpenSSL's best single-buffer code (SHA-NI,
 *    else AVX2/SSSE3...), 16 KiB messages so that padding and call overhead are negligible;
 *  - without the openssl program, node:crypto createHash('sha256') over 16 KiB chunks (the same
 *    OpenSSL code, in Node's bundled OpenSSL, plus a little JS overhead per chunk).
 *
 * A kernel that interleaves several users (the native one) is not bound by one stream's latency and
 * can exceed 100% of this limit.
 */
import { spawnSync } from 'node:child_process';
import { createHash, randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';

export const SHA256_BLOCK_BYTES = 64;
export const SPEED_MESSAGE_BYTES = 16384;
export const OPENSSL_SPEED_ARGS: readonly string[] = ['speed', '-evp', 'sha256', '-bytes', String(SPEED_MESSAGE_BYTES), '-seconds', '2'];

/**
 * Compressions in one PBKDF2-HMAC-SHA256 with a 32-byte output: the inner and outer pad states
 * (one compression each, done once), then per iteration one inner and one outer compression.
 */
export function compressionsPerPbkdf2(iterations: number): number {
  return 2 + 2 * iterations;
}

/**
 * Bytes per second of `algorithm` at `bytes`-byte messages, from `openssl speed` output, or
 * undefined if the output has no such column or row. Handles the table form
 *
 *   type             16 bytes     64 bytes ...  16384 bytes
 *   sha256          123.45k      456.78k   ...  1577850.43k
 *
 * (columns in 1000s of bytes per second, as the output says), and the machine-readable form of
 * `-mr` (`+F:<n>:sha256:<bytes/s for each size>` after `+H:<sizes>`).
 */
export function parseOpensslSpeed(output: string, algorithm = 'sha256', bytes = SPEED_MESSAGE_BYTES): number | undefined {
  const lines = output.split(/\r?\n/);
  // Machine-readable form.
  const mrHeader = lines.find((l) => l.startsWith('+H:'));
  if (mrHeader !== undefined) {
    const sizes = mrHeader.slice(3).split(':').map(Number);
    const column = sizes.indexOf(bytes);
    const row = lines.find((l) => l.startsWith('+F:') && l.split(':')[2]?.toLowerCase() === algorithm.toLowerCase());
    if (column >= 0 && row !== undefined) {
      const value = Number(row.split(':')[3 + column]);
      if (Number.isFinite(value) && value > 0) return value;
    }
  }
  // Table form: the last "type ... bytes" header before the algorithm's row.
  let sizes: number[] | undefined;
  for (const line of lines) {
    if (/^type\s/.test(line)) {
      sizes = [...line.matchAll(/(\d+)\s+bytes/g)].map((m) => Number(m[1]));
      continue;
    }
    const cells = line.trim().split(/\s+/);
    if (sizes === undefined || cells[0]?.toLowerCase() !== algorithm.toLowerCase()) continue;
    const values = cells.slice(1);
    if (values.length !== sizes.length) continue;
    const column = sizes.indexOf(bytes);
    const cell = column < 0 ? undefined : /^([\d.]+)k$/.exec(values[column]!);
    if (cell?.[1] === undefined) continue;
    const value = Number(cell[1]) * 1000;
    if (Number.isFinite(value) && value > 0) return value;
  }
  return undefined;
}

/** "OpenSSL 3.0.19 27 Jan 2026 (Library: ...)" → "3.0.19"; undefined if not recognised. */
export function parseOpensslVersion(output: string): string | undefined {
  return /^OpenSSL\s+(\S+)/m.exec(output)?.[1];
}

/** The capability vector OpenSSL uses (`CPUINFO: OPENSSL_ia32cap=0x…:0x… env:…` of `openssl version -a`). */
export function parseOpensslCpuinfo(output: string): string | undefined {
  return /^CPUINFO:\s*(.+)$/m.exec(output)?.[1]?.trim();
}

export interface OpensslProgram {
  readonly version: string;
  /** OpenSSL's view of the CPU (shows an OPENSSL_ia32cap mask from the environment as `env:`). */
  readonly cpuinfo: string | undefined;
}

/** The openssl program on the PATH, or undefined if there is none. */
export function opensslProgram(env: NodeJS.ProcessEnv = process.env): OpensslProgram | undefined {
  const result = spawnSync('openssl', ['version', '-a'], { encoding: 'utf8', env });
  if (result.error !== undefined || result.status !== 0) return undefined;
  return { version: parseOpensslVersion(result.stdout) ?? result.stdout.split('\n')[0]!.trim(), cpuinfo: parseOpensslCpuinfo(result.stdout) };
}

export interface CompressionRate {
  /** What produced the figure. */
  readonly source: 'openssl speed' | 'node:crypto createHash';
  readonly command: string;
  readonly bytesPerSecond: number;
  readonly compressionsPerSecond: number;
}

/** `openssl speed` under `env`; undefined when openssl is missing or its output is not understood. */
export function opensslCompressionRate(env: NodeJS.ProcessEnv = process.env): CompressionRate | undefined {
  const result = spawnSync('openssl', OPENSSL_SPEED_ARGS, { encoding: 'utf8', env });
  if (result.error !== undefined || result.status !== 0) return undefined;
  const bytesPerSecond = parseOpensslSpeed(`${result.stdout}\n${result.stderr}`);
  if (bytesPerSecond === undefined) return undefined;
  return { source: 'openssl speed', command: `openssl ${OPENSSL_SPEED_ARGS.join(' ')}`, bytesPerSecond, compressionsPerSecond: bytesPerSecond / SHA256_BLOCK_BYTES };
}

/**
 * SHA-256 through node:crypto over 16 KiB chunks for about `seconds`: this process's OpenSSL (so it
 * honours OPENSSL_ia32cap given to this process at start).
 */
export function nodeCryptoCompressionRate(seconds = 1): CompressionRate {
  const chunk = randomFillSync(Buffer.alloc(SPEED_MESSAGE_BYTES));
  // Warm-up: the first calls pay for OpenSSL's dispatch and V8's compilation of the loop.
  for (let i = 0; i < 64; i++) createHash('sha256').update(chunk).digest();
  let bytes = 0;
  const start = performance.now();
  let elapsed = 0;
  do {
    for (let i = 0; i < 64; i++) createHash('sha256').update(chunk).digest();
    bytes += 64 * SPEED_MESSAGE_BYTES;
    elapsed = performance.now() - start;
  } while (elapsed < seconds * 1000);
  const bytesPerSecond = (bytes * 1000) / elapsed;
  return { source: 'node:crypto createHash', command: `createHash('sha256') over ${SPEED_MESSAGE_BYTES}-byte chunks, ${seconds} s`, bytesPerSecond, compressionsPerSecond: bytesPerSecond / SHA256_BLOCK_BYTES };
}

export interface Pbkdf2Limit {
  /** The rate the limit is computed from (openssl when present). */
  readonly basis: CompressionRate;
  /** node:crypto's own SHA-256 rate, always measured: a cross-check, and the fallback basis. */
  readonly nodeCrypto: CompressionRate;
  /** The openssl program, when there is one. */
  readonly openssl: OpensslProgram | undefined;
  readonly compressionsPerHash: number;
  /** PBKDF2 hashes per second of one thread at the limit. */
  readonly hashesPerSecond: number;
}

/** Measures the limit in this process's environment (OPENSSL_ia32cap included). */
export function measurePbkdf2Limit(iterations: number): Pbkdf2Limit {
  const openssl = opensslProgram();
  const fromOpenssl = openssl === undefined ? undefined : opensslCompressionRate();
  const nodeCrypto = nodeCryptoCompressionRate();
  const basis = fromOpenssl ?? nodeCrypto;
  const compressionsPerHash = compressionsPerPbkdf2(iterations);
  return { basis, nodeCrypto, openssl, compressionsPerHash, hashesPerSecond: basis.compressionsPerSecond / compressionsPerHash };
}

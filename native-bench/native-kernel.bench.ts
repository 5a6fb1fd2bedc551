/**
 * Single-thread PBKDF2 rate of the native kernel against the node kernel, and both against the
 * machine's limit: one SHA-256 stream's compressions per second (`openssl speed -evp sha256 -bytes
 * 16384`, OpenSSL's best single-buffer code) divided by the 2 + 2 × iterations compressions of one
 * PBKDF2 (pad states, then an inner and an outer compression per iteration). The native kernel
 * interleaves several users, so it can beat one stream's latency-bound limit.
 *
 *   node native-bench/native-kernel.bench.ts [--users N] [--rounds R] [--iterations I]
 *
 * Needs the addon built (node src/hash/native/build-native.ts). Median of R alternating rounds
 * after a warm-up.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { HashKernel } from '../src/hash/hash-kernel.ts';
import { createNativeKernel } from '../src/hash/native-kernel.ts';
import { createNodeKernel } from '../src/hash/node-kernel.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../src/phs/credential.ts';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '128' },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '1000' },
  },
});
const positive = (name: string, raw: string): number => {
  const n = Number(raw);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got ${raw}`);
  return n;
};
const users = positive('users', values.users);
const rounds = positive('rounds', values.rounds);
const iterations = positive('iterations', values.iterations);

/** SHA-256 compressions per second of one stream, or undefined without openssl. */
function opensslCompressionsPerSecond(): number | undefined {
  const result = spawnSync('openssl', ['speed', '-evp', 'sha256', '-bytes', '16384'], { encoding: 'utf8' });
  // "sha256  1552920.43k": thousands of bytes per second at 16384-byte messages.
  const match = result.status === 0 ? /^sha256\s+([\d.]+)k\s*$/m.exec(result.stdout) : null;
  return match?.[1] === undefined ? undefined : (Number(match[1]) * 1000) / 64;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};

console.log(`measuring the limit: openssl speed -evp sha256 -bytes 16384 ...`);
const compressions = opensslCompressionsPerSecond();
const limit = compressions === undefined ? undefined : compressions / (2 + 2 * iterations);

const input = randomFillSync(new Uint8Array(users * PBKDF2_INPUT_BYTES));
const salts = randomFillSync(new Uint8Array(users * SALT_BYTES));
const out = new Uint8Array(users * HASH_BYTES);
const kernels: HashKernel[] = [await createNativeKernel(), createNodeKernel()];
const rates = new Map<HashKernel, number[]>(kernels.map((k) => [k, []]));

for (const kernel of kernels) await kernel.hashBatch(input, salts, Math.min(users, 8), iterations, out); // warm-up
for (let r = 0; r < rounds; r++) {
  for (const kernel of kernels) {
    const start = performance.now();
    await kernel.hashBatch(input, salts, users, iterations, out);
    rates.get(kernel)!.push((users * 1000) / (performance.now() - start));
  }
}

const rows = [
  ...kernels.map((k) => ({ label: `${k.name} kernel`, rate: median(rates.get(k)!) })),
  ...(limit === undefined ? [] : [{ label: `limit (${(compressions! / 1e6).toFixed(1)}M compressions/s ÷ ${2 + 2 * iterations})`, rate: limit }]),
];
const width = Math.max(...rows.map((r) => r.label.length));
console.log(`\n${users} users × ${iterations} iterations, one thread, median of ${rounds} rounds`);
console.log(`${'kernel'.padEnd(width)}  ${'hashes/s'.padStart(10)}  ${'% of limit'.padStart(10)}`);
for (const row of rows) {
  const pct = limit === undefined ? 'n/a' : `${((row.rate / limit) * 100).toFixed(0)}%`;
  console.log(`${row.label.padEnd(width)}  ${row.rate.toFixed(0).padStart(10)}  ${pct.padStart(10)}`);
}
if (limit === undefined) console.log('(openssl not found: no limit to compare with)');

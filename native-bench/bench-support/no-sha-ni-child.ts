/**
 * The "without SHA-NI" half of hash.bench.ts, run in a child process whose environment has
 * OPENSSL_ia32cap=":~0x20000000" from the start (OpenSSL reads it once, when it initialises, so it
 * cannot be set from inside a running process). Measures the limit (openssl speed inherits the
 * variable) and the kernels it is given, and prints one JSON object on stdout.
 *
 *   OPENSSL_ia32cap=":~0x20000000" node native-bench/bench-support/no-sha-ni-child.ts '{"kernels":["node"],...}'
 */
import type { KernelName } from '../../src/hash/hash-kernel.ts';
import { isKernelName } from '../../src/hash/kernels.ts';
import { measureKernelRates } from './hash-rates.ts';
import type { KernelRate } from './hash-rates.ts';
import { measurePbkdf2Limit } from './sha256-limit.ts';
import type { Pbkdf2Limit } from './sha256-limit.ts';

export interface NoShaNiRequest {
  readonly kernels: readonly KernelName[];
  readonly users: number;
  readonly rounds: number;
  readonly iterations: number;
  readonly maxRoundSeconds: number;
}

export interface NoShaNiResult {
  readonly ia32cap: string | undefined;
  readonly limit: Pbkdf2Limit;
  readonly kernels: readonly KernelRate[];
}

const request = JSON.parse(process.argv[2] ?? '{}') as NoShaNiRequest;
if (!Array.isArray(request.kernels) || !request.kernels.every(isKernelName)) throw new Error(`bad request: ${process.argv[2]}`);
if (process.env['OPENSSL_ia32cap'] === undefined) process.stderr.write('warning: OPENSSL_ia32cap is not set: this child measures with SHA-NI\n');

const limit = measurePbkdf2Limit(request.iterations);
const kernels = await measureKernelRates(request.kernels, {
  users: request.users,
  rounds: request.rounds,
  iterations: request.iterations,
  maxRoundSeconds: request.maxRoundSeconds,
  progress: (m) => process.stderr.write(`  [no SHA-NI] ${m}\n`),
});
const result: NoShaNiResult = { ia32cap: process.env['OPENSSL_ia32cap'], limit, kernels };
process.stdout.write(`${JSON.stringify(result)}\n`);

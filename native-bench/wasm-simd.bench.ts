/**
 * Single-thread rates of the WebAssembly SIMD kernel against node:crypto (the node kernel) and
 * hash-wasm (the hash-wasm kernel), including node:crypto with the CPU's SHA extensions masked from
 * OpenSSL: the case the WebAssembly SIMD kernel is for. The native kernel too, if it is built.
 *
 *   node native-bench/wasm-simd.bench.ts [--users N] [--rounds R] [--iterations I]
 *
 * Needs the built module (npm run build:kernels). Every kernel is warmed up first (V8 starts
 * WebAssembly in its baseline compiler), then the rounds alternate between the kernels so that
 * a noisy machine affects them alike; the table shows the median round. OPENSSL_ia32cap is only
 * read when OpenSSL starts, so the masked row runs in a child process, one per round.
 */
import { spawnSync } from 'node:child_process';
import { randomFillSync } from 'node:crypto';
import { cpus } from 'node:os';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import type { HashKernel } from '../src/hash/hash-kernel.ts';
import { createNativeKernel } from '../src/hash/native-kernel.ts';
import { createNodeKernel } from '../src/hash/node-kernel.ts';
import { createWasmKernel } from '../src/hash/wasm-kernel.ts';
import { createWasmSimdKernel } from '../src/hash/wasm-simd-kernel.ts';
import { HASH_BYTES, PBKDF2_INPUT_BYTES, SALT_BYTES } from '../src/phs/credential.ts';
import { positive } from './bench-support/args.ts';

// CPUID leaf 7 EBX bit 29 (SHA) cleared in OpenSSL's view of the CPU.
const MASK_SHA_NI = ':~0x20000000';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '5' },
    iterations: { type: 'string', default: '1000' },
    child: { type: 'boolean', default: false },
  },
});
const users = positive('users', values.users);
const rounds = positive('rounds', values.rounds);
const iterations = positive('iterations', values.iterations);

const input = randomFillSync(new Uint8Array(users * PBKDF2_INPUT_BYTES));
const salts = randomFillSync(new Uint8Array(users * SALT_BYTES));
const out = new Uint8Array(users * HASH_BYTES);

async function warm(kernel: HashKernel): Promise<void> {
  await kernel.hashBatch(input, salts, Math.min(users, 16), iterations, out);
}

async function rate(kernel: HashKernel): Promise<number> {
  const start = performance.now();
  await kernel.hashBatch(input, salts, users, iterations, out);
  return (users * 1000) / (performance.now() - start);
}

if (values.child) {
  // One round of the node kernel, in a process started with OPENSSL_ia32cap set.
  const kernel = createNodeKernel();
  await warm(kernel);
  console.log(JSON.stringify({ rate: await rate(kernel) }));
} else {
  const rows: { label: string; run: () => Promise<number>; rates: number[] }[] = [];
  const add = async (label: string, kernel: HashKernel): Promise<void> => {
    await warm(kernel);
    rows.push({ label, run: () => rate(kernel), rates: [] });
  };
  await add('node kernel (node:crypto)', createNodeKernel());
  rows.push({ label: `node kernel, SHA-NI masked (OPENSSL_ia32cap=${MASK_SHA_NI})`, run: maskedRound, rates: [] });
  await add('hash-wasm kernel', await createWasmKernel());
  await add('wasm-simd kernel', await createWasmSimdKernel());
  // For reference, when it is built and this CPU has SHA extensions.
  const native = await createNativeKernel().catch(() => undefined);
  if (native !== undefined) await add('native kernel (SHA-NI addon)', native);

  for (let r = 0; r < rounds; r++) for (const row of rows) row.rates.push(await row.run());

  console.log(`Node ${process.versions.node}, OpenSSL ${process.versions.openssl}, V8 ${process.versions.v8}`);
  console.log(`${cpus()[0]?.model ?? 'unknown CPU'}, ${process.platform}/${process.arch}`);
  console.log(`PBKDF2-HMAC-SHA256, ${iterations} iterations, one thread; ${users} users a round, median of ${rounds} alternating rounds\n`);
  const medians = rows.map((row) => median(row.rates));
  const [node, masked] = [medians[0]!, medians[1]!];
  const header = ['', 'median h/s', 'min', 'max', 'vs node', 'vs masked'];
  const table = rows.map((row, i) => [
    row.label,
    fmt(medians[i]!),
    fmt(Math.min(...row.rates)),
    fmt(Math.max(...row.rates)),
    `${(medians[i]! / node).toFixed(2)}×`,
    `${(medians[i]! / masked).toFixed(2)}×`,
  ]);
  const widths = header.map((h, c) => Math.max(h.length, ...table.map((cells) => cells[c]!.length)));
  const line = (cells: string[]): string => cells.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]!) : cell.padStart(widths[c]!))).join('  ');
  console.log(line(header));
  for (const cells of table) console.log(line(cells));
}

async function maskedRound(): Promise<number> {
  const args = [process.argv[1]!, '--child', '--users', String(users), '--iterations', String(iterations)];
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', env: { ...process.env, OPENSSL_ia32cap: MASK_SHA_NI } });
  if (child.status !== 0) throw new Error(`the SHA-NI-masked child failed (${String(child.status ?? child.signal)}): ${child.stderr.trim()}`);
  return (JSON.parse(child.stdout) as { rate: number }).rate;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

/**
 * Builds the WebAssembly SIMD hash kernel: compiles pbkdf2-sha256.wat (next to this file) with
 * wabt's wat2wasm (the SIMD feature on) into pbkdf2-sha256.wasm, which wasm-simd-kernel.ts loads.
 *
 *   node src/hash/wasm-simd/build-wasm.ts
 *
 * The module is checked against node:crypto before it is written, and written to a temporary file
 * that is then renamed into place, so a broken build never replaces a working one. On failure it
 * prints why (for a .wat error, wabt's message with line and column) and exits 1.
 *
 * wabt is a devDependency: the .wasm is a build output, produced where the devDependencies are
 * installed (a checkout, CI), not by the kernel at run time. Imports only node: modules at load
 * (wabt when building), so the kernel can import the paths below without pulling wabt in.
 */
import { pbkdf2Sync, randomFillSync } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const WASM_SIMD_SOURCE_PATH = path.join(here, 'pbkdf2-sha256.wat');
export const WASM_SIMD_MODULE_PATH = path.join(here, 'pbkdf2-sha256.wasm');
export const WASM_SIMD_BUILD_COMMAND = 'node src/hash/wasm-simd/build-wasm.ts';

/** Why the module was not built; the message is meant to be shown as is. */
export class WasmBuildError extends Error {
  override name = 'WasmBuildError';
}

/**
 * The parts of the WebAssembly JavaScript API that phsync uses. TypeScript's lib, as configured
 * here (no DOM), declares none of it, so it is reached through globalThis with these shapes.
 */
export interface WebAssemblyApi {
  validate(bytes: Uint8Array): boolean;
  instantiate(bytes: Uint8Array, imports?: Readonly<Record<string, never>>): Promise<{ instance: { exports: Readonly<Record<string, unknown>> } }>;
}

/** The runtime's WebAssembly, or undefined where there is none (e.g. node --jitless). */
export function webAssemblyApi(): WebAssemblyApi | undefined {
  const api = (globalThis as { WebAssembly?: unknown }).WebAssembly;
  return typeof api === 'object' && api !== null && 'validate' in api && 'instantiate' in api ? (api as WebAssemblyApi) : undefined;
}

/** The few methods of wabt's module object that the build uses. */
interface WabtModule {
  resolveNames(): void;
  validate(): void;
  toBinary(options: Record<string, never>): { buffer: Uint8Array };
  destroy(): void;
}
type ParseWat = (filename: string, source: string, features: { simd: boolean }) => WabtModule;

/**
 * Compiles the .wat and checks the result against node:crypto; returns the module's bytes. Throws
 * WasmBuildError with a readable reason on any failure.
 */
export async function buildWasm(sourcePath: string = WASM_SIMD_SOURCE_PATH): Promise<Uint8Array> {
  let source: string;
  try {
    source = readFileSync(sourcePath, 'utf8');
  } catch (err) {
    throw new WasmBuildError(`cannot read ${sourcePath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const parseWat = await loadWabt();

  let bytes: Uint8Array;
  let module: WabtModule;
  try {
    module = parseWat(path.basename(sourcePath), source, { simd: true });
  } catch (err) {
    // wabt's messages are "parseWat failed:\n<file>:<line>:<col>: error: ..." plus the source line.
    throw new WasmBuildError(wabtMessage(err));
  }
  try {
    module.resolveNames();
    module.validate();
    bytes = Uint8Array.from(module.toBinary({}).buffer);
  } catch (err) {
    throw new WasmBuildError(wabtMessage(err));
  } finally {
    module.destroy();
  }
  await checkAgainstNodeCrypto(bytes);
  return bytes;
}

/** Builds and writes the module (temporary file, then rename); returns where it was written. */
export async function writeWasm(sourcePath: string = WASM_SIMD_SOURCE_PATH, modulePath: string = WASM_SIMD_MODULE_PATH): Promise<string> {
  const bytes = await buildWasm(sourcePath);
  const temporary = `${modulePath}.${process.pid}.tmp`;
  try {
    writeFileSync(temporary, bytes);
    renameSync(temporary, modulePath);
  } finally {
    rmSync(temporary, { force: true });
  }
  return modulePath;
}

async function loadWabt(): Promise<ParseWat> {
  let factory: unknown;
  try {
    factory = ((await import('wabt')) as { default: unknown }).default;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new WasmBuildError(
      code === 'ERR_MODULE_NOT_FOUND' ? 'wabt is not installed (it is a devDependency of phsync: run npm install)' : `wabt cannot be loaded: ${String(err)}`,
    );
  }
  if (typeof factory !== 'function') throw new WasmBuildError('the installed wabt package does not export its factory function');
  const wabt = (await (factory as () => Promise<unknown>)()) as { parseWat?: unknown };
  if (typeof wabt.parseWat !== 'function') throw new WasmBuildError('the installed wabt package has no parseWat');
  return wabt.parseWat.bind(wabt) as ParseWat;
}

function wabtMessage(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).replace(/^(parseWat|validate|toBinary) failed[.:]?\s*/, '').trimEnd();
}

/**
 * A module that compiles but computes something else must not be installed: one random batch of 7
 * users (a group of four and the scalar tail) at 1 and 3 iterations, through the module's own
 * memory layout, against pbkdf2Sync.
 */
async function checkAgainstNodeCrypto(bytes: Uint8Array): Promise<void> {
  const api = webAssemblyApi();
  if (api === undefined) throw new WasmBuildError('this runtime has no WebAssembly, so the built module cannot be checked');
  if (!api.validate(bytes)) throw new WasmBuildError('the built module does not validate in this runtime (no WebAssembly SIMD?)');
  const { exports } = (await api.instantiate(bytes, {})).instance;
  const memory = exports['memory'] as { buffer: ArrayBuffer } | undefined;
  const address = (name: string): number => (exports[name] as { value: number } | undefined)?.value ?? Number.NaN;
  const hashBatch = exports['hashBatch'] as ((...args: number[]) => void) | undefined;
  if (memory === undefined || typeof hashBatch !== 'function' || [address('inputPtr'), address('saltPtr'), address('outPtr')].some(Number.isNaN)) {
    throw new WasmBuildError('the built module lacks the exports the kernel needs (memory, hashBatch, inputPtr, saltPtr, outPtr)');
  }
  const count = 7;
  const input = randomFillSync(new Uint8Array(count * 64));
  const salts = randomFillSync(new Uint8Array(count * 10));
  const view = new Uint8Array(memory.buffer);
  view.set(input, address('inputPtr'));
  view.set(salts, address('saltPtr'));
  for (const iterations of [1, 3]) {
    hashBatch(address('inputPtr'), address('saltPtr'), address('outPtr'), count, iterations);
    for (let i = 0; i < count; i++) {
      const expected = pbkdf2Sync(input.subarray(i * 64, i * 64 + 64), salts.subarray(i * 10, i * 10 + 10), iterations, 32, 'sha256');
      const got = view.subarray(address('outPtr') + i * 32, address('outPtr') + i * 32 + 32);
      if (!expected.equals(got)) throw new WasmBuildError(`the built module gives a wrong answer (user ${i} of ${count}, ${iterations} iterations)`);
    }
  }
}

async function main(): Promise<void> {
  const relative = path.relative(process.cwd(), WASM_SIMD_MODULE_PATH);
  try {
    await writeWasm();
    console.log(`phsync: built the WebAssembly SIMD hash kernel (${relative})`);
  } catch (err) {
    const reason = err instanceof WasmBuildError ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err);
    console.error(`phsync: the WebAssembly SIMD hash kernel was not built: ${reason}`);
    process.exitCode = 1;
  }
}

// Not `await main()`: a top-level await makes this module, and every module that imports it (the
// wasm-simd kernel, so the hash worker), an async module, and V8 aborts the whole process when a
// worker thread is terminated while such a module graph is still evaluating (a pool closed right
// after it started: a sync with nothing to hash). main() catches its own errors and sets the exit code.
if (import.meta.main) void main();

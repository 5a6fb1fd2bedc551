/**
 * Builds the native hash kernel: compiles pbkdf2_sha256.c (next to this file) with the C compiler
 * into build/phsync_pbkdf2.node, a Node-API addon. No node-gyp: it would download Node's headers;
 * the Node-API headers come from the node-api-headers package instead, and Node-API needs nothing
 * else (the addon's napi_* symbols resolve against the running node at load time).
 *
 *   node src/hash/native/build-native.ts [--strict]
 *
 * Runs at install time, so it never fails the install: if the kernel cannot be built (not x86-64,
 * no compiler, a compile error) it prints one line saying so and exits 0, and phsync uses the next
 * best kernel. --strict (CI, tests) exits 1 instead. The compiler is $CC, else gcc.
 *
 * Imports only node: modules, so it runs before anything else of phsync is usable.
 */
import { spawnSync } from 'node:child_process';
import { pbkdf2Sync, randomFillSync } from 'node:crypto';
import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const NATIVE_SOURCE_PATH = path.join(here, 'pbkdf2_sha256.c');
export const NATIVE_ADDON_PATH = path.join(here, 'build', 'phsync_pbkdf2.node');
export const NATIVE_BUILD_COMMAND = 'node src/hash/native/build-native.ts';

const COMPILE_TIMEOUT_MS = 120_000;

/** A reason an addon was not built, worded to follow "the native hash kernel was not built (". */
export class NotBuilt extends Error {
  /** The compiler's whole output, printed under --strict only. */
  readonly detail: string;

  constructor(reason: string, detail = '') {
    super(reason);
    this.detail = detail;
  }
}

interface BuiltAddon {
  readonly shaNi: boolean;
  hashBatch(input: Uint8Array, salts: Uint8Array, count: number, iterations: number, out: Uint8Array): void;
}

export interface NativeBuildResult {
  readonly path: string;
  readonly shaNi: boolean;
}

/** Compiles, loads and checks the kernel; see compileAddon. */
export function buildNativeKernel(): NativeBuildResult {
  if (process.arch !== 'x64') throw new NotBuilt(`it needs an x86-64 CPU, this is ${process.arch}`);
  const addon = compileAddon(NATIVE_SOURCE_PATH, NATIVE_ADDON_PATH, (loaded) => {
    const kernel = loaded as BuiltAddon;
    if (kernel.shaNi) checkAgainstNodeCrypto(kernel);
  }) as BuiltAddon;
  return { path: NATIVE_ADDON_PATH, shaNi: addon.shaNi };
}

/**
 * Compiles the Node-API addon `source` into `addonPath`: to a temporary file, which is loaded and
 * handed to `check` (which throws NotBuilt when the addon is wrong), and only then renamed into
 * place: a process that has the previous build loaded keeps its mapping, and a broken build never
 * replaces a working one. Returns the loaded addon. Shared with src/leaked/native/build-leaked-native.ts.
 */
export function compileAddon(source: string, addonPath: string, check: (addon: unknown) => void): unknown {
  if (process.platform === 'win32') throw new NotBuilt('it is built with gcc or clang, not on Windows');

  const require = createRequire(import.meta.url);
  let include: string;
  try {
    include = path.join(path.dirname(require.resolve('node-api-headers/package.json')), 'include');
  } catch {
    throw new NotBuilt('the node-api-headers package is not installed');
  }

  const cc = process.env['CC'] || 'gcc';
  const temporary = addonPath.replace(/\.node$/, `.${process.pid}.tmp.node`); // require() picks the loader by extension
  mkdirSync(path.dirname(addonPath), { recursive: true });
  const args = ['-shared', '-fPIC', '-O3', '-std=gnu11', '-Wall', '-Wextra', '-fvisibility=hidden', '-I', include, '-o', temporary, source, '-lm'];
  if (process.platform === 'darwin') args.push('-undefined', 'dynamic_lookup');
  try {
    const result = spawnSync(cc, args, { encoding: 'utf8', timeout: COMPILE_TIMEOUT_MS });
    if (result.error !== undefined) {
      const code = (result.error as NodeJS.ErrnoException).code;
      throw new NotBuilt(code === 'ENOENT' ? `no C compiler: ${cc} not found` : `${cc} could not run: ${result.error.message}`);
    }
    if (result.status !== 0) {
      const lines = result.stderr.split('\n').filter((line) => line.trim() !== '');
      const first = lines.find((line) => /\berror\b/i.test(line)) ?? lines[0] ?? `exit status ${String(result.status ?? result.signal)}`;
      throw new NotBuilt(`${cc} failed: ${first.trim()}`, result.stderr);
    }

    let addon: unknown;
    try {
      addon = require(temporary);
    } catch (err) {
      throw new NotBuilt(`the compiled addon does not load: ${err instanceof Error ? err.message : String(err)}`);
    }
    check(addon);
    renameSync(temporary, addonPath);
    return addon;
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** A miscompiled kernel must not be installed: one random batch, every lane count, two iteration counts. */
function checkAgainstNodeCrypto(addon: BuiltAddon): void {
  const count = 7;
  const input = randomFillSync(new Uint8Array(count * 64));
  const salts = randomFillSync(new Uint8Array(count * 10));
  const out = new Uint8Array(count * 32);
  for (const iterations of [1, 3]) {
    for (let n = 1; n <= count; n++) {
      addon.hashBatch(input, salts, n, iterations, out);
      for (let i = 0; i < n; i++) {
        const expected = pbkdf2Sync(input.subarray(i * 64, i * 64 + 64), salts.subarray(i * 10, i * 10 + 10), iterations, 32, 'sha256');
        if (!expected.equals(out.subarray(i * 32, i * 32 + 32))) throw new NotBuilt('the compiled addon gives wrong answers');
      }
    }
  }
}

function main(): void {
  const strict = process.argv.includes('--strict');
  const relative = path.relative(process.cwd(), NATIVE_ADDON_PATH);
  try {
    const built = buildNativeKernel();
    console.log(
      built.shaNi
        ? `phsync: built the native hash kernel (${relative})`
        : `phsync: built the native hash kernel (${relative}), but this CPU has no SHA extensions; phsync will use the next best kernel`,
    );
  } catch (err) {
    const reason = (err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ').trim();
    console.warn(`phsync: the native hash kernel was not built (${reason}); phsync will use the next best kernel`);
    if (strict && err instanceof NotBuilt && err.detail !== '') console.warn(err.detail.trimEnd());
    else if (strict && !(err instanceof NotBuilt)) console.warn(err);
    process.exitCode = strict ? 1 : 0;
  }
}

if (import.meta.main) main();

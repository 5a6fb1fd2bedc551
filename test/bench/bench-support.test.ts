import assert from 'node:assert/strict';
import { dirname } from 'node:path';
import { describe, it } from 'node:test';
import { shaNiUse } from '../../native-bench/bench-support/hash-rates.ts';
import { parseCpuFlags } from '../../native-bench/bench-support/machine.ts';
import { phsyncEnv, positive } from '../../native-bench/bench-support/args.ts';
import { cpuBudget } from '../../native-bench/bench-support/cpu-budget.ts';
import { clockTicks, parseProcStat, parseProcStatCpu, parseStatusKiB, readThreadTicks, threadCpu, threadKind } from '../../native-bench/bench-support/proc.ts';
import { compressionsPerPbkdf2, parseOpensslCpuinfo, parseOpensslSpeed, parseOpensslVersion } from '../../native-bench/bench-support/sha256-limit.ts';
import { fmtSummary, median, range, renderTable, summarize } from '../../native-bench/bench-support/stats.ts';
import { openFreeThreads } from '../../native-bench/bench-support/free-threads.ts';
import type { KernelName } from '../../src/hash/hash-kernel.ts';

// Captured on the project's machine: `openssl speed -evp sha256 -bytes 16384 -seconds 2` (OpenSSL 3.0.19).
const OPENSSL_3_BYTES = `Doing sha256 for 2s on 16384 size blocks: 177200 sha256's in 1.84s
version: 3.0.19
built on: Fri Apr  3 12:29:32 2026 UTC
options: bn(64,64)
compiler: gcc -fPIC -pthread -m64 -Wa,--noexecstack -Wall -DOPENSSL_USE_NODELETE -DL_ENDIAN -DOPENSSL_PIC -DNDEBUG
CPUINFO: OPENSSL_ia32cap=0xfffa3203078bffff:0x400684219c07ab
The 'numbers' are in 1000s of bytes per second processed.
type          16384 bytes
sha256         1577850.43k
`;

// The same machine, `openssl speed -evp sha256 -seconds 1` (every block size).
const OPENSSL_ALL_SIZES = `The 'numbers' are in 1000s of bytes per second processed.
type             16 bytes     64 bytes    256 bytes   1024 bytes   8192 bytes  16384 bytes
sha256          101837.74k   304436.49k   802487.42k  1256113.27k  1540231.03k  1566292.59k
`;

// `openssl speed -mr -evp sha256 -bytes 16384 -seconds 1`.
const OPENSSL_MACHINE_READABLE = `+DT:sha256:1:16384
+R:94746:sha256:0.990000
+H:16384
+F:25:sha256:1567998448.48
`;

describe('openssl speed output', () => {
  it('reads the 16384-byte column as bytes per second', () => {
    assert.equal(parseOpensslSpeed(OPENSSL_3_BYTES), 1_577_850_430);
    assert.equal(parseOpensslSpeed(OPENSSL_ALL_SIZES), 1_566_292_590);
    assert.equal(parseOpensslSpeed(OPENSSL_ALL_SIZES, 'sha256', 64), 304_436_490);
    assert.equal(parseOpensslSpeed(OPENSSL_MACHINE_READABLE), 1_567_998_448.48);
  });

  it('gives undefined for a missing column, algorithm or an error message', () => {
    assert.equal(parseOpensslSpeed(OPENSSL_3_BYTES, 'sha256', 64), undefined);
    assert.equal(parseOpensslSpeed(OPENSSL_3_BYTES, 'sha512'), undefined);
    assert.equal(parseOpensslSpeed('speed: Unknown algorithm sha256\n'), undefined);
    assert.equal(parseOpensslSpeed(''), undefined);
  });

  it('turns into PBKDF2 hashes per second: ÷ 64 bytes a compression, ÷ 2002 compressions', () => {
    assert.equal(compressionsPerPbkdf2(1000), 2002);
    const perSecond = parseOpensslSpeed(OPENSSL_3_BYTES)! / 64 / compressionsPerPbkdf2(1000);
    assert.equal(Math.round(perSecond), 12_315);
  });

  it('reads the version and OpenSSL\'s CPU capability line', () => {
    assert.equal(parseOpensslVersion('OpenSSL 3.0.19 27 Jan 2026 (Library: OpenSSL 3.0.19 27 Jan 2026)\n'), '3.0.19');
    assert.equal(parseOpensslVersion('LibreSSL 3.8.2\n'), undefined);
    assert.equal(parseOpensslCpuinfo(OPENSSL_3_BYTES), 'OPENSSL_ia32cap=0xfffa3203078bffff:0x400684219c07ab');
    assert.equal(parseOpensslCpuinfo('CPUINFO: OPENSSL_ia32cap=0xf:0x4 env::~0x20000000\n'), 'OPENSSL_ia32cap=0xf:0x4 env::~0x20000000');
  });
});

describe('median and range', () => {
  it('median of odd and even counts, unsorted input left alone', () => {
    const xs = [5, 1, 3];
    assert.equal(median(xs), 3);
    assert.deepEqual(xs, [5, 1, 3]);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.equal(median([7]), 7);
  });

  it('range and summary', () => {
    assert.deepEqual(range([3, -1, 10, 2]), [-1, 10]);
    assert.deepEqual(summarize([12_000, 9_000, 11_000]), { median: 11_000, min: 9_000, max: 12_000, n: 3 });
    assert.equal(fmtSummary(summarize([12_000, 9_000, 11_000])), '11,000 (9,000–12,000)');
    assert.equal(fmtSummary(summarize([1234.4])), '1,234');
  });

  it('refuses no samples', () => {
    assert.throws(() => median([]), RangeError);
    assert.throws(() => range([]), RangeError);
  });
});

describe('/proc parsers', () => {
  it('/proc/PID/stat with a command name holding spaces and parentheses', () => {
    const line = '4242 (node (x) y) S 4200 4242 306 0 -1 4194304 99 0 0 0 1234 56 78 9 20 0 7 0 975839 3133440 371 18446744073709551615';
    assert.deepEqual(parseProcStat(line), { pid: 4242, comm: 'node (x) y', state: 'S', ppid: 4200, utime: 1234, stime: 56, cutime: 78, cstime: 9 });
  });

  it('VmHWM from /proc/PID/status', () => {
    const status = 'Name:\tnode\nVmPeak:\t 1000 kB\nVmHWM:\t  254120 kB\nVmRSS:\t  200000 kB\n';
    assert.equal(parseStatusKiB(status, 'VmHWM'), 254_120);
    assert.equal(parseStatusKiB(status, 'VmSwap'), undefined);
  });

  it('busy and total ticks from /proc/stat (idle and iowait are not busy)', () => {
    assert.deepEqual(parseProcStatCpu('cpu  802187 1 150043 948810 23770 0 7030 415 0 0\ncpu0 1 2 3 4\n'), {
      busy: 802187 + 1 + 150043 + 7030 + 415,
      total: 802187 + 1 + 150043 + 948810 + 23770 + 7030 + 415,
    });
  });

  it('threads by kind: this process\'s main thread is found, and ticks are summed by kind', () => {
    assert.deepEqual(['MainThread', 'WorkerThread', 'phsync-tenant', 'V8Worker', 'libuv-worker', 'node'].map(threadKind), ['main', 'workers', 'tenant', 'v8Helpers', 'other', 'other']);
    const threads = readThreadTicks(process.pid);
    assert.ok([...threads.values()].some((t) => t.comm === 'MainThread'), JSON.stringify([...threads.values()]));
    const sums = threadCpu(new Map([[1, { comm: 'MainThread', ticks: 250 }], [2, { comm: 'WorkerThread', ticks: 100 }], [3, { comm: 'WorkerThread', ticks: 50 }], [4, { comm: 'V8Worker', ticks: 10 }], [5, { comm: 'phsync-tenant', ticks: 30 }]]));
    const hz = clockTicks();
    assert.deepEqual(sums, { main: 250 / hz, workers: 150 / hz, tenant: 30 / hz, v8Helpers: 10 / hz, other: 0 });
    assert.equal(readThreadTicks(2 ** 22 + 12345).size, 0, 'a process that does not exist has no threads');
  });

  it('the CPU budget: per-user figures, and the ratio to the pool that hashing, tenant and directory alone allow', () => {
    // 1,000 users; 40 ms hashing, 30 ms tenant, 10 ms slapd, 50 ms the engine's own; 2 cores; pool 50,000/s.
    const b = cpuBudget({ hashing: 0.04, tenant: 0.03, directory: 0.01, engineOwn: 0.05 }, 1000, 2, 50_000);
    assert.deepEqual(
      Object.fromEntries(Object.entries(b.perUser).map(([k, v]) => [k, Math.round(v!)])),
      { hashing: 40, tenant: 30, directory: 10, engineOwn: 50 },
    );
    // 2 cores ÷ 80 µs a user = 25,000 users/s: half the pool's rate, whatever the engine does.
    assert.equal(Math.round(b.ceilingUsersPerSecond), 25_000);
    assert.equal(Math.round(b.ceilingRatioToPool * 1000) / 1000, 0.5);
    const unmeasured = cpuBudget({ hashing: 0.04, tenant: undefined, directory: undefined, engineOwn: 0 }, 1000, 2, 50_000);
    assert.equal(unmeasured.perUser.tenant, undefined);
    assert.equal(Math.round(unmeasured.ceilingRatioToPool * 1000) / 1000, 1, 'hashing alone allows the pool\'s rate');
    assert.throws(() => cpuBudget({ hashing: 1, tenant: 0, directory: 0, engineOwn: 0 }, 0, 2, 1), RangeError);
  });

  it('options: positive numbers, and the environment that runs phsync with this Node first on the PATH', () => {
    assert.equal(positive('users', '1000'), 1000);
    assert.equal(positive('seconds', '0.5', false), 0.5);
    for (const bad of ['0', '-3', '1.5', 'x', '']) assert.throws(() => positive('users', bad), /--users must be a positive integer/);
    assert.throws(() => positive('seconds', '0', false), /--seconds must be a positive number/);
    const env = phsyncEnv({ EXTRA: 'yes' });
    assert.ok(env['PATH']!.startsWith(dirname(process.execPath)), env['PATH']);
    assert.equal(env['EXTRA'], 'yes');
  });

  it('CPU flags from /proc/cpuinfo', () => {
    const flags = parseCpuFlags('processor\t: 0\nmodel name\t: AMD EPYC\nflags\t\t: fpu sse2 avx2 sha_ni\n\nprocessor\t: 1\nflags\t\t: fpu\n');
    assert.ok(flags.has('sha_ni') && flags.has('avx2'));
    assert.equal(parseCpuFlags('model name\t: something\n').size, 0);
  });
});

describe('kernels and the SHA extensions', () => {
  it('native needs them, WebAssembly kernels do not use them, anything else is re-measured without them', () => {
    assert.equal(shaNiUse('native'), 'required');
    assert.equal(shaNiUse('hash-wasm'), 'none');
    assert.equal(shaNiUse('wasm-simd'), 'none');
    assert.equal(shaNiUse('node'), 'openssl');
    assert.equal(shaNiUse('some-future-kernel'), 'openssl');
  });
});

describe('renderTable', () => {
  it('pads columns, the first to the left and the rest to the right', () => {
    assert.equal(renderTable(['kernel', 'h/s'], [['native', '27,000'], ['node', '6,000']]), ['kernel     h/s', '------  ------', 'native  27,000', 'node     6,000'].join('\n'));
  });
});

describe('free threads (the machine floor under the pool)', () => {
  it('starts a thread per count, runs a round on every one and gives a rate', async () => {
    const free = await openFreeThreads('node', 2, 8, 1);
    try {
      const rate = await free.round();
      assert.ok(Number.isFinite(rate) && rate > 0, `rate ${rate}`);
      assert.equal(free.threads, 2);
      assert.equal(free.label, 'free threads node × 2');
    } finally {
      await free[Symbol.asyncDispose]();
    }
  });

  it('a kernel that cannot be created stops the start with its reason', async () => {
    await assert.rejects(openFreeThreads('no-such-kernel' as KernelName, 1, 8, 1), /no-such-kernel/);
  });
});

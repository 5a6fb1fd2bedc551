/**
 * What a benchmark ran on: enough to tell two result files apart (CPU, cores, SHA extensions,
 * memory, OS) and the versions of everything that does the work.
 */
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, release, totalmem, type as osType } from 'node:os';
import { opensslProgram } from './sha256-limit.ts';

export interface MachineDescription {
  readonly cpuModel: string;
  /** os.availableParallelism(): what the pool defaults to. */
  readonly cores: number;
  /** Logical CPUs the OS lists (may exceed `cores` under an affinity mask or cgroup). */
  readonly logicalCpus: number;
  readonly flags: { readonly sha_ni: boolean; readonly avx2: boolean };
  readonly os: string;
  readonly arch: string;
  readonly totalmemBytes: number;
  readonly totalmemGiB: number;
}

export interface Versions {
  readonly node: string;
  readonly v8: string;
  /** Node's bundled OpenSSL: what the node kernel (pbkdf2Sync) uses. */
  readonly opensslNode: string;
  /** The openssl program: what measured the limit (undefined when absent). */
  readonly opensslProgram: string | undefined;
  readonly piscina: string | undefined;
  readonly 'hash-wasm': string | undefined;
  readonly 'better-sqlite3': string | undefined;
  readonly ldapts: string | undefined;
}

/** CPU feature flags of the first processor in /proc/cpuinfo (x86 "flags", ARM "Features"). */
export function parseCpuFlags(cpuinfo: string): Set<string> {
  const line = /^(?:flags|Features)\s*:\s*(.*)$/m.exec(cpuinfo);
  return new Set(line?.[1]?.trim().split(/\s+/) ?? []);
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export function describeMachine(): MachineDescription {
  const flags = parseCpuFlags(readCpuinfo());
  const list = cpus();
  return {
    cpuModel: list[0]?.model.trim() ?? 'unknown CPU',
    cores: availableParallelism(),
    logicalCpus: list.length,
    flags: { sha_ni: flags.has('sha_ni'), avx2: flags.has('avx2') },
    os: `${osType()} ${release()} (${process.platform}/${process.arch})${osRelease()}`,
    arch: process.arch,
    totalmemBytes: totalmem(),
    totalmemGiB: Math.round((totalmem() / 1024 ** 3) * 10) / 10,
  };
}

/** ", Debian GNU/Linux 12 (bookworm)" from /etc/os-release, or nothing. */
function osRelease(): string {
  try {
    const name = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1];
    return name === undefined ? '' : `, ${name}`;
  } catch {
    return '';
  }
}

/** The installed version of a dependency, from its package.json under node_modules. */
export function packageVersion(name: string): string | undefined {
  try {
    const url = new URL(`../../node_modules/${name}/package.json`, import.meta.url);
    return (JSON.parse(readFileSync(url, 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

export function versions(): Versions {
  return {
    node: process.versions.node,
    v8: process.versions.v8,
    opensslNode: process.versions.openssl,
    opensslProgram: opensslProgram()?.version,
    piscina: packageVersion('piscina'),
    'hash-wasm': packageVersion('hash-wasm'),
    'better-sqlite3': packageVersion('better-sqlite3'),
    ldapts: packageVersion('ldapts'),
  };
}

/** Two lines for the top of a report. */
export function describeForHumans(m: MachineDescription, v: Versions): string {
  const flags = [m.flags.sha_ni ? 'sha_ni' : 'no sha_ni', m.flags.avx2 ? 'avx2' : 'no avx2'].join(', ');
  return [
    `${m.cpuModel}, ${m.cores} cores (${flags}), ${m.totalmemGiB} GiB, ${m.os}`,
    `Node ${v.node} (OpenSSL ${v.opensslNode}), openssl program ${v.opensslProgram ?? 'absent'}, piscina ${v.piscina ?? '?'}, hash-wasm ${v['hash-wasm'] ?? '?'}, better-sqlite3 ${v['better-sqlite3'] ?? '?'}`,
  ].join('\n');
}

import { PhsyncError } from '../errors.ts';
import type { HashKernel, KernelName } from './hash-kernel.ts';
import { createNativeKernel } from './native-kernel.ts';
import { createNodeKernel } from './node-kernel.ts';
import { createWasmKernel } from './wasm-kernel.ts';
import { createWasmSimdKernel } from './wasm-simd-kernel.ts';

/**
 * The kernel registry: the one place that maps a name to an implementation, so that selection,
 * the worker and the bench cannot disagree about which kernels exist. Listed in preference order
 * (native first); selection breaks ties in this order.
 */
export const KERNEL_NAMES: readonly KernelName[] = Object.freeze(['native', 'node', 'wasm-simd', 'hash-wasm'] as const);

export function isKernelName(value: unknown): value is KernelName {
  return typeof value === 'string' && (KERNEL_NAMES as readonly string[]).includes(value);
}

/** Async because a WASM kernel has to instantiate its module first. */
export async function createKernel(name: KernelName): Promise<HashKernel> {
  switch (name) {
    case 'native':
      return createNativeKernel();
    case 'node':
      return createNodeKernel();
    case 'wasm-simd':
      return createWasmSimdKernel();
    case 'hash-wasm':
      return createWasmKernel();
    default:
      // Reached only from untyped callers (e.g. a task that crossed a thread boundary).
      throw new PhsyncError('KERNEL_UNKNOWN', `unknown hash kernel ${String(name as unknown)}; known: ${KERNEL_NAMES.join(', ')}`);
  }
}

import type { IncomingMessage } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { HttpError } from './http-error.ts';

/**
 * TEST ONLY: what to do to one batch request (POST /v1/credentials:batch or GET
 * /v1/credentials:batch/{batchId}), decided before it is handled, so that the engine's retries and
 * resume can be tested against a real tenant:
 *
 * - `'none'`: handle it normally;
 * - `{ status, retryAfter? }`: answer that status (an `injected_fault` error body, `Retry-After:
 *   retryAfter` seconds when given) without applying anything;
 * - `'reset'`: destroy the connection without an answer, applying nothing;
 * - `'reset-after-apply'`: apply the batch, then destroy the connection without an answer (the
 *   batch landed but the engine never heard: what a killed run or a lost response leaves in flight);
 * - `{ delayMs }`: wait that long, then handle it normally.
 *
 * Never set in production: `phsync tenant serve` has no way to set it.
 */
export type FaultDecision =
  | 'none'
  | 'reset'
  | 'reset-after-apply'
  | { readonly status: number; readonly retryAfter?: number }
  | { readonly delayMs: number };

export type FaultHook = (req: IncomingMessage) => FaultDecision;

/**
 * Runs the hook for one request: throws the injected status, destroys the connection for a reset
 * (returning 'done'), waits out a delay; returns what remains for the handler to do.
 */
export async function injectFault(req: IncomingMessage, hook: FaultHook | undefined): Promise<'proceed' | 'reset-after-apply' | 'done'> {
  if (hook === undefined) return 'proceed';
  const decision = hook(req);
  if (decision === 'none') return 'proceed';
  if (decision === 'reset') {
    req.socket.destroy();
    return 'done';
  }
  if (decision === 'reset-after-apply') return decision;
  if ('delayMs' in decision) {
    await sleep(decision.delayMs);
    return req.socket.destroyed ? 'done' : 'proceed';
  }
  const headers: Record<string, string> = decision.retryAfter === undefined ? {} : { 'retry-after': String(decision.retryAfter) };
  throw new HttpError(decision.status, 'injected_fault', `fault injected by a test: HTTP ${decision.status}`, { headers });
}

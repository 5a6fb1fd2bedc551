import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ItemResult } from '../../target/credential-batch.ts';
import type { LeakedPairOutcome, LeakedPairResult } from '../leaked-credentials.ts';

export type SignInOutcome = 'success' | 'invalid_grant' | 'locked_out' | 'bad_request';

/**
 * The tenant's Prometheus metrics, in a registry of its own (never prom-client's global one, so two
 * tenants in one process, as in the tests, count separately). Labels are bounded: a route's name,
 * never a raw path; sign-in outcomes do not tell unknown users from wrong passwords.
 */
export class TenantMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'route' | 'method' | 'status'>;
  readonly #duration: Histogram<'route' | 'method'>;
  readonly #items: Counter<'result'>;
  readonly #batches: Counter<'outcome'>;
  readonly #signIns: Counter<'outcome'>;
  readonly #leakedPairs: Counter<'result'>;

  /** `highRiskUsers`: read at each scrape (the store answers from a small index). */
  constructor(options: { readonly highRiskUsers?: () => number } = {}) {
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'phsync_tenant_http_requests_total', help: 'HTTP requests answered, by route, method and status', labelNames: ['route', 'method', 'status'], registers });
    this.#duration = new Histogram({
      name: 'phsync_tenant_http_request_duration_seconds',
      help: 'Time from a request to its answer, by route and method',
      labelNames: ['route', 'method'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.#items = new Counter({ name: 'phsync_tenant_batch_items_total', help: 'Credential items of applied batches, by result (replays not counted again)', labelNames: ['result'], registers });
    this.#batches = new Counter({ name: 'phsync_tenant_batches_total', help: 'Credential batches received, by outcome (applied, or replayed: the same batchId again)', labelNames: ['outcome'], registers });
    this.#signIns = new Counter({ name: 'phsync_tenant_signins_total', help: 'Sign-in attempts by outcome', labelNames: ['outcome'], registers });
    this.#leakedPairs = new Counter({ name: 'phsync_tenant_leaked_credential_pairs_total', help: 'Leaked username/password pairs checked, by result (match: the user\'s current password; the user was marked high risk)', labelNames: ['result'], registers });
    const { highRiskUsers } = options;
    if (highRiskUsers !== undefined) {
      new Gauge({
        name: 'phsync_tenant_high_risk_users',
        help: 'Users whose current password is known to have leaked (a leaked hash reported by the engine, or a leaked pair that matched)',
        registers,
        collect() {
          this.set(highRiskUsers());
        },
      });
    }
    for (const result of ['applied', 'stale', 'invalid']) this.#items.inc({ result }, 0);
    for (const result of ['match', 'no-match', 'unknown-user', 'invalid'] satisfies LeakedPairResult[]) this.#leakedPairs.inc({ result }, 0);
    for (const outcome of ['applied', 'replayed']) this.#batches.inc({ outcome }, 0);
    for (const outcome of ['success', 'invalid_grant', 'locked_out', 'bad_request'] satisfies SignInOutcome[]) this.#signIns.inc({ outcome }, 0);
    collectDefaultMetrics({ register: this.registry });
  }

  request(route: string, method: string, status: string, seconds: number): void {
    this.#requests.inc({ route, method, status });
    this.#duration.observe({ route, method }, seconds);
  }

  batch(results: readonly ItemResult[], replayed: boolean): void {
    this.#batches.inc({ outcome: replayed ? 'replayed' : 'applied' });
    if (replayed) return;
    const counts = { applied: 0, stale: 0, invalid: 0 };
    for (const result of results) counts[result.status]++;
    for (const [result, n] of Object.entries(counts)) if (n > 0) this.#items.inc({ result }, n);
  }

  signIn(outcome: SignInOutcome): void {
    this.#signIns.inc({ outcome });
  }

  leakedPairs(outcomes: readonly LeakedPairOutcome[]): void {
    const counts = new Map<LeakedPairResult, number>();
    for (const { result } of outcomes) counts.set(result, (counts.get(result) ?? 0) + 1);
    for (const [result, n] of counts) this.#leakedPairs.inc({ result }, n);
  }

  async text(): Promise<string> {
    return await this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

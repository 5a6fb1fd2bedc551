/**
 * Where an end-to-end sync's CPU went, per user, and what that allows on this machine.
 *
 * The e2e goal compares end-to-end users/s with the pool's pure hashing rate. On a machine whose
 * cores also run the directory server and the tenant, their work per user bounds that ratio before
 * the engine does anything of its own: with C cores, hashing h, tenant t and directory d CPU seconds
 * a user, no pipeline exceeds C / (h + t + d) users/s. `ceiling` is that bound ÷ the pool's rate;
 * what separates the measured ratio from it is the engine's own work (main thread, V8's helpers).
 */
export interface CpuSpent {
  /** CPU seconds of the sync's parts; undefined where they were not measured. */
  readonly hashing: number;
  readonly tenant: number | undefined;
  readonly directory: number | undefined;
  /** The engine's own work: its main thread, V8's helper threads and any other thread but hashing and the tenant. */
  readonly engineOwn: number;
}

export interface CpuBudget {
  /** CPU microseconds per user, by part. */
  readonly perUser: { readonly hashing: number; readonly tenant: number | undefined; readonly directory: number | undefined; readonly engineOwn: number };
  /** The most users/s `cores` allow for hashing, tenant and directory alone. */
  readonly ceilingUsersPerSecond: number;
  /** ceilingUsersPerSecond ÷ the pool's hashes/s: the most the e2e ÷ pool ratio could be here. */
  readonly ceilingRatioToPool: number;
}

export function cpuBudget(spent: CpuSpent, users: number, cores: number, poolHashesPerSecond: number): CpuBudget {
  if (!(users > 0) || !(cores > 0) || !(poolHashesPerSecond > 0)) throw new RangeError('users, cores and the pool rate must be positive');
  const micros = (seconds: number): number => (seconds * 1e6) / users;
  const fixed = spent.hashing + (spent.tenant ?? 0) + (spent.directory ?? 0);
  const ceilingUsersPerSecond = fixed > 0 ? (cores * users) / fixed : Number.POSITIVE_INFINITY;
  return {
    perUser: {
      hashing: micros(spent.hashing),
      tenant: spent.tenant === undefined ? undefined : micros(spent.tenant),
      directory: spent.directory === undefined ? undefined : micros(spent.directory),
      engineOwn: micros(spent.engineOwn),
    },
    ceilingUsersPerSecond,
    ceilingRatioToPool: ceilingUsersPerSecond / poolHashesPerSecond,
  };
}

import { FatalError } from '../errors.ts';

/** ERROR_DS_DRA_ACCESS_DENIED: the account lacks a replication right on the naming context. */
const ERROR_DS_DRA_ACCESS_DENIED = 8453;
/** ERROR_ACCESS_DENIED, as an RPC fault or a DRS call's result. */
const ERROR_ACCESS_DENIED = 5;
const TRANSIENT = new Set(['RPC_CONNECTION_LOST', 'RPC_TIMEOUT', 'RPC_CONNECT_FAILED']);

function numberField(err: object, ...names: string[]): number | undefined {
  for (const name of names) {
    const value = (err as Record<string, unknown>)[name];
    if (typeof value === 'number') return value;
  }
  return undefined;
}

/** A network failure a reconnect may cure (a refused or lost connection, a timeout). */
export function isTransientRpcError(err: unknown): boolean {
  return err instanceof FatalError && TRANSIENT.has(err.code);
}

/**
 * The failures an administrator can act on, said in their terms: a refused password, an account
 * without the replication rights. Anything else passes through as it is (its code names it).
 */
export function explainDrsError(err: unknown, host: string, account: string): unknown {
  if (!(err instanceof FatalError)) return err;
  if (err.code === 'RPC_AUTH_FAILED' || err.code === 'NTLM_AUTH_FAILED') {
    return new FatalError('AD_AUTH_REFUSED', `${host}: the domain controller refused the password of ${account} (NTLM): check PHSYNC_BIND_PASSWORD or --bind-password-file, and that the account is enabled and not locked out`, { cause: err });
  }
  const status = numberField(err, 'win32', 'status', 'drsError');
  if ((err.code === 'DRS_ERROR' || err.code === 'RPC_FAULT' || err.code === 'DRS_CALL_FAILED') && (status === ERROR_DS_DRA_ACCESS_DENIED || status === ERROR_ACCESS_DENIED)) {
    return new FatalError(
      'AD_REPLICATION_DENIED',
      `${host}: ${account} may not replicate password data: grant it "Replicating Directory Changes" and "Replicating Directory Changes All" on the domain object (see the README); the DC answered ${status === ERROR_ACCESS_DENIED ? 'ERROR_ACCESS_DENIED' : 'ERROR_DS_DRA_ACCESS_DENIED'}`,
      { cause: err },
    );
  }
  return err;
}

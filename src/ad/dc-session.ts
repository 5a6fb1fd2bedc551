import { FatalError } from '../errors.ts';
import { ntHash } from '../phs/nt-hash.ts';
import { DrsuapiClient } from './drs/drsuapi-client.ts';
import { guidFromString } from './drs/drs-types.ts';
import { parseAccountName } from './ntlm/account-name.ts';
import { NtlmClient } from './ntlm/ntlm-client.ts';
import { mapEndpoint } from './rpc/endpoint-mapper.ts';
import { ntlmRpcAuth } from './rpc/rpc-auth.ts';
import { RpcConnection } from './rpc/rpc-connection.ts';
import { DRSUAPI_SYNTAX } from './rpc/rpc-syntax.ts';
import { explainDrsError } from './replication-errors.ts';

export interface DcSessionOptions {
  readonly host: string;
  readonly endpointMapperPort: number;
  /** 'DOMAIN\name' or 'name@realm'. */
  readonly account: string;
  readonly password: string;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly signal?: AbortSignal;
}

/** An authenticated, sealed DRSUAPI connection to one domain controller, and what replication needs to know of it. */
export interface DcSession {
  readonly drs: DrsuapiClient;
  /** NTLM's exported session key: the key of the replicated secrets. */
  readonly sessionKey: Buffer;
  /** The DN of the domain naming context, e.g. DC=corp,DC=example. */
  readonly domainDn: string;
  /**
   * Its objectGUID (wire form). Requests name the NC by it too: Samba recognizes the next call of a
   * chunked replication by the NC's GUID, and without it starts every call from the beginning.
   */
  readonly domainGuid: Buffer;
  /** The DC's NTDS settings object GUID (wire form), sent as the destination DSA as other replication clients do. */
  readonly dsaGuid: Buffer;
  close(): Promise<void>;
}

const DS_FQDN_1779_NAME = 1;
const DS_NT4_ACCOUNT_NAME = 2;
const DS_UNIQUE_ID_NAME = 6;
const DS_CANONICAL_NAME = 7;

/**
 * Endpoint mapper (135) → the DRSUAPI port, a bind authenticated by NTLMv2 at the privacy level (every
 * request and reply sealed: replies carry secrets), IDL_DRSBind, then the domain's DN and the DC's
 * DSA GUID. Every failure is a FatalError naming its cause (src/ad/replication-errors.ts).
 */
export async function openDcSession(o: DcSessionOptions): Promise<DcSession> {
  const account = parseAccountName(o.account);
  const timeouts = { connectTimeoutMs: o.connectTimeoutMs, callTimeoutMs: o.callTimeoutMs, ...(o.signal === undefined ? {} : { signal: o.signal }) };
  const port = await mapEndpoint({ host: o.host, port: o.endpointMapperPort, interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version, ...timeouts });
  const hash = await ntHash(o.password);
  const ntlm = new NtlmClient({ user: account.user, domain: account.domain, ntHash: hash });
  let rpc: RpcConnection;
  try {
    rpc = await RpcConnection.connect({ host: o.host, port, interfaceId: DRSUAPI_SYNTAX.uuid, interfaceVersion: DRSUAPI_SYNTAX.version, auth: ntlmRpcAuth(ntlm), ...timeouts });
  } finally {
    hash.fill(0);
  }
  try {
    const drs = await DrsuapiClient.bind((opnum, stub) => rpc.request(opnum, stub));
    // The domain's DN from its NetBIOS or DNS name, as the account names it.
    const cracked = account.domain.includes('.')
      ? await drs.crackName(`${account.domain}/`, DS_CANONICAL_NAME, DS_FQDN_1779_NAME)
      : await drs.crackName(`${account.domain}\\`, DS_NT4_ACCOUNT_NAME, DS_FQDN_1779_NAME);
    if (cracked.status !== 0 || cracked.name === '') throw new FatalError('AD_DOMAIN_NOT_FOUND', `${o.host}: the DC does not know the domain ${JSON.stringify(account.domain)} (DRSCrackNames status ${cracked.status})`);
    const unique = await drs.crackName(cracked.name, DS_FQDN_1779_NAME, DS_UNIQUE_ID_NAME);
    if (unique.status !== 0 || !/^\{[0-9a-f-]{36}\}$/i.test(unique.name)) throw new FatalError('AD_DOMAIN_NOT_FOUND', `${o.host}: the DC gives no GUID for ${cracked.name} (DRSCrackNames status ${unique.status})`);
    const dcs = await drs.domainControllerInfo(cracked.domain || account.domain);
    const host = o.host.toLowerCase();
    const dc = dcs.find((d) => d.dnsHostName.toLowerCase() === host || d.dnsHostName.toLowerCase().split('.')[0] === host.split('.')[0]) ?? dcs[0];
    if (dc === undefined) throw new FatalError('AD_NO_DOMAIN_CONTROLLER', `${o.host}: DRSDomainControllerInfo lists no domain controller for ${cracked.domain}`);
    return {
      drs,
      sessionKey: ntlm.exportedSessionKey,
      domainDn: cracked.name,
      domainGuid: guidFromString(unique.name.slice(1, -1)),
      dsaGuid: dc.ntdsDsaObjectGuid,
      close: async () => {
        await drs.unbind().catch(() => undefined);
        rpc.close();
      },
    };
  } catch (err) {
    rpc.close();
    throw explainDrsError(err, o.host, o.account);
  }
}

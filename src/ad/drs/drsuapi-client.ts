import { FatalError } from '../../errors.ts';
import { NTDSAPI_CLIENT_GUID, OPNUM_DRS_BIND, OPNUM_DRS_UNBIND, decodeBindReply, decodeUnbindReply, encodeBindRequest, encodeUnbindRequest } from './drs-bind.ts';
import type { BindReply } from './drs-bind.ts';
import { OPNUM_DRS_CRACK_NAMES, decodeCrackNamesReply, encodeCrackNamesRequest } from './drs-crack-names.ts';
import type { CrackedName } from './drs-crack-names.ts';
import { OPNUM_DRS_DOMAIN_CONTROLLER_INFO, decodeDcInfoReply, encodeDcInfoRequest } from './drs-dc-info.ts';
import { CLIENT_EXTENSION_FLAGS, DRS_EXT_GETCHGREQ_V8, DRS_EXT_STRONG_ENCRYPTION, encodeClientExtensions } from './drs-extensions.ts';
import type { DrsExtensions } from './drs-extensions.ts';
import { OPNUM_DRS_GET_NC_CHANGES, decodeGetNcChangesReply, encodeGetNcChangesRequest } from './drs-get-nc-changes.ts';
import type { DomainControllerInfo, NcChangesReply, NcChangesRequest, RpcCall } from './drs-types.ts';

export type { DrsExtensions } from './drs-extensions.ts';
export type { DomainControllerInfo, NcChangesReply, NcChangesRequest, ReplicaObject, RpcCall, UpToDateCursor, UsnVector } from './drs-types.ts';

async function bindOnce(call: RpcCall, replEpoch: number): Promise<BindReply> {
  return decodeBindReply(await call(OPNUM_DRS_BIND, encodeBindRequest(NTDSAPI_CLIENT_GUID, encodeClientExtensions(CLIENT_EXTENSION_FLAGS, replEpoch))));
}

async function unbindHandle(call: RpcCall, handle: Buffer): Promise<void> {
  decodeUnbindReply(await call(OPNUM_DRS_UNBIND, encodeUnbindRequest(handle)));
}

/**
 * The DRSUAPI calls replication needs, over one DCE/RPC connection (`call`), with the DRS handle of
 * one IDL_DRSBind. It never touches the network itself: `call` sends a request stub and resolves to
 * the response stub (a fault is the connection's error). Replies are decoded as soon as they arrive
 * and what is kept is copied, so the connection may reuse the stub's memory.
 */
export class DrsuapiClient {
  readonly #call: RpcCall;
  #handle: Buffer | undefined;
  /** The DC's DRS_EXTENSIONS_INT, from the bind that made the handle. */
  readonly serverExtensions: DrsExtensions;

  private constructor(call: RpcCall, handle: Buffer, serverExtensions: DrsExtensions) {
    this.#call = call;
    this.#handle = handle;
    this.serverExtensions = serverExtensions;
  }

  /**
   * IDL_DRSBind as a client that is not a DC (NTDSAPI_CLIENT_GUID, dwReplEpoch 0). A DC whose
   * replication epoch is not 0 (its domain was renamed) refuses later calls from a handle bound with
   * another epoch (ERROR_DS_DIFFERENT_REPL_EPOCHS), so as impacket does the bind is made again
   * echoing the DC's epoch, and the first handle is released. A DC without STRONG_ENCRYPTION would
   * send secrets under the legacy scheme only: refused (DRS_NO_STRONG_ENCRYPTION).
   */
  static async bind(call: RpcCall): Promise<DrsuapiClient> {
    let reply = await bindOnce(call, 0);
    if (reply.extensions.replEpoch !== 0) {
      const first = reply.handle;
      reply = await bindOnce(call, reply.extensions.replEpoch);
      await unbindHandle(call, first);
    }
    if ((reply.extensions.flags & DRS_EXT_STRONG_ENCRYPTION) === 0) {
      // The refusal is the error to report; a failed unbind of a handle about to be dropped adds nothing.
      await unbindHandle(call, reply.handle).catch(() => undefined);
      throw new FatalError('DRS_NO_STRONG_ENCRYPTION', `IDL_DRSBind: the DC does not offer DRS_EXT_STRONG_ENCRYPTION (its extensions: 0x${reply.extensions.flags.toString(16)}); replicated secrets would be protected by the legacy scheme only`);
    }
    return new DrsuapiClient(call, reply.handle, reply.extensions);
  }

  #bound(call: string): Buffer {
    if (this.#handle === undefined) throw new FatalError('DRS_NOT_BOUND', `${call}: the DRS handle was released (IDL_DRSUnbind)`);
    return this.#handle;
  }

  /** IDL_DRSDomainControllerInfo at InfoLevel 2: the domain's DCs, with their NTDS DSA GUIDs. */
  async domainControllerInfo(domain: string): Promise<DomainControllerInfo[]> {
    const handle = this.#bound('IDL_DRSDomainControllerInfo');
    return decodeDcInfoReply(await this.#call(OPNUM_DRS_DOMAIN_CONTROLLER_INFO, encodeDcInfoRequest(handle, domain)));
  }

  /**
   * IDL_DRSCrackNames of one name: its status (DS_NAME_ERROR, 0 when cracked), its domain's DNS name
   * and the name in `formatDesired`. E.g. 'CORP\' from DS_NT4_ACCOUNT_NAME to DS_FQDN_1779_NAME is the
   * domain NC's DN.
   */
  async crackName(name: string, formatOffered: number, formatDesired: number): Promise<CrackedName> {
    const handle = this.#bound('IDL_DRSCrackNames');
    const items = decodeCrackNamesReply(await this.#call(OPNUM_DRS_CRACK_NAMES, encodeCrackNamesRequest(handle, [name], formatOffered, formatDesired)));
    const item = items[0];
    if (item === undefined || items.length !== 1) throw new FatalError('DRS_MALFORMED_REPLY', `IDL_DRSCrackNames: ${items.length} results for one name`);
    return item;
  }

  /** IDL_DRSGetNCChanges with a V8 request; the reply (V1 or V6) decoded, objects' attributes by OID. */
  async getNcChanges(request: NcChangesRequest): Promise<NcChangesReply> {
    const handle = this.#bound('IDL_DRSGetNCChanges');
    if ((this.serverExtensions.flags & DRS_EXT_GETCHGREQ_V8) === 0) {
      throw new FatalError('DRS_UNSUPPORTED_SERVER', `IDL_DRSGetNCChanges: the DC does not take version 8 requests (its extensions: 0x${this.serverExtensions.flags.toString(16)})`);
    }
    return decodeGetNcChangesReply(await this.#call(OPNUM_DRS_GET_NC_CHANGES, encodeGetNcChangesRequest(handle, request)));
  }

  /** IDL_DRSUnbind; later calls are refused (DRS_NOT_BOUND). Unbinding twice does nothing. */
  async unbind(): Promise<void> {
    const handle = this.#handle;
    if (handle === undefined) return;
    this.#handle = undefined;
    await unbindHandle(this.#call, handle);
  }
}

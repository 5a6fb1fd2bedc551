/**
 * The shapes DRSUAPI messages carry (MS-DRSR section 5), as the engine sees them. GUIDs are kept in
 * their 16-byte wire form (little-endian first three fields, as NDR and the DC send them), so they
 * go back out unchanged; guidToString is for messages only.
 */

/** The DCE/RPC call the DRS messages travel over: opnum and request stub in, response stub out. */
export type RpcCall = (opnum: number, stub: Buffer) => Promise<Buffer>;

/** A context handle (DRS_HANDLE): 20 opaque bytes the DC hands out in IDL_DRSBind. */
export const DRS_HANDLE_BYTES = 20;

export const NULL_GUID: Buffer = Buffer.alloc(16);

/** DSNAME: an object named by GUID, SID (empty when it has none) and/or DN. */
export interface DsName {
  readonly guid: Buffer;
  readonly sid: Buffer;
  readonly dn: string;
}

/** USN_VECTOR: where a replication cycle is, in the source DC's USNs. */
export interface UsnVector {
  readonly highObjUpdate: bigint;
  readonly reserved: bigint;
  readonly highPropUpdate: bigint;
}

/** UPTODATE_CURSOR_V1/V2: the updates of one DC (invocation ID) already seen. */
export interface UpToDateCursor {
  readonly invocationId: Buffer;
  readonly highestUsn: bigint;
  /** V2 cursors only (DSTIME: seconds since 1601-01-01). */
  readonly lastSyncSuccess?: bigint;
}

/** One object of a GetNCChanges reply (REPLENTINFLIST). */
export interface ReplicaObject {
  readonly name: DsName;
  /** Attribute values by OID (resolved through the reply's PrefixTableSrc), raw bytes as replicated. */
  readonly attributes: Map<string, Buffer[]>;
  readonly isNcPrefix: boolean;
  readonly parentGuid?: Buffer;
}

/** What IDL_DRSGetNCChanges is asked (sent as DRS_MSG_GETCHGREQ_V8). */
export interface NcChangesRequest {
  /** uuidDsaObjDest: the destination DSA's GUID, 16 wire bytes. */
  readonly destinationDsa: Buffer;
  /** uuidInvocIdSrc: the source DC's invocation ID the `from` vector counts in, 16 wire bytes. */
  readonly invocationIdSource: Buffer;
  /** The NC root, or for EXOP_REPL_OBJ the object (by DN and/or GUID). */
  readonly namingContext: { readonly dn: string; readonly guid?: Buffer };
  readonly from: UsnVector;
  /** Sent as UPTODATE_VECTOR_V1_EXT; none (or empty): no filter. */
  readonly upToDate?: readonly UpToDateCursor[];
  readonly flags: number;
  readonly maxObjects: number;
  readonly maxBytes: number;
  readonly extendedOp?: number;
  /** OIDs of the attributes wanted; empty: every attribute (no pPartialAttrSet). */
  readonly partialAttributeSet: readonly string[];
}

/** A decoded DRS_MSG_GETCHGREPLY (V1 or V6). */
export interface NcChangesReply {
  readonly level: number;
  readonly sourceDsa: Buffer;
  readonly sourceInvocationId: Buffer;
  readonly from: UsnVector;
  readonly to: UsnVector;
  /** pUpToDateVecSrc: empty when the DC sent none (it sends it with the last reply of a cycle). */
  readonly upToDate: UpToDateCursor[];
  readonly moreData: boolean;
  readonly objectCount: number;
  readonly byteCount: number;
  readonly drsError: number;
  readonly extendedResult: number;
  /** cNumValues: linked values the reply carried (decoded past, not kept). */
  readonly valueCount: number;
  readonly objects: ReplicaObject[];
  /** The reply's prefix table, for ATTRTYP-valued attributes (objectClass): the OID, or undefined. */
  readonly oidOf: (attrtyp: number) => string | undefined;
}

/** DS_DOMAIN_CONTROLLER_INFO_2W (MS-DRSR 4.1.5.1.9); absent strings are ''. */
export interface DomainControllerInfo {
  readonly netbiosName: string;
  readonly dnsHostName: string;
  readonly siteName: string;
  readonly siteObjectName: string;
  readonly computerObjectName: string;
  readonly serverObjectName: string;
  readonly ntdsDsaObjectName: string;
  readonly isPdc: boolean;
  readonly isEnabled: boolean;
  readonly isGc: boolean;
  readonly siteObjectGuid: Buffer;
  readonly computerObjectGuid: Buffer;
  readonly serverObjectGuid: Buffer;
  /** The DC's nTDSDSA object GUID: what replication clients send as uuidDsaObjDest. */
  readonly ntdsDsaObjectGuid: Buffer;
}

/** 'e24d201a-4fd6-11d1-a3da-0000f875ae0d' in its wire form, and back (src/ad/ndr/guid.ts). */
export { uuidToWire as guidFromString, uuidFromWire as guidToString } from '../ndr/guid.ts';

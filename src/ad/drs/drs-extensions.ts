import { NULL_GUID } from './drs-types.ts';

/**
 * DRS_EXTENSIONS_INT (MS-DRSR 5.39): what each side of IDL_DRSBind can do. On the wire it is the
 * `rgb` of a DRS_EXTENSIONS {cb, rgb[cb]}; the INT structure's own `cb` *is* that cb, so rgb starts at
 * dwFlags. The structure grew over Windows versions (cb 24, 28, 48, 52): fields past cb are zero.
 */
export const DRS_EXT_BASE = 0x0000_0001;
export const DRS_EXT_ASYNCREPL = 0x0000_0002;
export const DRS_EXT_REMOVEAPI = 0x0000_0004;
export const DRS_EXT_MOVEREQ_V2 = 0x0000_0008;
export const DRS_EXT_GETCHG_DEFLATE = 0x0000_0010;
export const DRS_EXT_DCINFO_V1 = 0x0000_0020;
export const DRS_EXT_RESTORE_USN_OPTIMIZATION = 0x0000_0040;
export const DRS_EXT_ADDENTRY = 0x0000_0080;
export const DRS_EXT_KCC_EXECUTE = 0x0000_0100;
export const DRS_EXT_ADDENTRY_V2 = 0x0000_0200;
export const DRS_EXT_LINKED_VALUE_REPLICATION = 0x0000_0400;
export const DRS_EXT_DCINFO_V2 = 0x0000_0800;
export const DRS_EXT_INSTANCE_TYPE_NOT_REQ_ON_MOD = 0x0000_1000;
export const DRS_EXT_CRYPTO_BIND = 0x0000_2000;
export const DRS_EXT_GET_REPL_INFO = 0x0000_4000;
export const DRS_EXT_STRONG_ENCRYPTION = 0x0000_8000;
export const DRS_EXT_DCINFO_VFFFFFFFF = 0x0001_0000;
export const DRS_EXT_TRANSITIVE_MEMBERSHIP = 0x0002_0000;
export const DRS_EXT_ADD_SID_HISTORY = 0x0004_0000;
export const DRS_EXT_POST_BETA3 = 0x0008_0000;
export const DRS_EXT_GETCHGREQ_V5 = 0x0010_0000;
export const DRS_EXT_GETMEMBERSHIPS2 = 0x0020_0000;
export const DRS_EXT_GETCHGREQ_V6 = 0x0040_0000;
export const DRS_EXT_NONDOMAIN_NCS = 0x0080_0000;
export const DRS_EXT_GETCHGREQ_V8 = 0x0100_0000;
export const DRS_EXT_GETCHGREPLY_V5 = 0x0200_0000;
export const DRS_EXT_GETCHGREPLY_V6 = 0x0400_0000;
/** Also DRS_EXT_ADDENTRYREPLY_V3 and DRS_EXT_GETCHGREPLY_V7 (compressed replies): one bit, three names. */
export const DRS_EXT_WHISTLER_BETA3 = 0x0800_0000;
export const DRS_EXT_W2K3_DEFLATE = 0x1000_0000;
export const DRS_EXT_GETCHGREQ_V10 = 0x2000_0000;

export interface DrsExtensions {
  readonly flags: number;
  readonly siteObjGuid: Buffer;
  readonly pid: number;
  readonly replEpoch: number;
  readonly flagsExt: number;
  readonly configObjGuid: Buffer;
  readonly extCaps: number;
  /** The cb the peer sent: which of the fields above it actually carried. */
  readonly length: number;
}

/**
 * What this client asks for, as a replication client that is not a DC:
 * - BASE, RESTORE_USN_OPTIMIZATION, POST_BETA3: the baseline every DRS client (impacket, Samba) sends;
 * - DCINFO_V1, DCINFO_V2: IDL_DRSDomainControllerInfo at InfoLevel 2 (the DC's NTDS DSA GUID);
 * - GETCHGREQ_V5/V6/V8 and GETCHGREPLY_V5/V6: we send V8 requests and read V6 replies (or V1);
 * - LINKED_VALUE_REPLICATION: linked values (group members) come in rgValues, which the decoder
 *   skips, rather than inside the objects the engine reads;
 * - STRONG_ENCRYPTION: secrets are sealed with MD5(session key, salt)/RC4 and a CRC32, not the weak
 *   legacy scheme; the client refuses a DC that lacks it.
 * Not sent: GETCHG_DEFLATE, W2K3_DEFLATE and the 0x08000000 bit (GETCHGREPLY_V7, also named
 * ADDENTRYREPLY_V3): they let the DC answer with compressed V2/V7 replies this decoder does not read.
 */
export const CLIENT_EXTENSION_FLAGS =
  DRS_EXT_BASE |
  DRS_EXT_DCINFO_V1 |
  DRS_EXT_RESTORE_USN_OPTIMIZATION |
  DRS_EXT_LINKED_VALUE_REPLICATION |
  DRS_EXT_DCINFO_V2 |
  DRS_EXT_STRONG_ENCRYPTION |
  DRS_EXT_POST_BETA3 |
  DRS_EXT_GETCHGREQ_V5 |
  DRS_EXT_GETCHGREQ_V6 |
  DRS_EXT_GETCHGREQ_V8 |
  DRS_EXT_GETCHGREPLY_V5 |
  DRS_EXT_GETCHGREPLY_V6;

/**
 * The client's rgb: the 28-byte form (dwFlags, SiteObjGuid, Pid, dwReplEpoch) Samba's own DRS client
 * sends. The later fields (dwFlagsExt, ConfigObjGUID, dwExtCaps) describe DC features a non-DC
 * client has none of. dwReplEpoch is 0 for a client that is not a DC (MS-DRSR 4.1.3.1) unless the
 * DC's own epoch is echoed (see DrsuapiClient.bind).
 */
export function encodeClientExtensions(flags: number, replEpoch = 0): Buffer {
  const rgb = Buffer.alloc(28);
  rgb.writeUInt32LE(flags >>> 0, 0);
  NULL_GUID.copy(rgb, 4);
  rgb.writeUInt32LE(0, 20);
  rgb.writeUInt32LE(replEpoch >>> 0, 24);
  return rgb;
}

/** The peer's rgb, however long: absent fields are zero, bytes past dwExtCaps are ignored. */
export function decodeExtensions(rgb: Uint8Array): DrsExtensions {
  const b = Buffer.alloc(Math.max(48, rgb.length));
  b.set(rgb);
  return {
    flags: b.readUInt32LE(0),
    siteObjGuid: Buffer.from(b.subarray(4, 20)),
    pid: b.readUInt32LE(20),
    replEpoch: b.readUInt32LE(24),
    flagsExt: b.readUInt32LE(28),
    configObjGuid: Buffer.from(b.subarray(32, 48)),
    extCaps: rgb.length >= 52 ? b.readUInt32LE(48) : 0,
    length: rgb.length,
  };
}

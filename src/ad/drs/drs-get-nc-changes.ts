import { FatalError } from '../../errors.ts';
import { NdrError } from '../ndr/ndr-error.ts';
import type { NdrReader } from '../ndr/ndr-reader.ts';
import { NdrWriter } from '../ndr/ndr-writer.ts';
import { ATTRTYP_PREFIX_LIMIT, DEFAULT_PREFIX_ENTRIES, PrefixTable } from './attid.ts';
import type { PrefixEntry } from './attid.ts';
import { DrsError, decodeReply } from './drs-errors.ts';
import { NULL_GUID } from './drs-types.ts';
import type { DsName, NcChangesReply, NcChangesRequest, ReplicaObject, UpToDateCursor, UsnVector } from './drs-types.ts';

export const OPNUM_DRS_GET_NC_CHANGES = 3;

/*
 * DRS_OPTIONS for IDL_DRSGetNCChanges (MS-DRSR 5.41). What replication clients that read secrets
 * send: secretsdump sends DRS_INIT_SYNC | DRS_WRIT_REP; samba-tool's clone-dc-database (drs_utils
 * replicate()) adds DRS_PER_SYNC, DRS_GET_ANC, DRS_NEVER_SYNCED and DRS_GET_ALL_GROUP_MEMBERSHIP.
 */
/** Replicate as to a writable replica: every attribute, secrets included. Without it a DC treats the client as a partial (GC) replica and sends no secrets. */
export const DRS_WRIT_REP = 0x0000_0010;
/** A sync the client asked for now (as at start-up), not a periodic one; informational to the DC. */
export const DRS_INIT_SYNC = 0x0000_0020;
/** A periodic sync; informational. samba-tool sets it alongside INIT_SYNC. */
export const DRS_PER_SYNC = 0x0000_0040;
/** Only critical (system) objects: never for the engine. */
export const DRS_CRITICAL_ONLY = 0x0000_0400;
/** Send each object's ancestors before it: for a client that builds the tree (a DC); costs bytes, the engine needs no tree. */
export const DRS_GET_ANC = 0x0000_0800;
/** Replicate even when the DC's outbound replication is disabled: overrides an administrator's decision, never set. */
export const DRS_SYNC_FORCED = 0x0200_0000;
/** The destination has never completed a sync of this NC (samba-tool clone); informational. */
export const DRS_NEVER_SYNCED = 0x0020_0000;
/** RODC secret handling: the DC then leaves secrets out. Never set: the engine wants them. */
export const DRS_SPECIAL_SECRET_PROCESSING = 0x0040_0000;
/** Let the DC compress the reply (V2/V7): not decoded here, never set. */
export const DRS_USE_COMPRESSION = 0x1000_0000;
/** Universal group memberships for a GC: irrelevant to password data. */
export const DRS_GET_ALL_GROUP_MEMBERSHIP = 0x8000_0000;

/**
 * A full or delta replication of a writable NC with secrets: INIT_SYNC | WRIT_REP, as secretsdump
 * sends. The rest of samba-tool's set (PER_SYNC, GET_ANC, NEVER_SYNCED, GET_ALL_GROUP_MEMBERSHIP)
 * serves a DC building its own replica, and GET_ANC makes the DC resend ancestors. Whether it is full
 * or a delta is said by usnvecFrom and the up-to-dateness vector, not by flags.
 */
export const NC_REPLICATION_FLAGS = DRS_INIT_SYNC | DRS_WRIT_REP;

/** EXOP_REQ codes (MS-DRSR 4.1.10.2): ulExtendedOp. */
export const EXOP_NONE = 0;
export const EXOP_REPL_OBJ = 6;
export const EXOP_REPL_SECRETS = 7;

/** EXOP_ERR codes (MS-DRSR 4.1.10.2): ulExtendedRet; EXOP_ERR_SUCCESS when an extended operation was done. */
export const EXOP_ERR_SUCCESS = 1;
export const EXOP_ERR_UNKNOWN_OP = 2;
export const EXOP_ERR_EXCEPTION = 5;
export const EXOP_ERR_ACCESS_DENIED = 15;
export const EXOP_ERR_PARAM_ERROR = 16;

const CALL = 'IDL_DRSGetNCChanges';

/** The size of the fixed part of a DSNAME (structLen..NameLen), before StringName. */
const DSNAME_HEADER_BYTES = 4 + 4 + 16 + 28 + 4;
const NT4SID_BYTES = 28;

// ---------------------------------------------------------------------------------------------------
// Request

/**
 * A DSNAME as the referent of a pointer. It ends in a conformant array (StringName, NameLen + 1
 * WCHARs with the NUL), so the conformance count comes first, then the structure. structLen is the
 * structure's size without that count (MS-DRSR DSNameSizeFromLen; Samba's __ndr_size).
 */
function writeDsName(w: NdrWriter, name: DsName): void {
  if (name.sid.length > NT4SID_BYTES) throw new RangeError(`a DSNAME SID is at most ${NT4SID_BYTES} bytes (${name.sid.length})`);
  const chars = name.dn.length + 1;
  w.u32(chars);
  w.u32(DSNAME_HEADER_BYTES + 2 * chars);
  w.u32(name.sid.length);
  w.guid(name.guid);
  const sid = Buffer.alloc(NT4SID_BYTES);
  name.sid.copy(sid);
  w.bytes(sid);
  w.u32(name.dn.length);
  w.bytes(Buffer.from(`${name.dn}\0`, 'utf16le'));
}

function writeUsnVector(w: NdrWriter, v: UsnVector): void {
  w.u64(v.highObjUpdate).u64(v.reserved).u64(v.highPropUpdate);
}

/** UPTODATE_VECTOR_V1_EXT: conformance, then (aligned to 8: its cursors hold USNs) the structure. */
function writeUpToDateV1(w: NdrWriter, cursors: readonly UpToDateCursor[]): void {
  w.u32(cursors.length);
  w.align(8);
  w.u32(1).u32(0).u32(cursors.length).u32(0);
  for (const c of cursors) {
    w.align(8);
    w.guid(c.invocationId);
    w.u64(c.highestUsn);
  }
}

/** PARTIAL_ATTR_VECTOR_V1_EXT: conformance, dwVersion 1, dwReserved1, cAttrs, the ATTRTYPs. */
function writePartialAttrSet(w: NdrWriter, attids: readonly number[]): void {
  w.u32(attids.length).u32(1).u32(0).u32(attids.length);
  for (const a of attids) w.u32(a);
}

/** pPrefixEntry's referent: the PrefixTableEntry array {ndx, OID_t {length, elements*}}, then each prefix's bytes. */
function writePrefixEntries(w: NdrWriter, entries: readonly PrefixEntry[]): void {
  w.u32(entries.length);
  for (const e of entries) {
    w.u32(e.ndx).u32(e.prefix.length);
    w.pointer(true);
  }
  for (const e of entries) w.u32(e.prefix.length).bytes(e.prefix);
}

/**
 * The partial attribute set as ATTRTYPs (sorted: Samba's drs_utils notes Windows wants them so), and
 * the PrefixTableDest to send with them. ATTRTYPs are made against MS-DRSR's default table, so for
 * default prefixes they mean the same on every DC; then no table is sent, which both Windows (its
 * RODCs send none) and Samba accept. Samba refuses a non-empty PrefixTableDest that does not end in
 * a schemaInfo entry (dsdb_schema_pfm_from_drsuapi_pfm), which a client that is not a DC does not
 * have. Only an OID outside the default prefixes needs a table: then it holds every prefix used.
 */
export function partialAttributeSetAttids(oids: readonly string[]): { attids: number[]; prefixes: PrefixEntry[] } {
  const table = PrefixTable.withDefaults();
  const attids = [...new Set(oids.map((oid) => table.makeAttid(oid)))].sort((a, b) => a - b);
  if (table.added.length === 0) return { attids, prefixes: [] };
  const used = [...new Set(attids.map((a) => a >>> 16))].sort((a, b) => a - b);
  return { attids, prefixes: used.map((ndx) => table.entry(ndx)!) };
}

/**
 * IDL_DRSGetNCChanges request: hDrs, dwInVersion 8, the union DRS_MSG_GETCHGREQ (discriminant 8,
 * then DRS_MSG_GETCHGREQ_V8 aligned to 8), whose pointers' referents follow its scalars in member
 * order: pNC, pUpToDateVecDest, pPartialAttrSet (pPartialAttrSetEx1 is NULL), PrefixTableDest's array.
 */
export function encodeGetNcChangesRequest(handle: Buffer, q: NcChangesRequest): Buffer {
  const { attids, prefixes } = partialAttributeSetAttids(q.partialAttributeSet);
  const cursors = q.upToDate ?? [];
  // NdrWriter (src/ad/ndr) loses a write that makes it grow its buffer (the write targets the buffer
  // it had before growing, and throws): every encoder here sizes it for the whole stub up front.
  const bound = 160 + (64 + 2 * q.namingContext.dn.length) + (32 + 32 * cursors.length) + (16 + 4 * attids.length) + prefixes.reduce((n, e) => n + 20 + e.prefix.length, 4);
  const w = new NdrWriter(bound);
  w.bytes(handle); // hDrs
  w.u32(8); // dwInVersion
  w.u32(8); // the union's discriminant
  w.align(8); // V8 holds hypers: NDR aligns the arm to 8
  w.guid(q.destinationDsa); // uuidDsaObjDest
  w.guid(q.invocationIdSource); // uuidInvocIdSrc
  w.pointer(true); // pNC
  writeUsnVector(w, q.from); // usnvecFrom
  const hasUpToDate = w.pointer(cursors.length > 0); // pUpToDateVecDest
  w.u32(q.flags).u32(q.maxObjects).u32(q.maxBytes).u32(q.extendedOp ?? EXOP_NONE);
  w.u64(0n); // liFsmoInfo
  const hasPas = w.pointer(attids.length > 0); // pPartialAttrSet
  w.pointer(false); // pPartialAttrSetEx1
  w.u32(prefixes.length); // PrefixTableDest.PrefixCount
  const hasPrefixes = w.pointer(prefixes.length > 0); // PrefixTableDest.pPrefixEntry

  writeDsName(w, { guid: q.namingContext.guid ?? NULL_GUID, sid: Buffer.alloc(0), dn: q.namingContext.dn });
  if (hasUpToDate) writeUpToDateV1(w, cursors);
  if (hasPas) writePartialAttrSet(w, attids);
  if (hasPrefixes) writePrefixEntries(w, prefixes);
  return w.finish();
}

// ---------------------------------------------------------------------------------------------------
// Reply

/** A DSNAME referent (see writeDsName); everything kept is copied out of the stub. */
function readDsName(r: NdrReader): DsName {
  const chars = r.count('DSNAME StringName', 2);
  r.u32();
  const sidLen = r.u32();
  const guid = Buffer.from(r.guid());
  const sid = r.bytes(NT4SID_BYTES, 'NT4SID');
  const nameLen = r.u32();
  if (chars !== nameLen + 1) throw new NdrError(`NDR: DSNAME NameLen ${nameLen} with ${chars} characters`);
  if (sidLen > NT4SID_BYTES) throw new NdrError(`NDR: DSNAME SidLen ${sidLen}`);
  const dn = r.bytes(2 * chars, 'DSNAME StringName').toString('utf16le', 0, 2 * nameLen);
  return { guid, sid: Buffer.from(sid.subarray(0, sidLen)), dn };
}

function readUsnVector(r: NdrReader): UsnVector {
  return { highObjUpdate: r.u64(), reserved: r.u64(), highPropUpdate: r.u64() };
}

/** UPTODATE_VECTOR_V1_EXT (V1 replies) or _V2_EXT (V6: each cursor adds timeLastSyncSuccess). */
function readUpToDate(r: NdrReader, v2: boolean): UpToDateCursor[] {
  const cursorBytes = v2 ? 32 : 24;
  const n = r.count('UPTODATE_VECTOR cursors', cursorBytes);
  r.align(8);
  r.u32();
  r.u32();
  const cNumCursors = r.u32();
  r.u32();
  if (cNumCursors !== n) throw new NdrError(`NDR: cNumCursors ${cNumCursors} for ${n} cursors`);
  const cursors: UpToDateCursor[] = [];
  for (let i = 0; i < n; i++) {
    r.align(8);
    const invocationId = Buffer.from(r.guid());
    const highestUsn = r.u64();
    cursors.push(v2 ? { invocationId, highestUsn, lastSyncSuccess: r.i64() } : { invocationId, highestUsn });
  }
  return cursors;
}

/**
 * PrefixTableSrc's entries. The schemaInfo entry DCs append (21 bytes from 0xFF, MS-DRSR 5.16.4;
 * Samba gives it ndx 0, the index of 2.5.4) is no prefix and is left out.
 */
function readPrefixEntries(r: NdrReader, prefixCount: number): PrefixEntry[] {
  const n = r.count('PrefixTableEntry array', 12);
  if (n !== prefixCount) throw new NdrError(`NDR: PrefixCount ${prefixCount} for ${n} entries`);
  const heads: { ndx: number; length: number; present: boolean }[] = [];
  for (let i = 0; i < n; i++) heads.push({ ndx: r.u32(), length: r.u32(), present: r.pointer() });
  const entries: PrefixEntry[] = [];
  for (const h of heads) {
    if (!h.present) continue;
    const length = r.count('OID_t elements', 1);
    if (length !== h.length) throw new NdrError(`NDR: OID_t length ${h.length} for ${length} bytes`);
    const prefix = Buffer.from(r.bytes(length, 'OID_t elements'));
    if (prefix.length > 0 && prefix[0] !== 0xff) entries.push({ ndx: h.ndx, prefix });
  }
  return entries;
}

/** One REPLENTINFLIST's scalars: pNextEntInf, ENTINF {pName, ulFlags, ATTRBLOCK {attrCount, pAttr}}, fIsNCPrefix, pParentGuid, pMetaDataExt. */
interface EntryHead {
  readonly hasName: boolean;
  readonly attrCount: number;
  readonly hasAttrs: boolean;
  readonly isNcPrefix: boolean;
  readonly hasParent: boolean;
  readonly hasMetaData: boolean;
}

/** Resolves a reply's ATTRTYPs to OIDs once each. */
class AttidResolver {
  readonly #table: PrefixTable;
  readonly #cache = new Map<number, string | null>();

  constructor(table: PrefixTable) {
    this.#table = table;
  }

  /** The OID; null for an msDS-IntId ATTRTYP (no prefix-table value: MS-ADTS 3.1.1.2.6, never one the engine asks for). */
  oid(attid: number): string | null {
    let oid = this.#cache.get(attid);
    if (oid === undefined) {
      oid = attid >= ATTRTYP_PREFIX_LIMIT ? null : (this.#table.oidFromAttid(attid) ?? null);
      if (oid === null && attid < ATTRTYP_PREFIX_LIMIT) throw new NdrError(`NDR: attribute 0x${attid.toString(16)} has no prefix in the reply's prefix table`);
      this.#cache.set(attid, oid);
    }
    return oid;
  }
}

/**
 * pAttr's referent: the ATTR array {attrTyp, ATTRVALBLOCK {valCount, pAVal}}, then for each ATTR its
 * ATTRVAL array {valLen, pVal}, each followed by that array's value bytes.
 */
function readAttributes(r: NdrReader, attrCount: number, resolver: AttidResolver): Map<string, Buffer[]> {
  const n = r.count('ATTR array', 12);
  if (n !== attrCount) throw new NdrError(`NDR: attrCount ${attrCount} for ${n} attributes`);
  const heads: { attid: number; valCount: number; hasValues: boolean }[] = [];
  for (let i = 0; i < n; i++) heads.push({ attid: r.u32(), valCount: r.u32(), hasValues: r.pointer() });
  const attributes = new Map<string, Buffer[]>();
  for (const h of heads) {
    const values: Buffer[] = [];
    if (h.hasValues) {
      const m = r.count('ATTRVAL array', 8);
      if (m !== h.valCount) throw new NdrError(`NDR: valCount ${h.valCount} for ${m} values`);
      const lengths: { valLen: number; present: boolean }[] = [];
      for (let j = 0; j < m; j++) lengths.push({ valLen: r.u32(), present: r.pointer() });
      for (const l of lengths) {
        if (!l.present) {
          values.push(Buffer.alloc(0));
          continue;
        }
        const length = r.count('ATTRVAL bytes', 1);
        if (length !== l.valLen) throw new NdrError(`NDR: valLen ${l.valLen} for ${length} bytes`);
        values.push(Buffer.from(r.bytes(length, 'ATTRVAL bytes')));
      }
    } else if (h.valCount !== 0) {
      throw new NdrError(`NDR: ${h.valCount} values and no array`);
    }
    const oid = resolver.oid(h.attid);
    if (oid === null) continue;
    const known = attributes.get(oid);
    if (known === undefined) attributes.set(oid, values);
    else known.push(...values);
  }
  return attributes;
}

/** PROPERTY_META_DATA_EXT_VECTOR: conformance, cNumProps, then 40-byte entries aligned to 8. Not kept. */
function skipMetaData(r: NdrReader): void {
  const n = r.count('PROPERTY_META_DATA_EXT array', 40);
  r.align(8);
  const cNumProps = r.u32();
  if (cNumProps !== n) throw new NdrError(`NDR: cNumProps ${cNumProps} for ${n} entries`);
  r.align(8);
  r.bytes(40 * n, 'PROPERTY_META_DATA_EXT array');
}

/**
 * pObjects' referent, a linked list. NDR defers each entry's pointers depth-first in member order,
 * and pNextEntInf comes first: entry 1's scalars, entry 2's scalars, ..., entry N's scalars, then
 * entry N's DSNAME/attributes/parent/metadata, entry N-1's, ..., entry 1's. So the decoder reads the
 * chain of heads, then the deferred parts in reverse, iteratively: one recursion per object would
 * overflow the stack on the thousands of objects of one reply.
 */
function readObjects(r: NdrReader, resolver: AttidResolver): ReplicaObject[] {
  const heads: EntryHead[] = [];
  for (let more = true; more; ) {
    more = r.pointer();
    const hasName = r.pointer();
    r.u32();
    const attrCount = r.u32();
    const hasAttrs = r.pointer();
    const isNcPrefix = r.u32() !== 0;
    const hasParent = r.pointer();
    const hasMetaData = r.pointer();
    heads.push({ hasName, attrCount, hasAttrs, isNcPrefix, hasParent, hasMetaData });
  }
  const objects = new Array<ReplicaObject>(heads.length);
  for (let i = heads.length - 1; i >= 0; i--) {
    const h = heads[i]!;
    if (!h.hasName) throw new NdrError(`NDR: replicated object ${i} has no name`);
    const name = readDsName(r);
    let attributes: Map<string, Buffer[]>;
    if (h.hasAttrs) attributes = readAttributes(r, h.attrCount, resolver);
    else if (h.attrCount === 0) attributes = new Map();
    else throw new NdrError(`NDR: ${h.attrCount} attributes and no array`);
    const parentGuid = h.hasParent ? Buffer.from(r.guid()) : undefined;
    if (h.hasMetaData) skipMetaData(r);
    objects[i] = parentGuid === undefined ? { name, attributes, isNcPrefix: h.isNcPrefix } : { name, attributes, isNcPrefix: h.isNcPrefix, parentGuid };
  }
  return objects;
}

/**
 * rgValues' referent (linked values; the engine reads none): REPLVALINF_V1 elements, 72 bytes aligned
 * to 8 — pObject, attrTyp, ATTRVAL {valLen, pVal}, fIsPresent, then (aligned) VALUE_META_DATA_EXT_V1
 * {timeCreated, PROPERTY_META_DATA_EXT} — then each element's DSNAME and value bytes.
 */
function skipValues(r: NdrReader, valueCount: number): void {
  const n = r.count('REPLVALINF array', 72);
  if (n !== valueCount) throw new NdrError(`NDR: cNumValues ${valueCount} for ${n} values`);
  // Each element aligns itself: an empty array has no padding after its count (Samba sends the
  // pointer to an empty array, and the call's result follows at 4-byte alignment).
  const heads: { hasObject: boolean; valLen: number; hasValue: boolean }[] = [];
  for (let i = 0; i < n; i++) {
    r.align(8);
    const hasObject = r.pointer();
    r.u32();
    const valLen = r.u32();
    const hasValue = r.pointer();
    r.u32();
    r.align(8);
    r.bytes(48, 'REPLVALINF meta data');
    heads.push({ hasObject, valLen, hasValue });
  }
  for (const h of heads) {
    if (h.hasObject) readDsName(r);
    if (h.hasValue) {
      const length = r.count('REPLVALINF value', 1);
      if (length !== h.valLen) throw new NdrError(`NDR: valLen ${h.valLen} for ${length} bytes`);
      r.bytes(length, 'REPLVALINF value');
    }
  }
}

/** DRS_MSG_GETCHGREPLY_V1 or _V6, after the discriminant. */
function readReply(r: NdrReader, level: 1 | 6): NcChangesReply {
  r.align(8);
  const sourceDsa = Buffer.from(r.guid());
  const sourceInvocationId = Buffer.from(r.guid());
  const hasNc = r.pointer();
  const from = readUsnVector(r);
  const to = readUsnVector(r);
  const hasUpToDate = r.pointer();
  const prefixCount = r.u32();
  const hasPrefixes = r.pointer();
  const extendedResult = r.u32();
  const objectCount = r.u32();
  const byteCount = r.u32();
  const hasObjects = r.pointer();
  const moreData = r.u32() !== 0;
  let valueCount = 0;
  let hasValues = false;
  let drsError = 0;
  if (level === 6) {
    r.u32();
    r.u32();
    valueCount = r.u32();
    hasValues = r.pointer();
    drsError = r.u32();
  }
  // The deferred referents, in member order.
  if (hasNc) readDsName(r);
  const upToDate = hasUpToDate ? readUpToDate(r, level === 6) : [];
  if (!hasPrefixes && prefixCount !== 0) throw new NdrError(`NDR: PrefixCount ${prefixCount} and no entries`);
  const replyPrefixes = hasPrefixes ? readPrefixEntries(r, prefixCount) : [];
  // The DC's table wins; MS-DRSR's defaults fill an index it left out (every DC's table starts with them).
  const table = new PrefixTable([...replyPrefixes, ...DEFAULT_PREFIX_ENTRIES]);
  const objects = hasObjects ? readObjects(r, new AttidResolver(table)) : [];
  if (hasValues) skipValues(r, valueCount);
  else if (valueCount !== 0) throw new NdrError(`NDR: cNumValues ${valueCount} and no array`);
  return {
    level,
    sourceDsa,
    sourceInvocationId,
    from,
    to,
    upToDate,
    moreData,
    objectCount,
    byteCount,
    drsError,
    extendedResult,
    valueCount,
    objects,
    oidOf: (attrtyp) => table.oidFromAttid(attrtyp),
  };
}

/**
 * IDL_DRSGetNCChanges reply: pdwOutVersion, then DRS_MSG_GETCHGREPLY (discriminant, arm), then the
 * ULONG result. Levels 1 and 6 are decoded; 2 and 7 are compressed (never asked for); a non-zero
 * dwDRSError is the DC's verdict on the whole request.
 */
export function decodeGetNcChangesReply(stub: Buffer): NcChangesReply {
  const reply = decodeReply(CALL, stub, (r) => {
    const level = r.u32();
    const tag = r.u32();
    if (tag !== level) throw new NdrError(`NDR: reply version ${level} with union arm ${tag}`);
    if (level === 1 || level === 6) return readReply(r, level);
    const what = level === 2 || level === 7 ? 'a compressed reply, which was not asked for' : 'a reply version this client does not know';
    throw new FatalError('DRS_UNSUPPORTED_REPLY', `${CALL}: the DC answered with version ${level}, ${what}`);
  });
  if (reply.drsError !== 0) throw new DrsError(CALL, reply.drsError);
  return reply;
}

import { FatalError } from '../../errors.ts';
import { NdrError } from '../ndr/ndr-error.ts';
import type { NdrReader } from '../ndr/ndr-reader.ts';
import { NdrWriter } from '../ndr/ndr-writer.ts';
import { decodeReply } from './drs-errors.ts';
import type { DomainControllerInfo } from './drs-types.ts';

export const OPNUM_DRS_DOMAIN_CONTROLLER_INFO = 16;

/** InfoLevel 2: DS_DOMAIN_CONTROLLER_INFO_2W, the first level that carries the NTDS DSA GUID. */
export const DC_INFO_LEVEL_2 = 2;

/** Seven [string] pointers, fIsPdc, fDsEnabled, fIsGc, four GUIDs: one element's scalars. */
const INFO_2W_SCALAR_BYTES = 7 * 4 + 3 * 4 + 4 * 16;

/**
 * IDL_DRSDomainControllerInfo request: hDrs, dwInVersion 1, then the union DRS_MSG_DCINFOREQ with its
 * discriminant (1) and DRS_MSG_DCINFOREQ_V1 {[string] WCHAR* Domain; DWORD InfoLevel}; the Domain
 * string is the deferred referent after the structure.
 */
export function encodeDcInfoRequest(handle: Buffer, domain: string, infoLevel = DC_INFO_LEVEL_2): Buffer {
  // Sized up front: NdrWriter must not grow mid-write (see the note in drs-get-nc-changes.ts).
  const w = new NdrWriter(64 + 2 * domain.length);
  w.bytes(handle);
  w.u32(1).u32(1);
  w.pointer(true);
  w.u32(infoLevel);
  w.wideString(domain);
  return w.finish();
}

function readInfo2(r: NdrReader): DomainControllerInfo[] {
  const cItems = r.u32();
  if (!r.pointer()) {
    if (cItems !== 0) throw new NdrError(`NDR: ${cItems} domain controllers and no array`);
    return [];
  }
  const n = r.count('DS_DOMAIN_CONTROLLER_INFO_2W array', INFO_2W_SCALAR_BYTES);
  if (n !== cItems) throw new NdrError(`NDR: cItems ${cItems} for an array of ${n}`);
  // Every element's scalars first; the strings they point to follow, element by element, in order.
  const scalars: { strings: boolean[]; isPdc: boolean; isEnabled: boolean; isGc: boolean; guids: Buffer[] }[] = [];
  for (let i = 0; i < n; i++) {
    const strings: boolean[] = [];
    for (let s = 0; s < 7; s++) strings.push(r.pointer());
    const isPdc = r.u32() !== 0;
    const isEnabled = r.u32() !== 0;
    const isGc = r.u32() !== 0;
    const guids = [Buffer.from(r.guid()), Buffer.from(r.guid()), Buffer.from(r.guid()), Buffer.from(r.guid())];
    scalars.push({ strings, isPdc, isEnabled, isGc, guids });
  }
  return scalars.map((e) => {
    const text = e.strings.map((present) => (present ? r.wideString('DC info string') : ''));
    return {
      netbiosName: text[0]!,
      dnsHostName: text[1]!,
      siteName: text[2]!,
      siteObjectName: text[3]!,
      computerObjectName: text[4]!,
      serverObjectName: text[5]!,
      ntdsDsaObjectName: text[6]!,
      isPdc: e.isPdc,
      isEnabled: e.isEnabled,
      isGc: e.isGc,
      siteObjectGuid: e.guids[0]!,
      computerObjectGuid: e.guids[1]!,
      serverObjectGuid: e.guids[2]!,
      ntdsDsaObjectGuid: e.guids[3]!,
    };
  });
}

/** IDL_DRSDomainControllerInfo reply: pdwOutVersion, then DRS_MSG_DCINFOREPLY (discriminant, V2). */
export function decodeDcInfoReply(stub: Buffer): DomainControllerInfo[] {
  return decodeReply('IDL_DRSDomainControllerInfo', stub, (r) => {
    const level = r.u32();
    const tag = r.u32();
    if (tag !== level) throw new NdrError(`NDR: reply version ${level} with union arm ${tag}`);
    if (level !== DC_INFO_LEVEL_2) throw new FatalError('DRS_UNSUPPORTED_REPLY', `IDL_DRSDomainControllerInfo: the DC answered InfoLevel ${level}, not the ${DC_INFO_LEVEL_2} asked for`);
    return readInfo2(r);
  });
}

import { FatalError } from '../../errors.ts';
import { NdrError } from '../ndr/ndr-error.ts';
import { NdrWriter } from '../ndr/ndr-writer.ts';
import { decodeReply } from './drs-errors.ts';

export const OPNUM_DRS_CRACK_NAMES = 12;

/** DS_NAME_FORMAT (MS-DRSR 4.1.4.1.3). */
export const DS_UNKNOWN_NAME = 0;
export const DS_FQDN_1779_NAME = 1;
export const DS_NT4_ACCOUNT_NAME = 2;
export const DS_DISPLAY_NAME = 3;
export const DS_UNIQUE_ID_NAME = 6;
export const DS_CANONICAL_NAME = 7;
export const DS_USER_PRINCIPAL_NAME = 8;
export const DS_CANONICAL_NAME_EX = 9;
export const DS_SERVICE_PRINCIPAL_NAME = 10;
export const DS_SID_OR_SID_HISTORY_NAME = 11;
export const DS_DNS_DOMAIN_NAME = 12;

/** DS_NAME_ERROR, the per-name status of a DS_NAME_RESULT_ITEMW. */
export const DS_NAME_NO_ERROR = 0;
export const DS_NAME_ERROR_RESOLVING = 1;
export const DS_NAME_ERROR_NOT_FOUND = 2;
export const DS_NAME_ERROR_NOT_UNIQUE = 3;
export const DS_NAME_ERROR_NO_MAPPING = 4;
export const DS_NAME_ERROR_DOMAIN_ONLY = 5;
export const DS_NAME_ERROR_NO_SYNTACTICAL_MAPPING = 6;
export const DS_NAME_ERROR_TRUST_REFERRAL = 7;

export interface CrackedName {
  readonly status: number;
  /** The DNS name of the domain the name is in ('' when the DC sent none). */
  readonly domain: string;
  /** The name in the desired format ('' when the DC sent none). */
  readonly name: string;
}

/**
 * IDL_DRSCrackNames request: hDrs, dwInVersion 1, the union discriminant 1, DRS_MSG_CRACKREQ_V1
 * {CodePage, LocaleId, dwFlags, formatOffered, formatDesired, cNames, [string] WCHAR** rpNames}.
 * rpNames' referent is a conformant array of string pointers, whose strings follow it in order.
 * CodePage and LocaleId 0, as impacket sends them: the DC then uses its defaults.
 */
export function encodeCrackNamesRequest(handle: Buffer, names: readonly string[], formatOffered: number, formatDesired: number, flags = 0): Buffer {
  // Sized up front: NdrWriter must not grow mid-write (see the note in drs-get-nc-changes.ts).
  const w = new NdrWriter(64 + names.reduce((n, name) => n + 24 + 2 * name.length, 0));
  w.bytes(handle);
  w.u32(1).u32(1);
  w.u32(0).u32(0).u32(flags).u32(formatOffered).u32(formatDesired).u32(names.length);
  w.pointer(true);
  w.u32(names.length);
  for (let i = 0; i < names.length; i++) w.pointer(true);
  for (const name of names) w.wideString(name);
  return w.finish();
}

/**
 * IDL_DRSCrackNames reply: pdwOutVersion, DRS_MSG_CRACKREPLY (discriminant 1, V1 {DS_NAME_RESULTW*
 * pResult}); the result {cItems, rItems*}, the items {status, [string] pDomain, [string] pName}, then
 * each item's two strings.
 */
export function decodeCrackNamesReply(stub: Buffer): CrackedName[] {
  return decodeReply('IDL_DRSCrackNames', stub, (r) => {
    const level = r.u32();
    const tag = r.u32();
    if (tag !== level) throw new NdrError(`NDR: reply version ${level} with union arm ${tag}`);
    if (level !== 1) throw new FatalError('DRS_UNSUPPORTED_REPLY', `IDL_DRSCrackNames: the DC answered version ${level}, not 1`);
    // No result: a failed call (the result that follows says why) or an empty answer.
    if (!r.pointer()) return [];
    const cItems = r.u32();
    if (!r.pointer()) {
      if (cItems !== 0) throw new NdrError(`NDR: ${cItems} cracked names and no array`);
      return [];
    }
    const n = r.count('DS_NAME_RESULT_ITEMW array', 12);
    if (n !== cItems) throw new NdrError(`NDR: cItems ${cItems} for an array of ${n}`);
    const items: { status: number; hasDomain: boolean; hasName: boolean }[] = [];
    for (let i = 0; i < n; i++) items.push({ status: r.u32(), hasDomain: r.pointer(), hasName: r.pointer() });
    return items.map((item) => ({
      status: item.status,
      domain: item.hasDomain ? r.wideString('pDomain') : '',
      name: item.hasName ? r.wideString('pName') : '',
    }));
  });
}

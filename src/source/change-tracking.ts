import { createHash } from 'node:crypto';
import type { SourceConfig } from '../config/config-types.ts';

/**
 * How a directory tells what changed since the last cycle. OpenLDAP stamps every change with an
 * entryCSN (microseconds), 389-ds/FreeIPA with modifyTimestamp (seconds), Active Directory with
 * uSNChanged, to be compared with the highestCommittedUSN the RootDSE reports at the start of a cycle.
 */
export type ChangeMarker = 'entrycsn' | 'modifytimestamp' | 'usnchanged';

const MARKER_BY_PRESET: Readonly<Record<string, ChangeMarker>> = { 'openldap-samba': 'entrycsn', freeipa: 'modifytimestamp', ad: 'usnchanged' };

export function changeMarkerFor(preset: string): ChangeMarker {
  return MARKER_BY_PRESET[preset] ?? 'modifytimestamp';
}

/**
 * Time-based markers are read from a moment before the last cycle began: clocks of the engine and
 * the server disagree a little, and a change committed while the last cycle ran must not fall between
 * two cycles. Entries read twice cost a fingerprint comparison, not a hash.
 */
export const TIME_MARKER_OVERLAP_MS = 5 * 60_000;

function generalizedTime(ms: number): string {
  return new Date(ms).toISOString().replace(/[-:T]/g, '').replace(/\.\d{3}Z$/, '');
}

/**
 * The LDAP filter clause that selects entries changed since `watermark` (as saved by
 * `nextWatermark`). Values are produced here, never taken from users, so no escaping is needed.
 */
export function changedSinceClause(marker: ChangeMarker, watermark: string): string {
  if (marker === 'usnchanged') return `(uSNChanged>=${BigInt(watermark) + 1n})`;
  const since = generalizedTime(Date.parse(watermark));
  return marker === 'entrycsn' ? `(entryCSN>=${since}.000000Z#000000#000#000000)` : `(modifyTimestamp>=${since}Z)`;
}

/**
 * The watermark to save once a cycle that began at `startedAt` succeeds: a time with the overlap
 * taken off, or the server's highestCommittedUSN read at the start of the cycle.
 */
export function nextWatermark(marker: ChangeMarker, startedAt: number, highestCommittedUsn: string | undefined): string {
  if (marker === 'usnchanged') {
    if (highestCommittedUsn === undefined || !/^\d+$/.test(highestCommittedUsn)) throw new RangeError('an Active Directory cycle needs the highestCommittedUSN read at its start');
    return highestCommittedUsn;
  }
  return new Date(startedAt - TIME_MARKER_OVERLAP_MS).toISOString();
}

/**
 * What decides which users are in scope: when it changes (a new base DN, filter, mapping…), the
 * next cycle is a full sync by itself. Names and credentials (bind DN, password source) do not count.
 */
export function scopeHash(config: SourceConfig): string {
  const scope = config.kind === 'ldap'
    ? { kind: config.kind, url: config.url, baseDns: config.baseDns, filter: config.filter ?? null, memberOf: config.memberOf, excludeOus: config.excludeOus, mapping: config.mapping, hashesFile: config.hashesFile ?? null }
    : config.kind === 'ad'
      ? { kind: config.kind, host: config.host, baseDns: config.baseDns, excludeOus: config.excludeOus, mapping: config.mapping }
      : { kind: config.kind, path: config.path, excludeOus: config.excludeOus, mapping: config.mapping, hashesFile: config.hashesFile ?? null };
  return createHash('sha256').update(JSON.stringify(scope)).digest('hex').slice(0, 32);
}

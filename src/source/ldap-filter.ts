import type { AttributeMapping } from './attribute-mapping.ts';

/*
 * LDAP filters (RFC 4515) and DN comparison for the sources: the filter a source searches with, a
 * syntax check for filters from a config file, and the client-side OU exclusion.
 */

/**
 * What is wrong with an LDAP filter (RFC 4515), or undefined: in parentheses, balanced, and every
 * backslash followed by two hex digits. A syntax check only; the server has the last word.
 */
export function filterProblem(filter: string): string | undefined {
  const f = filter.trim();
  if (!f.startsWith('(') || !f.endsWith(')')) return 'an LDAP filter in parentheses, such as (department=Sales)';
  let depth = 0;
  for (let i = 0; i < f.length; i++) {
    const c = f[i];
    if (c === '\\') {
      if (!/^[0-9a-fA-F]{2}$/.test(f.slice(i + 1, i + 3))) return 'an LDAP filter whose backslashes escape two hex digits (\\28 for "(", \\2a for "*")';
      i += 2;
    } else if (c === '(') depth++;
    else if (c === ')') {
      depth--;
      if (depth === 0 && i !== f.length - 1) return 'one LDAP filter: wrap several in (&...) or (|...)';
      if (depth < 0) return 'an LDAP filter with balanced parentheses';
    } else if (c === '\0') return 'an LDAP filter without NUL characters';
  }
  return depth === 0 ? undefined : 'an LDAP filter with balanced parentheses';
}

/** RFC 4515 escaping of an assertion value: \ * ( ) and NUL as \5c \2a \28 \29 \00. */
export function escapeFilterValue(value: string): string {
  return value.replace(/[\\*()\0]/g, (c) => `\\${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The LDAP filter a source searches with: the mapping's (preset's) filter AND the configured filter AND
 * (memberOf any of the groups), the group DNs escaped per RFC 4515. memberOf is direct membership
 * (AD: for nested groups put `(memberOf:1.2.840.113556.1.4.1941:=DN)` in the filter instead).
 */
export function ldapFilterFor(source: {
  readonly mapping: Pick<AttributeMapping, 'filter'>;
  readonly filter?: string | undefined;
  readonly memberOf?: readonly string[] | undefined;
}): string {
  const parts = [source.mapping.filter.trim()];
  if (source.filter !== undefined && source.filter.trim() !== '') parts.push(source.filter.trim());
  const groups = (source.memberOf ?? []).map((dn) => `(memberOf=${escapeFilterValue(dn.trim())})`);
  if (groups.length === 1) parts.push(groups[0]!);
  else if (groups.length > 1) parts.push(`(|${groups.join('')})`);
  return parts.length === 1 ? parts[0]! : `(&${parts.join('')})`;
}

/** A DN for comparison: lowercase, no spaces around the commas between RDNs (an escaped "\ " kept). */
export function normalizeDn(dn: string): string {
  return dn.trim().toLowerCase().replace(/(?<!\\)\s*,\s*/g, ',');
}

/**
 * A test for "is this DN at or below one of these OUs", with the OUs normalised once. Compared
 * case-insensitively after normalising the spaces around commas (`normalizeDn`); escapes such as
 * \2C versus \, are not unified.
 */
export function ouExclusion(excludeOus: readonly string[]): (dn: string) => boolean {
  const suffixes = excludeOus.map(normalizeDn).filter((ou) => ou !== '');
  if (suffixes.length === 0) return () => false;
  return (dn) => {
    const d = normalizeDn(dn);
    return suffixes.some((ou) => d === ou || (d.endsWith(ou) && d[d.length - ou.length - 1] === ',' && d[d.length - ou.length - 2] !== '\\'));
  };
}

/** Whether `dn` is an excluded OU or below one (see `ouExclusion`, which is faster for many DNs). */
export function isExcluded(dn: string, excludeOus: readonly string[]): boolean {
  return ouExclusion(excludeOus)(dn);
}

import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { LeakedStore } from '../leaked/leaked-store.ts';
import { EMPTY_PASSWORD_NT_HASH } from '../phs/nt-hash.ts';
import type { UserSource } from '../source/directory-user.ts';
import { fingerprinter } from '../state/fingerprint-key.ts';

/** A user as the audit names it: never with a hash, a fingerprint or anything derived from the password. */
export interface AuditUser {
  readonly source: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly disabled: boolean;
}

/** A password quality report over a directory, as DSInternals' Test-PasswordQuality gives one. */
export interface PasswordAudit {
  readonly sources: readonly string[];
  /** Users read with an NT hash, valid. */
  readonly users: number;
  /** Entries that are users but could not be read as one (a bad hash, no anchor…), by error code. */
  readonly invalid: Readonly<Record<string, number>>;
  /** Whose NT hash is in the leaked-hash store; undefined when no store was given. */
  readonly leaked: readonly AuditUser[] | undefined;
  /** Whose password is empty. */
  readonly emptyPassword: readonly AuditUser[];
  /**
   * Groups of two or more users with the same (non-empty) password, largest first. Found by a keyed
   * fingerprint whose key lives only for this audit: the report says who shares, never what.
   */
  readonly sharedPassword: readonly (readonly AuditUser[])[];
  /** Disabled accounts that still hold a (non-empty) password: enabling one makes it usable again. */
  readonly disabledWithPassword: readonly AuditUser[];
  /** "Must change password at next logon": a temporary password someone else knows. */
  readonly mustChangePassword: readonly AuditUser[];
}

/**
 * Reads every user of the sources once and classifies their passwords. The NT hashes are zeroed as
 * soon as they are looked at; what is kept per user to find shared passwords is a 16-byte keyed
 * fingerprint (the key is random and forgotten when the audit ends), in memory only.
 */
export async function auditPasswords(sources: readonly UserSource[], leakedStore?: LeakedStore): Promise<PasswordAudit> {
  const fingerprint = fingerprinter(randomBytes(32));
  const invalid: Record<string, number> = {};
  const leaked: AuditUser[] = [];
  const emptyPassword: AuditUser[] = [];
  const disabledWithPassword: AuditUser[] = [];
  const mustChangePassword: AuditUser[] = [];
  // First holder of each fingerprint; a second one turns it into a group.
  const firstHolder = new Map<string, AuditUser>();
  const groups = new Map<string, AuditUser[]>();
  let users = 0;

  for (const source of sources) {
    for await (const item of source) {
      if (item.kind === 'invalid') {
        invalid[item.invalid.error.code] = (invalid[item.invalid.error.code] ?? 0) + 1;
        continue;
      }
      const u = item.user;
      users++;
      const who: AuditUser = { source: u.source, anchor: u.anchor, userPrincipalName: u.userPrincipalName, disabled: u.disabled };
      try {
        if (leakedStore !== undefined && leakedStore.lookup(u.ntHash, 0) > 0) leaked.push(who);
        if (u.mustChangePassword) mustChangePassword.push(who);
        if (timingSafeEqual(u.ntHash, EMPTY_PASSWORD_NT_HASH)) {
          emptyPassword.push(who);
          continue;
        }
        if (u.disabled) disabledWithPassword.push(who);
        const key = fingerprint(u.ntHash).toString('latin1');
        const group = groups.get(key);
        if (group !== undefined) {
          group.push(who);
          continue;
        }
        const first = firstHolder.get(key);
        if (first === undefined) firstHolder.set(key, who);
        else groups.set(key, [first, who]);
      } finally {
        u.ntHash.fill(0);
      }
    }
  }

  const byName = (a: AuditUser, b: AuditUser): number => (a.userPrincipalName < b.userPrincipalName ? -1 : a.userPrincipalName > b.userPrincipalName ? 1 : 0);
  const sorted = (list: AuditUser[]): AuditUser[] => list.sort(byName);
  const shared = [...groups.values()].map(sorted).sort((a, b) => b.length - a.length || byName(a[0]!, b[0]!));
  return {
    sources: sources.map((s) => s.name),
    users,
    invalid,
    leaked: leakedStore === undefined ? undefined : sorted(leaked),
    emptyPassword: sorted(emptyPassword),
    sharedPassword: shared,
    disabledWithPassword: sorted(disabledWithPassword),
    mustChangePassword: sorted(mustChangePassword),
  };
}

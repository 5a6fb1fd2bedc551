import type { AnchorMapping, AttributeMapping, DisabledMapping, NtHashMapping, PasswordLastSetMapping, UserSelection } from '../source/attribute-mapping.ts';

/**
 * The config file (`--config FILE`), as loaded: validated, paths resolved against the file's
 * directory, frozen. See src/config/config-file.ts for the JSON it is read from.
 */
export interface PhsyncConfig {
  /** The config file, resolved. */
  readonly path: string;
  readonly sources: readonly SourceConfig[];
  /** `sqlite:PATH` or `ndjson:PATH` (`ndjson:-` for stdout), PATH resolved; undefined: the command line decides. */
  readonly target: string | undefined;
  /** State store path, resolved; undefined: the command line decides. */
  readonly state: string | undefined;
  /** Leaked-hash store path (`phsync leaked import`), resolved; undefined: the command line decides. */
  readonly leakedStore: string | undefined;
}

export type SourceConfig = LdapSourceConfig | LdifSourceConfig | AdSourceConfig;

interface SourceConfigBase {
  /** Unique in the file, [a-z0-9-]; anchors are unique per source, so it must not change between runs. */
  readonly name: string;
  readonly preset: string;
  /** The preset with the file's `mapping` overrides applied. */
  readonly mapping: AttributeMapping;
  /** Entries at or below these DNs are left out (client-side; see `isExcluded`). */
  readonly excludeOus: readonly string[];
  /** The hash-export file, resolved, when the mapping reads NT hashes from one (preset ad); else undefined. */
  readonly hashesFile: string | undefined;
}

/** Where the bind password comes from; never the config file itself. */
export type BindPasswordSource = { readonly from: 'file'; readonly path: string } | { readonly from: 'env'; readonly variable: string };

export interface LdapSourceConfig extends SourceConfigBase {
  readonly kind: 'ldap';
  /** ldap://host[:port] or ldaps://host[:port]. */
  readonly url: string;
  /** Searched one after the other, subtree scope. */
  readonly baseDns: readonly string[];
  /** Extra LDAP filter, ANDed with the mapping's (see `ldapFilterFor`); undefined: none. */
  readonly filter: string | undefined;
  /** Only members of one of these groups (DNs) are users; empty: no group condition. */
  readonly memberOf: readonly string[];
  /** undefined: anonymous bind. */
  readonly bindDn: string | undefined;
  /** Set exactly when bindDn is. */
  readonly bindPassword: BindPasswordSource | undefined;
  readonly startTls: boolean;
  /** CA certificate file (PEM), resolved. */
  readonly tlsCa: string | undefined;
  /** Skip certificate verification (tests only). */
  readonly tlsInsecure: boolean;
  /** Simple paged results page size. */
  readonly pageSize: number;
}

/**
 * Active Directory read by directory replication (MS-DRSR DRSGetNCChanges, src/ad/): the NT hashes
 * come from the domain controller itself, so no hash-export file is needed.
 */
export interface AdSourceConfig extends SourceConfigBase {
  readonly kind: 'ad';
  /** ad://host[:port], as given. */
  readonly url: string;
  readonly host: string;
  /** The endpoint mapper's port (135), which names the replication service's own port. */
  readonly endpointMapperPort: number;
  /** The replication account: 'DOMAIN\\name' or 'name@realm' (NTLM takes either). */
  readonly account: string;
  readonly bindPassword: BindPasswordSource;
  /** Only users at or below these DNs; empty: the whole domain. Checked here, not by the DC. */
  readonly baseDns: readonly string[];
  /** Objects asked for per replication call (DRSGetNCChanges cMaxObjects). */
  readonly objectsPerCall: number;
}

export interface LdifSourceConfig extends SourceConfigBase {
  readonly kind: 'ldif';
  /** The LDIF file, resolved. */
  readonly path: string;
}

/**
 * Field-by-field replacements for a preset's mapping (`mergeMapping`). A field given replaces the
 * preset's field whole; `null` for `disabled` or `passwordLastSet` means "not mapped".
 */
export interface MappingOverrides {
  readonly anchor?: AnchorMapping;
  readonly userPrincipalName?: readonly string[];
  readonly ntHash?: NtHashMapping;
  readonly disabled?: DisabledMapping | null;
  readonly passwordLastSet?: PasswordLastSetMapping | null;
  readonly isUser?: UserSelection;
  readonly filter?: string;
}

import type { UserDataError } from '../errors.ts';

/**
 * The engine's user record: everything that travels from a source to the pipeline, nothing else.
 * `ntHash` is the secret; it is zeroed by the pipeline once it has been copied into a hash batch.
 */
export interface DirectoryUser {
  /** Name of the source (forest, domain, file) the user came from; anchors are unique per source. */
  readonly source: string;
  /** Stable id in the source (entryUUID, objectGUID…): the key at the target. */
  readonly anchor: string;
  readonly userPrincipalName: string;
  /** 16 bytes. */
  readonly ntHash: Uint8Array;
  readonly disabled: boolean;
  readonly mustChangePassword: boolean;
  /** When the password was last set, ms since the epoch, when the source says so. */
  readonly passwordChangedAt: number | undefined;
  /** The entry's distinguished name: the same entry read twice (a reconnect, overlapping bases) is not a duplicate. */
  readonly dn: string;
  /** Where the entry was read (distinguished name, line in a file): for error messages only. */
  readonly origin: string;
}

/** A directory entry that is a user but cannot be synced as read (bad hash, no anchor…). */
export interface InvalidUser {
  readonly source: string;
  readonly anchor: string | undefined;
  readonly userPrincipalName: string | undefined;
  readonly origin: string;
  readonly error: UserDataError;
}

export type SourceItem =
  | { readonly kind: 'user'; readonly user: DirectoryUser }
  | { readonly kind: 'invalid'; readonly invalid: InvalidUser };

/** A source is a pull-based stream of users: nothing is read before the pipeline asks for it. */
export interface UserSource extends AsyncIterable<SourceItem> {
  readonly name: string;
  /** Where it reads from, for people: "ldif:/path/to/dump.ldif". */
  readonly location: string;
  /** Entries read that are not users (no NT hash attribute): passed over, counted. */
  readonly entriesPassedOver: number;
}

import { resolve } from 'node:path';
import type { AttributeMapping } from './attribute-mapping.ts';
import type { SourceItem, UserSource } from './directory-user.ts';
import { readLdifFile } from './ldif-reader.ts';
import { mapEntry } from './map-entry.ts';
import type { HashLookup } from './map-entry.ts';
import { UserDataError } from '../errors.ts';

/**
 * Users from an LDIF file (slapcat, ldifde), streamed: one record in memory at a time. A broken
 * record becomes a per-user error with its line number and the rest of the file goes on.
 */
export class LdifSource implements UserSource {
  readonly name: string;
  readonly path: string;
  readonly location: string;
  readonly #mapping: AttributeMapping;
  readonly #signal: AbortSignal | undefined;
  readonly #hashes: HashLookup | undefined;
  readonly #isExcluded: ((dn: string) => boolean) | undefined;
  #passedOver = 0;

  constructor(options: {
    readonly path: string;
    readonly name: string;
    readonly mapping: AttributeMapping;
    /** NT hashes by account name, when the mapping takes them from a hash-export file (ldifde dumps of AD). */
    readonly hashes?: HashLookup;
    /** Entries under these OUs are out of scope. */
    readonly isExcluded?: (dn: string) => boolean;
    readonly signal?: AbortSignal;
  }) {
    this.#hashes = options.hashes;
    this.#isExcluded = options.isExcluded;
    this.path = options.path;
    this.location = `ldif:${resolve(options.path)}`;
    this.name = options.name;
    this.#mapping = options.mapping;
    this.#signal = options.signal;
  }

  get entriesPassedOver(): number {
    return this.#passedOver;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceItem> {
    const records = readLdifFile(this.path, this.#signal === undefined ? {} : { signal: this.#signal });
    for await (const record of records) {
      if (record.kind === 'error') {
        const error = new UserDataError(record.error.code, `${this.path}: ${record.error.message}`, { cause: record.error });
        yield { kind: 'invalid', invalid: { source: this.name, anchor: undefined, userPrincipalName: undefined, origin: `${record.dn ?? 'record'} (line ${record.error.line})`, error } };
        continue;
      }
      if (this.#isExcluded?.(record.dn) === true) {
        this.#passedOver++;
        continue;
      }
      const item = mapEntry({ dn: record.dn, origin: `line ${record.line}`, attributes: record.attributes }, this.#mapping, this.name, this.#hashes);
      if (item === undefined) this.#passedOver++;
      else yield item;
    }
  }
}

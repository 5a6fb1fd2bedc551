import { FatalError } from '../errors.ts';
import { publish } from '../observe/engine-events.ts';
import type { AttributeMapping } from '../source/attribute-mapping.ts';
import { requestedAttributes } from '../source/attribute-mapping.ts';
import type { SourceItem, UserSource } from '../source/directory-user.ts';
import type { RetryPolicy } from '../util/retry-policy.ts';
import { waitBeforeRetryUnlessStopped } from '../util/retry-policy.ts';
import { openDcSession } from './dc-session.ts';
import type { DcSession } from './dc-session.ts';
import { ALWAYS_REPLICATED, ATTRIBUTE_BY_NAME } from './replicated-attributes.ts';
import { isTombstone, replicatedItem } from './replicated-entry.ts';
import type { ReplicatedObject } from './replicated-entry.ts';
import type { NcChangesReply } from './drs/drs-types.ts';
import { DrsError } from './drs/drs-errors.ts';
import { ZERO_USN_VECTOR, formatCursor } from './replication-cursor.ts';
import type { ReplicationCursor, UpToDateCursor, UsnVector } from './replication-cursor.ts';
import { explainDrsError, isTransientRpcError } from './replication-errors.ts';
import { REPLICATION_FLAGS, SINGLE_OBJECT_FLAGS, EXOP_REPL_OBJ } from './replication-request.ts';

export interface AdSourceOptions {
  readonly name: string;
  readonly mapping: AttributeMapping;
  /** ad://host, for messages. */
  readonly url: string;
  readonly host: string;
  readonly endpointMapperPort: number;
  readonly account: string;
  readonly password: string;
  /** Only users at or below these DNs (empty: all). */
  readonly isIncluded?: (dn: string) => boolean;
  readonly isExcluded?: (dn: string) => boolean;
  readonly objectsPerCall: number;
  readonly bytesPerCall: number;
  readonly connectTimeoutMs: number;
  readonly callTimeoutMs: number;
  readonly retry: RetryPolicy;
  readonly signal?: AbortSignal;
  /** A delta cycle: where the last one got to. Undefined: replicate the domain from the start. */
  readonly startCursor?: ReplicationCursor;
  readonly onNotice?: (message: string) => void;
}

type OidOf = (attrtyp: number) => string | undefined;

/** ERROR_DS_OBJ_NOT_FOUND, ERROR_DS_DRA_BAD_DN, ERROR_DS_CANT_FIND_EXPECTED_NC: the object is not there. */
const OBJECT_GONE: ReadonlySet<number> = new Set([8333, 8439, 8536]);

const IS_DELETED_OID = ATTRIBUTE_BY_NAME.get('isdeleted')!.oid;

/** The default cap on one reply's size; the DC may go a little over for one object. */
export const DEFAULT_BYTES_PER_CALL = 8 * 1024 * 1024;

/** The OIDs to ask for: what the mapping reads, and what replication itself needs. */
export function partialAttributeSet(mapping: AttributeMapping): string[] {
  const names = new Set<string>([...requestedAttributes(mapping), ...ALWAYS_REPLICATED]);
  const oids: string[] = [];
  for (const name of names) {
    const attribute = ATTRIBUTE_BY_NAME.get(name);
    if (attribute === undefined) throw new FatalError('MAPPING_INVALID', `the mapping reads ${name}, which an ad:// source does not replicate; known: ${[...ATTRIBUTE_BY_NAME.keys()].join(', ')}`);
    oids.push(attribute.oid);
  }
  return oids;
}

/**
 * Users of an Active Directory domain read by directory replication, the way a DC reads another's
 * changes: IDL_DRSGetNCChanges on the domain naming context in chunks of `objectsPerCall` objects,
 * each chunk asked for while the previous one is mapped, so the source holds two chunks at most
 * however large the domain. A full cycle replicates the domain from USN 0; a delta cycle sends the
 * saved cursor back and gets what changed since. A change replicates only the attributes that
 * changed, so each changed object is then read whole with a single-object replication
 * (EXOP_REPL_OBJ): a password change then arrives with the user's name and flags. After a run read
 * to the end, `cursorAfterRun` is where the next delta starts.
 */
export class AdSource implements UserSource {
  readonly name: string;
  readonly location: string;
  readonly #o: AdSourceOptions;
  readonly #attributes: string[];
  #passedOver = 0;
  #cursorAfter: ReplicationCursor | undefined;
  #reconnects = 0;

  constructor(options: AdSourceOptions) {
    this.#o = options;
    this.name = options.name;
    this.location = options.url;
    this.#attributes = partialAttributeSet(options.mapping);
  }

  get entriesPassedOver(): number {
    return this.#passedOver;
  }

  get reconnects(): number {
    return this.#reconnects;
  }

  /** The cursor to save once the pipeline has read this source to the end; undefined before. */
  cursorAfterRun(): string | undefined {
    return this.#cursorAfter === undefined ? undefined : formatCursor(this.#cursorAfter);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<SourceItem> {
    const o = this.#o;
    const delta = o.startCursor !== undefined;
    // Where the chunk being read began: a reconnect asks again from there. (Samba keeps a cycle's
    // state per connection, so on a new one it replicates the cycle from its start.) Either way the
    // pipeline passes over the users it already has, at the cost of a read, not a hash.
    let from: UsnVector = o.startCursor?.from ?? ZERO_USN_VECTOR;
    const upToDate: readonly UpToDateCursor[] = o.startCursor?.upToDate ?? [];
    // All zero: "whichever you are" (the first call of a full sync sends USN 0 anyway).
    let invocationId: Buffer = o.startCursor?.invocationId ?? Buffer.alloc(16);
    let retry = 0;
    for (;;) {
      let session: DcSession | undefined;
      try {
        session = await this.#open();
        let next: Promise<NcChangesReply> | undefined;
        for (;;) {
          const reply = await (next ?? this.#chunk(session, from, upToDate, invocationId));
          next = undefined;
          // USNs count per DC and per database: the DC names the invocation its USNs belong to, and
          // ignores a USN vector sent with another one (another DC, or this one after a restore),
          // replicating from the start filtered by the up-to-dateness vector instead.
          invocationId = reply.sourceInvocationId;
          retry = 0;
          // A full sync asks for the next chunk now: the DC prepares it while this one is mapped. (A
          // delta reads changed objects one by one on this connection first, so it asks afterwards.)
          if (reply.moreData && !delta) {
            next = this.#chunk(session, reply.to, upToDate, invocationId);
            // Settled here if the pipeline stops early; awaited above otherwise.
            next.catch(() => undefined);
          }
          const objects = delta ? await this.#wholeObjects(session, reply.objects, reply.oidOf) : reply.objects.map((object) => ({ object, oidOf: reply.oidOf }));
          for (const { object, oidOf } of objects) {
            const item = this.#item(object, session, oidOf);
            if (item !== undefined) yield item;
          }
          if (o.signal?.aborted === true) return;
          if (!reply.moreData) {
            this.#cursorAfter = { invocationId: Buffer.from(reply.sourceInvocationId), from: reply.to, upToDate: reply.upToDate.map((c) => ({ invocationId: Buffer.from(c.invocationId), highestUsn: c.highestUsn })) };
            return;
          }
          from = reply.to;
        }
      } catch (err) {
        if (o.signal?.aborted === true && isTransientRpcError(err)) return;
        if (!isTransientRpcError(err) || retry >= o.retry.maxRetries) throw explainDrsError(err, o.host, o.account);
        retry++;
        this.#reconnects++;
        const code = (err as FatalError).code;
        publish('retry', { component: 'source', name: o.name, code });
        o.onNotice?.(`${o.url}: ${(err as Error).message} [${code}]; reconnecting (attempt ${retry} of ${o.retry.maxRetries}) and replicating again from the last chunk`);
        if (!(await waitBeforeRetryUnlessStopped(o.retry, retry, o.signal))) return;
      } finally {
        await session?.close();
      }
    }
  }

  async #open(): Promise<DcSession> {
    const o = this.#o;
    return openDcSession({
      host: o.host,
      endpointMapperPort: o.endpointMapperPort,
      account: o.account,
      password: o.password,
      connectTimeoutMs: o.connectTimeoutMs,
      callTimeoutMs: o.callTimeoutMs,
      ...(o.signal === undefined ? {} : { signal: o.signal }),
    });
  }

  #chunk(session: DcSession, from: UsnVector, upToDate: readonly UpToDateCursor[], invocationId: Buffer) {
    return session.drs.getNcChanges({
      destinationDsa: session.dsaGuid,
      invocationIdSource: invocationId,
      namingContext: { dn: session.domainDn, guid: session.domainGuid },
      from,
      upToDate: [...upToDate],
      flags: REPLICATION_FLAGS,
      maxObjects: this.#o.objectsPerCall,
      maxBytes: this.#o.bytesPerCall,
      partialAttributeSet: this.#attributes,
    });
  }

  /**
   * A delta reply carries only the attributes that changed; each object that is not already whole is
   * read again alone, with all the attributes asked for. Tombstones need no second read.
   */
  async #wholeObjects(session: DcSession, objects: readonly ReplicatedObject[], oidOf: OidOf): Promise<{ object: ReplicatedObject; oidOf: OidOf }[]> {
    const whole: { object: ReplicatedObject; oidOf: OidOf }[] = [];
    for (const object of objects) {
      if (isTombstone(object) || this.#attributes.every((oid) => object.attributes.has(oid) || oid === IS_DELETED_OID)) {
        whole.push({ object, oidOf });
        continue;
      }
      let reply: NcChangesReply;
      try {
        reply = await session.drs.getNcChanges({
          destinationDsa: session.dsaGuid,
          invocationIdSource: Buffer.alloc(16),
          namingContext: { dn: object.name.dn, guid: object.name.guid },
          from: ZERO_USN_VECTOR,
          flags: SINGLE_OBJECT_FLAGS,
          maxObjects: 1,
          maxBytes: this.#o.bytesPerCall,
          extendedOp: EXOP_REPL_OBJ,
          partialAttributeSet: this.#attributes,
        });
      } catch (err) {
        // Deleted (and expunged) since the delta reply named it: a full scan settles what it was.
        if (!(err instanceof DrsError && OBJECT_GONE.has(err.win32))) throw err;
        this.#o.onNotice?.(`${this.#o.url}: ${object.name.dn} changed and is gone (${err.message}); passed over`);
        continue;
      }
      // Deleted since the delta reply named it: nothing to read.
      const found = reply.objects.find((r) => r.name.guid.equals(object.name.guid));
      if (found !== undefined) whole.push({ object: found, oidOf: reply.oidOf });
    }
    return whole;
  }

  #item(object: ReplicatedObject, session: DcSession, oidOf: OidOf): SourceItem | undefined {
    const o = this.#o;
    if (isTombstone(object) || (o.isIncluded !== undefined && !o.isIncluded(object.name.dn)) || o.isExcluded?.(object.name.dn) === true) {
      this.#passedOver++;
      return undefined;
    }
    const item = replicatedItem(object, { source: o.name, mapping: o.mapping, sessionKey: session.sessionKey, oidOf, origin: o.url });
    if (item === undefined) this.#passedOver++;
    return item;
  }
}

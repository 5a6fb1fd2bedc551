import { UserDataError } from '../errors.ts';
import type { AttributeMapping } from '../source/attribute-mapping.ts';
import type { AttributeValue, DirectoryEntry } from '../source/directory-entry.ts';
import type { SourceItem } from '../source/directory-user.ts';
import { mapEntry } from '../source/map-entry.ts';
import { ATTRIBUTE_BY_OID, CLASS_NAME_BY_OID } from './replicated-attributes.ts';
import type { ReplicatedAttribute } from './replicated-attributes.ts';
import { ntHashFromReplicatedUnicodePwd } from './secret/replicated-secret.ts';
import { ridOfSid } from './sid.ts';

/** One object as DRSGetNCChanges returns it (src/ad/drs), attributes by OID, values as on the wire. */
export interface ReplicatedObject {
  readonly name: { readonly guid: Buffer; readonly sid: Buffer; readonly dn: string };
  readonly attributes: ReadonlyMap<string, readonly Buffer[]>;
}

export interface ReplicatedEntryContext {
  readonly source: string;
  readonly mapping: AttributeMapping;
  /** The session key of the connection the object came over: the key of its secrets. */
  readonly sessionKey: Uint8Array;
  /** The reply's prefix table: an objectClass value (ATTRTYP) to its OID. */
  readonly oidOf: (attrtyp: number) => string | undefined;
  /** For messages: "ad://dc1". */
  readonly origin: string;
}

const IS_DELETED = '1.2.840.113556.1.2.48';

function textOf(attribute: ReplicatedAttribute, value: Buffer, oidOf: (attrtyp: number) => string | undefined): AttributeValue {
  switch (attribute.syntax) {
    case 'unicode':
      return value.toString('utf16le');
    case 'int32':
      if (value.length !== 4) throw new UserDataError('DRS_VALUE_INVALID', `${attribute.name} is ${value.length} bytes, not 4`);
      return String(value.readInt32LE(0));
    case 'int64':
      if (value.length !== 8) throw new UserDataError('DRS_VALUE_INVALID', `${attribute.name} is ${value.length} bytes, not 8`);
      return String(value.readBigInt64LE(0));
    case 'bool':
      if (value.length !== 4) throw new UserDataError('DRS_VALUE_INVALID', `${attribute.name} is ${value.length} bytes, not 4`);
      return value.readUInt32LE(0) === 0 ? 'FALSE' : 'TRUE';
    case 'oid': {
      if (value.length !== 4) throw new UserDataError('DRS_VALUE_INVALID', `${attribute.name} is ${value.length} bytes, not 4`);
      const oid = oidOf(value.readUInt32LE(0)) ?? `attrtyp-${value.readUInt32LE(0).toString(16)}`;
      return CLASS_NAME_BY_OID.get(oid) ?? oid;
    }
    case 'binary':
    case 'secret':
      return value;
  }
}

/** Whether the DC replicated the object as deleted (a tombstone): it is no user any more. */
export function isTombstone(object: ReplicatedObject): boolean {
  const value = object.attributes.get(IS_DELETED)?.[0];
  return value !== undefined && value.length === 4 && value.readUInt32LE(0) !== 0;
}

/**
 * The entry's attributes, with the secret decrypted only when the mapping reads it: after it has
 * decided that the object is a user with an anchor and a sign-in name. A computer's NT hash, or
 * krbtgt's (no sign-in name), is never decrypted at all. A secret that does not decrypt reads as
 * absent, and `error` says why.
 */
class AttributesWithSecret extends Map<string, AttributeValue[]> {
  #secretName: string | undefined;
  #decrypt: (() => Uint8Array) | undefined;
  #plain: Buffer | undefined;
  error: UserDataError | undefined;

  withSecret(name: string, decrypt: () => Uint8Array): void {
    this.#secretName = name;
    this.#decrypt = decrypt;
  }

  override get(key: string): AttributeValue[] | undefined {
    const decrypt = this.#decrypt;
    if (key === this.#secretName && decrypt !== undefined) {
      this.#decrypt = undefined;
      try {
        const plain = decrypt();
        // A view, not a copy: `wipe` must reach the only plaintext there is.
        this.#plain = Buffer.from(plain.buffer, plain.byteOffset, plain.length);
        super.set(key, [this.#plain]);
      } catch (err) {
        if (!(err instanceof UserDataError)) throw err;
        this.error = err;
      }
    }
    return super.get(key);
  }

  /** Zeroes the decrypted hash, once the mapping has copied it out. */
  wipe(): void {
    this.#plain?.fill(0);
  }
}

/**
 * A replicated object as the engine's user record, through the same mapping (and the same checks,
 * disabled and must-change rules) as an LDAP entry: undefined when it is not a user. The secret is
 * decrypted when the mapping reads it, with the RID from the object's SID; a secret that does not
 * decrypt is that user's named error (DRS_SECRET_*), never the run's.
 */
export function replicatedItem(object: ReplicatedObject, ctx: ReplicatedEntryContext): SourceItem | undefined {
  const attributes = new AttributesWithSecret();
  try {
    for (const [oid, values] of object.attributes) {
      const attribute = ATTRIBUTE_BY_OID.get(oid);
      if (attribute === undefined) continue;
      if (attribute.syntax === 'secret') {
        const secret = values[0];
        if (secret !== undefined) {
          attributes.withSecret(attribute.name, () => {
            const sid = object.name.sid.length > 0 ? object.name.sid : attributes.get('objectsid')?.[0];
            if (!(sid instanceof Buffer)) throw new UserDataError('DRS_SECRET_FORMAT', 'the object has a password secret but no SID to take its RID from');
            return ntHashFromReplicatedUnicodePwd(ctx.sessionKey, secret, ridOfSid(sid));
          });
        }
        continue;
      }
      attributes.set(attribute.name, values.map((v) => textOf(attribute, v, ctx.oidOf)));
    }
  } catch (err) {
    if (!(err instanceof UserDataError)) throw err;
    return invalid(object, ctx, err);
  }
  // The DSNAME always carries the GUID; the attribute may be left out of a change.
  if (!attributes.has('objectguid') && object.name.guid.length === 16) attributes.set('objectguid', [object.name.guid]);
  const entry: DirectoryEntry = { dn: object.name.dn, origin: ctx.origin, attributes };
  const item = mapEntry(entry, ctx.mapping, ctx.source);
  // mapEntry copied the hash out of the entry; the entry's copy goes now.
  attributes.wipe();
  const secretError = attributes.error;
  if (item === undefined || secretError === undefined) return item;
  if (item.kind === 'user') item.user.ntHash.fill(0);
  return invalid(object, ctx, secretError, item.kind === 'user' ? item.user : item.invalid);
}

function invalid(object: ReplicatedObject, ctx: ReplicatedEntryContext, error: UserDataError, known?: { readonly anchor: string | undefined; readonly userPrincipalName: string | undefined }): SourceItem {
  return {
    kind: 'invalid',
    invalid: {
      source: ctx.source,
      anchor: known?.anchor ?? (object.name.guid.length === 16 ? object.name.guid.toString('base64') : undefined),
      userPrincipalName: known?.userPrincipalName,
      origin: `${object.name.dn} (${ctx.origin})`,
      error,
    },
  };
}

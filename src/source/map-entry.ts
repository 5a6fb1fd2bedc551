import { UserDataError } from '../errors.ts';
import { NT_HASH_BYTES } from '../phs/credential.ts';
import type { AttributeMapping } from './attribute-mapping.ts';
import { textValue } from './directory-entry.ts';
import type { AttributeValue, DirectoryEntry } from './directory-entry.ts';
import type { SourceItem } from './directory-user.ts';

const HEX_NT_HASH = /^[0-9a-fA-F]{32}$/;
const SAMBA_FLAGS = /^\[([A-Z ]{1,16})\]$/;

function first(entry: DirectoryEntry, attribute: string): AttributeValue | undefined {
  return entry.attributes.get(attribute)?.[0];
}

function decodeNtHash(values: readonly AttributeValue[], mapping: AttributeMapping): Uint8Array {
  if (values.length !== 1) throw new UserDataError('INVALID_NT_HASH', `${mapping.ntHash} has ${values.length} values; a user has one NT hash`);
  const value = values[0]!;
  if (mapping.ntHashEncoding === 'binary') {
    if (typeof value === 'string' || value.length !== NT_HASH_BYTES) throw new UserDataError('INVALID_NT_HASH', `${mapping.ntHash} is not ${NT_HASH_BYTES} bytes`);
    return Uint8Array.from(value);
  }
  const text = textValue(value);
  // Never echo the value: it may be a real hash with one digit wrong.
  if (!HEX_NT_HASH.test(text)) throw new UserDataError('INVALID_NT_HASH', `${mapping.ntHash} is not 32 hex digits (${text.length} characters)`);
  return Uint8Array.from(Buffer.from(text, 'hex'));
}

function sambaDisabled(flags: AttributeValue | undefined): boolean {
  if (flags === undefined) return false;
  const match = SAMBA_FLAGS.exec(textValue(flags).trim());
  if (match === null) throw new UserDataError('INVALID_ACCOUNT_FLAGS', `sambaAcctFlags ${JSON.stringify(textValue(flags))} is not [flags]`);
  return match[1]!.includes('D');
}

function passwordLastSet(value: AttributeValue | undefined, attribute: string): number | undefined {
  if (value === undefined) return undefined;
  const text = textValue(value).trim();
  if (!/^-?[0-9]{1,12}$/.test(text)) throw new UserDataError('INVALID_PASSWORD_LAST_SET', `${attribute} ${JSON.stringify(text)} is not a number of seconds`);
  return Number(text);
}

/**
 * Turns a directory entry into a user, or into a named per-user error, or into nothing (not a user:
 * no NT hash attribute). Nothing but the mapped fields leaves this function.
 */
export function mapEntry(entry: DirectoryEntry, mapping: AttributeMapping, source: string): SourceItem | undefined {
  const hashValues = entry.attributes.get(mapping.ntHash);
  if (hashValues === undefined || hashValues.length === 0) return undefined;
  const anchorValue = first(entry, mapping.anchor);
  const anchor = anchorValue === undefined ? undefined : textValue(anchorValue).trim();
  let userPrincipalName: string | undefined;
  for (const attribute of mapping.userPrincipalName) {
    const value = first(entry, attribute);
    if (value !== undefined && textValue(value).trim() !== '') {
      userPrincipalName = textValue(value).trim();
      break;
    }
  }
  const origin = `${entry.dn} (${entry.origin})`;
  try {
    if (anchor === undefined || anchor === '') throw new UserDataError('MISSING_ANCHOR', `no ${mapping.anchor}`);
    if (userPrincipalName === undefined) throw new UserDataError('MISSING_USER_PRINCIPAL_NAME', `none of ${mapping.userPrincipalName.join(', ')}`);
    const ntHash = decodeNtHash(hashValues, mapping);
    const disabled = mapping.sambaAccountFlags === undefined ? false : sambaDisabled(first(entry, mapping.sambaAccountFlags));
    const lastSet = mapping.passwordLastSet === undefined ? undefined : passwordLastSet(first(entry, mapping.passwordLastSet), mapping.passwordLastSet);
    return {
      kind: 'user',
      user: {
        source,
        anchor,
        userPrincipalName,
        ntHash,
        disabled,
        mustChangePassword: lastSet === 0,
        passwordChangedAt: lastSet !== undefined && lastSet > 0 ? lastSet * 1000 : undefined,
        origin,
      },
    };
  } catch (err) {
    if (!(err instanceof UserDataError)) throw err;
    return { kind: 'invalid', invalid: { source, anchor, userPrincipalName, origin, error: err } };
  }
}

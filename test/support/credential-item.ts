import { randomBytes } from 'node:crypto';
import { deriveHash, formatCredential } from '../../src/phs/credential.ts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import type { CredentialItem } from '../../src/target/credential-batch.ts';

/** A well-formed item for a user with this password, as the engine would send it. */
export async function credentialItem(anchor: string, upn: string, password: string, extra: Partial<CredentialItem> = {}): Promise<CredentialItem> {
  const salt = randomBytes(10);
  return {
    sourceAnchor: anchor,
    userPrincipalName: upn,
    credential: formatCredential(salt, 1000, deriveHash(await ntHash(password), salt)),
    forceChangePasswordNextSignIn: false,
    disabled: false,
    changedAt: '2026-01-01T00:00:00.000Z',
    ...extra,
  };
}

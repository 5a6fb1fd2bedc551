import { createMD4 } from 'hash-wasm';
import type { IHasher } from 'hash-wasm';

/**
 * NT hash = MD4(UTF-16LE(password)). Node's OpenSSL 3 has no MD4 unless the legacy provider is
 * loaded, so MD4 comes from hash-wasm. Used for sign-in and fixtures: the engine itself reads NT
 * hashes from the directory and never sees a password.
 */
let md4: Promise<IHasher> | undefined;

export async function ntHash(password: string): Promise<Uint8Array> {
  md4 ??= createMD4();
  const hasher = await md4;
  // One shared hasher: init/update/digest run synchronously, so no other caller can interleave.
  return hasher.init().update(Buffer.from(password, 'utf16le')).digest('binary');
}

/** The NT hash of the empty password: 31d6cfe0d16ae931b73c59d7e0c089c0. */
export const EMPTY_PASSWORD_NT_HASH = Uint8Array.from(Buffer.from('31d6cfe0d16ae931b73c59d7e0c089c0', 'hex'));

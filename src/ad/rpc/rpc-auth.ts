import type { NtlmClient } from '../ntlm/ntlm-client.ts';
import { NtlmSession } from '../ntlm/ntlm-session.ts';

/** RPC_C_AUTHN_WINNT: NTLM (MS-RPCE 2.2.1.1.7). */
export const RPC_C_AUTHN_WINNT = 10;
/** RPC_C_AUTHN_LEVEL_PKT_PRIVACY: every request and response stub signed and encrypted (MS-RPCE 2.2.1.1.8). */
export const RPC_C_AUTHN_LEVEL_PKT_PRIVACY = 6;

/**
 * A security provider for one connection, as the connection needs it: a three-leg exchange (token
 * in bind, server token in bind_ack, final token in auth3), then per-PDU sealing. The RpcConnection
 * lays the PDUs out; the provider only turns bytes into bytes.
 */
export interface RpcAuth {
  readonly authType: number;
  readonly authLevel: number;
  /** The auth_value of every sealed PDU; 16 for NTLM. Must be known before sealing, because frag_length and auth_length are signed. */
  readonly signatureBytes?: number;
  /** The token that goes in the bind. */
  initialToken(): Buffer;
  /** The bind_ack's token in, the auth3's token out. */
  respond(serverToken: Buffer): Buffer;
  /** Encrypts `data` in place and returns the signature over `signed` (the PDU, holding `data` in plaintext at call time). */
  seal(data: Buffer, signed: Buffer): Buffer;
  /** Decrypts `data` in place, then verifies `signature` over `signed` (which contains `data`); throws when it does not verify. */
  unseal(data: Buffer, signed: Buffer, signature: Buffer): void;
}

/** NTLM at packet privacy: what DRSUAPI needs, since its replies carry password hashes. */
export function ntlmRpcAuth(client: NtlmClient): RpcAuth {
  return {
    authType: RPC_C_AUTHN_WINNT,
    authLevel: RPC_C_AUTHN_LEVEL_PKT_PRIVACY,
    signatureBytes: NtlmSession.SIGNATURE_BYTES,
    initialToken: () => client.negotiate(),
    respond: (serverToken) => client.authenticate(serverToken),
    // The session exists only once authenticate() ran: read it per call, never at construction.
    seal: (data, signed) => client.session.seal(data, signed),
    unseal: (data, signed, signature) => client.session.unseal(data, signed, signature),
  };
}

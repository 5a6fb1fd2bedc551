/**
 * NTLM negotiate flags (MS-NLMP 2.2.2.5). Plain constants, not an enum: the build strips types
 * only. The names follow the specification so a capture read in Wireshark matches the code.
 */
export const NTLMSSP_NEGOTIATE_UNICODE = 0x00000001;
export const NTLMSSP_NEGOTIATE_OEM = 0x00000002;
export const NTLMSSP_REQUEST_TARGET = 0x00000004;
export const NTLMSSP_NEGOTIATE_SIGN = 0x00000010;
export const NTLMSSP_NEGOTIATE_SEAL = 0x00000020;
export const NTLMSSP_NEGOTIATE_DATAGRAM = 0x00000040;
export const NTLMSSP_NEGOTIATE_LM_KEY = 0x00000080;
export const NTLMSSP_NEGOTIATE_NTLM = 0x00000200;
export const NTLMSSP_ANONYMOUS = 0x00000800;
export const NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED = 0x00001000;
export const NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED = 0x00002000;
export const NTLMSSP_NEGOTIATE_ALWAYS_SIGN = 0x00008000;
export const NTLMSSP_TARGET_TYPE_DOMAIN = 0x00010000;
export const NTLMSSP_TARGET_TYPE_SERVER = 0x00020000;
export const NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY = 0x00080000;
export const NTLMSSP_NEGOTIATE_IDENTIFY = 0x00100000;
export const NTLMSSP_REQUEST_NON_NT_SESSION_KEY = 0x00400000;
export const NTLMSSP_NEGOTIATE_TARGET_INFO = 0x00800000;
export const NTLMSSP_NEGOTIATE_VERSION = 0x02000000;
export const NTLMSSP_NEGOTIATE_128 = 0x20000000;
export const NTLMSSP_NEGOTIATE_KEY_EXCH = 0x40000000;
export const NTLMSSP_NEGOTIATE_56 = 0x80000000;

/** What the client asks for in NEGOTIATE: NTLMv2 with 128-bit sealing and a fresh session key. */
export const CLIENT_REQUESTED_FLAGS =
  (NTLMSSP_NEGOTIATE_UNICODE |
    NTLMSSP_REQUEST_TARGET |
    NTLMSSP_NEGOTIATE_SIGN |
    NTLMSSP_NEGOTIATE_SEAL |
    NTLMSSP_NEGOTIATE_NTLM |
    NTLMSSP_NEGOTIATE_ALWAYS_SIGN |
    NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NTLMSSP_NEGOTIATE_TARGET_INFO |
    NTLMSSP_NEGOTIATE_VERSION |
    NTLMSSP_NEGOTIATE_128 |
    NTLMSSP_NEGOTIATE_KEY_EXCH |
    NTLMSSP_NEGOTIATE_56) >>>
  0;

/**
 * What the server must grant. Replicated password secrets travel inside sealed stubs, so sealing
 * is not optional, and it must be the NTLMv2 kind (extended session security) with full 128-bit
 * RC4 keys rather than 40/56-bit ones, over a fresh random session key (KEY_EXCH) as Windows and
 * Samba clients use: a server offering less is refused rather than used at a weaker level.
 * UNICODE because this client encodes names in UTF-16 only (an OEM code page would be a guess).
 */
export const CLIENT_REQUIRED_FLAGS =
  (NTLMSSP_NEGOTIATE_UNICODE |
    NTLMSSP_NEGOTIATE_SIGN |
    NTLMSSP_NEGOTIATE_SEAL |
    NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY |
    NTLMSSP_NEGOTIATE_128 |
    NTLMSSP_NEGOTIATE_KEY_EXCH) >>>
  0;

const NAMES: ReadonlyArray<readonly [number, string]> = [
  [NTLMSSP_NEGOTIATE_UNICODE, 'UNICODE'],
  [NTLMSSP_NEGOTIATE_OEM, 'OEM'],
  [NTLMSSP_REQUEST_TARGET, 'REQUEST_TARGET'],
  [NTLMSSP_NEGOTIATE_SIGN, 'SIGN'],
  [NTLMSSP_NEGOTIATE_SEAL, 'SEAL'],
  [NTLMSSP_NEGOTIATE_DATAGRAM, 'DATAGRAM'],
  [NTLMSSP_NEGOTIATE_LM_KEY, 'LM_KEY'],
  [NTLMSSP_NEGOTIATE_NTLM, 'NTLM'],
  [NTLMSSP_ANONYMOUS, 'ANONYMOUS'],
  [NTLMSSP_NEGOTIATE_OEM_DOMAIN_SUPPLIED, 'OEM_DOMAIN_SUPPLIED'],
  [NTLMSSP_NEGOTIATE_OEM_WORKSTATION_SUPPLIED, 'OEM_WORKSTATION_SUPPLIED'],
  [NTLMSSP_NEGOTIATE_ALWAYS_SIGN, 'ALWAYS_SIGN'],
  [NTLMSSP_TARGET_TYPE_DOMAIN, 'TARGET_TYPE_DOMAIN'],
  [NTLMSSP_TARGET_TYPE_SERVER, 'TARGET_TYPE_SERVER'],
  [NTLMSSP_NEGOTIATE_EXTENDED_SESSIONSECURITY, 'EXTENDED_SESSIONSECURITY'],
  [NTLMSSP_NEGOTIATE_IDENTIFY, 'IDENTIFY'],
  [NTLMSSP_REQUEST_NON_NT_SESSION_KEY, 'REQUEST_NON_NT_SESSION_KEY'],
  [NTLMSSP_NEGOTIATE_TARGET_INFO, 'TARGET_INFO'],
  [NTLMSSP_NEGOTIATE_VERSION, 'VERSION'],
  [NTLMSSP_NEGOTIATE_128, '128'],
  [NTLMSSP_NEGOTIATE_KEY_EXCH, 'KEY_EXCH'],
  [NTLMSSP_NEGOTIATE_56, '56'],
];

/** 'SEAL|128' style names for an error message; unknown bits as hex. */
export function describeFlags(flags: number): string {
  let rest = flags >>> 0;
  const names: string[] = [];
  for (const [bit, name] of NAMES) {
    if ((rest & bit) !== 0) {
      names.push(name);
      rest = (rest & ~bit) >>> 0;
    }
  }
  if (rest !== 0) names.push(`0x${rest.toString(16).padStart(8, '0')}`);
  return names.length === 0 ? 'none' : names.join('|');
}

import { createHash } from 'node:crypto';
import { independentNtHash } from './independent-credential.ts';

/**
 * A corpus of malformed directory input (issue 9, "Bad input"), as data: each case is a small LDIF
 * fragment (a few records, each ending with a blank line) that the tests embed between valid users,
 * and what must come of it. Shared by the LDIF test (test/bad-input/ldif-corpus.test.ts) and, for the
 * cases a real slapd can hold, the LDAP test (test/bad-input/slapd-corpus.test.ts).
 *
 * Users are slapd-loadable inetOrgPerson + sambaSamAccount entries under ou=People,dc=example,dc=com,
 * each with its own known password, so a synced user can be checked against its credential.
 */

export const BASE_DN = 'dc=example,dc=com';

export interface CorpusUser {
  readonly uid: string;
  readonly anchor: string;
  readonly userPrincipalName: string;
  readonly password: string;
}

/** A user named after its case and index: uid, anchor (a UUID), UPN and password all follow from them. */
export function corpusUser(caseName: string, k: number): CorpusUser {
  const uid = `${caseName}-${k}`;
  const h = createHash('sha256').update(uid).digest('hex');
  const anchor = `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return { uid, anchor, userPrincipalName: `${uid}@example.com`, password: `Pw!${uid}` };
}

export function ntHex(password: string): string {
  return independentNtHash(password).toString('hex').toUpperCase();
}

/**
 * The LDIF record of a corpus user. `overrides` replaces attributes by name (undefined leaves one
 * out; a string may hold several lines, e.g. a folded or base64 value); `extra` lines are added
 * before the blank line.
 */
export function userRecord(user: CorpusUser, overrides: Record<string, string | undefined> = {}, extra: readonly string[] = []): string {
  const rid = 1000 + (Number.parseInt(user.anchor.slice(0, 6), 16) % 1_000_000);
  const attrs: Record<string, string | undefined> = {
    dn: `uid=${user.uid},ou=People,${BASE_DN}`,
    objectClass: 'top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: inetOrgPerson\nobjectClass: sambaSamAccount',
    uid: user.uid,
    cn: user.uid,
    sn: user.uid,
    entryUUID: user.anchor,
    userPrincipalName: user.userPrincipalName,
    sambaSID: `S-1-5-21-1-2-3-${rid}`,
    sambaAcctFlags: '[U          ]',
    sambaPwdLastSet: '1700000000',
    // Last, so that a file cut in the hash has everything else.
    sambaNTPassword: ntHex(user.password),
    ...overrides,
  };
  const lines = Object.entries(attrs)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => (v!.startsWith(':') || v!.startsWith('<') ? `${k}:${v}` : v === '' ? `${k}:` : `${k}: ${v}`));
  return `${[...lines, ...extra].join('\n')}\n\n`;
}

/** The base entry and ou=People, which slapd needs before any user. */
export function structureRecords(): string {
  return [
    `dn: ${BASE_DN}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\n`,
    `dn: ou=People,${BASE_DN}\nobjectClass: organizationalUnit\nou: People\n`,
  ].join('\n') + '\n';
}

export interface ExpectedError {
  readonly code: string;
  /**
   * The line the error must name: the first line of the fragment that starts with this text. For an
   * error found in a record's values that is the record's dn line; for an LDIF syntax error, the
   * offending line.
   */
  readonly at?: string;
}

export interface BadInputCase {
  /** Kebab-case, unique: also the users' uid prefix. */
  readonly name: string;
  /** The item of issue 9 it covers, or what else it tries. */
  readonly covers: string;
  /** The fragment; `u(k)` is this case's k-th user. Bytes for what a string cannot carry (invalid UTF-8). */
  readonly fragment: (u: (k: number) => CorpusUser) => string | Buffer;
  /** The per-user errors the fragment must give, and no others. */
  readonly errors: readonly ExpectedError[];
  /** Which of the case's users must sync (and verify): the valid ones inside the fragment. */
  readonly synced?: readonly number[];
  /** A real slapd can hold it (slapadd accepts it), with the same errors over LDAP (without line numbers). */
  readonly slapd?: boolean;
}

const hexOf = (u: CorpusUser) => ntHex(u.password);
const b64 = (bytes: Buffer | string) => Buffer.from(bytes).toString('base64');

/** Seeded junk bytes: no LF, first byte 0xFF (not a letter, not a space), so it is one line that starts no record. */
function junk(seed: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  let block = createHash('sha256').update(seed).digest();
  for (let i = 0; i < length; i++) {
    if (i % 32 === 0 && i > 0) block = createHash('sha256').update(block).digest();
    const b = block[i % 32]!;
    out[i] = b === 0x0a ? 0x0b : b;
  }
  out[0] = 0xff;
  return out;
}

/** The per-user cases: embedded in one file (and, where `slapd`, in one directory), each between valid users. */
export const PER_USER_CASES: readonly BadInputCase[] = [
  // --- NT hash: wrong length, not hex, not one value
  { name: 'hash-too-short', covers: 'hash of the wrong length', fragment: (u) => userRecord(u(0), { sambaNTPassword: hexOf(u(0)).slice(1) }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }], slapd: true },
  { name: 'hash-too-long', covers: 'hash of the wrong length', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0))}0` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }], slapd: true },
  { name: 'hash-non-hex', covers: 'hash with non-hex characters', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0)).slice(0, 31)}G` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }], slapd: true },
  { name: 'hash-empty', covers: 'hash of the wrong length (empty value)', fragment: (u) => userRecord(u(0), { sambaNTPassword: '' }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-trailing-space', covers: 'hash with a non-hex character (a trailing space is part of an LDIF value)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0))} ` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-two-values', covers: 'two NT hashes for one user', fragment: (u) => userRecord(u(0), {}, [`sambaNTPassword: ${hexOf(u(0))}`]), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-base64-raw-bytes', covers: '"::" base64 of the 16 raw bytes instead of the hex text', fragment: (u) => userRecord(u(0), { sambaNTPassword: `: ${b64(independentNtHash(u(0).password))}` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-nul-byte', covers: 'NUL byte in a value (base64)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `: ${b64(`${hexOf(u(0)).slice(0, 31)}\0`)}` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-fold-two-spaces', covers: 'a folded line gone wrong (two spaces: the second is data)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0)).slice(0, 10)}\n  ${hexOf(u(0)).slice(10)}` }), errors: [{ code: 'INVALID_NT_HASH', at: 'dn:' }] },
  { name: 'hash-by-url', covers: 'a value by URL ("attr:< file://")', fragment: (u) => userRecord(u(0), { sambaNTPassword: '< file:///etc/passwd' }), errors: [{ code: 'LDIF_URL_VALUE', at: 'sambaNTPassword:<' }] },
  { name: 'hash-bad-base64', covers: 'broken base64 (characters)', fragment: (u) => userRecord(u(0), { sambaNTPassword: ': ***not base64***' }), errors: [{ code: 'LDIF_BAD_BASE64', at: 'sambaNTPassword::' }] },
  { name: 'hash-base64-bad-length', covers: 'broken base64 (length)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `: ${b64(hexOf(u(0))).slice(0, -3)}` }), errors: [{ code: 'LDIF_BAD_BASE64', at: 'sambaNTPassword::' }] },
  // --- anchor
  { name: 'anchor-missing', covers: 'missing anchor', fragment: (u) => userRecord(u(0), { entryUUID: undefined }), errors: [{ code: 'MISSING_ANCHOR', at: 'dn:' }] },
  { name: 'anchor-blank', covers: 'missing anchor (blank value)', fragment: (u) => userRecord(u(0), { entryUUID: '' }), errors: [{ code: 'MISSING_ANCHOR', at: 'dn:' }] },
  { name: 'anchor-duplicate', covers: 'duplicate anchors', fragment: (u) => userRecord(u(0)) + userRecord(u(1), { entryUUID: u(0).anchor }), errors: [{ code: 'DUPLICATE_ANCHOR', at: 'dn: uid=anchor-duplicate-1' }], synced: [0], slapd: true },
  // --- user principal name. Two users with one UPN are found by the tenant (its UPNs are unique), not
  // by the engine: the second is TARGET_REJECTED ("belongs to another user"), named by its anchor.
  { name: 'upn-missing', covers: 'missing user principal name', fragment: (u) => userRecord(u(0), { userPrincipalName: undefined }), errors: [{ code: 'MISSING_USER_PRINCIPAL_NAME', at: 'dn:' }], slapd: true },
  { name: 'upn-blank', covers: 'missing user principal name (blank value)', fragment: (u) => userRecord(u(0), { userPrincipalName: '   ' }), errors: [{ code: 'MISSING_USER_PRINCIPAL_NAME', at: 'dn:' }] },
  { name: 'upn-no-at', covers: 'invalid user principal name (no @)', fragment: (u) => userRecord(u(0), { userPrincipalName: 'upn-no-at.example.com' }), errors: [{ code: 'INVALID_USER_PRINCIPAL_NAME', at: 'dn:' }], slapd: true },
  { name: 'upn-with-space', covers: 'invalid user principal name (a space)', fragment: (u) => userRecord(u(0), { userPrincipalName: 'upn with-space@example.com' }), errors: [{ code: 'INVALID_USER_PRINCIPAL_NAME', at: 'dn:' }], slapd: true },
  { name: 'upn-too-long', covers: 'invalid user principal name (a 65-character local part)', fragment: (u) => userRecord(u(0), { userPrincipalName: `${'x'.repeat(65)}@example.com` }), errors: [{ code: 'INVALID_USER_PRINCIPAL_NAME', at: 'dn:' }], slapd: true },
  { name: 'upn-nul-byte', covers: 'invalid user principal name (a NUL byte, base64)', fragment: (u) => userRecord(u(0), { userPrincipalName: `: ${b64('upn-nul\0byte@example.com')}` }), errors: [{ code: 'INVALID_USER_PRINCIPAL_NAME', at: 'dn:' }] },
  { name: 'upn-duplicate', covers: 'two users with one principal name', fragment: (u) => userRecord(u(0)) + userRecord(u(1), { userPrincipalName: u(0).userPrincipalName }), errors: [{ code: 'TARGET_REJECTED' }], synced: [0], slapd: true },
  { name: 'upn-duplicate-case', covers: 'two users with one principal name (differing in case)', fragment: (u) => userRecord(u(0)) + userRecord(u(1), { userPrincipalName: u(0).userPrincipalName.toUpperCase() }), errors: [{ code: 'TARGET_REJECTED' }], synced: [0], slapd: true },
  {
    name: 'upn-invalid-utf8',
    covers: 'invalid UTF-8 (a Latin-1 é in a plain value)',
    fragment: (u) => latin1Upn(u(0)),
    errors: [{ code: 'LDIF_INVALID_UTF8', at: 'userPrincipalName:' }],
  },
  // --- record structure
  { name: 'junk-between-records', covers: 'binary junk (a line of it between records)', fragment: (u) => Buffer.concat([junk('between', 300), Buffer.from('\n\n'), Buffer.from(userRecord(u(0)))]), errors: [{ code: 'LDIF_SYNTAX', at: '\xff' }], synced: [0] },
  { name: 'junk-inside-record', covers: 'binary junk (a line of it inside a record)', fragment: (u) => Buffer.concat([Buffer.from(userRecord(u(0)).slice(0, -1)), junk('inside', 200), Buffer.from('\n\n')]), errors: [{ code: 'LDIF_SYNTAX', at: '\xff' }] },
  { name: 'nul-bytes-line', covers: 'NUL bytes (a line of them inside a record)', fragment: (u) => userRecord(u(0), {}, ['\0\0\0\0\0\0\0\0']), errors: [{ code: 'LDIF_SYNTAX', at: '\0' }] },
  { name: 'missing-blank-line', covers: 'two records run together', fragment: (u) => userRecord(u(0)).slice(0, -1) + userRecord(u(1)), errors: [{ code: 'LDIF_SYNTAX', at: 'dn: uid=missing-blank-line-1' }] },
  { name: 'attribute-without-colon', covers: 'attribute name without value or colon', fragment: (u) => userRecord(u(0), {}, ['description']), errors: [{ code: 'LDIF_SYNTAX', at: 'description' }] },
  { name: 'dash-separator', covers: 'a "-" separator in a content record', fragment: (u) => userRecord(u(0), {}, ['-']), errors: [{ code: 'LDIF_SYNTAX', at: '-' }] },
  { name: 'continuation-first', covers: 'a folded line gone wrong (a continuation with nothing to continue)', fragment: (u) => ` continued: nothing\n${userRecord(u(0))}`, errors: [{ code: 'LDIF_SYNTAX', at: ' continued' }] },
  { name: 'fold-with-tab', covers: 'a folded line gone wrong (a tab instead of a space)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0)).slice(0, 10)}\n\t${hexOf(u(0)).slice(10)}` }), errors: [{ code: 'LDIF_SYNTAX', at: '\t' }] },
  { name: 'bad-attribute-name', covers: 'an attribute description that is not one', fragment: (u) => userRecord(u(0), {}, ['samba_NT password: x']), errors: [{ code: 'LDIF_SYNTAX', at: 'samba_NT' }] },
  { name: 'changetype-modify', covers: 'a change record (modify)', fragment: (u) => `dn: uid=${u(0).uid},ou=People,${BASE_DN}\nchangetype: modify\nreplace: sambaNTPassword\nsambaNTPassword: ${hexOf(u(0))}\n-\n\n`, errors: [{ code: 'LDIF_CHANGE_RECORD', at: 'changetype' }] },
  { name: 'changetype-delete', covers: 'a change record (delete)', fragment: (u) => `dn: uid=${u(0).uid},ou=People,${BASE_DN}\nchangetype: delete\n\n`, errors: [{ code: 'LDIF_CHANGE_RECORD', at: 'changetype' }] },
  { name: 'changetype-unknown', covers: 'an unknown changetype', fragment: (u) => userRecord(u(0), {}, ['changetype: frobnicate']), errors: [{ code: 'LDIF_CHANGE_RECORD', at: 'changetype' }] },
  { name: 'version-mid-file', covers: 'a "version: 1" line after the first record', fragment: (u) => `version: 1\n\n${userRecord(u(0))}`, errors: [{ code: 'LDIF_SYNTAX', at: 'version' }], synced: [0] },
  { name: 'bom-mid-file', covers: 'a byte-order mark in the middle (two files concatenated)', fragment: (u) => `\ufeff${userRecord(u(0))}`, errors: [{ code: 'LDIF_SYNTAX', at: '\xef\xbb\xbfdn:' }] },
  { name: 'dn-base64-invalid-utf8', covers: 'invalid UTF-8 in a base64 dn', fragment: (u) => `dn:: ${b64(Buffer.from([0x75, 0x69, 0x64, 0x3d, 0xff, 0xfe]))}\n${userRecord(u(0)).split('\n').slice(1).join('\n')}`, errors: [{ code: 'LDIF_SYNTAX', at: 'dn::' }] },
  { name: 'dn-bare-cr', covers: 'CR-only line endings (a dn that swallowed its record)', fragment: (u) => userRecord(u(0)).replace(/\n(?!\n|$)/g, '\r'), errors: [{ code: 'LDIF_SYNTAX', at: 'dn:' }] },
  { name: 'account-flags-invalid', covers: 'an unreadable account-flags value', fragment: (u) => userRecord(u(0), { sambaAcctFlags: 'garbage' }), errors: [{ code: 'INVALID_ACCOUNT_FLAGS', at: 'dn:' }], slapd: true },
  { name: 'pwd-last-set-invalid', covers: 'an unreadable password-last-set value', fragment: (u) => userRecord(u(0), { sambaPwdLastSet: 'yesterday' }), errors: [{ code: 'INVALID_PASSWORD_LAST_SET', at: 'dn:' }] },
  // --- valid but unusual: must sync
  { name: 'hash-base64-of-hex', covers: '"::" base64 of the hex hash (valid LDIF)', fragment: (u) => userRecord(u(0), { sambaNTPassword: `: ${b64(hexOf(u(0)))}` }), errors: [], synced: [0], slapd: true },
  { name: 'hash-lowercase', covers: 'a lowercase hex hash', fragment: (u) => userRecord(u(0), { sambaNTPassword: hexOf(u(0)).toLowerCase() }), errors: [], synced: [0], slapd: true },
  { name: 'hash-folded', covers: 'a hash folded over three lines', fragment: (u) => userRecord(u(0), { sambaNTPassword: `${hexOf(u(0)).slice(0, 5)}\n ${hexOf(u(0)).slice(5, 20)}\n ${hexOf(u(0)).slice(20)}` }), errors: [], synced: [0] },
  { name: 'crlf-record', covers: 'CRLF line endings', fragment: (u) => userRecord(u(0)).replaceAll('\n', '\r\n'), errors: [], synced: [0] },
  { name: 'changetype-add', covers: '"changetype: add" (a content record)', fragment: (u) => userRecord(u(0), {}, ['changetype: add']), errors: [], synced: [0] },
  { name: 'comments-inside', covers: 'comments (one folded) inside a record', fragment: (u) => userRecord(u(0), {}, ['# a comment', '# a folded', '  comment']), errors: [], synced: [0] },
  { name: 'long-dn', covers: 'a very long DN (64 KiB)', fragment: (u) => userRecord(u(0), { dn: `cn=${'x'.repeat(64 * 1024)},uid=${u(0).uid},ou=People,${BASE_DN}` }), errors: [], synced: [0] },
  { name: 'enormous-value', covers: 'an enormous attribute value (8 MiB, folded)', fragment: (u) => userRecord(u(0), {}, [`description: ${'d'.repeat(8 * 1024 * 1024).replace(/(.{76})/g, '$1\n ')}`]), errors: [], synced: [0], slapd: true },
  { name: 'many-values', covers: 'an attribute with 50,000 values', fragment: (u) => userRecord(u(0), {}, Array.from({ length: 50_000 }, (_, i) => `description: value ${i}`)), errors: [], synced: [0] },
];

function latin1Upn(user: CorpusUser): Buffer {
  const text = userRecord(user, { userPrincipalName: 'UPN_HERE' });
  const [before, after] = text.split('UPN_HERE') as [string, string];
  return Buffer.concat([Buffer.from(before), Buffer.from(`r\xe9sum\xe9-${user.uid}@example.com`, 'latin1'), Buffer.from(after)]);
}

/**
 * Whole files: a fatal error at a line, or a file whose end is broken (which only its own file can
 * have). `fatal`: the run stops (exit 1) naming the code and line; otherwise per-user `errors`, and
 * the valid users before the breakage sync (exit 2).
 */
export interface WholeFileCase {
  readonly name: string;
  readonly covers: string;
  /** The file: `valid` is the LDIF of a few valid users. */
  readonly file: (valid: string) => string | Buffer;
  readonly fatal?: { readonly code: string; readonly line: number };
  readonly errors?: readonly ExpectedError[];
  /** The valid users in the file sync. */
  readonly validSync: boolean;
}

export const WHOLE_FILE_CASES: readonly WholeFileCase[] = [
  { name: 'not-ldif-csv', covers: 'not LDIF at all (a CSV)', file: () => 'userPrincipalName,password\nalice@example.com,secret\n', fatal: { code: 'LDIF_NOT_LDIF', line: 1 }, validSync: false },
  { name: 'binary-junk-file', covers: 'binary junk (a whole file)', file: () => Buffer.concat([junk('file', 4096), Buffer.from('\n'), junk('file2', 4096)]), fatal: { code: 'LDIF_NOT_LDIF', line: 1 }, validSync: false },
  { name: 'version-2', covers: 'an unknown LDIF version', file: (valid) => `version: 2\n\n${valid}`, fatal: { code: 'LDIF_NOT_LDIF', line: 1 }, validSync: false },
  { name: 'junk-then-ldif', covers: 'a file that does not start with a record', file: (valid) => `hello\n\n${valid}`, fatal: { code: 'LDIF_NOT_LDIF', line: 1 }, validSync: false },
  { name: 'bom-crlf-file', covers: 'a byte-order mark and CRLF line endings (valid)', file: (valid) => `\ufeffversion: 1\r\n\r\n${valid.replaceAll('\n', '\r\n')}`, errors: [], validSync: true },
  { name: 'truncated-mid-hash', covers: 'a truncated file (in a hash)', file: (valid) => `${valid}${userRecord(corpusUser('truncated-mid-hash', 0)).split('sambaNTPassword: ')[0]}sambaNTPassword: 8846F7EA`, errors: [{ code: 'INVALID_NT_HASH', at: 'dn: uid=truncated-mid-hash-0' }], validSync: true },
  { name: 'truncated-mid-name', covers: 'a truncated file (in an attribute name)', file: (valid) => `${valid}${userRecord(corpusUser('truncated-mid-name', 0)).split('sambaNTPassword: ')[0]}sambaNTPass`, errors: [{ code: 'LDIF_SYNTAX', at: 'sambaNTPass' }], validSync: true },
  { name: 'truncated-mid-base64', covers: 'a truncated file (in a base64 value)', file: (valid) => `${valid}${userRecord(corpusUser('truncated-mid-base64', 0)).split('sambaNTPassword: ')[0]}sambaNTPassword:: ODg0NkY3RUFFRThGQjExN0FEMDZ`, errors: [{ code: 'LDIF_BAD_BASE64', at: 'sambaNTPassword::' }], validSync: true },
  {
    name: 'truncated-mid-utf8',
    covers: 'a truncated file (inside a multibyte UTF-8 character)',
    file: (valid) => Buffer.concat([Buffer.from(`${valid}${userRecord(corpusUser('truncated-mid-utf8', 0)).split('userPrincipalName: ')[0]}userPrincipalName: caf`), Buffer.from('é').subarray(0, 1)]),
    errors: [{ code: 'LDIF_INVALID_UTF8', at: 'userPrincipalName:' }],
    validSync: true,
  },
];

/** The number of named cases in the corpus (per-user, whole-file, and the huge-line case of the test). */
export const CORPUS_SIZE = PER_USER_CASES.length + WHOLE_FILE_CASES.length + 1;

import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { signIn } from '../../src/tenant/sign-in.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import type { BadInputCase, CorpusUser, ExpectedError } from '../support/bad-inputs.ts';
import { corpusUser, structureRecords, userRecord } from '../support/bad-inputs.ts';
import { independentNtHash, independentlyVerifies } from '../support/independent-credential.ts';

/** What the CLI's --json summary says about failures. */
export interface SyncSummary {
  readonly status: string;
  readonly maxRssMiB: number;
  readonly counts: { readonly scanned: number; readonly synced: number; readonly failed: Record<string, number> };
  readonly errors: readonly { readonly origin: string; readonly code: string; readonly message: string }[];
}

export interface PlacedError extends ExpectedError {
  readonly caseName: string;
  /** The absolute 1-based line `at` names in the file, when it names one. */
  readonly line: number | undefined;
}

export interface CorpusFile {
  readonly bytes: Buffer;
  /** Users that must be in the tenant and verify: the valid users around the cases, and the cases' own valid ones. */
  readonly mustSync: readonly CorpusUser[];
  readonly errors: readonly PlacedError[];
}

/** A valid user between cases: `valid-<i>`. */
export function validUser(i: number): CorpusUser {
  return corpusUser('valid', i);
}

/** The first line of `fragment` (latin1) that starts with `at`: 1-based within the fragment. */
function lineIn(fragment: string, at: string): number {
  const index = fragment.split('\n').findIndex((line) => line.startsWith(at));
  assert.ok(index >= 0, `no line starts with ${JSON.stringify(at)}`);
  return index + 1;
}

/** One file: version line (unless told not), structure, then valid-0, case 0, valid-1, case 1, …, valid-n. */
export function corpusFile(cases: readonly BadInputCase[], options: { readonly versionLine?: boolean } = {}): CorpusFile {
  // slapadd takes no "version: 1" line followed by a blank one: the slapd test leaves it out.
  const parts: Buffer[] = [Buffer.from(`${options.versionLine === false ? '' : 'version: 1\n\n'}${structureRecords()}`)];
  let lines = (parts[0]!.toString('latin1').match(/\n/g) ?? []).length;
  const mustSync: CorpusUser[] = [];
  const errors: PlacedError[] = [];
  const add = (part: Buffer): void => {
    parts.push(part);
    lines += (part.toString('latin1').match(/\n/g) ?? []).length;
  };
  cases.forEach((c, i) => {
    mustSync.push(validUser(i));
    add(Buffer.from(userRecord(validUser(i))));
    const u = (k: number): CorpusUser => corpusUser(c.name, k);
    const fragment = c.fragment(u);
    const bytes = typeof fragment === 'string' ? Buffer.from(fragment) : fragment;
    const text = bytes.toString('latin1');
    for (const e of c.errors) errors.push({ ...e, caseName: c.name, line: e.at === undefined ? undefined : lines + lineIn(text, e.at) });
    for (const k of c.synced ?? []) mustSync.push(u(k));
    add(bytes);
  });
  mustSync.push(validUser(cases.length));
  add(Buffer.from(userRecord(validUser(cases.length))));
  return { bytes: Buffer.concat(parts), mustSync, errors };
}

/** Expected `counts.failed`: codes tallied. */
export function tally(errors: readonly ExpectedError[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of errors) out[e.code] = (out[e.code] ?? 0) + 1;
  return out;
}

/** Every expected error is reported, with its line when it has one (matched once each). */
export function assertErrorsReported(summary: SyncSummary, expected: readonly PlacedError[], withLines: boolean): void {
  const left = [...summary.errors];
  for (const e of expected) {
    const found = left.findIndex((r) => r.code === e.code && (!withLines || e.line === undefined || new RegExp(`\\bline ${e.line}\\b`).test(`${r.origin} ${r.message}`)));
    assert.ok(found >= 0, `${e.caseName}: no ${e.code}${withLines && e.line !== undefined ? ` at line ${e.line}` : ''} among ${JSON.stringify(left, null, 1)}`);
    left.splice(found, 1);
  }
}

/** Every user is in the tenant with its UPN, its credential verifies independently, and it signs in. */
export async function assertSynced(tenantPath: string, users: readonly CorpusUser[]): Promise<void> {
  using store = TenantStore.open(tenantPath);
  const byUpn = new Map([...store.users()].map((t) => [t.userPrincipalName, t]));
  for (const u of users) {
    const t = byUpn.get(u.userPrincipalName);
    assert.ok(t !== undefined, `${u.userPrincipalName} is in the tenant`);
    assert.equal(t.anchor, u.anchor, u.uid);
    assert.ok(verifies(t.credential, u.password), `${u.uid}: the credential verifies`);
  }
  // The fully independent check (MD4 and PBKDF2 written out in JS) is slow: a few users.
  for (const u of users.slice(0, 2)) assert.ok(independentlyVerifies(byUpn.get(u.userPrincipalName)!.credential, u.password), u.uid);
  // Sign-in through the tenant's own path for a few (it is slower: lockout bookkeeping, equal work).
  for (const u of users.slice(0, 3)) assert.deepEqual(await signIn(store, u.userPrincipalName, u.password), { ok: true, forceChangePassword: false }, u.uid);
}

/** `credential` (v1;PPH1_MD4,salt,iterations,hash;) is the password's: MD4 from the test's own code, PBKDF2 from OpenSSL. */
function verifies(credential: string, password: string): boolean {
  const [kind, salt, iterations, hash] = credential.split(',');
  if (kind !== 'v1;PPH1_MD4' || salt === undefined || iterations === undefined || hash?.endsWith(';') !== true) return false;
  const input = Buffer.from(independentNtHash(password).toString('hex').toUpperCase(), 'utf16le');
  return pbkdf2Sync(input, Buffer.from(salt, 'hex'), Number(iterations), 32, 'sha256').toString('hex') === hash.slice(0, -1);
}

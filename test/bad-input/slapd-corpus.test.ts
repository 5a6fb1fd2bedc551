import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { PER_USER_CASES } from '../support/bad-inputs.ts';
import { runCli } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';
import { assertErrorsReported, assertSynced, corpusFile, tally } from './corpus-file.ts';
import type { SyncSummary } from './corpus-file.ts';

/**
 * Issue 9, bad input over LDAP: the corpus cases a real slapd accepts (slapadd refuses the others:
 * LDIF syntax, invalid UTF-8, empty values, a second value of a single-valued attribute, an entry
 * without entryUUID gets one generated), loaded between valid users, synced from slapd.
 */
const SLAPD_CASES = PER_USER_CASES.filter((c) => c.slapd === true);

describe('bad input: the corpus in a real slapd', { timeout: 120_000 }, () => {
  it(`${SLAPD_CASES.length} cases over LDAP: each gives its named error, every valid user around them syncs (exit 2)`, async () => {
    assert.ok(SLAPD_CASES.length >= 10);
    using dir = tempDir();
    const file = corpusFile(SLAPD_CASES, { versionLine: false });
    const ldif = dir.file('directory.ldif');
    writeFileSync(ldif, file.bytes);
    await using slapd = await startSlapd({ ldif });
    const result = await runCli(
      ['sync', '--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--target', `sqlite:${dir.file('t.db')}`, '--state', dir.file('s.db'),
        '--kernel', 'native', '--workers', '1', '--no-progress', '--json'],
      { env: { ...process.env, PHSYNC_BIND_PASSWORD: slapd.syncPassword } },
    );
    assert.equal(result.code, 2, result.stderr);
    const summary = JSON.parse(result.stdout) as SyncSummary;
    assert.deepEqual(summary.counts.failed, tally(file.errors));
    assertErrorsReported(summary, file.errors, false);
    // Over LDAP an error names the entry by its DN.
    for (const e of summary.errors.filter((r) => r.code !== 'TARGET_REJECTED')) assert.match(e.origin, /^uid=[a-z-]+-\d+,ou=People,dc=example,dc=com/, JSON.stringify(e));
    // Duplicates: which of the two is "second" is the server's order; one of each pair syncs.
    const duplicated = new Set(['anchor-duplicate', 'upn-duplicate', 'upn-duplicate-case']);
    const mustSync = file.mustSync.filter((u) => !duplicated.has(u.uid.replace(/-\d+$/, '')));
    assert.equal(summary.counts.synced, file.mustSync.length);
    await assertSynced(dir.file('t.db'), mustSync);
  });
});

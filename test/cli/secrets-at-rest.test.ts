import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { readLdifFile } from '../../src/source/ldif-reader.ts';
import { runCli } from '../support/run-cli.ts';
import { tempDir } from '../support/temp-dir.ts';

const SAMPLE = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));

/** Every form in which an NT hash could leak: raw bytes, hex in both cases, the UTF-16LE PBKDF2 input. */
async function ntHashForms(): Promise<Buffer[]> {
  const forms: Buffer[] = [];
  for await (const record of readLdifFile(SAMPLE)) {
    if (record.kind !== 'entry') continue;
    const value = record.attributes.get('sambantpassword')?.[0];
    if (value === undefined) continue;
    const hex = value.toString().toLowerCase();
    forms.push(Buffer.from(hex, 'hex'), Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(hex.toUpperCase(), 'utf16le'));
  }
  return forms;
}

it('no NT hash reaches the state store, the tenant, the NDJSON output, or the console', async () => {
  using dir = tempDir();
  const forms = await ntHashForms();
  assert.ok(forms.length >= 4000, 'the sample has a thousand hashes');
  const sqlite = await runCli(['sync', '--source', SAMPLE, '--target', `sqlite:${dir.file('tenant.db')}`, '--state', dir.file('state.db'), '--sync-empty-passwords', '--force-password-change-on-logon']);
  const ndjson = await runCli(['sync', '--source', SAMPLE, '--target', `ndjson:${dir.file('out.ndjson')}`, '--state', dir.file('state.db'), '--json']);
  assert.equal(sqlite.code, 0, sqlite.stderr);
  assert.equal(ndjson.code, 0, ndjson.stderr);
  writeFileSync(dir.file('console.txt'), [sqlite.stdout, sqlite.stderr, ndjson.stdout, ndjson.stderr].join('\n'));
  const files = readdirSync(dir.path);
  // The WAL files are checked too: they hold pages not yet checkpointed into the database.
  assert.ok(files.includes('state.db') && files.includes('tenant.db') && files.includes('out.ndjson'), files.join(' '));
  for (const name of files) {
    const bytes = readFileSync(dir.file(name));
    for (const form of forms) assert.equal(bytes.indexOf(form), -1, `${name} holds an NT hash (${form.length}-byte form)`);
  }
});

import assert from 'node:assert/strict';
import { once } from 'node:events';
import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { readLdifFile } from '../../src/source/ldif-reader.ts';
import { TenantStore } from '../../src/tenant/tenant-store.ts';
import { runCli, startCli } from '../support/run-cli.ts';
import type { CliResult } from '../support/run-cli.ts';
import { startSlapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';

/** Each NT hash of an LDIF in every form it could leak in: raw, hex both cases, the UTF-16LE PBKDF2 input. */
async function ntHashForms(ldif: string): Promise<Buffer[]> {
  const forms: Buffer[] = [];
  for await (const record of readLdifFile(ldif)) {
    if (record.kind !== 'entry') continue;
    const value = record.attributes.get('sambantpassword')?.[0];
    if (value === undefined) continue;
    const hex = value.toString().toLowerCase();
    forms.push(Buffer.from(hex, 'hex'), Buffer.from(hex), Buffer.from(hex.toUpperCase()), Buffer.from(hex.toUpperCase(), 'utf16le'), Buffer.from(hex, 'utf16le'));
  }
  return forms;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** Every regular file under a directory, recursively. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true }).filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

it('after a sync with every output on, no NT hash, bind password or token is anywhere it wrote; credentials only at the tenant; stores owner-only', { timeout: 90_000 }, async () => {
  await using slapd = await startSlapd({ users: 150, seed: 'secrets-scan' });
  using dir = tempDir();
  const out = (name: string): string => dir.file(name);
  // Child processes' temp files land here, so that they are scanned too.
  const tmp = out('tmp');
  mkdirSync(tmp);
  const token = `scan-token-${'7f3a9c'.repeat(4)}`;
  writeFileSync(out('token'), `${token}\n`, { mode: 0o600 });
  writeFileSync(out('bind-password'), `${slapd.syncPassword}\n`, { mode: 0o600 });
  const env = { ...process.env, TMPDIR: tmp };
  const consoles: CliResult[] = [];

  const tenant = startCli(['tenant', 'serve', '--db', out('tenant.db'), '--listen', '127.0.0.1:0', '--token-file', out('token'), '--log-level', 'debug'], { env });
  let tenantErr = '';
  while (!/listening on (\S+)/.test(tenantErr)) {
    const [chunk] = (await once(tenant.child.stderr!, 'data')) as [Buffer | string];
    tenantErr += String(chunk);
  }
  const url = /listening on (\S+)/.exec(tenantErr)![1]!;
  const ldap = ['--source', slapd.url, '--base-dn', slapd.baseDn, '--bind-dn', slapd.syncDn, '--bind-password-file', out('bind-password'), '--page-size', '40', '--no-progress'];
  const http = ['--target', url, '--target-token-file', out('token'), '--state', out('state.db')];
  try {
    // The daemon, JSON logs at debug, metrics served: scraped once its first cycle is done.
    const port = await freePort();
    const daemon = startCli(['run', ...ldap, ...http, '--interval', '1h', '--metrics-listen', `127.0.0.1:${port}`, '--log-level', 'debug', '--log-format', 'json', '--json'], { env });
    let daemonOut = '';
    daemon.child.stdout!.on('data', (d: Buffer | string) => (daemonOut += String(d)));
    while (!daemonOut.includes('"summary"') && daemon.child.exitCode === null) await sleep(20);
    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.match(metrics, /phsync_/);
    writeFileSync(out('metrics.txt'), metrics);
    writeFileSync(out('tenant-metrics.txt'), await (await fetch(`${url}/metrics`)).text());
    daemon.child.kill('SIGTERM');
    const daemonResult = await daemon.done;
    assert.equal(daemonResult.code, 0, daemonResult.stderr);
    consoles.push(daemonResult);

    // A full sync with text logs at debug; an NDJSON target to a file; and every reader of the state.
    consoles.push(await runCli(['sync', ...ldap, ...http, '--full', '--log-level', 'debug'], { env }));
    consoles.push(await runCli(['sync', ...ldap, '--target', `ndjson:${out('out.ndjson')}`, '--state', out('ndjson-state.db'), '--log-level', 'debug', '--log-format', 'json', '--json'], { env }));
    for (const format of ['text', 'json', 'md']) consoles.push(await runCli(['report', '--state', out('state.db'), '--format', format], { env }));
    consoles.push(await runCli(['status', '--state', out('state.db'), '--json'], { env }));
    consoles.push(await runCli(['status', '--state', out('state.db')], { env }));
    using store = TenantStore.open(out('tenant.db'));
    const someone = [...store.users()][0]!;
    consoles.push(await runCli(['explain', '--state', out('state.db'), '--user', someone.userPrincipalName, '--json'], { env }));
    consoles.push(await runCli(['explain', '--state', out('state.db'), '--user', someone.userPrincipalName], { env }));
    for (const c of consoles) assert.equal(c.code, 0, c.stderr);
    const credentials = [...store.users()].map((u) => Buffer.from(u.credential));
    assert.ok(credentials.length > 100);
    store.close();

    tenant.child.kill('SIGTERM');
    const tenantResult = await tenant.done;
    writeFileSync(out('console.txt'), [tenantErr, tenantResult.stdout, tenantResult.stderr, ...consoles.flatMap((c) => [c.stdout, c.stderr])].join('\n'));

    const forms = await ntHashForms(join(slapd.dir, 'directory.ldif'));
    assert.ok(forms.length >= 500, `the fixture's hashes (${forms.length / 5})`);
    const secrets = [Buffer.from(slapd.syncPassword), Buffer.from(token), Buffer.from(slapd.syncPassword, 'utf16le'), Buffer.from(token, 'utf16le')];
    const files = filesUnder(dir.path).filter((f) => f !== out('token') && f !== out('bind-password'));
    const names = files.map((f) => f.slice(dir.path.length + 1));
    for (const expected of ['state.db', 'tenant.db', 'out.ndjson', 'metrics.txt', 'console.txt', 'state.db.key']) assert.ok(names.includes(expected), `${expected} was written: ${names.join(' ')}`);
    for (const file of files) {
      const bytes = readFileSync(file);
      const name = file.slice(dir.path.length + 1);
      for (const form of forms) assert.equal(bytes.indexOf(form), -1, `${name} holds an NT hash (${form.length}-byte form)`);
      for (const secret of secrets) assert.equal(bytes.indexOf(secret), -1, `${name} holds the bind password or the token`);
      // Credentials: only the tenant's store (and the NDJSON target, which is one).
      if (!/^(tenant\.db|out\.ndjson)/.test(name)) {
        for (const credential of credentials) assert.equal(bytes.indexOf(credential), -1, `${name} holds a credential`);
      }
    }
    // Owner-only: the stores, their WAL/SHM if left, the key, the lock, the NDJSON output.
    for (const file of files.filter((f) => /\.(db|db-wal|db-shm|key|lock|ndjson)$/.test(f))) {
      const mode = statSync(file).mode & 0o777;
      assert.equal(mode & 0o077, 0, `${file.slice(dir.path.length + 1)} is mode ${mode.toString(8)}, not owner-only`);
    }
  } finally {
    if (tenant.child.exitCode === null) tenant.child.kill('SIGKILL');
  }
});

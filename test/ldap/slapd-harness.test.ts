import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Attribute, Change, Client, InsufficientAccessError, InvalidCredentialsError, SizeLimitExceededError } from 'ldapts';
import type { Entry } from 'ldapts';
import { ntHash } from '../../src/phs/nt-hash.ts';
import { readPasswordsCsv } from '../support/passwords-csv.ts';
import type { FixturePassword } from '../support/passwords-csv.ts';
import { startSlapd } from '../support/slapd.ts';
import type { Slapd } from '../support/slapd.ts';
import { tempDir } from '../support/temp-dir.ts';

const USERS = 200;
const SIZE_LIMIT = 100;
const SAMPLE_LDIF = fileURLToPath(new URL('../../fixtures/sample-directory.ldif', import.meta.url));
const USER_ATTRIBUTES = ['uid', 'userPrincipalName', 'mail', 'entryUUID', 'sambaNTPassword', 'sambaAcctFlags', 'sambaPwdLastSet'];

async function bound(url: string, dn: string, password: string, tlsCa?: Buffer): Promise<Client> {
  const client = new Client({ url, timeout: 10_000, connectTimeout: 5_000, ...(tlsCa === undefined ? {} : { tlsOptions: { ca: [tlsCa] } }) });
  await client.bind(dn, password);
  return client;
}

function first(entry: Entry | undefined, attribute: string): string | undefined {
  const value = entry?.[attribute];
  const v = Array.isArray(value) ? value[0] : value;
  return v === undefined ? undefined : String(v);
}

async function findUser(client: Client, baseDn: string, user: FixturePassword): Promise<Entry | undefined> {
  const upn = user.userPrincipalName;
  const { searchEntries } = await client.search(baseDn, {
    filter: `(&(objectClass=sambaSamAccount)(|(userPrincipalName=${upn})(mail=${upn})))`,
    attributes: USER_ATTRIBUTES,
  });
  assert.ok(searchEntries.length <= 1, `one user for ${upn}`);
  return searchEntries[0];
}

async function ntHex(password: string): Promise<string> {
  return Buffer.from(await ntHash(password)).toString('hex').toUpperCase();
}

describe(`slapd harness: ${USERS} generated users, TLS, size limit ${SIZE_LIMIT}`, { timeout: 60_000 }, () => {
  let slapd: Slapd;
  let users: FixturePassword[];
  let user: FixturePassword;

  before(async () => {
    slapd = await startSlapd({ users: USERS, seed: 'slapd-harness', tls: true, sizeLimit: SIZE_LIMIT });
    assert.ok(slapd.passwordsCsv !== undefined);
    users = readPasswordsCsv(slapd.passwordsCsv);
    assert.equal(users.length, USERS);
    user = users.find((u) => !u.empty && !u.disabled) ?? assert.fail('no ordinary user in the fixture');
  });
  after(async () => {
    await slapd?.[Symbol.asyncDispose]();
  });

  it('the sync account reads a user and its NT hash, which is the MD4 of the password in the CSV', async () => {
    await using client = await bound(slapd.url, slapd.syncDn, slapd.syncPassword);
    const entry = await findUser(client, slapd.baseDn, user);
    assert.ok(entry !== undefined, `user ${user.userPrincipalName} found`);
    assert.match(first(entry, 'entryUUID') ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-/);
    assert.equal(first(entry, 'sambaNTPassword')?.toUpperCase(), await ntHex(user.password));
  });

  it('the other account reads the user but not sambaNTPassword, not even through a filter', async () => {
    await using client = await bound(slapd.url, slapd.otherDn, slapd.otherPassword);
    const entry = await findUser(client, slapd.baseDn, user);
    assert.ok(entry !== undefined, `user ${user.userPrincipalName} found`);
    assert.ok(first(entry, 'uid') !== undefined);
    assert.ok(first(entry, 'entryUUID') !== undefined);
    assert.ok(first(entry, 'sambaAcctFlags') !== undefined);
    assert.deepEqual(entry['sambaNTPassword'] ?? [], []); // ldapts lists attributes asked for and not returned as []
    const byHash = await client.search(slapd.baseDn, { filter: `(sambaNTPassword=${await ntHex(user.password)})`, attributes: ['1.1'] });
    assert.equal(byHash.searchEntries.length, 0);
  });

  it('anonymous may not read entries, and wrong passwords are refused', async () => {
    await using anonymous = new Client({ url: slapd.url, timeout: 10_000 });
    await assert.rejects(anonymous.search(slapd.baseDn, { filter: '(objectClass=*)', attributes: ['1.1'] }), InsufficientAccessError);
    await using client = new Client({ url: slapd.url, timeout: 10_000 });
    await assert.rejects(client.bind(slapd.syncDn, `${slapd.syncPassword}x`), InvalidCredentialsError);
  });

  it(`a paged search over more than ${SIZE_LIMIT} entries: the other account hits the size limit, the sync account pages through all`, async () => {
    const pageSize = 40;
    const search = { filter: '(objectClass=sambaSamAccount)', paged: { pageSize }, attributes: ['uid'] };
    {
      await using client = await bound(slapd.url, slapd.otherDn, slapd.otherPassword);
      await assert.rejects(client.search(slapd.baseDn, search), (err: unknown) => {
        assert.ok(err instanceof SizeLimitExceededError, `SizeLimitExceededError, not ${String(err)}`);
        assert.equal(err.code, 4); // sizeLimitExceeded
        return true;
      });
      // Not paged either.
      await assert.rejects(client.search(slapd.baseDn, { filter: search.filter, attributes: ['uid'] }), SizeLimitExceededError);
    }
    {
      // The limited account reads NT hashes, and is held to the size limit all the same.
      await using client = await bound(slapd.url, slapd.limitedDn, slapd.limitedPassword);
      const entry = await findUser(client, slapd.baseDn, user);
      assert.equal(first(entry, 'sambaNTPassword')?.toUpperCase(), await ntHex(user.password));
      await assert.rejects(client.search(slapd.baseDn, search), SizeLimitExceededError);
    }
    {
      await using client = await bound(slapd.url, slapd.syncDn, slapd.syncPassword);
      let pages = 0;
      const uids = new Set<string>();
      for await (const page of client.searchPaginated(slapd.baseDn, search)) {
        pages++;
        for (const e of page.searchEntries) uids.add(first(e, 'uid') ?? '');
      }
      assert.equal(uids.size, USERS);
      assert.equal(pages, Math.ceil(USERS / pageSize));
    }
  });

  it('ldaps:// with the test CA works, and is refused without it', async () => {
    assert.ok(slapd.ldapsUrl !== undefined && slapd.caFile !== undefined);
    const ca = readFileSync(slapd.caFile);
    {
      await using client = await bound(slapd.ldapsUrl, slapd.syncDn, slapd.syncPassword, ca);
      const entry = await findUser(client, slapd.baseDn, user);
      assert.equal(first(entry, 'sambaNTPassword')?.toUpperCase(), await ntHex(user.password));
    }
    await using untrusting = new Client({ url: slapd.ldapsUrl, timeout: 10_000, connectTimeout: 5_000 });
    await assert.rejects(untrusting.bind(slapd.syncDn, slapd.syncPassword), /self[- ]signed|unable to verify|certificate/i);
  });

  it('StartTLS on ldap:// with the test CA works', async () => {
    assert.ok(slapd.caFile !== undefined);
    await using client = new Client({ url: slapd.url, timeout: 10_000 });
    await client.startTLS({ ca: [readFileSync(slapd.caFile)] });
    await client.bind(slapd.syncDn, slapd.syncPassword);
    const entry = await findUser(client, slapd.baseDn, user);
    assert.equal(first(entry, 'sambaNTPassword')?.toUpperCase(), await ntHex(user.password));
  });

  it('kill() then restart(): same port, same data, a write made before the kill included', async () => {
    const url = slapd.url;
    let before: Entry | undefined;
    {
      await using root = await bound(url, slapd.rootDn, slapd.rootPassword);
      await root.modify(
        (await findUser(root, slapd.baseDn, user))?.dn ?? assert.fail('user'),
        new Change({ operation: 'replace', modification: new Attribute({ type: 'description', values: ['written before the kill'] }) }),
      );
      before = await findUser(root, slapd.baseDn, user);
    }
    await slapd.kill();
    await assert.rejects(bound(url, slapd.syncDn, slapd.syncPassword)); // nothing listens
    await slapd.restart();
    assert.equal(slapd.url, url);
    await using client = await bound(slapd.url, slapd.syncDn, slapd.syncPassword);
    const after = await findUser(client, slapd.baseDn, user);
    assert.equal(first(after, 'entryUUID'), first(before, 'entryUUID'));
    assert.equal(first(after, 'sambaNTPassword'), first(before, 'sambaNTPassword'));
    const { searchEntries } = await client.search(slapd.baseDn, { filter: `(description=written before the kill)`, attributes: ['1.1'] });
    assert.deepEqual(searchEntries.map((e) => e.dn), [before?.dn]);
    const count = await client.search(slapd.baseDn, { filter: '(objectClass=sambaSamAccount)', paged: { pageSize: 500 }, attributes: ['1.1'] });
    assert.equal(count.searchEntries.length, USERS);
    // ldaps comes back on its port too.
    assert.ok(slapd.ldapsUrl !== undefined && slapd.caFile !== undefined);
    await using tls = await bound(slapd.ldapsUrl, slapd.syncDn, slapd.syncPassword, readFileSync(slapd.caFile));
    assert.equal(tls.isBound, true);
  });

  it('stop() then restart() works as well', async () => {
    await slapd.stop();
    await slapd.restart();
    await using client = await bound(slapd.url, slapd.otherDn, slapd.otherPassword);
    assert.ok((await findUser(client, slapd.baseDn, user)) !== undefined);
  });
});

describe('slapd harness: other setups', { timeout: 60_000 }, () => {
  it('loads the bundled sample directory (slapcat LDIF, every entry) as given', async () => {
    await using slapd = await startSlapd({ ldif: SAMPLE_LDIF });
    assert.equal(slapd.passwordsCsv, undefined);
    assert.equal(slapd.ldapsUrl, undefined);
    const entries = readFileSync(SAMPLE_LDIF, 'latin1').match(/^dn:/gm)?.length ?? 0;
    await using root = await bound(slapd.url, slapd.rootDn, slapd.rootPassword);
    const all = await root.search(slapd.baseDn, { filter: '(objectClass=*)', attributes: ['1.1'] });
    assert.equal(all.searchEntries.length, entries + 4); // + ou=Service and the three service accounts
    // The operational attributes come from the LDIF, not from slapadd.
    const base = await root.search(slapd.baseDn, { scope: 'base', attributes: ['entryUUID', 'createTimestamp'] });
    assert.equal(first(base.searchEntries[0], 'entryUUID'), 'c9bb54c5-7c9b-415c-9508-5bc801882910');
    assert.equal(first(base.searchEntries[0], 'createTimestamp'), '20180604092730Z');
  });

  it('syncAccountCanReadHashes: false keeps sambaNTPassword from the sync account too', async () => {
    await using slapd = await startSlapd({ users: 5, syncAccountCanReadHashes: false });
    await using client = await bound(slapd.url, slapd.syncDn, slapd.syncPassword);
    const { searchEntries } = await client.search(slapd.baseDn, { filter: '(objectClass=sambaSamAccount)', attributes: USER_ATTRIBUTES });
    assert.equal(searchEntries.length, 5);
    for (const e of searchEntries) {
      assert.ok(first(e, 'uid') !== undefined);
      assert.equal(first(e, 'sambaNTPassword'), undefined);
    }
  });

  it('an LDIF slapadd refuses, or none, is a clear error', async () => {
    await assert.rejects(startSlapd({ ldif: '/nonexistent/directory.ldif' }), /no such LDIF file/);
    using dir = tempDir();
    const bad = dir.file('bad.ldif');
    writeFileSync(bad, 'dn: dc=example,dc=com\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example\nfavouriteColour: blue\n');
    await assert.rejects(startSlapd({ ldif: bad }), /slapadd of the directory failed[\s\S]*favouriteColour/);
  });
});

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  DS_REPLICATION_GET_CHANGES,
  DS_REPLICATION_GET_CHANGES_ALL,
  SAMBA_CACHE_DIR,
  generateSambaUsers,
  sambaUnavailableReason,
  startSambaDc,
} from '../support/samba-dc.ts';
import type { SambaDc } from '../support/samba-dc.ts';
import { canConnect } from '../support/can-connect.ts';

// A real Samba AD DC (test/support/samba-dc.ts): one per machine, so these tests may wait for
// another process's DC to stop.
const unavailable = sambaUnavailableReason();
const SEED = 'samba-dc-harness-test';
const COUNT = 40;

/** Every file under `root` (recursively) with its mtime, for "nothing was written there" checks. */
function snapshot(root: string): Map<string, number> {
  const files = new Map<string, number>();
  const walk = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir);
    } catch {
      return;
    }
    for (const name of names) {
      const path = join(dir, name);
      try {
        const st = statSync(path);
        files.set(path, st.mtimeMs);
        if (st.isDirectory()) walk(path);
      } catch {
        // vanished
      }
    }
  };
  walk(root);
  return files;
}

const SYSTEM_DIRS = ['/etc/samba', '/var/lib/samba', '/var/cache/samba'] as const;

function sha256(path: string): string | undefined {
  return existsSync(path) ? createHash('sha256').update(readFileSync(path)).digest('hex') : undefined;
}

/** Listening TCP sockets (IPv4 and IPv6) on `port`: their local addresses as written in /proc/net. */
function listeners(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      const local = fields[1];
      if (local === undefined || fields[3] !== '0A') continue; // 0A: LISTEN
      const [address, hexPort] = local.split(':');
      if (hexPort !== undefined && parseInt(hexPort, 16) === port) found.push(`${file}:${address}`);
    }
  }
  return found;
}


describe('Samba AD DC harness', { skip: unavailable ?? false }, () => {
  let dc: SambaDc;
  const smbConfBefore = sha256('/etc/samba/smb.conf');
  const before_ = new Map(SYSTEM_DIRS.map((d) => [d, snapshot(d)]));

  before(async () => {
    dc = await startSambaDc({ users: COUNT, seed: SEED });
  });
  after(async () => {
    await dc?.stop();
  });

  it('generates the users deterministically: distinct passwords, every 17th disabled, every 19th must change', () => {
    assert.deepEqual(dc.users, generateSambaUsers(COUNT, SEED));
    assert.equal(new Set(dc.users.map((u) => u.password)).size, COUNT);
    assert.equal(dc.users[0]?.sam, 'user00001');
    assert.equal(dc.users[0]?.upn, 'user00001@test.example');
    assert.deepEqual(dc.users.filter((u) => u.disabled === true).map((u) => u.sam), ['user00017', 'user00034']);
    assert.deepEqual(dc.users.filter((u) => u.mustChange === true).map((u) => u.sam), ['user00019', 'user00038']);
    assert.notDeepEqual(generateSambaUsers(3, 'other seed').map((u) => u.password), dc.users.slice(0, 3).map((u) => u.password));
  });

  it('listens on 127.0.0.1 only', () => {
    for (const port of [88, 135, 389, 445, 636, 3268]) {
      assert.deepEqual(listeners(port), ['/proc/net/tcp:0100007F'], `port ${port}`);
    }
  });

  it("binds each user with its password (non-ASCII and astral ones included); refuses a wrong one, disabled users and must-change users", async () => {
    for (const u of dc.users) {
      const expected = u.disabled === true ? 'disabled' : u.mustChange === true ? 'must-change' : 'ok';
      assert.equal(await dc.tryBind(u.sam, u.password), expected, `${u.sam} ${JSON.stringify(u.password)}`);
    }
    assert.ok(dc.users.some((u) => /[^\u0000-\u007f]/.test(u.password)), 'some non-ASCII password');
    assert.ok(dc.users.some((u) => /[\u{10000}-\u{10ffff}]/u.test(u.password)), 'some astral password');
    assert.equal(await dc.tryBind('user00001', `${dc.users[0]!.password}x`), 'invalid-credentials');
    assert.equal(await dc.tryBind('user00001@test.example', dc.users[0]!.password), 'ok');
    assert.equal(await dc.tryBind(dc.adminUser, dc.adminPassword), 'ok');
    assert.equal(await dc.tryBind(dc.syncUser, dc.syncPassword), 'ok');
    assert.equal(await dc.tryBind(dc.plainUser, dc.plainPassword), 'ok');
  });

  it('sets userAccountControl 0x2 on disabled users and pwdLastSet 0 on must-change ones', async () => {
    const rows = await dc.ldapSearch('(&(objectClass=user)(sAMAccountName=user*))', ['sAMAccountName', 'userAccountControl', 'pwdLastSet', 'objectGUID', 'uSNChanged']);
    assert.equal(rows.length, COUNT);
    for (const u of dc.users) {
      const row = rows.find((r) => r['sAMAccountName']?.[0] === u.sam);
      assert.ok(row, u.sam);
      const uac = Number(row['userAccountControl']?.[0]);
      assert.equal((uac & 0x2) !== 0, u.disabled === true, `${u.sam} uac ${uac}`);
      assert.equal(row['pwdLastSet']?.[0] === '0', u.mustChange === true, `${u.sam} pwdLastSet ${row['pwdLastSet']?.[0]}`);
      assert.equal(Buffer.from(row['objectGUID']?.[0] ?? '', 'base64').length, 16, 'objectGUID in base64');
      assert.match(row['uSNChanged']?.[0] ?? '', /^\d+$/);
    }
  });

  it('grants the sync account, and not the plain one, both replication rights on the domain NC', async () => {
    const out = await dc.sambaTool(['dsacl', 'get', `--objectdn=${dc.baseDn}`, ...dc.adminArgs]);
    const aces = out.match(/\([^()]*\)/g) ?? [];
    const of = (sid: string): string[] => aces.filter((a) => a.endsWith(`;${sid})`));
    assert.deepEqual(
      of(dc.syncSid).sort(),
      [`(OA;;CR;${DS_REPLICATION_GET_CHANGES};;${dc.syncSid})`, `(OA;;CR;${DS_REPLICATION_GET_CHANGES_ALL};;${dc.syncSid})`].sort(),
    );
    assert.deepEqual(of(dc.plainSid), []);
    // And the sync account is in no group but Domain Users.
    const [sync] = await dc.ldapSearch(`(sAMAccountName=${dc.syncUser})`, ['memberOf', 'primaryGroupID', 'objectSid']);
    assert.equal(sync?.['memberOf'], undefined);
    assert.deepEqual(sync?.['primaryGroupID'], ['513']);
    assert.match(dc.syncSid, /^S-1-5-21-\d+-\d+-\d+-\d+$/);
    assert.ok(dc.syncSid.startsWith(`${dc.domainSid}-`));
  });

  it('changes passwords, adds and disables users on the running DC', async () => {
    const u1 = dc.users[0]!;
    const before = await dc.ldapSearch(`(sAMAccountName=${u1.sam})`, ['uSNChanged']);
    await dc.setPassword(u1.sam, 'New-Passw0rd-€');
    assert.equal(await dc.tryBind(u1.sam, 'New-Passw0rd-€'), 'ok');
    assert.equal(await dc.tryBind(u1.sam, u1.password), 'invalid-credentials');
    assert.equal(dc.users[0]?.password, 'New-Passw0rd-€');
    const after_ = await dc.ldapSearch(`(sAMAccountName=${u1.sam})`, ['uSNChanged']);
    assert.ok(Number(after_[0]?.['uSNChanged']?.[0]) > Number(before[0]?.['uSNChanged']?.[0]), 'uSNChanged moved');

    // A must-change user whose password an administrator resets can bind.
    await dc.setPassword('user00019', 'Reset-Passw0rd');
    assert.equal(await dc.tryBind('user00019', 'Reset-Passw0rd'), 'ok');
    assert.equal(dc.users.find((u) => u.sam === 'user00019')?.mustChange, undefined);

    const added = generateSambaUsers(3, SEED, COUNT + 1).map((u, i) => (i === 1 ? { ...u, disabled: true } : i === 2 ? { ...u, mustChange: true } : u));
    await dc.addUsers(added);
    assert.equal(dc.users.length, COUNT + 3);
    assert.equal(await dc.tryBind(added[0]!.sam, added[0]!.password), 'ok');
    assert.equal(await dc.tryBind(added[1]!.sam, added[1]!.password), 'disabled');
    assert.equal(await dc.tryBind(added[2]!.sam, added[2]!.password), 'must-change');
    const [row] = await dc.ldapSearch(`(sAMAccountName=${added[2]!.sam})`, ['pwdLastSet']);
    assert.deepEqual(row?.['pwdLastSet'], ['0']);

    await dc.disableUser(added[0]!.sam);
    assert.equal(await dc.tryBind(added[0]!.sam, added[0]!.password), 'disabled');
    assert.equal(dc.users.find((u) => u.sam === added[0]!.sam)?.disabled, true);
  });

  it('writes nothing under /etc/samba, /var/lib/samba or /var/cache/samba', () => {
    assert.equal(sha256('/etc/samba/smb.conf'), smbConfBefore);
    for (const d of SYSTEM_DIRS) {
      const now = snapshot(d);
      const changed = [...now].filter(([path, mtime]) => before_.get(d)?.get(path) !== mtime).map(([path]) => path);
      assert.deepEqual(changed, [], d);
    }
    assert.deepEqual(readdirSync('/var/lib/samba/private'), []);
    assert.ok(dc.dir.startsWith('/tmp/') || dc.dir.includes('phsync-samba-dc-'));
  });

  it('stops: processes gone, ports closed, directory removed; a second stop is a no-op', async () => {
    const dir = dc.dir;
    await dc.stop();
    await dc.stop();
    assert.equal(existsSync(dir), false);
    assert.equal(await canConnect(389), false);
    assert.equal(await canConnect(135), false);
  });
});

describe('Samba AD DC harness: cached domains', { skip: unavailable ?? false }, () => {
  it('archives a populated domain once, then starts from the archive', async () => {
    const count = 200;
    const seed = 'samba-dc-harness-cache';
    {
      await using first = await startSambaDc({ users: count, seed });
      assert.equal(first.users.length, count);
      if (!first.fromCache) assert.ok(first.timings.populateMs !== undefined && first.timings.archiveMs !== undefined);
    }
    const archives = readdirSync(SAMBA_CACHE_DIR).filter((f) => f.startsWith('users-') && !f.endsWith('.lock'));
    assert.ok(archives.length > 0, 'a users archive in the cache');
    await using second = await startSambaDc({ users: count, seed });
    assert.equal(second.fromCache, true);
    assert.equal(second.timings.populateMs, undefined);
    const u = second.users[count - 1]!;
    assert.equal(u.sam, 'user00200');
    assert.equal(await second.tryBind(u.sam, u.password), u.disabled === true ? 'disabled' : u.mustChange === true ? 'must-change' : 'ok');
    const rows = await second.ldapSearch('(&(objectClass=user)(sAMAccountName=user*))', ['sAMAccountName']);
    assert.equal(rows.length, count);
  });
});

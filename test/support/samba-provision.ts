import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DS_REPLICATION_GET_CHANGES,
  DS_REPLICATION_GET_CHANGES_ALL,
  PLAIN_SAM,
  SAMBA_BASE_DN,
  SAMBA_DOMAIN,
  SAMBA_REALM,
  sambaUserDn,
  SYNC_SAM,
  unicodePwd,
} from './samba-domain.ts';
import { requiredProgram, run, sambaVersion, secret, toolEnv } from './samba-programs.ts';
import type { SambaUser } from './samba-users.ts';

/**
 * The domain's files: smb.conf, `samba-tool domain provision` of the bare domain (service accounts,
 * replication rights, password settings, TLS keys), its metadata, and users added offline (ldbadd).
 */

/** Bumped whenever what an archive holds changes (layout, accounts, rights, smb.conf needs). */
export const ARCHIVE_FORMAT = 2;
const META_FILE = 'phsync-meta.json';

function smbConf(dir: string): string {
  return [
    '# phsync test harness (test/support/samba-dc.ts)',
    '[global]',
    '\tnetbios name = DC1',
    `\trealm = ${SAMBA_REALM}`,
    `\tworkgroup = ${SAMBA_DOMAIN}`,
    '\tserver role = active directory domain controller',
    '\tserver services = -dns -nbt -wrepl -ntp_signd -dnsupdate',
    '\tinterfaces = 127.0.0.1',
    '\tbind interfaces only = yes',
    '\tldap server require strong auth = no',
    // By default (as in Windows) an NTLM logon, hence an LDAP simple bind, still accepts the previous
    // password for 60 minutes after a change or reset: not in tests.
    '\told password allowed period = 0',
    '\tidmap_ldb:use rfc2307 = yes',
    `\tbinddns dir = ${dir}/bind-dns`,
    `\tcache directory = ${dir}/cache`,
    `\tlock directory = ${dir}`,
    `\tprivate dir = ${dir}/private`,
    `\tstate directory = ${dir}/state`,
    `\tpid directory = ${dir}/run`,
    `\tncalrpc dir = ${dir}/ncalrpc`,
    `\tlog file = ${dir}/logs/samba.log`,
    '\tmax log size = 0',
    '',
    '[sysvol]',
    `\tpath = ${dir}/state/sysvol`,
    '\tread only = No',
    '',
    '[netlogon]',
    `\tpath = ${dir}/state/sysvol/test.example/scripts`,
    '\tread only = No',
    '',
  ].join('\n');
}

/** (Re)writes smb.conf for the domain in `dir` (an archive's smb.conf names the directory it was made in). */
export function writeSmbConf(dir: string): string {
  for (const sub of ['etc', 'logs', 'run', 'ncalrpc', 'cache']) mkdirSync(join(dir, sub), { recursive: true });
  const conf = join(dir, 'etc', 'smb.conf');
  writeFileSync(conf, smbConf(dir));
  return conf;
}

export interface DomainMeta {
  readonly format: number;
  readonly sambaVersion: string;
  readonly adminPassword: string;
  readonly syncPassword: string;
  readonly plainPassword: string;
  readonly syncSid: string;
  readonly plainSid: string;
  readonly domainSid: string;
}

export function readMeta(dir: string): DomainMeta {
  const meta = JSON.parse(readFileSync(join(dir, META_FILE), 'utf8')) as DomainMeta;
  if (meta.format !== ARCHIVE_FORMAT) throw new Error(`domain archive format ${meta.format}, expected ${ARCHIVE_FORMAT}`);
  return meta;
}

/** An LDIF value line: plain when RFC 2849 SAFE-STRING, else base64. */
function ldifLine(name: string, value: string | Buffer): string {
  if (typeof value === 'string' && /^[\x21-\x39\x3b\x3d-\x7e][\x20-\x7e]*$/.test(value) && !value.endsWith(' ')) return `${name}: ${value}`;
  return `${name}:: ${Buffer.from(value).toString('base64')}`;
}

export function userLdif(user: SambaUser): string {
  return [
    ldifLine('dn', sambaUserDn(user.sam)),
    'objectClass: user',
    ldifLine('sAMAccountName', user.sam),
    ldifLine('userPrincipalName', user.upn),
    ldifLine('unicodePwd', unicodePwd(user.password)),
    `userAccountControl: ${user.disabled === true ? 514 : 512}`,
    ...(user.mustChange === true ? ['pwdLastSet: 0'] : []),
    '',
    '',
  ].join('\n');
}

export async function ldbAdd(dir: string, conf: string, ldif: string, what: string): Promise<void> {
  const file = join(dir, `phsync-add-${randomBytes(4).toString('hex')}.ldif`);
  writeFileSync(file, ldif, { mode: 0o600 });
  try {
    // --nosync: the domain is thrown away (or archived) anyway; one transaction for the whole file.
    await run(requiredProgram('ldbadd'), ['--nosync', `--configfile=${conf}`, '-H', join(dir, 'private', 'sam.ldb'), file], what, { env: toolEnv(dir) });
  } finally {
    rmSync(file, { force: true });
  }
}

async function ldbSearchSid(dir: string, conf: string, sam: string): Promise<string> {
  const out = await run(
    requiredProgram('ldbsearch'),
    [`--configfile=${conf}`, '-H', join(dir, 'private', 'sam.ldb'), '-b', SAMBA_BASE_DN, `(sAMAccountName=${sam})`, 'objectSid'],
    `ldbsearch of ${sam}`,
    { env: toolEnv(dir) },
  );
  const sid = /^objectSid: (S-1-5-21-[\d-]+)$/m.exec(out)?.[1];
  if (sid === undefined) throw new Error(`no objectSid for ${sam} in:\n${out}`);
  return sid;
}

/** Provisions the bare domain (service accounts and rights included) into `dir` (empty). */
export async function provisionDomain(dir: string): Promise<void> {
  const adminPassword = secret();
  const syncPassword = secret();
  const plainPassword = secret();
  const emptyConf = join(dir, 'provision-empty.conf');
  writeFileSync(emptyConf, '');
  // Not the system's Kerberos configuration (an empty file: Heimdal refuses /dev/null).
  const emptyKrb5 = join(dir, 'provision-krb5.conf');
  writeFileSync(emptyKrb5, '');
  const env = { ...process.env, KRB5_CONFIG: emptyKrb5 };
  // An empty -s file: provision reads no /etc/samba/smb.conf and writes nothing outside targetdir.
  await run(
    requiredProgram('samba-tool'),
    [
      'domain', 'provision', '-s', emptyConf, `--targetdir=${dir}`,
      `--realm=${SAMBA_REALM}`, `--domain=${SAMBA_DOMAIN}`, '--server-role=dc', '--dns-backend=NONE', '--use-rfc2307',
      `--adminpass=${adminPassword}`, '--host-ip=127.0.0.1', '--host-name=dc1',
      '--option=interfaces = 127.0.0.1', '--option=bind interfaces only = yes',
    ],
    'samba-tool domain provision',
    { env },
  );
  rmSync(emptyConf);
  rmSync(emptyKrb5);
  const conf = writeSmbConf(dir);

  // TLS keys made now (RSA 2048, ~0.1 s) rather than by Samba at its first start (~1 s at every start
  // of an unpacked domain). ca.pem is the self-signed certificate itself.
  const tls = join(dir, 'private', 'tls');
  mkdirSync(tls, { recursive: true });
  await run(
    requiredProgram('openssl'),
    ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(tls, 'key.pem'), '-out', join(tls, 'cert.pem'), '-days', '3650',
      '-subj', '/O=phsync tests/CN=dc1.test.example', '-addext', 'subjectAltName=DNS:dc1.test.example,DNS:localhost,IP:127.0.0.1'],
    'openssl (Samba TLS key)',
  );
  writeFileSync(join(tls, 'ca.pem'), readFileSync(join(tls, 'cert.pem')));
  chmodSync(join(tls, 'key.pem'), 0o600); // Samba refuses a key others can read

  const service = (sam: string, password: string, description: string): string =>
    [
      ldifLine('dn', sambaUserDn(sam)),
      'objectClass: user',
      `sAMAccountName: ${sam}`,
      `userPrincipalName: ${sam}@test.example`,
      `description: ${description}`,
      ldifLine('unicodePwd', unicodePwd(password)),
      'userAccountControl: 66048', // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD
      '',
      '',
    ].join('\n');
  await ldbAdd(
    dir,
    conf,
    service(SYNC_SAM, syncPassword, 'phsync replication account: Replicating Directory Changes (All) on the domain') +
      service(PLAIN_SAM, plainPassword, 'phsync test account without replication rights'),
    'ldbadd of the service accounts',
  );
  const syncSid = await ldbSearchSid(dir, conf, SYNC_SAM);
  const plainSid = await ldbSearchSid(dir, conf, PLAIN_SAM);
  const domainSid = syncSid.replace(/-\d+$/, '');
  await run(
    requiredProgram('samba-tool'),
    ['dsacl', 'set', '-s', conf, '-H', join(dir, 'private', 'sam.ldb'), `--objectdn=${SAMBA_BASE_DN}`,
      `--sddl=(OA;;CR;${DS_REPLICATION_GET_CHANGES};;${syncSid})(OA;;CR;${DS_REPLICATION_GET_CHANGES_ALL};;${syncSid})`],
    'samba-tool dsacl set (replication rights)',
    { env: toolEnv(dir) },
  );
  // Passwords that never expire (a cached domain may be unpacked months after its users were made:
  // with the default 42 days, their binds would fail, AD data 532) and may be changed by their user
  // at once (default minimum age: 1 day). Complexity, history (24) and minimum length (7) as default.
  await run(
    requiredProgram('samba-tool'),
    ['domain', 'passwordsettings', 'set', '-s', conf, '-H', join(dir, 'private', 'sam.ldb'), '--max-pwd-age=0', '--min-pwd-age=0'],
    'samba-tool domain passwordsettings set',
    { env: toolEnv(dir) },
  );
  const meta: DomainMeta = { format: ARCHIVE_FORMAT, sambaVersion: sambaVersion(), adminPassword, syncPassword, plainPassword, syncSid, plainSid, domainSid };
  writeFileSync(join(dir, META_FILE), `${JSON.stringify(meta, null, 2)}\n`, { mode: 0o600 });
}

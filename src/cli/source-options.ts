import { resolve } from 'node:path';
import type { Argv } from 'yargs';
import { ConfigError, DEFAULT_AD_OBJECTS_PER_CALL, DEFAULT_PAGE_SIZE, loadConfig, parseConfig } from '../config/config-file.ts';
import type { BindPasswordSource, PhsyncConfig } from '../config/config-types.ts';
import { FatalError } from '../errors.ts';
import { PRESET_NAMES } from '../source/presets/presets.ts';
import { SAMPLE_DIRECTORY } from './package-paths.ts';
import { readSecret } from './read-secret.ts';

export const BIND_PASSWORD_ENV = 'PHSYNC_BIND_PASSWORD';

const DIRECTORY = 'Directory (LDAP source):';

/** The options that say where users are read from; shared by every command that reads a directory. */
export function sourceOptions<T>(y: Argv<T>) {
  return y
    .option('config', { type: 'string', describe: 'JSON config file with one or more sources (see the README); replaces the source options below' })
    .option('source', { type: 'string', defaultDescription: 'the bundled sample directory', describe: 'an LDIF file (slapcat or ldifde output), ldap://host:port or ldaps://host:port, or ad://dc (Active Directory by replication, with --preset ad)' })
    .option('source-name', { type: 'string', default: 'default', describe: 'name of the source; anchors are unique per source, and it must stay the same from run to run' })
    .option('preset', { type: 'string', default: 'openldap-samba', choices: PRESET_NAMES, describe: 'attribute mapping' })
    .option('hashes', { type: 'string', describe: 'hash-export file (secretsdump/pwdump lines) for preset ad' })
    .option('exclude-ou', { type: 'string', array: true, describe: 'leave out users under this DN (repeatable)' })
    .option('base-dn', { type: 'string', array: true, group: DIRECTORY, describe: 'search base (repeatable)' })
    .option('filter', { type: 'string', group: DIRECTORY, describe: 'LDAP filter, ANDed with the preset\'s' })
    .option('member-of', { type: 'string', array: true, group: DIRECTORY, describe: 'only members of this group DN (repeatable: any of them)' })
    .option('bind-dn', { type: 'string', group: DIRECTORY, describe: `bind as this DN (ad://: the replication account, 'DOMAIN\\name' or name@realm); the password comes from ${BIND_PASSWORD_ENV} or --bind-password-file, never the command line` })
    .option('bind-password-file', { type: 'string', group: DIRECTORY, describe: 'file holding the bind password (mode 600)' })
    .option('starttls', { type: 'boolean', default: false, group: DIRECTORY, describe: 'upgrade ldap:// with StartTLS' })
    .option('tls-ca', { type: 'string', group: DIRECTORY, describe: 'CA certificate(s) (PEM) that sign the server\'s certificate' })
    .option('tls-insecure', { type: 'boolean', default: false, group: DIRECTORY, describe: 'do not verify the server\'s certificate (prints a warning)' })
    .option('page-size', { type: 'number', group: DIRECTORY, defaultDescription: `${DEFAULT_PAGE_SIZE}; ad://: ${DEFAULT_AD_OBJECTS_PER_CALL}`, describe: 'entries per page of the paged search (ad://: objects per replication call)' })
    .option('ldap-timeout', { type: 'number', default: 60, group: DIRECTORY, describe: 'seconds to wait for one LDAP operation' })
    .option('ldap-retries', { type: 'number', default: 8, group: DIRECTORY, describe: 'reconnects after a lost connection before giving up' });
}

type SourceArgs = Awaited<ReturnType<typeof sourceOptions>['argv']>;

// Config keys as the command line spells them, for messages about flags.
const FLAG_FOR_KEY: Readonly<Record<string, string>> = {
  url: '--source', ldif: '--source', name: '--source-name', preset: '--preset', hashesFile: '--hashes', excludeOus: '--exclude-ou',
  baseDns: '--base-dn', filter: '--filter', memberOf: '--member-of', bindDn: '--bind-dn', bindPasswordFile: '--bind-password-file',
  bindPasswordEnv: `${BIND_PASSWORD_ENV}`, startTls: '--starttls', tlsCa: '--tls-ca', tlsInsecure: '--tls-insecure', pageSize: '--page-size',
};

/**
 * The sources to read: from --config, or one source from the flags. Flags go through the same
 * validation as a config file, so both refuse the same mistakes with the same words.
 */
export async function sourcesFromArgs(args: SourceArgs): Promise<PhsyncConfig> {
  if (args.config !== undefined) {
    if (args.source !== undefined) throw new FatalError('OPTION_INVALID', '--config and --source both name sources; give one of them');
    return loadConfig(args.config);
  }
  const source = args.source ?? SAMPLE_DIRECTORY;
  const isLdap = /^(?:ldaps?|ad):\/\//i.test(source);
  const raw: Record<string, unknown> = { name: args['source-name'], preset: args.preset };
  const put = (key: string, value: unknown): void => {
    if (value !== undefined && value !== false && !(Array.isArray(value) && value.length === 0)) raw[key] = value;
  };
  put(isLdap ? 'url' : 'ldif', source);
  put('hashesFile', args.hashes);
  put('excludeOus', args['exclude-ou']);
  put('baseDns', args['base-dn']);
  put('filter', args.filter);
  put('memberOf', args['member-of']);
  put('bindDn', args['bind-dn']);
  put('bindPasswordFile', args['bind-password-file']);
  if (args['bind-dn'] !== undefined && args['bind-password-file'] === undefined) put('bindPasswordEnv', BIND_PASSWORD_ENV);
  put('startTls', args.starttls);
  put('tlsCa', args['tls-ca']);
  put('tlsInsecure', args['tls-insecure']);
  if (isLdap) put('pageSize', args['page-size'] ?? (/^ad:/i.test(source) ? undefined : DEFAULT_PAGE_SIZE));
  try {
    return parseConfig({ sources: [raw] }, resolve('command line'));
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.issues.map((i) => {
      const key = i.path.replace(/^sources\[0\]\.?/, '').split(/[.[]/)[0] ?? '';
      return `${FLAG_FOR_KEY[key] ?? (key || 'source')}: ${i.message}`;
    });
    throw new FatalError('OPTION_INVALID', lines.join('; '), { cause: err });
  }
}

export function readBindPassword(from: BindPasswordSource, warn: (message: string) => void): string {
  const secret = readSecret({ file: from.from === 'file' ? from.path : undefined, env: from.from === 'env' ? from.variable : BIND_PASSWORD_ENV, what: 'bind password', warn });
  if (secret === undefined) {
    throw new FatalError('BIND_PASSWORD_MISSING', `a bind DN is given but no password: set ${from.from === 'env' ? from.variable : BIND_PASSWORD_ENV} or use --bind-password-file`);
  }
  return secret;
}

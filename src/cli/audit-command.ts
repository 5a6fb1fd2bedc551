import type { Argv } from 'yargs';
import { auditPasswords } from '../audit/password-audit.ts';
import type { AuditUser, PasswordAudit } from '../audit/password-audit.ts';
import { LeakedStore } from '../leaked/leaked-store.ts';
import { log } from '../observe/logger.ts';
import { createSource } from '../source/create-source.ts';
import type { OpenedSource } from '../source/create-source.ts';
import { DEFAULT_RETRY } from '../util/retry-policy.ts';
import { EXIT } from './exit-codes.ts';
import { integerOption } from './parse-options.ts';
import { shutdownSignal } from './shutdown-signal.ts';
import { readBindPassword, sourceOptions, sourcesFromArgs } from './source-options.ts';

export function auditOptions<T>(y: Argv<T>) {
  return sourceOptions(y)
    .option('leaked-store', { type: 'string', describe: 'also report users whose NT hash is in this leaked-hash store (phsync leaked import)' })
    .option('show', { type: 'number', default: 20, describe: 'at most this many users listed per finding in the text report (JSON lists all)' })
    .option('json', { type: 'boolean', default: false, describe: 'print the report as JSON on stdout' })
    .epilog('Reads the directory, syncs nothing and writes nothing. Shared passwords are found with a keyed fingerprint whose key is forgotten at exit: the report names who shares a password, never a hash.');
}

type AuditArgs = Awaited<ReturnType<typeof auditOptions>['argv']>;

const warn = (message: string): void => {
  log().warn(message);
};

/** `phsync audit`: a password quality report over the directory, without syncing. */
export async function auditCommand(args: AuditArgs): Promise<number> {
  const show = integerOption('show', args.show, 0, 1_000_000);
  const config = await sourcesFromArgs(args);
  const signal = shutdownSignal();
  const leakedPath = args['leaked-store'] ?? config.leakedStore;
  const store = leakedPath === undefined ? undefined : LeakedStore.open(leakedPath);
  const opened: OpenedSource[] = [];
  try {
    for (const source of config.sources) {
      opened.push(await createSource(source, { signal, readBindPassword: (from) => readBindPassword(from, warn), warn, retry: { ...DEFAULT_RETRY, maxRetries: integerOption('ldap-retries', args['ldap-retries'], 0, 1000) }, timeoutMs: integerOption('ldap-timeout', args['ldap-timeout'], 1, 86_400) * 1000 }));
    }
    const audit = await auditPasswords(opened.map((o) => o.source), store);
    if (signal.aborted) return EXIT.interrupted;
    process.stdout.write(args.json ? `${JSON.stringify(audit, null, 2)}\n` : formatAudit(audit, show));
    return EXIT.ok;
  } finally {
    for (const o of opened) o.close();
    store?.close();
  }
}

function listed(title: string, users: readonly AuditUser[], show: number): string[] {
  const lines = [`${title}: ${users.length}`];
  for (const u of users.slice(0, show)) lines.push(`  ${u.userPrincipalName}${u.disabled ? ' (disabled)' : ''}  [${u.source} ${u.anchor}]`);
  if (users.length > show) lines.push(`  … and ${users.length - show} more (--show N, or --json for all)`);
  return lines;
}

export function formatAudit(a: PasswordAudit, show: number): string {
  const invalid = Object.entries(a.invalid);
  const sharing = a.sharedPassword.reduce((n, g) => n + g.length, 0);
  const lines = [
    `password audit of ${a.sources.join(', ')}: ${a.users} users${invalid.length === 0 ? '' : `, and ${invalid.reduce((n, [, c]) => n + c, 0)} entries that could not be read (${invalid.map(([code, n]) => `${code} ${n}`).join(', ')})`}`,
    ...(a.leaked === undefined ? ['leaked password: not checked (no --leaked-store)'] : listed('leaked password (in the leaked-hash store)', a.leaked, show)),
    ...listed('empty password', a.emptyPassword, show),
    `shared password: ${a.sharedPassword.length} groups, ${sharing} users`,
  ];
  for (const [i, group] of a.sharedPassword.slice(0, show).entries()) {
    lines.push(`  group ${i + 1} (${group.length} users): ${group.slice(0, show).map((u) => u.userPrincipalName).join(', ')}${group.length > show ? `, … and ${group.length - show} more` : ''}`);
  }
  if (a.sharedPassword.length > show) lines.push(`  … and ${a.sharedPassword.length - show} more groups`);
  lines.push(...listed('disabled with a password', a.disabledWithPassword, show), ...listed('must change password at next logon', a.mustChangePassword, show));
  return `${lines.join('\n')}\n`;
}

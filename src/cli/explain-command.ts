import type { Argv } from 'yargs';
import { existsSync } from 'node:fs';
import { FatalError } from '../errors.ts';
import { StateStore } from '../state/state-store.ts';
import { DEFAULT_HISTORY_LIMIT, referenceStatus } from '../state/user-history.ts';
import type { UserHistory } from '../state/user-history.ts';
import { EXIT } from './exit-codes.ts';
import { integerOption } from './parse-options.ts';

export function explainOptions<T>(y: Argv<T>) {
  return y
    .option('user', { type: 'string', demandOption: true, describe: 'user principal name (any case) or source anchor' })
    .option('state', { type: 'string', default: './phsync-state.db', describe: 'state store (SQLite)' })
    .option('source', { type: 'string', describe: 'only this source\'s users (by name)' })
    .option('limit', { type: 'number', default: DEFAULT_HISTORY_LIMIT, describe: 'at most this many history events per user' })
    .option('json', { type: 'boolean', default: false, describe: 'print JSON: { user, matches: [...] }' })
    .epilog('History is kept for 7 days by default. The state store holds no hash or credential, so none is ever shown.');
}

type ExplainArgs = Awaited<ReturnType<typeof explainOptions>['argv']>;

const iso = (ms: number): string => new Date(ms).toISOString();

/** The JSON form: ISO times, and each status also in the reference system's words (`display`). */
function toJson(h: UserHistory): unknown {
  return {
    source: h.source,
    anchor: h.anchor,
    userPrincipalName: h.userPrincipalName ?? null,
    current: h.current === undefined ? null : { status: h.current.status, reason: h.current.reason, message: h.current.message, display: referenceStatus(h.current) },
    synced: h.synced.map((s) => ({ target: s.target, runId: s.runId, syncedAt: iso(s.syncedAt), disabled: s.disabled, userPrincipalName: s.userPrincipalName })),
    leaked: h.leaked === undefined ? null : { runId: h.leaked.runId, foundAt: iso(h.leaked.foundAt), action: h.leaked.action },
    events: h.events.map((e) => ({ at: iso(e.at), runId: e.runId, runKind: e.runKind, userPrincipalName: e.userPrincipalName, status: e.status, reason: e.reason, message: e.message, display: referenceStatus(e) })),
  };
}

function toText(h: UserHistory): string {
  const lines = [
    `source    ${h.source}`,
    `anchor    ${h.anchor}`,
    `upn       ${h.userPrincipalName ?? '(none)'}`,
    `status    ${h.current === undefined ? 'unknown (no status recorded)' : referenceStatus(h.current)}`,
  ];
  if (h.synced.length === 0) lines.push('synced    no: no target holds this user');
  for (const [i, s] of h.synced.entries()) {
    lines.push(`${i === 0 ? 'synced    ' : '          '}to ${s.target} as ${s.userPrincipalName}, ${iso(s.syncedAt)} (run ${s.runId}), ${s.disabled ? 'disabled there: sign-in refused' : 'enabled there'}`);
  }
  if (h.leaked !== undefined) {
    const done = h.leaked.action === 'flagged' ? 'synced with riskLevel high' : 'not synced (--leaked-policy skip)';
    lines.push(`leaked    password found in the leaked-password list by run ${h.leaked.runId} at ${iso(h.leaked.foundAt)}: ${done}`);
  }
  if (h.events.length === 0) {
    lines.push('history   none kept (a user in sync is not touched by a cycle; history is kept for the retention period)');
  } else {
    lines.push('history   (newest first)');
    for (const e of h.events) {
      const renamed = e.userPrincipalName !== undefined && e.userPrincipalName !== h.userPrincipalName ? ` [as ${e.userPrincipalName}]` : '';
      lines.push(`  ${iso(e.at)}  run ${e.runId} ${e.runKind}  ${referenceStatus(e)}${renamed}`);
    }
  }
  return lines.join('\n');
}

/** `phsync explain --user X`: what the state store knows about a user and what the last cycles did to it. */
export async function explainCommand(args: ExplainArgs): Promise<number> {
  const limit = integerOption('limit', args.limit, 1, 1_000_000);
  if (!existsSync(args.state)) throw new FatalError('STATE_NOT_FOUND', `no state store at ${args.state}: nothing has been synced with it yet`);
  using state = StateStore.open(args.state);
  const matches = state.userHistory({ user: args.user, limit, ...(args.source === undefined ? {} : { source: args.source }) });
  if (matches.length === 0) {
    const from = args.source === undefined ? '' : ` from source ${args.source}`;
    throw new FatalError('USER_NOT_FOUND', `no user ${JSON.stringify(args.user)}${from} in the state store ${args.state} (neither a user principal name nor an anchor it has seen, or its history has expired and it was never synced)`);
  }
  if (args.json) {
    process.stdout.write(`${JSON.stringify({ user: args.user, matches: matches.map(toJson) }, null, 2)}\n`);
    return EXIT.ok;
  }
  const header = matches.length > 1 ? `${matches.length} users match ${JSON.stringify(args.user)}:\n\n` : '';
  process.stdout.write(`${header}${matches.map(toText).join('\n\n')}\n`);
  return EXIT.ok;
}

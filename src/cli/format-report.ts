/**
 * `phsync report` for people: aligned text for a terminal, or a Markdown document (tables) to paste
 * into a ticket or a wiki. Both show what the RunReport holds, nothing more: no hash, no fingerprint,
 * no credential is ever in it. Times are ISO 8601 (UTC); offsets are seconds after the run's start.
 */
import type { RunReport } from '../state/run-report.ts';

const iso = (ms: number): string => new Date(ms).toISOString();
const seconds = (ms: number, digits = 1): string => `${(ms / 1000).toFixed(digits)} s`;
const ms1 = (ms: number): string => ms.toFixed(1);
const rate = (n: number): string => n.toFixed(1);

/** One line per value: control characters (a newline in a message) become spaces. */
const oneLine = (value: string): string => value.replace(/[\u0000-\u001f\u007f]+/g, ' ');

function byKey(t: Readonly<Record<string, number>>): string {
  const entries = Object.entries(t);
  return entries.length === 0 ? '' : ` (${entries.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

/** Columns padded to their widest cell; `right` columns (numbers) aligned right. */
function columns(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[], indent: string): string[] {
  const all = [header, ...rows].map((r) => r.map(oneLine));
  const widths = header.map((_, c) => Math.max(...all.map((r) => (r[c] ?? '').length)));
  return all.map((r) => `${indent}${r.map((cell, c) => (right[c] === true ? cell.padStart(widths[c]!) : c === r.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ')}`);
}

function title(r: RunReport): string {
  return `run ${r.run.id} (${r.run.kind}) of ${r.run.source} to ${r.run.target}: ${r.run.status}`;
}

function countsNote(r: RunReport): string | undefined {
  if (r.counts.from === 'sample') return r.run.status === 'running' ? 'the run is still running: totals so far, from its newest sample' : 'the run never finished: totals from its newest sample';
  if (r.counts.from === 'none') return 'none recorded';
  return undefined;
}

function elapsedNote(r: RunReport): string {
  if (r.run.finishedAt !== null) return '';
  return r.run.status === 'running' ? ' so far' : ' (until the last thing it recorded)';
}

/** `phsync report --format text`. */
export function formatReportText(r: RunReport): string {
  const c = r.counts;
  const out: string[] = [
    `phsync report: ${oneLine(title(r))}`,
    `  started       ${iso(r.run.startedAt)}`,
    `  finished      ${r.run.finishedAt === null ? (r.run.status === 'running' ? 'not yet (running)' : 'never (killed)') : iso(r.run.finishedAt)}`,
    `  elapsed       ${seconds(r.run.elapsedMs, 2)}${elapsedNote(r)}`,
  ];
  if (r.run.error !== null) out.push(`  error         ${oneLine(r.run.error)}`);

  const note = countsNote(r);
  out.push(`counts${note === undefined ? '' : ` (${note})`}`);
  if (c.from !== 'none') {
    out.push(
      `  scanned       ${c.scanned}${c.passedOver > 0 ? ` (and ${c.passedOver} entries that are not users)` : ''}`,
      `  synced        ${c.synced}`,
      `  hashed        ${c.hashed}`,
    );
    if (c.leaked > 0) out.push(`  leaked        ${c.leaked} with a password in the leaked-password list`);
    if (c.from === 'run') out.push(`  disabled      ${c.disabledAtTarget} at the target (sign-in refused there)`);
    out.push(`  skipped       ${c.skipped.total}${oneLine(byKey(c.skipped.byReason))}`, `  failed        ${c.failed.total}${oneLine(byKey(c.failed.byCode))}`);
    if (c.recoveredBatches + c.droppedBatches > 0) out.push(`  resumed       ${c.recoveredBatches} batches found applied at the target, ${c.droppedBatches} redone`);
  }

  const t = r.throughput;
  out.push('throughput', `  overall       ${rate(t.usersPerSecond)} users/s, ${rate(t.hashesPerSecond)} hashes/s`);
  if (t.overTime.length === 0) {
    out.push('  over time     no samples recorded');
  } else {
    out.push(`  over time${t.bucketed ? ` (${t.overTime.length} intervals of about equal length)` : ''}`);
    const rows = t.overTime.map((i) => [seconds(i.fromMs), seconds(i.toMs), String(i.scanned), rate(i.scannedPerSecond), String(i.synced), rate(i.syncedPerSecond)]);
    out.push(...columns(['from', 'to', 'scanned', 'users/s', 'synced', 'synced/s'], rows, [true, true, true, true, true, true], '    '));
  }

  const b = r.batches;
  out.push('batches');
  if (b.count === 0) {
    out.push('  none logged');
  } else {
    out.push(
      `  count         ${b.count}${byKey(b.byKind)}, ${b.users} users: applied ${b.applied}, stale ${b.stale}, rejected ${b.rejected}`,
      `  hashing       ${ms1(b.hashMs.total)} ms in all, median ${ms1(b.hashMs.median)} ms a batch`,
      `  writing       ${ms1(b.writeMs.total)} ms in all, median ${ms1(b.writeMs.median)} ms a batch`,
      `  slowest (hashing + writing)`,
    );
    const rows = b.slowest.map((s) => [s.kind, String(s.users), ms1(s.hashMs), ms1(s.writeMs), `+${seconds(s.finishedAfterMs)}`]);
    out.push(...columns(['kind', 'users', 'hash ms', 'write ms', 'finished'], rows, [false, true, true, true, true], '    '));
  }

  const f = r.failedUsers;
  out.push(`failed users  ${f.total}${f.users.length < f.total ? ` (the first ${f.users.length})` : ''}`);
  if (f.users.length > 0) {
    const rows = f.users.map((u) => [u.source, u.anchor, u.userPrincipalName ?? '-', u.code, u.message ?? '']);
    out.push(...columns(['source', 'anchor', 'user principal name', 'code', 'message'], rows, [], '  '));
  }

  if (r.leakedUsers.length > 0) {
    out.push(`leaked users  ${r.counts.leaked} found by this run${r.leakedUsers.length < r.counts.leaked ? `; still marked: the first ${r.leakedUsers.length}` : ''}`);
    out.push(...columns(['source', 'anchor', 'user principal name', 'action'], r.leakedUsers.map((u) => [u.source, u.anchor, u.userPrincipalName, u.action]), [], '  '));
  }

  out.push(`errors        ${r.errors.length === 0 ? 'none recorded' : `the run's first ${r.errors.length}`}`);
  for (const e of r.errors) out.push(`  ${oneLine(e.code)}: ${oneLine(e.origin)}: ${oneLine(e.message)}`);
  return `${out.join('\n')}\n`;
}

/**
 * A value in a Markdown table cell: one line, and the characters that would end the cell or start
 * markup (pipe, backslash, emphasis, code, HTML, links) escaped with a backslash.
 */
export function markdownCell(value: string): string {
  return oneLine(value).replace(/[\\|*_`<>[\]]/g, '\\$&').trim();
}

function mdTable(header: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string[] {
  return [
    `| ${header.map(markdownCell).join(' | ')} |`,
    `|${header.map((_, c) => (right[c] === true ? '---:' : '---')).join('|')}|`,
    ...rows.map((row) => `| ${row.map(markdownCell).join(' | ')} |`),
  ];
}

/** `phsync report --format md`: a Markdown document, with tables. */
export function formatReportMarkdown(r: RunReport): string {
  const c = r.counts;
  const out: string[] = [`# phsync report: run ${r.run.id}`, ''];
  const run: [string, string][] = [
    ['kind', r.run.kind],
    ['source', r.run.source],
    ['target', r.run.target],
    ['status', r.run.status],
    ['started', iso(r.run.startedAt)],
    ['finished', r.run.finishedAt === null ? (r.run.status === 'running' ? 'not yet (running)' : 'never (killed)') : iso(r.run.finishedAt)],
    ['elapsed', `${seconds(r.run.elapsedMs, 2)}${elapsedNote(r)}`],
  ];
  if (r.run.error !== null) run.push(['error', r.run.error]);
  out.push(...mdTable(['run', 'value'], run, []), '');

  const note = countsNote(r);
  out.push('## Counts', '');
  if (note !== undefined) out.push(`${note[0]!.toUpperCase()}${note.slice(1)}.`, '');
  if (c.from !== 'none') {
    const rows: [string, string][] = [['scanned', String(c.scanned)]];
    if (c.passedOver > 0) rows.push(['entries that are not users', String(c.passedOver)]);
    rows.push(['synced', String(c.synced)], ['hashed', String(c.hashed)]);
    if (c.leaked > 0) rows.push(['password in the leaked list', String(c.leaked)]);
    if (c.from === 'run') rows.push(['disabled at the target', String(c.disabledAtTarget)]);
    rows.push(['skipped', String(c.skipped.total)]);
    for (const [reason, n] of Object.entries(c.skipped.byReason)) rows.push([`skipped: ${reason}`, String(n)]);
    rows.push(['failed', String(c.failed.total)]);
    for (const [code, n] of Object.entries(c.failed.byCode)) rows.push([`failed: ${code}`, String(n)]);
    if (c.recoveredBatches + c.droppedBatches > 0) rows.push(['batches found applied after a restart', String(c.recoveredBatches)], ['batches redone after a restart', String(c.droppedBatches)]);
    out.push(...mdTable(['count', 'users'], rows, [false, true]), '');
  }

  const t = r.throughput;
  out.push('## Throughput', '', `Overall: ${rate(t.usersPerSecond)} users/s, ${rate(t.hashesPerSecond)} hashes/s.`, '');
  if (t.overTime.length === 0) {
    out.push('No samples recorded.', '');
  } else {
    if (t.bucketed) out.push(`Over time, in ${t.overTime.length} intervals of about equal length:`, '');
    const rows = t.overTime.map((i) => [(i.fromMs / 1000).toFixed(1), (i.toMs / 1000).toFixed(1), String(i.scanned), rate(i.scannedPerSecond), String(i.synced), rate(i.syncedPerSecond)]);
    out.push(...mdTable(['from (s)', 'to (s)', 'scanned', 'users/s', 'synced', 'synced/s'], rows, [true, true, true, true, true, true]), '');
  }

  const b = r.batches;
  out.push('## Batches', '');
  if (b.count === 0) {
    out.push('None logged.', '');
  } else {
    const kinds = Object.entries(b.byKind).map(([k, n]) => [`${k} batches`, String(n)]);
    const rows = [['batches', String(b.count)], ...kinds, ['users', String(b.users)], ['applied', String(b.applied)], ['stale', String(b.stale)], ['rejected', String(b.rejected)],
      ['hashing ms, in all', ms1(b.hashMs.total)], ['hashing ms, median batch', ms1(b.hashMs.median)], ['writing ms, in all', ms1(b.writeMs.total)], ['writing ms, median batch', ms1(b.writeMs.median)]];
    out.push(...mdTable(['batches', 'value'], rows, [false, true]), '');
    out.push('Slowest batches (hashing + writing):', '');
    const slow = b.slowest.map((s) => [s.kind, String(s.users), ms1(s.hashMs), ms1(s.writeMs), `+${(s.finishedAfterMs / 1000).toFixed(1)}`]);
    out.push(...mdTable(['kind', 'users', 'hash ms', 'write ms', 'finished (s)'], slow, [false, true, true, true, true]), '');
  }

  const f = r.failedUsers;
  out.push(`## Failed users (${f.total})`, '');
  if (f.users.length === 0) {
    out.push(f.total === 0 ? 'None recorded.' : 'Not listed.', '');
  } else {
    if (f.users.length < f.total) out.push(`The first ${f.users.length}:`, '');
    const rows = f.users.map((u) => [u.source, u.anchor, u.userPrincipalName ?? '', u.code, u.message ?? '']);
    out.push(...mdTable(['source', 'anchor', 'user principal name', 'code', 'message'], rows, []), '');
  }

  if (r.leakedUsers.length > 0) {
    out.push(`## Users with a leaked password (${r.counts.leaked})`, '');
    out.push(...mdTable(['source', 'anchor', 'user principal name', 'action'], r.leakedUsers.map((u) => [u.source, u.anchor, u.userPrincipalName, u.action]), []), '');
  }

  out.push('## Errors', '');
  if (r.errors.length === 0) {
    out.push('None recorded.');
  } else {
    out.push(`The run's first ${r.errors.length}:`, '', ...mdTable(['code', 'origin', 'message'], r.errors.map((e) => [e.code, e.origin, e.message]), []));
  }
  return `${out.join('\n')}\n`;
}

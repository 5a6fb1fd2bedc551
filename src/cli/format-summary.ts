import type { SyncSummary } from '../pipeline/sync-counts.ts';
import { total } from '../pipeline/sync-counts.ts';

function byKey(table: Readonly<Record<string, number>>): string {
  const entries = Object.entries(table).sort(([a], [b]) => a.localeCompare(b));
  return entries.length === 0 ? '' : ` (${entries.map(([k, v]) => `${k} ${v}`).join(', ')})`;
}

/** The end-of-run summary for people: counts, then the first errors with where they were read. */
export function formatSummary(summary: SyncSummary): string {
  const c = summary.counts;
  const seconds = summary.elapsedMs / 1000;
  const lines = [
    `phsync sync ${summary.dryRun ? '(dry run) ' : ''}run ${summary.runId}: ${summary.status}`,
    `  source        ${summary.source} (${summary.sourceLocation})`,
    `  target        ${summary.target}`,
    `  users scanned ${c.scanned}${c.passedOver > 0 ? ` (and ${c.passedOver} entries that are not users)` : ''}`,
    `  synced        ${c.synced}`,
    `  disabled      ${c.disabledAtTarget} at the target (disabled in the directory or out of scope: sign-in refused)`,
    `  skipped       ${total(c.skipped)}${byKey(c.skipped)}`,
    `  failed        ${total(c.failed)}${byKey(c.failed)}`,
    `  hashed        ${c.hashed} in ${c.batches} batches (kernel ${summary.kernel}, ${summary.workers} worker${summary.workers === 1 ? '' : 's'})`,
  ];
  if (c.leaked > 0) lines.push(`  leaked        ${c.leaked} with a password in the leaked-password list (phsync report lists them)`);
  if (c.recoveredBatches + c.droppedBatches > 0) {
    lines.push(`  resumed       ${c.recoveredBatches} batches found applied at the target, ${c.droppedBatches} redone`);
  }
  lines.push(`  elapsed       ${seconds.toFixed(2)} s, ${Math.round(summary.usersPerSecond)} users/s, ${Math.round(c.hashed / Math.max(seconds, 1e-3))} hashes/s, peak memory ${summary.maxRssMiB} MiB`);
  if (summary.fatal !== undefined) lines.push(`  fatal         ${summary.fatal.message} [${summary.fatal.code}]`);
  if (summary.errors.length > 0) {
    lines.push('errors:');
    for (const e of summary.errors) lines.push(`  ${e.code}: ${e.origin}: ${e.message}`);
    const more = total(c.failed) - summary.errors.length;
    if (more > 0) lines.push(`  … and ${more} more (phsync status lists runs; the state store keeps every user's error)`);
  }
  return `${lines.join('\n')}\n`;
}

// The table a local sweep prints when usage goes to usage.ndjson: what this run delivered per user
// and the stored bytes it measured, so `npm start` shows usage without a billing system.
import type { UsageSweepReport } from './sweep.ts';

export function formatSweepSummary(report: UsageSweepReport, at: Date, file: string): string {
  const r = report.result;
  const lines: string[] = [];
  const headline = r.leaseHeld
    ? `another sweep holds the lease${r.lease === undefined ? '' : ` (${r.lease.holder}, until ${r.lease.expiresAt})`}; nothing done`
    : `${r.objects} objects read, ${r.records} records, ${r.delivered} delivered, ${r.deleted} deleted, ` +
      `${r.skipped} skipped (period open), ${r.failed} failed; storage ${r.storage.delivered} delivered, ` +
      `${r.storage.failed} failed${r.complete ? '' : '; stopped early, the rest is left for the next run'}`;
  lines.push(`usage sweep ${at.toISOString()}: ${headline}`);
  if (report.users.length > 0) {
    lines.push(`usage written to ${file}:`);
    lines.push(
      ...table(
        ['user', 'email', 'objects', 'put', 'get', 'list', 'other', 'uploaded', 'downloaded'],
        report.users.map((u) => [
          u.userId === '' ? '(anonymous)' : u.userId,
          u.email ?? '-',
          String(u.objects),
          String(u.put),
          String(u.get),
          String(u.list),
          String(u.other),
          String(u.uploaded),
          String(u.downloaded),
        ]),
      ),
    );
  }
  if (report.storage.length > 0) {
    lines.push('stored bytes:');
    lines.push(
      ...table(
        ['user', 'email', 'buckets', 'bytes'],
        report.storage.map((s) => [s.userId, s.email ?? '-', String(s.buckets), String(s.bytes)]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Text columns left-aligned, number columns right-aligned. */
function table(header: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const widths = header.map((title, i) =>
    Math.max(title.length, ...rows.map((row) => (row[i] ?? '').length)),
  );
  const numeric = header.map((_, i) => rows.length > 0 && rows.every((row) => /^\d+$/.test(row[i] ?? '')));
  const format = (row: readonly string[]) =>
    `  ${row
      .map((cell, i) => (numeric[i] ? cell.padStart(widths[i] ?? 0) : cell.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}`;
  return [format(header), ...rows.map(format)];
}

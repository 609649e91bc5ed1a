// The local summary: what one sweep delivered per user and the stored bytes it measured, tallied
// as it goes, and the table a local sweep prints when usage goes to usage.ndjson, so `npm start`
// shows usage without a billing system.
import type { UsageCounters, UsageRecord } from './aggregate.ts';
import { addCounters, zeroCounters } from './aggregate.ts';
import type { EmailDirectory } from './messages.ts';
import type { UsageSweepResult } from './progress.ts';

/** One user's usage delivered this run, for the local summary table. */
export interface UserUsage extends UsageCounters {
  readonly userId: string;
  readonly email: string | null;
  /** Statistics objects with at least one record of the user. */
  readonly objects: number;
}

export interface UserStorage {
  readonly userId: string;
  readonly email: string | null;
  readonly bytes: bigint;
  readonly buckets: number;
}

export interface UsageSweepReport {
  readonly result: UsageSweepResult;
  /** Per user, sorted by user id: what this run delivered. */
  readonly users: readonly UserUsage[];
  /** Storage measured this run (whether or not a message was due). */
  readonly storage: readonly UserStorage[];
}

type MutableUserUsage = { -readonly [K in keyof UserUsage]: UserUsage[K] };

/** Per-user totals of what one sweep delivered, and the storage it measured. */
export class UsageTally {
  readonly #users = new Map<string, MutableUserUsage>();
  storage: readonly UserStorage[] = [];

  /** Adds one delivered object's records (sorted by user, as aggregateUsage answers them). */
  add(records: readonly UsageRecord[], emails: EmailDirectory): void {
    let previous: string | undefined;
    for (const record of records) {
      let user = this.#users.get(record.userId);
      if (user === undefined) {
        user = {
          userId: record.userId,
          email: emails.get(record.userId) ?? null,
          objects: 0,
          ...zeroCounters(),
        };
        this.#users.set(record.userId, user);
      }
      // Records are sorted by user: count each object once per user.
      if (record.userId !== previous) user.objects += 1;
      previous = record.userId;
      addCounters(user, record);
    }
  }

  report(result: UsageSweepResult): UsageSweepReport {
    const users = [...this.#users.values()].sort((a, b) =>
      a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0,
    );
    return { result, users, storage: this.storage };
  }
}

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

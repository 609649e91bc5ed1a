// Lago's events batch without the HTTP: the events a usage message becomes, and what Lago's
// answers to a batch say (which events it already holds, a batch too long, its error). Pure
// functions, so the sink (lago-sink.ts) is only the sending.
import type { NativeMetric, NativeUsage } from './native-usage.ts';

/** Billable metric codes (LAGO_METRIC_*); a metric whose code is unset is not sent. */
export type LagoMetricCodes = Readonly<Partial<Record<NativeMetric, string>>>;

/** One event as Lago's batch endpoint takes it. */
export interface LagoEvent {
  readonly transaction_id: string;
  readonly external_subscription_id: string;
  readonly code: string;
  /** Unix seconds. */
  readonly timestamp: number;
  /** `{ [LAGO_FIELD_NAME]: "<decimal>" }`: text, so no digit is lost to a float on Lago's side. */
  readonly properties: Readonly<Record<string, string>>;
}

// --- events from a message ------------------------------------------------------------------

const GIGA = 1_000_000_000n;

/** Bytes as a decimal number of GB (10^9 bytes), exactly: `1500000000` → `"1.5"`. */
export function gigabytes(bytes: bigint): string {
  const whole = bytes / GIGA;
  const fraction = (bytes % GIGA).toString().padStart(9, '0').replace(/0+$/, '');
  return fraction === '' ? whole.toString() : `${whole}.${fraction}`;
}

/**
 * The Lago events of a message's billed usage: per user and configured metric, `transaction_id`
 * `<stem>:<metric>` (`<object name>:<user id>:<metric>`, `storage-<user>-<hour>:storage`), the
 * value as exact decimal text (storage in GB-hours: one event per hour of bytes / 10^9). Zero
 * totals are left out.
 */
export function lagoEventsOf(usage: NativeUsage, codes: LagoMetricCodes, fieldName: string): LagoEvent[] {
  const events: LagoEvent[] = [];
  for (const user of usage.billed) {
    for (const [metric, total] of Object.entries(user.values) as [NativeMetric, bigint][]) {
      const code = codes[metric];
      if (code === undefined || total <= 0n) continue;
      events.push({
        transaction_id: `${user.stem}:${metric}`,
        external_subscription_id: user.billingId,
        code,
        timestamp: user.timestamp,
        properties: { [fieldName]: metric === 'storage' ? gigabytes(total) : total.toString() },
      });
    }
  }
  return events;
}

// --- Lago's answer to a batch ----------------------------------------------------------------

/**
 * The indexes a 422 reports as `value_already_exist` and nothing else; undefined when the 422 is
 * anything else (another error, or one that is not per event).
 */
export function duplicateIndexes(body: unknown, size: number): Set<number> | undefined {
  const details = (body as { code?: unknown; error_details?: unknown } | undefined)?.error_details;
  if (typeof details !== 'object' || details === null) return undefined;
  const indexes = new Set<number>();
  for (const [key, value] of Object.entries(details)) {
    if (!/^\d+$/.test(key) || Number(key) >= size) return undefined;
    const fields = value as Record<string, unknown> | null;
    if (typeof fields !== 'object' || fields === null) return undefined;
    const entries = Object.entries(fields);
    const onlyDuplicate =
      entries.length === 1 &&
      entries[0]?.[0] === 'transaction_id' &&
      Array.isArray(entries[0][1]) &&
      entries[0][1].length > 0 &&
      entries[0][1].every((code) => code === 'value_already_exist');
    if (!onlyDuplicate) return undefined;
    indexes.add(Number(key));
  }
  return indexes.size === 0 ? undefined : indexes;
}

/** Lago's answer to a batch longer than its LAGO_EVENTS_BATCH_MAX_LENGTH. */
export function tooManyEvents(body: unknown): boolean {
  const details = (body as { error_details?: { events?: unknown } } | undefined)?.error_details;
  return Array.isArray(details?.events) && details.events.includes('too_many_events');
}

/** ` (<code>: <fields>)` from Lago's error body: field names and error codes, never values. */
export function errorSummary(body: unknown): string {
  const { code, error_details: details } = (body ?? {}) as { code?: unknown; error_details?: unknown };
  if (typeof code !== 'string') return '';
  if (typeof details !== 'object' || details === null) return ` (${code})`;
  const shown = JSON.stringify(details).slice(0, 300);
  return ` (${code}: ${shown})`;
}

// The messages the sweep delivers (docs/contract.md §6), their webhook-ids, and the canonical content
// hash the ledger keeps to recognise a statistics object that changed under a known name.
import { createHash } from 'node:crypto';
import type { BucketInfo, UsageObject } from '../ostor/schemas.ts';
import type { UsageRecord } from './aggregate.ts';

export const USAGE_COLLECTED = 'usage.collected';
export const USAGE_STORAGE = 'usage.storage';

/** userId → email, from one user listing per sweep. */
export type EmailDirectory = ReadonlyMap<string, string>;

/** What goes over the wire: the webhook-id and the exact body bytes (as a string) that are signed. */
export interface OutboundMessage {
  readonly id: string;
  readonly body: string;
}

// JSON.rawJSON (Node 21+) puts exact digits into JSON.stringify's output; the lib typings lack it.
const RawJson = JSON as unknown as { rawJSON(text: string): unknown };
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/**
 * A counter as a JSON number. Up to 2^53 - 1 it is an ordinary number. Above, the exact decimal
 * digits are written as a JSON integer literal (JSON itself has no size limit): nothing is rounded
 * or clamped, and a receiver that parses big integers exactly gets the exact value. (2^53 bytes is
 * 8 PiB for one bucket in one period, so this is a guard, not a case billing will meet.)
 */
export function jsonCount(value: bigint): unknown {
  return value <= MAX_SAFE && value >= -MAX_SAFE ? Number(value) : RawJson.rawJSON(value.toString());
}

/** True when some counter of `record` is above 2^53 - 1 (then logged: a JavaScript receiver would round it). */
export function exceedsSafeInteger(record: UsageRecord): boolean {
  return (
    record.put > MAX_SAFE ||
    record.get > MAX_SAFE ||
    record.list > MAX_SAFE ||
    record.other > MAX_SAFE ||
    record.uploaded > MAX_SAFE ||
    record.downloaded > MAX_SAFE
  );
}

/**
 * The `usage.collected` body: `periodStart` and `periodSeconds` are the object's own `start_ts` and
 * `period`; `email` is null for a user the gateway no longer lists and for anonymous requests.
 */
export function usageCollectedBody(
  object: Pick<UsageObject, 'name' | 'startTs' | 'period'>,
  records: readonly UsageRecord[],
  emails: EmailDirectory,
  timestamp: Date,
): string {
  return JSON.stringify({
    type: USAGE_COLLECTED,
    timestamp: timestamp.toISOString(),
    data: {
      source: object.name,
      periodStart: new Date(object.startTs * 1000).toISOString(),
      periodSeconds: object.period,
      records: records.map((record) => ({
        userId: record.userId,
        email: emails.get(record.userId) ?? null,
        bucket: record.bucket,
        ops: {
          put: jsonCount(record.put),
          get: jsonCount(record.get),
          list: jsonCount(record.list),
          other: jsonCount(record.other),
        },
        bytes: { uploaded: jsonCount(record.uploaded), downloaded: jsonCount(record.downloaded) },
      })),
    },
  });
}

/**
 * sha256 over a canonical form of the content: the header fields, then every item as one JSON
 * array (counters as decimal text), the items sorted. Item order and number formatting on the wire
 * do not change it; any counter, key or header field does.
 */
export function contentHash(object: Omit<UsageObject, 'name'>): string {
  const items = object.items
    .map((item) =>
      JSON.stringify([
        item.bucket,
        item.epoch,
        item.userId,
        item.tag,
        item.ops.put,
        item.ops.get,
        item.ops.list,
        item.ops.other,
        item.bytes.uploaded.toString(),
        item.bytes.downloaded.toString(),
      ]),
    )
    .sort();
  const hash = createHash('sha256');
  hash.update(JSON.stringify([object.fmtVersion, object.serviceId, object.startTs, object.period]));
  for (const item of items) hash.update('\n').update(item);
  return `sha256:${hash.digest('hex')}`;
}

/** sha256 of a message body (storage messages: recorded so a retry within the hour re-sends the same bytes). */
export function bodyHash(body: string): string {
  return `sha256:${createHash('sha256').update(body).digest('hex')}`;
}

// --- storage --------------------------------------------------------------------------------

const HOUR_MS = 3_600_000;

/** The start of the UTC hour `ms` falls in. */
export function hourOf(ms: number): Date {
  return new Date(Math.floor(ms / HOUR_MS) * HOUR_MS);
}

/** Stored bytes of one user at one moment: the sum over the buckets it owns. */
export interface StorageTotals {
  readonly userId: string;
  /** Sum of `size.current`. */
  readonly bytes: bigint;
  /** How many buckets the user owns. */
  readonly buckets: number;
  /** Sum of the buckets' `hmax` (each bucket's largest size seen): an upper bound of the user's. */
  readonly hmax: bigint;
  /** Sum of the buckets' `h_integral`, byte-hours. */
  readonly hIntegral: bigint;
}

/** One entry per owner of at least one bucket, sorted by user id. */
export function storageTotals(buckets: readonly BucketInfo[]): StorageTotals[] {
  const byOwner = new Map<
    string,
    { userId: string; bytes: bigint; buckets: number; hmax: bigint; hIntegral: bigint }
  >();
  for (const bucket of buckets) {
    let total = byOwner.get(bucket.ownerId);
    if (total === undefined) {
      total = { userId: bucket.ownerId, bytes: 0n, buckets: 0, hmax: 0n, hIntegral: 0n };
      byOwner.set(bucket.ownerId, total);
    }
    total.bytes += bucket.size.current;
    total.buckets += 1;
    total.hmax += bucket.size.hmax;
    total.hIntegral += bucket.size.hIntegral;
  }
  return [...byOwner.values()].sort((a, b) => (a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0));
}

/** `storage-<userId>-<hour>`: stable for one user and one UTC hour. */
export function storageMessageId(userId: string, hour: Date): string {
  return `storage-${userId}-${hour.toISOString()}`;
}

export function storageBody(
  totals: StorageTotals,
  email: string | null,
  hour: Date,
  timestamp: Date,
): string {
  return JSON.stringify({
    type: USAGE_STORAGE,
    timestamp: timestamp.toISOString(),
    data: {
      userId: totals.userId,
      email,
      hour: hour.toISOString(),
      bytes: jsonCount(totals.bytes),
      buckets: totals.buckets,
      hmax: jsonCount(totals.hmax),
      hIntegral: jsonCount(totals.hIntegral),
    },
  });
}

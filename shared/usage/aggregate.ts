// Turns a statistics object's items into one record per (userId, bucket), every counter summed
// over epochs and tags as a bigint: byte counters overflowed 32-bit integers in a public client,
// and sums of 64-bit counters may pass 2^53.
import type { UsageObject } from '../ostor/schemas.ts';

export interface UsageCounters {
  readonly put: bigint;
  readonly get: bigint;
  readonly list: bigint;
  readonly other: bigint;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
}

/** One (userId, bucket) of one statistics object. `userId` is empty for anonymous requests, `bucket` for gateway-level ones. */
export interface UsageRecord extends UsageCounters {
  readonly userId: string;
  readonly bucket: string;
}

interface MutableRecord {
  userId: string;
  bucket: string;
  put: bigint;
  get: bigint;
  list: bigint;
  other: bigint;
  uploaded: bigint;
  downloaded: bigint;
}

/** Records sorted by userId, then bucket (code-unit order), so the same object always gives the same message. */
export function aggregateUsage(object: Pick<UsageObject, 'items'>): UsageRecord[] {
  const byKey = new Map<string, MutableRecord>();
  for (const item of object.items) {
    // NUL never appears in a user id or a bucket name, so the key is unambiguous.
    const key = `${item.userId}\u0000${item.bucket}`;
    let record = byKey.get(key);
    if (record === undefined) {
      record = {
        userId: item.userId,
        bucket: item.bucket,
        put: 0n,
        get: 0n,
        list: 0n,
        other: 0n,
        uploaded: 0n,
        downloaded: 0n,
      };
      byKey.set(key, record);
    }
    record.put += BigInt(item.ops.put);
    record.get += BigInt(item.ops.get);
    record.list += BigInt(item.ops.list);
    record.other += BigInt(item.ops.other);
    record.uploaded += BigInt(item.bytes.uploaded);
    record.downloaded += BigInt(item.bytes.downloaded);
  }
  return [...byKey.values()].sort(compareRecords);
}

function compareRecords(a: MutableRecord, b: MutableRecord): number {
  if (a.userId !== b.userId) return a.userId < b.userId ? -1 : 1;
  if (a.bucket !== b.bucket) return a.bucket < b.bucket ? -1 : 1;
  return 0;
}

/** Adds `record`'s counters into `total` (used for per-user totals across a sweep). */
export function addCounters(
  total: { -readonly [K in keyof UsageCounters]: bigint },
  record: UsageCounters,
): void {
  total.put += record.put;
  total.get += record.get;
  total.list += record.list;
  total.other += record.other;
  total.uploaded += record.uploaded;
  total.downloaded += record.downloaded;
}

export function zeroCounters(): { -readonly [K in keyof UsageCounters]: bigint } {
  return { put: 0n, get: 0n, list: 0n, other: 0n, uploaded: 0n, downloaded: 0n };
}

// What a native sink (docs/contract.md §6) sends of one usage message: per user with a billingId,
// the metrics' totals over the message's records, the identifier stem each event derives from
// (`<object name>:<user id>` or the storage message's own id), and its timestamp (the period's
// end, or the storage hour). Records of users without a billingId — the anonymous user included —
// are counted, not sent. Read back from the message's own body (messages.ts), with every counter
// as an exact bigint.
import type { OutboundMessage } from './messages.ts';
import { USAGE_STORAGE } from './messages.ts';

/** The metrics of §6, as they appear in identifiers (fixed, whatever the meters are called). */
export type NativeMetric = 'downloaded_bytes' | 'uploaded_bytes' | 'requests' | 'storage';

/** The billing id of a user (`billingId` on provision), or undefined. */
export type BillingIdLookup = (userId: string) => Promise<string | undefined>;

export interface BilledUsage {
  readonly userId: string;
  readonly billingId: string;
  /** `<object name>:<user id>`, or `storage-<userId>-<hour>`: unique per message and user. */
  readonly stem: string;
  /** Unix seconds: the period's end (start_ts + period), or the storage hour. */
  readonly timestamp: number;
  /** Each metric's total (storage: the bytes stored in that hour). */
  readonly values: Readonly<Partial<Record<NativeMetric, bigint>>>;
}

export interface NativeUsage {
  readonly billed: readonly BilledUsage[];
  /** Records left out because their user has no billingId, and those users. */
  readonly unbilled: number;
  readonly unbilledUsers: readonly string[];
}

interface CollectedBody {
  readonly type: 'usage.collected';
  readonly data: {
    readonly source: string;
    readonly periodStart: string;
    readonly periodSeconds: bigint;
    readonly records: readonly {
      readonly userId: string;
      readonly ops: {
        readonly put: bigint;
        readonly get: bigint;
        readonly list: bigint;
        readonly other: bigint;
      };
      readonly bytes: { readonly uploaded: bigint; readonly downloaded: bigint };
    }[];
  };
}

interface StorageBody {
  readonly type: 'usage.storage';
  readonly data: { readonly userId: string; readonly hour: string; readonly bytes: bigint };
}

/** JSON.parse with every integer as a bigint, from its own digits (JSON.parse source text access). */
export function parseCounters(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown =>
    typeof value === 'number' && /^-?\d+$/.test(context?.source ?? '')
      ? BigInt(context?.source ?? '0')
      : value;
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

export async function nativeUsage(
  message: OutboundMessage,
  billingIds: BillingIdLookup,
): Promise<NativeUsage> {
  // The body is this project's own message (messages.ts): trusted, only re-read.
  const body = parseCounters(message.body) as CollectedBody | StorageBody;
  if (body.type === USAGE_STORAGE) {
    const { userId, hour, bytes } = body.data;
    const billingId = await billingIds(userId);
    if (billingId === undefined) return { billed: [], unbilled: 1, unbilledUsers: [userId] };
    return {
      billed: [
        {
          userId,
          billingId,
          stem: message.id,
          timestamp: Date.parse(hour) / 1000,
          values: { storage: bytes },
        },
      ],
      unbilled: 0,
      unbilledUsers: [],
    };
  }

  const { source, periodStart, periodSeconds, records } = body.data;
  const timestamp = Date.parse(periodStart) / 1000 + Number(periodSeconds);
  const totals = new Map<
    string,
    { records: number; downloaded: bigint; uploaded: bigint; requests: bigint }
  >();
  for (const record of records) {
    const total = totals.get(record.userId) ?? { records: 0, downloaded: 0n, uploaded: 0n, requests: 0n };
    total.records += 1;
    total.downloaded += record.bytes.downloaded;
    total.uploaded += record.bytes.uploaded;
    total.requests += record.ops.put + record.ops.get + record.ops.list + record.ops.other;
    totals.set(record.userId, total);
  }
  const billed: BilledUsage[] = [];
  const unbilledUsers: string[] = [];
  let unbilled = 0;
  for (const [userId, total] of totals) {
    const billingId = userId === '' ? undefined : await billingIds(userId);
    if (billingId === undefined) {
      unbilled += total.records;
      unbilledUsers.push(userId);
      continue;
    }
    billed.push({
      userId,
      billingId,
      stem: `${source}:${userId}`,
      timestamp,
      values: {
        downloaded_bytes: total.downloaded,
        uploaded_bytes: total.uploaded,
        requests: total.requests,
      },
    });
  }
  return { billed, unbilled, unbilledUsers };
}

/** A lookup that asks `lookup` once per user per `ttlMs` (a sweep asks for the same users often). */
export function cachedBillingIds(
  lookup: BillingIdLookup,
  ttlMs = 60_000,
  clock: () => number = Date.now,
): BillingIdLookup {
  const cache = new Map<string, { value: Promise<string | undefined>; until: number }>();
  return (userId) => {
    const now = clock();
    const hit = cache.get(userId);
    if (hit !== undefined && hit.until > now) return hit.value;
    const value = lookup(userId);
    cache.set(userId, { value, until: now + ttlMs });
    // A failed lookup is not kept: the next message asks again.
    value.catch(() => cache.delete(userId));
    return value;
  };
}

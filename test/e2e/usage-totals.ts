// Reconciliation for the usage end-to-end tests: per-user totals computed independently from the
// statistics objects as seeded in the emulator, and from the `usage.collected` messages the
// receiver acknowledged, so the two can be compared counter by counter.
import type { EmulatorState, UsageObjectContent } from '../../emulator/gateway.ts';
import type { ReceivedDelivery } from './usage-receiver.ts';

export interface Totals {
  put: bigint;
  get: bigint;
  list: bigint;
  other: bigint;
  uploaded: bigint;
  downloaded: bigint;
}

const zero = (): Totals => ({ put: 0n, get: 0n, list: 0n, other: 0n, uploaded: 0n, downloaded: 0n });

/** The content of each named statistics object as the emulator holds it (read before the sweep deletes it). */
export function contentsOf(state: EmulatorState, names: readonly string[]): Map<string, UsageObjectContent> {
  const contents = new Map<string, UsageObjectContent>();
  for (const name of names) {
    const content = state.usage.get(name);
    if (content === undefined || typeof content === 'string') throw new Error(`${name} is not seeded`);
    contents.set(name, content);
  }
  return contents;
}

/** Per user id, every counter of every item of every object, summed. */
export function sourceTotals(contents: Iterable<UsageObjectContent>): Map<string, Totals> {
  const byUser = new Map<string, Totals>();
  for (const content of contents) {
    for (const item of content.items) {
      const total = byUser.get(item.key.user_id) ?? zero();
      byUser.set(item.key.user_id, total);
      total.put += BigInt(item.counters.ops.put);
      total.get += BigInt(item.counters.ops.get);
      total.list += BigInt(item.counters.ops.list);
      total.other += BigInt(item.counters.ops.other);
      total.uploaded += BigInt(item.counters.net_io.uploaded);
      total.downloaded += BigInt(item.counters.net_io.downloaded);
    }
  }
  return byUser;
}

/** How many records the sweep should make of these objects: one per distinct (user, bucket) in each. */
export function expectedRecords(contents: Iterable<UsageObjectContent>): number {
  let records = 0;
  for (const content of contents)
    records += new Set(content.items.map((item) => `${item.key.user_id}/${item.key.bucket}`)).size;
  return records;
}

type Count = number | bigint;

export interface DeliveredRecord {
  readonly userId: string;
  readonly email: string | null;
  readonly bucket: string;
  /** Numbers; bigints beyond 2^53 (the receiver parses exact digits). */
  readonly ops: { put: Count; get: Count; list: Count; other: Count };
  readonly bytes: { uploaded: Count; downloaded: Count };
}

export function recordsOf(delivery: ReceivedDelivery): DeliveredRecord[] {
  return delivery.message.data.records as DeliveredRecord[];
}

/** Per user id, the counters of the `usage.collected` records acknowledged, each webhook-id counted once. */
export function deliveredTotals(acknowledged: readonly ReceivedDelivery[]): Map<string, Totals> {
  const byUser = new Map<string, Totals>();
  const seen = new Set<string>();
  for (const delivery of acknowledged) {
    if (delivery.message.type !== 'usage.collected' || seen.has(delivery.id)) continue;
    seen.add(delivery.id);
    for (const record of recordsOf(delivery)) {
      const total = byUser.get(record.userId) ?? zero();
      byUser.set(record.userId, total);
      total.put += BigInt(record.ops.put);
      total.get += BigInt(record.ops.get);
      total.list += BigInt(record.ops.list);
      total.other += BigInt(record.ops.other);
      total.uploaded += BigInt(record.bytes.uploaded);
      total.downloaded += BigInt(record.bytes.downloaded);
    }
  }
  return byUser;
}

/** A map as sorted `[key, totals-as-strings]` pairs: readable in a failed assertion. */
export function comparable(totals: Map<string, Totals>): [string, Record<keyof Totals, string>][] {
  return [...totals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([user, t]) => [
      user,
      {
        put: String(t.put),
        get: String(t.get),
        list: String(t.list),
        other: String(t.other),
        uploaded: String(t.uploaded),
        downloaded: String(t.downloaded),
      },
    ]);
}

// The sweep against real peers: the gateway emulator (through the real client), a billing receiver
// verifying signatures, and the SQLite ledger (DynamoDB via dynalite in one case).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EmulatorState, UsageItemSeed } from '../../../emulator/gateway.ts';
import { prng } from '../../../emulator/usage-generator.ts';
import { parseWebhookSecrets } from '../../../shared/signing/index.ts';
import { DynamoUsageLedger } from '../../../shared/store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import type { UsageLedger } from '../../../shared/usage/ledger.ts';
import type { SweepOptions, UsageSweepReport } from '../../../shared/usage/sweep.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import { WebhookSink } from '../../../shared/usage/webhook-sink.ts';
import type { Gateway, Receiver, RecordedEvents } from './peers.ts';
import { recordEvents, startDynalite, startGateway, startReceiver } from './peers.ts';

const folder = mkdtempSync(join(tmpdir(), 'usage-sweep-'));
let files = 0;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

type Totals = { put: bigint; get: bigint; list: bigint; other: bigint; uploaded: bigint; downloaded: bigint };
const zero = (): Totals => ({ put: 0n, get: 0n, list: 0n, other: 0n, uploaded: 0n, downloaded: 0n });

interface Population {
  readonly users: { userId: string; email: string; buckets: string[] }[];
}

function population(state: EmulatorState, count: number): Population {
  const users = Array.from({ length: count }, (_, u) => {
    const user = state.createUser(`customer-${u}@example.com`);
    const buckets = Array.from({ length: 1 + (u % 3) }, (_, b) => `bucket-${u}-${b}`);
    return { userId: user.id, email: user.email, buckets };
  });
  return { users };
}

const DAY_MS = 86_400_000;

/** Closed statistics objects (periods a month ago), their items spread over users, buckets and epochs. */
function seedClosed(state: EmulatorState, pop: Population, count: number, seed = 7): string[] {
  const random = prng(seed);
  const base = Date.now() - 30 * DAY_MS;
  const names: string[] = [];
  for (let n = 0; n < count; n++) {
    const items: UsageItemSeed[] = [];
    for (let i = 0; i < 2 + (n % 5); i++) {
      const user = pop.users[Math.floor(random() * pop.users.length)];
      if (user === undefined) throw new Error('empty population');
      const bucket = user.buckets[Math.floor(random() * user.buckets.length)] ?? 'none';
      items.push({
        userId: user.userId,
        bucket,
        epoch: 98_309 + (i % 2) * 4096,
        ops: {
          put: Math.floor(random() * 100),
          get: Math.floor(random() * 1000),
          list: Math.floor(random() * 10),
          other: Math.floor(random() * 3),
        },
        // beyond 2^32 now and then
        uploaded: BigInt(Math.floor(random() * 2 ** 20)) * (n % 4 === 0 ? 2n ** 20n : 1n),
        downloaded: BigInt(Math.floor(random() * 2 ** 30)),
      });
    }
    names.push(
      state.addUsageObject({
        serviceId: 8_000_000_000_000_065n + BigInt(n % 3),
        start: new Date(base + n * 1_800_000),
        period: 1800 - (n % 7) * 10,
        namePeriod: 1800,
        items,
      }),
    );
  }
  return names;
}

/** Per user, the counters of every statistics object still on the gateway (the source of truth). */
function sourceTotals(state: EmulatorState): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const content of state.usage.values()) {
    if (typeof content === 'string') continue;
    for (const item of content.items) {
      const t = totals.get(item.key.user_id) ?? zero();
      t.put += BigInt(item.counters.ops.put);
      t.get += BigInt(item.counters.ops.get);
      t.list += BigInt(item.counters.ops.list);
      t.other += BigInt(item.counters.ops.other);
      t.uploaded += BigInt(item.counters.net_io.uploaded);
      t.downloaded += BigInt(item.counters.net_io.downloaded);
      totals.set(item.key.user_id, t);
    }
  }
  return totals;
}

interface DeliveredRecord {
  userId: string;
  email: string | null;
  bucket: string;
  ops: { put: number; get: number; list: number; other: number };
  bytes: { uploaded: number; downloaded: number };
}

/** Per user, the counters of the usage.collected messages the receiver acknowledged (first time each id). */
function deliveredTotals(receiver: Receiver): Map<string, Totals> {
  const totals = new Map<string, Totals>();
  for (const message of receiver.acknowledgedMessages()) {
    if (message.json.type !== 'usage.collected') continue;
    for (const r of message.json.data.records as DeliveredRecord[]) {
      const t = totals.get(r.userId) ?? zero();
      t.put += BigInt(r.ops.put);
      t.get += BigInt(r.ops.get);
      t.list += BigInt(r.ops.list);
      t.other += BigInt(r.ops.other);
      t.uploaded += BigInt(r.bytes.uploaded);
      t.downloaded += BigInt(r.bytes.downloaded);
      totals.set(r.userId, t);
    }
  }
  return totals;
}

function usageMessages(receiver: Receiver) {
  return receiver.received.filter((m) => m.json.type === 'usage.collected');
}

describe('usage sweep against the emulator', () => {
  let gateway: Gateway;
  let receiver: Receiver;
  let ledger: UsageLedger;
  let sink: WebhookSink;
  let events: RecordedEvents;

  beforeEach(async () => {
    gateway = await startGateway();
    receiver = await startReceiver();
    ledger = new SqliteUsageLedger(join(folder, `ledger-${++files}.sqlite`));
    sink = new WebhookSink({
      url: receiver.url,
      secrets: {
        get: async () => parseWebhookSecrets(receiver.secretText),
        refresh: async () => parseWebhookSecrets(receiver.secretText),
      },
      retries: 2,
      sleep: async () => {},
    });
    events = recordEvents();
  });

  afterEach(async () => {
    await sink.close();
    await ledger.close();
    await receiver.close();
    await gateway.close();
  });

  function sweep(options: Partial<SweepOptions> = {}, clock?: () => number): Promise<UsageSweepReport> {
    return sweepUsage(
      { gateway: gateway.client, ledger, sink, events, ...(clock === undefined ? {} : { clock }) },
      { graceSeconds: 300, pageSize: 7, storage: false, ...options },
    );
  }

  it('sweeps every page, sums epochs, and delivers per user exactly what the source holds', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 5);
    const names = seedClosed(state, pop, 40);
    const source = sourceTotals(state);

    // Act
    const { result } = await sweep();

    // Assess
    expect(result).toMatchObject({
      objects: 40,
      delivered: 40,
      deleted: 40,
      skipped: 0,
      failed: 0,
      complete: true,
    });
    expect(result.records).toBe(
      usageMessages(receiver).reduce((n, m) => n + (m.json.data.records as []).length, 0),
    );
    expect(state.usage.size).toBe(0);
    expect(new Set(receiver.acknowledged().keys())).toEqual(new Set(names));
    expect([...receiver.acknowledged().values()].every((count) => count === 1)).toBe(true);
    expect(deliveredTotals(receiver)).toEqual(source);
    // 40 names in pages of 7, each page asked with after= the previous page's last name
    const listings = gateway.emulator.requests.filter(
      (r) => r.method === 'GET' && r.service === 'ostor-usage' && !r.params.some(([n]) => n === 'obj'),
    );
    expect(listings.length).toBe(6);
    expect(listings.slice(1).every((r) => r.params.some(([n]) => n === 'after'))).toBe(true);
  });

  it('writes one record per (user, bucket) with the email and the object’s own start and period', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const alice = state.createUser('alice@example.com');
    const start = new Date(Date.now() - 2 * DAY_MS);
    const name = state.addUsageObject({
      serviceId: '8000000000000065',
      start,
      period: 1390,
      namePeriod: 1800,
      items: [
        {
          userId: alice.id,
          bucket: 'photos',
          epoch: 1,
          ops: { put: 1, get: 3 },
          uploaded: 41258,
          downloaded: 2n ** 40n,
        },
        { userId: alice.id, bucket: 'photos', epoch: 2, ops: { put: 2 }, uploaded: 2n ** 33n, downloaded: 1 },
        { userId: 'ffffffffffffffff', bucket: 'orphan', epoch: 1, ops: { list: 4 } },
      ],
    });

    // Act
    await sweep();

    // Assess
    const [message] = usageMessages(receiver);
    expect(message?.id).toBe(name);
    expect(message?.json.data).toEqual({
      source: name,
      periodStart: new Date(Math.floor(start.getTime() / 1000) * 1000).toISOString(),
      periodSeconds: 1390,
      records: [
        {
          userId: alice.id,
          email: 'alice@example.com',
          bucket: 'photos',
          ops: { put: 3, get: 3, list: 0, other: 0 },
          bytes: { uploaded: 41258 + 2 ** 33, downloaded: 2 ** 40 + 1 },
        },
        {
          userId: 'ffffffffffffffff',
          email: null,
          bucket: 'orphan',
          ops: { put: 0, get: 0, list: 4, other: 0 },
          bytes: { uploaded: 0, downloaded: 0 },
        },
      ],
    });
  });

  it('keeps objects the receiver refuses, delivers them on the next sweep, then deletes them', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 3);
    const names = seedClosed(state, pop, 12);
    const source = sourceTotals(state);
    const refused = new Set([names[2], names[5], names[9]]);
    receiver.respond = ({ id }) => (id === names[2] ? 503 : refused.has(id) ? 422 : 204);

    // Act
    const first = await sweep();
    const keptAfterFirst = [...state.usage.keys()].sort();
    receiver.respond = () => 204;
    const second = await sweep();

    // Assess
    expect(first.result).toMatchObject({ objects: 12, delivered: 9, deleted: 9, failed: 3 });
    expect(keptAfterFirst).toEqual([...refused].sort());
    expect(second.result).toMatchObject({ objects: 3, delivered: 3, deleted: 3, failed: 0 });
    expect(state.usage.size).toBe(0);
    expect([...receiver.acknowledged().values()].every((count) => count === 1)).toBe(true);
    expect(deliveredTotals(receiver)).toEqual(source);
    // the 503 was retried within the first run (1 + 2 retries)
    expect(receiver.received.filter((m) => m.id === names[2] && m.status === 503)).toHaveLength(3);
  });

  it('leaves an object whose period (plus grace) is still open alone, without reading it', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 2);
    seedClosed(state, pop, 3);
    const open = state.addUsageObject({
      serviceId: 8000000000000070n,
      start: new Date(Date.now() - 1_700_000),
      period: 1800,
      items: [{ userId: pop.users[0]?.userId ?? '', bucket: 'b', ops: { get: 1 } }],
    });
    // closed 100 s ago, but the grace is 300 s
    const inGrace = state.addUsageObject({
      serviceId: 8000000000000071n,
      start: new Date(Date.now() - 1_900_000),
      period: 1800,
      items: [{ userId: pop.users[0]?.userId ?? '', bucket: 'b', ops: { get: 1 } }],
    });

    // Act
    const first = await sweep();
    const second = await sweep();

    // Assess
    expect(first.result).toMatchObject({ objects: 3, delivered: 3, skipped: 2 });
    expect(second.result).toMatchObject({ objects: 0, delivered: 0, skipped: 2 });
    expect([...state.usage.keys()].sort()).toEqual([open, inGrace].sort());
    const reads = gateway.emulator.requests.filter((r) =>
      r.params.some(([n, v]) => n === 'obj' && (v === open || v === inGrace)),
    );
    expect(reads).toEqual([]);
  });

  it('deletes an acknowledged object whose deletion failed on the next run, without delivering it again', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 2);
    const names = seedClosed(state, pop, 4);
    gateway.emulator.faults.inject({
      match: { method: 'DELETE', service: 'ostor-usage' },
      times: 3 * 4,
      fault: { kind: 'status', status: 500 },
    });

    // Act
    const first = await sweep();
    const second = await sweep();

    // Assess
    expect(first.result).toMatchObject({ delivered: 4, deleted: 0, deleteFailed: 4, failed: 0 });
    expect(second.result).toMatchObject({ objects: 4, delivered: 0, deleted: 4, records: 0 });
    expect(state.usage.size).toBe(0);
    expect(receiver.received.map((m) => m.id).sort()).toEqual([...names].sort());
  });

  it('does not deliver a known name whose content changed, reports it, and leaves it in place', async () => {
    // Prepare: delivered once, its deletion failed, then the gateway shows different counters under the name
    const { state } = gateway.emulator;
    const alice = state.createUser('alice@example.com');
    const seed = {
      serviceId: 8000000000000065n,
      start: new Date(Date.now() - DAY_MS),
      period: 1800,
      items: [{ userId: alice.id, bucket: 'photos', ops: { get: 5 } }],
    };
    const name = state.addUsageObject(seed);
    gateway.emulator.faults.inject({
      match: { method: 'DELETE', service: 'ostor-usage' },
      times: 3,
      fault: { kind: 'status', status: 503 },
    });
    await sweep();
    state.addUsageObject({ ...seed, items: [{ userId: alice.id, bucket: 'photos', ops: { get: 6 } }] });

    // Act
    const { result } = await sweep();

    // Assess
    expect(result).toMatchObject({ objects: 1, delivered: 0, deleted: 0, failed: 1, conflicts: 1 });
    expect(state.usage.has(name)).toBe(true);
    expect(receiver.received).toHaveLength(1);
    expect(events.messages('error')).toContain(
      'statistics object changed under a known name; not delivered, left in place',
    );
  });

  it('does not deliver a changed object whose first delivery failed either', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const alice = state.createUser('alice@example.com');
    const seed = {
      serviceId: 8000000000000065n,
      start: new Date(Date.now() - DAY_MS),
      period: 1800,
      items: [{ userId: alice.id, bucket: 'photos', ops: { get: 5 } }],
    };
    state.addUsageObject(seed);
    receiver.respond = () => 400;
    await sweep();
    receiver.respond = () => 204;
    state.addUsageObject({ ...seed, items: [{ userId: alice.id, bucket: 'photos', ops: { get: 500 } }] });

    // Act
    const { result } = await sweep();

    // Assess
    expect(result).toMatchObject({ delivered: 0, failed: 1, conflicts: 1 });
    expect(receiver.acknowledged().size).toBe(0);
  });

  it('re-sends the first attempt’s exact bytes on a later run (same id, same body)', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 1);
    seedClosed(state, pop, 1);
    receiver.respond = ({ attempt }) => (attempt <= 3 ? 503 : 204);
    await sweep();

    // Act
    await sweep({}, () => Date.now() + 60_000);

    // Assess
    const bodies = new Set(receiver.received.map((m) => m.body));
    expect(receiver.received).toHaveLength(4);
    expect(bodies.size).toBe(1);
  });

  it('reports an unreadable object and goes on with the others', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 1);
    seedClosed(state, pop, 3);
    const broken = 's3-usage-8000000000000099-2026-01-01T00:00:00.000Z-1800';
    state.addRawUsageObject(broken, '{"fmt_version": 1, "items": [');

    // Act
    const { result } = await sweep();

    // Assess
    expect(result).toMatchObject({ objects: 3, delivered: 3, failed: 1 });
    expect(state.usage.has(broken)).toBe(true);
    expect(events.messages('error')).toContain('statistics object cannot be read; left in place');
  });

  it('delivers stored bytes once per user and hour, and again in the next hour', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const alice = state.createUser('alice@example.com');
    const bob = state.createUser('bob@example.com');
    state.createUser('nobuckets@example.com');
    state.createBucket(alice.id, 'alice-one');
    state.createBucket(alice.id, 'alice-two');
    state.createBucket(bob.id, 'bob-one');
    state.putObject('alice-one', 'a', 'x'.repeat(1000));
    state.putObject('alice-two', 'b', 'y'.repeat(24));
    state.putObject('bob-one', 'c', 'z'.repeat(7));
    const now = Date.now();

    // Act
    const first = await sweep({ storage: true }, () => now);
    const again = await sweep({ storage: true }, () => now + 1_000);
    const nextHour = await sweep({ storage: true }, () => now + 3_600_000);

    // Assess
    expect(first.result.storage).toEqual({ delivered: 2, failed: 0 });
    expect(again.result.storage).toEqual({ delivered: 0, failed: 0 });
    expect(nextHour.result.storage).toEqual({ delivered: 2, failed: 0 });
    const hour = new Date(Math.floor(now / 3_600_000) * 3_600_000).toISOString();
    const aliceMessage = receiver.received.find((m) => m.id === `storage-${alice.id}-${hour}`);
    expect(aliceMessage?.json).toMatchObject({
      type: 'usage.storage',
      data: { userId: alice.id, email: 'alice@example.com', hour, bytes: 1024, buckets: 2, hmax: 1024 },
    });
    expect(receiver.received).toHaveLength(4);
  });

  it('re-sends a failed storage message within the hour, with the bytes first measured', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const alice = state.createUser('alice@example.com');
    state.createBucket(alice.id, 'alice-one');
    state.putObject('alice-one', 'a', 'x'.repeat(10));
    receiver.respond = () => 500;
    const now = Date.now();
    const first = await sweep({ storage: true }, () => now);
    state.putObject('alice-one', 'b', 'x'.repeat(90));
    receiver.respond = () => 204;

    // Act
    const second = await sweep({ storage: true }, () => now + 1_000);

    // Assess
    expect(first.result.storage).toEqual({ delivered: 0, failed: 1 });
    expect(second.result.storage).toEqual({ delivered: 1, failed: 0 });
    const [acknowledged] = receiver.acknowledgedMessages();
    expect(acknowledged?.json.data.bytes).toBe(10);
    expect(new Set(receiver.received.map((m) => m.body)).size).toBe(1);
  });

  it('gives up on storage messages the receiver keeps refusing, and still delivers the usage objects', async () => {
    // Prepare
    const { state } = gateway.emulator;
    const pop = population(state, 12);
    for (const user of pop.users) state.createBucket(user.userId, `store-${user.userId}`);
    seedClosed(state, pop, 5);
    receiver.respond = ({ json }) => (json.type === 'usage.storage' ? 400 : 204);

    // Act
    const { result } = await sweep({ storage: true, concurrency: 1, maxConsecutiveFailures: 3 });

    // Assess
    expect(result.storage).toEqual({ delivered: 0, failed: 3 });
    expect(result).toMatchObject({ delivered: 5, deleted: 5, failed: 0 });
  });

  it('returns at once with leaseHeld, complete: false and the holder when another sweep holds the lease', async () => {
    // Prepare
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 1), 3);
    const until = Date.now() + 60_000;
    await ledger.acquireLease('the-other-sweep', Date.now(), until);
    gateway.emulator.clearRequests();

    // Act
    const { result } = await sweep({ storage: true });

    // Assess: nothing was swept, so the run is not complete; it says who holds the lease until when.
    expect(result).toMatchObject({
      objects: 0,
      records: 0,
      delivered: 0,
      deleted: 0,
      skipped: 0,
      failed: 0,
      storage: { delivered: 0, failed: 0 },
      complete: false,
      leaseHeld: true,
      lease: { holder: `the-other-sweep (process ${process.pid})`, expiresAt: new Date(until).toISOString() },
    });
    expect(gateway.emulator.requests).toHaveLength(0);
    expect(state.usage.size).toBe(3);
  });

  it('lets only one of two sweeps started together do the work', async () => {
    // Prepare
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 2), 10);

    // Act
    const [a, b] = await Promise.all([sweep(), sweep()]);

    // Assess
    expect([a.result.leaseHeld, b.result.leaseHeld].sort()).toEqual([false, true]);
    expect(a.result.delivered + b.result.delivered).toBe(10);
    expect(receiver.received).toHaveLength(10);
  });

  it('stops taking objects when the time budget runs low and leaves the rest for the next run', async () => {
    // Prepare: each delivery costs 10 s of a 60 s budget (margin: a fifth, 12 s)
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 2), 12);
    let now = Date.now();
    receiver.respond = () => {
      now += 10_000;
      return 204;
    };
    const start = now;

    // Act
    const first = await sweep({ concurrency: 1, remainingMs: () => 60_000 - (now - start) }, () => now);
    const second = await sweep({ concurrency: 4 }, () => now);

    // Assess
    expect(first.result).toMatchObject({ delivered: 5, deleted: 5, complete: false });
    expect(events.messages('warn')).toContain(
      'usage sweep stopping: the time budget is running out; the rest is left for the next run',
    );
    expect(second.result).toMatchObject({ delivered: 7, deleted: 7, complete: true });
    expect(state.usage.size).toBe(0);
  });

  it('stops when the receiver keeps failing rather than wearing out the budget', async () => {
    // Prepare
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 2), 30);
    receiver.respond = () => 503;

    // Act
    const { result } = await sweep({ concurrency: 2, maxConsecutiveFailures: 4 });

    // Assess
    expect(result.complete).toBe(false);
    expect(result.failed).toBeGreaterThanOrEqual(4);
    expect(result.failed).toBeLessThan(10);
    expect(state.usage.size).toBe(30);
  });

  it('fails the run when the listing breaks off, keeps what was done, and frees the lease', async () => {
    // Prepare: the first page lists, every later page fails
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 2), 20);
    gateway.emulator.faults.inject({
      match: { method: 'GET', service: 'ostor-usage', param: 'after' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 500 },
    });

    // Act
    const failure = await sweep().catch((error: unknown) => error);
    gateway.emulator.faults.clear();
    const next = await sweep();

    // Assess
    expect((failure as { code?: string }).code).toBe('gateway_unavailable');
    const logged = events.lines.find((l) => l.message.startsWith('usage sweep stopped by an error'));
    expect(logged?.details.delivered).toBeGreaterThanOrEqual(7);
    expect(next.result.leaseHeld).toBe(false);
    expect(next.result.delivered + (logged?.details.delivered as number)).toBe(20);
    expect([...receiver.acknowledged().values()].every((count) => count === 1)).toBe(true);
    expect(state.usage.size).toBe(0);
  });

  it('reports emails the gateway holds several users for, by user id, and counts them', async () => {
    // Prepare: one customer made twice (an integration that never looked first), one made once.
    const { state } = gateway.emulator;
    const first = state.createUser('twice@example.com');
    const second = state.createUser('twice@example.com');
    state.createUser('once@example.com');
    seedClosed(state, population(state, 2), 3);
    // Act
    const { result } = await sweep();
    // Assess
    expect(result).toMatchObject({ duplicateEmails: 1, delivered: 3, complete: true });
    const warnings = events.lines.filter((line) => line.level === 'warn');
    expect(warnings).toEqual([
      {
        level: 'warn',
        message: 'several gateway users share an email; lifecycle events reach only one of each',
        details: { emails: 1, userIds: [[first.id, second.id]] },
      },
    ]);
    expect(JSON.stringify(warnings)).not.toContain('twice@example.com');
  });

  it('counts no duplicate emails when every user has its own', async () => {
    // Prepare
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 3), 2);
    // Act
    const { result } = await sweep();
    // Assess
    expect(result.duplicateEmails).toBe(0);
    expect(events.messages('warn')).toEqual([]);
  });

  it('logs progress along the way', async () => {
    // Prepare
    const { state } = gateway.emulator;
    seedClosed(state, population(state, 2), 10);

    // Act
    await sweep({ progressEvery: 4 });

    // Assess
    const progress = events.lines.filter((l) => l.message === 'usage sweep progress');
    expect(progress.map((l) => l.details.listed)).toEqual([4, 8]);
  });

  it('works the same with the DynamoDB ledger', async () => {
    // Prepare
    const dynamo = await startDynalite();
    await ledger.close();
    ledger = new DynamoUsageLedger({ client: dynamo.client, tableName: await dynamo.newTable() });
    const { state } = gateway.emulator;
    const names = seedClosed(state, population(state, 3), 9);
    const source = sourceTotals(state);
    receiver.respond = ({ id }) => (id === names[4] ? 409 : 204);

    // Act
    const first = await sweep({ storage: true });
    receiver.respond = () => 204;
    const second = await sweep();
    await dynamo.close();

    // Assess
    expect(first.result).toMatchObject({ delivered: 8, deleted: 8, failed: 1 });
    expect(second.result).toMatchObject({ delivered: 1, deleted: 1, failed: 0 });
    expect(deliveredTotals(receiver)).toEqual(source);
  });

  it('re-sends the same bytes of a message too large for a DynamoDB item (> 350 KB, kept only as its hash)', async () => {
    // Prepare: one statistics object with 2,500 (user, bucket) records: a usage.collected body of ~450 KB
    const dynamo = await startDynalite();
    await ledger.close();
    const table = await dynamo.newTable();
    ledger = new DynamoUsageLedger({ client: dynamo.client, tableName: table });
    const { state } = gateway.emulator;
    const users = Array.from({ length: 500 }, (_, u) => state.createUser(`large-${u}@example.com`).id);
    const items: UsageItemSeed[] = users.flatMap((userId, u) =>
      Array.from({ length: 5 }, (_, b) => ({
        userId,
        bucket: `large-bucket-${u}-${b}`,
        epoch: 98_309,
        ops: { put: u + b, get: 7, list: 1, other: 0 },
        uploaded: BigInt(1000 * u + b),
        downloaded: BigInt(2000 * u + b),
      })),
    );
    const name = state.addUsageObject({
      serviceId: 8_000_000_000_000_065n,
      start: new Date(Date.now() - 30 * DAY_MS),
      period: 1800,
      items,
    });
    receiver.respond = ({ attempt }) => (attempt <= 3 ? 503 : 204);
    const first = await sweep();
    const stored = await ledger.get(name, Date.now());

    // Act: a later run, the receiver now answering 2xx
    const second = await sweep({}, () => Date.now() + 60_000);
    await dynamo.close();

    // Assess
    expect(first.result).toMatchObject({ delivered: 0, failed: 1 });
    expect(stored).toMatchObject({ state: 'read', body: undefined, hash: expect.stringMatching(/^sha256:/) });
    expect(second.result).toMatchObject({ delivered: 1, deleted: 1, failed: 0 });
    const bodies = receiver.received.filter((m) => m.id === name).map((m) => m.body);
    expect(bodies).toHaveLength(4);
    expect(Buffer.byteLength(bodies[0] ?? '')).toBeGreaterThan(350_000);
    expect(new Set(bodies).size).toBe(1);
    expect(state.usage.has(name)).toBe(false);
  });
});

// USAGE_SINK=lago: the events made from each usage message, and their delivery to the Lago fake
// in both store modes, through duplicates, rollbacks, rate limits, lost answers and bad keys.
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageRecord } from '../../../shared/usage/aggregate.ts';
import type { LagoApiKeySource, LagoMetricCodes, LagoSinkOptions } from '../../../shared/usage/lago-sink.ts';
import { duplicateIndexes, gigabytes, LagoSink, lagoEventsOf } from '../../../shared/usage/lago-sink.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import { hourOf, storageBody, storageMessageId, usageCollectedBody } from '../../../shared/usage/messages.ts';
import { nativeUsage } from '../../../shared/usage/native-usage.ts';
import type { LagoEventStore, LagoFake } from '../../fakes/lago-api.ts';
import { startLagoFake } from '../../fakes/lago-api.ts';

const API_KEY = 'lago-sink-test-key';
const CODES = {
  downloaded_bytes: 's3_downloaded_bytes',
  uploaded_bytes: 's3_uploaded_bytes',
  requests: 's3_requests',
  storage: 's3_storage_gb_hours',
} as const;
const BILLING = new Map([
  ['user-a', 'sub-a'],
  ['user-b', 'sub-b'],
]);
const lookup = async (userId: string) => BILLING.get(userId);

/** The events of one message, and its unbilled records, as the sink makes them. */
async function lagoEventsFor(
  message: OutboundMessage,
  billingIds: (userId: string) => Promise<string | undefined>,
  codes: LagoMetricCodes,
  fieldName: string,
) {
  const usage = await nativeUsage(message, billingIds);
  return { events: lagoEventsOf(usage, codes, fieldName), unbilled: usage.unbilled };
}

function record(userId: string, bucket: string, n: bigint): UsageRecord {
  return {
    userId,
    bucket,
    put: n,
    get: 2n * n,
    list: 0n,
    other: 1n,
    uploaded: 100n * n,
    downloaded: 1000n * n,
  };
}

function collected(
  name: string,
  records: UsageRecord[],
  startTs = 1_764_158_400,
  period = 1800,
): OutboundMessage {
  return {
    id: name,
    body: usageCollectedBody({ name, startTs, period }, records, new Map(), new Date('2026-11-26T13:00:00Z')),
  };
}

function storage(
  userId: string,
  bytes: bigint,
  hour = hourOf(Date.parse('2026-11-26T12:34:00Z')),
): OutboundMessage {
  return {
    id: storageMessageId(userId, hour),
    body: storageBody({ userId, bytes, buckets: 1, hmax: bytes, hIntegral: 0n }, null, hour, new Date()),
  };
}

const objectName = (n: number) =>
  `s3-usage-8000000000000065-2026-11-26T${String(n % 24).padStart(2, '0')}:00:00.000Z-1800`;

describe('events from a usage message', () => {
  it('one event per user with a billing id and per metric, totals over the object, period end as timestamp', async () => {
    const message = collected(objectName(1), [
      record('user-a', 'b1', 1n),
      record('user-a', 'b2', 2n),
      record('user-b', 'b3', 5n),
    ]);
    const { events, unbilled } = await lagoEventsFor(message, lookup, CODES, 'value');
    expect(unbilled).toBe(0);
    expect(events).toEqual([
      ...(['downloaded_bytes', 'uploaded_bytes', 'requests'] as const).map((metric, i) => ({
        transaction_id: `${objectName(1)}:user-a:${metric}`,
        external_subscription_id: 'sub-a',
        code: CODES[metric],
        timestamp: 1_764_158_400 + 1800,
        properties: { value: ['3000', '300', String(3 + 6 + 2)][i] },
      })),
      ...(['downloaded_bytes', 'uploaded_bytes', 'requests'] as const).map((metric, i) => ({
        transaction_id: `${objectName(1)}:user-b:${metric}`,
        external_subscription_id: 'sub-b',
        code: CODES[metric],
        timestamp: 1_764_158_400 + 1800,
        properties: { value: ['5000', '500', String(5 + 10 + 1)][i] },
      })),
    ]);
  });

  it('users without a billing id and anonymous requests are counted as unbilled, per record', async () => {
    const message = collected(objectName(2), [
      record('user-a', 'b1', 1n),
      record('stranger', 'x', 1n),
      record('stranger', 'y', 1n),
      record('', '', 1n),
    ]);
    const { events, unbilled } = await lagoEventsFor(message, lookup, CODES, 'value');
    expect(unbilled).toBe(3);
    expect(new Set(events.map((e) => e.external_subscription_id))).toEqual(new Set(['sub-a']));
  });

  it('zero totals and metrics without a code are left out; the field name is configurable', async () => {
    const quiet = { ...record('user-a', 'b1', 0n), other: 0n };
    const message = collected(objectName(3), [quiet, record('user-b', 'b', 1n)]);
    const { events } = await lagoEventsFor(message, lookup, { requests: 'reqs' }, 'count');
    expect(events).toEqual([
      expect.objectContaining({
        external_subscription_id: 'sub-b',
        code: 'reqs',
        properties: { count: '4' },
      }),
    ]);
  });

  it('counters beyond 2^53 keep every digit', async () => {
    const huge = { ...record('user-a', 'b', 1n), downloaded: 2n ** 64n + 1n };
    const { events } = await lagoEventsFor(collected(objectName(4), [huge, huge]), lookup, CODES, 'value');
    expect(events[0]?.properties.value).toBe((2n * (2n ** 64n + 1n)).toString());
  });

  it('storage: one event per user and hour, in GB-hours exactly, at the hour', async () => {
    const message = storage('user-a', 1_234_567_890_123n);
    const { events, unbilled } = await lagoEventsFor(message, lookup, CODES, 'value');
    expect(unbilled).toBe(0);
    expect(events).toEqual([
      {
        transaction_id: `${message.id}:storage`,
        external_subscription_id: 'sub-a',
        code: CODES.storage,
        timestamp: Date.parse('2026-11-26T12:00:00Z') / 1000,
        properties: { value: '1234.567890123' },
      },
    ]);
    expect((await lagoEventsFor(storage('stranger', 5n), lookup, CODES, 'value')).unbilled).toBe(1);
  });

  it('GB conversion is exact', () => {
    expect(gigabytes(0n)).toBe('0');
    expect(gigabytes(1n)).toBe('0.000000001');
    expect(gigabytes(1_500_000_000n)).toBe('1.5');
    expect(gigabytes(2n ** 70n)).toBe('1180591620717.411303424');
  });

  it('the same message always makes the same events', async () => {
    const message = collected(objectName(5), [record('user-b', 'b', 7n), record('user-a', 'a', 3n)]);
    expect(await lagoEventsFor(message, lookup, CODES, 'value')).toEqual(
      await lagoEventsFor(message, lookup, CODES, 'value'),
    );
  });
});

describe('duplicate answers', () => {
  it('only a 422 whose every error is value_already_exist on transaction_id counts', () => {
    const dup = { transaction_id: ['value_already_exist'] };
    expect(duplicateIndexes({ error_details: { '0': dup, '3': dup } }, 4)).toEqual(new Set([0, 3]));
    expect(
      duplicateIndexes({ error_details: { '0': dup, '1': { code: ['value_is_mandatory'] } } }, 4),
    ).toBeUndefined();
    expect(duplicateIndexes({ error_details: { events: ['too_many_events'] } }, 4)).toBeUndefined();
    expect(duplicateIndexes({ error_details: { '9': dup } }, 4)).toBeUndefined();
    expect(duplicateIndexes({ error_details: {} }, 4)).toBeUndefined();
    expect(duplicateIndexes(undefined, 4)).toBeUndefined();
  });
});

describe('delivery to Lago', () => {
  let fake: LagoFake;
  const sinks: LagoSink[] = [];
  const sleeps: number[] = [];

  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((sink) => sink.close()));
    await fake.close();
    sleeps.length = 0;
  });

  function keys(...values: string[]): LagoApiKeySource & { refreshed: number } {
    let index = 0;
    const source = {
      refreshed: 0,
      get: async () => values[index] ?? '',
      refresh: async () => {
        source.refreshed += 1;
        index = Math.min(index + 1, values.length - 1);
        return values[index] ?? '';
      },
    };
    return source;
  }

  async function setUp(store: LagoEventStore = 'postgres', options: Partial<LagoSinkOptions> = {}) {
    fake = await startLagoFake({ apiKey: API_KEY, store });
    const sink = new LagoSink({
      apiUrl: new URL(fake.url),
      apiKey: keys(API_KEY),
      billingIds: lookup,
      codes: CODES,
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...options,
    });
    sinks.push(sink);
    return sink;
  }

  const messages = (count: number) =>
    Array.from({ length: count }, (_, n) =>
      collected(`s3-usage-8000000000000065-obj-${n}-1800`, [
        record('user-a', 'a', BigInt(n + 1)),
        record('user-b', 'b', 1n),
      ]),
    );

  it('deliveries in flight together share requests of at most 100 events; Lago holds each once', async () => {
    const sink = await setUp();
    const outcomes = await Promise.all(messages(40).map((message) => sink.deliver(message)));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(fake.events).toHaveLength(40 * 6);
    expect(fake.requests.map((request) => request.events)).toEqual([100, 100, 40]);
    expect(fake.totals('value').get('sub-a s3_downloaded_bytes')).toBe(1000n * ((40n * 41n) / 2n));
  });

  it('a Lago that takes fewer events a request (too_many_events) gets smaller batches, and every event once', async () => {
    fake = await startLagoFake({ apiKey: API_KEY, maxBatchLength: 30 });
    const sink = new LagoSink({
      apiUrl: new URL(fake.url),
      apiKey: keys(API_KEY),
      billingIds: lookup,
      codes: CODES,
    });
    sinks.push(sink);
    const outcomes = await Promise.all(messages(40).map((message) => sink.deliver(message)));
    expect(outcomes.every((outcome) => outcome.ok)).toBe(true);
    expect(fake.events).toHaveLength(240);
    const sizes = fake.requests.filter((r) => r.status === 200).map((r) => r.events);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(30);
    // The three first requests (100, 100, 40 events) were in flight together: each learns once or twice.
    expect(fake.requests.filter((r) => r.status === 422).length).toBeLessThanOrEqual(6);
  });

  it('Postgres store: a redelivery is acknowledged by its duplicates; a half-known batch stores the rest', async () => {
    const sink = await setUp('postgres');
    const [first, second] = messages(2);
    if (first === undefined || second === undefined) throw new Error('two messages');
    await sink.deliver(first);
    const before = fake.totals('value');
    // Act: the old message again, together with a new one, in one batch
    const outcomes = await Promise.all([sink.deliver(first), sink.deliver(second)]);
    // Assess
    expect(outcomes.map((o) => o.ok)).toEqual([true, true]);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 422, 200]);
    expect(fake.events).toHaveLength(12);
    expect(fake.totals('value').get('sub-b s3_requests')).toBe((before.get('sub-b s3_requests') ?? 0n) * 2n);
  });

  it('ClickHouse store: a redelivery replaces the same events, the totals do not move', async () => {
    const sink = await setUp('clickhouse');
    const batch = messages(3);
    await Promise.all(batch.map((message) => sink.deliver(message)));
    const totals = fake.totals('value');
    await Promise.all(batch.map((message) => sink.deliver(message)));
    expect(fake.totals('value')).toEqual(totals);
    expect(fake.events).toHaveLength(18);
  });

  it('a lost answer after Lago stored the batch: the retry meets its duplicates and succeeds', async () => {
    const sink = await setUp('postgres');
    fake.faults.push({ kind: 'store-then-reset' });
    const [message] = messages(1);
    if (message === undefined) throw new Error('one message');
    const outcome = await sink.deliver(message);
    expect(outcome.ok).toBe(true);
    expect(fake.events).toHaveLength(6);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 422]);
  });

  it('429 and 5xx are retried with backoff (Retry-After honoured); 4xx is an honest failure', async () => {
    const sink = await setUp();
    fake.faults.push(
      { kind: 'status', status: 429, retryAfterSeconds: 2 },
      { kind: 'status', status: 503 },
      { kind: 'reset' },
    );
    const [message] = messages(1);
    if (message === undefined) throw new Error('one message');
    expect((await sink.deliver(message)).ok).toBe(true);
    // Full jitter at random() = 0.5: half of 250, 500, 1,000 ms, or Retry-After when longer.
    expect(sleeps).toEqual([2000, 250, 500]);
    fake.faults.push({ kind: 'status', status: 400 });
    const refused = await sink.deliver(collected(objectName(9), [record('user-a', 'a', 1n)]));
    expect(refused).toMatchObject({ ok: false, status: 400 });
  });

  it('reports how many requests a delivery took, retries included', async () => {
    const sink = await setUp('postgres', { retries: 2 });
    fake.faults.push({ kind: 'status', status: 503 }, { kind: 'reset' });
    const [message, other] = messages(2);
    if (message === undefined || other === undefined) throw new Error('two messages');
    expect(await sink.deliver(message)).toMatchObject({ ok: true, attempts: 3 });
    fake.chaos = () => ({ kind: 'status', status: 500 });
    expect(await sink.deliver(other)).toMatchObject({ ok: false, attempts: 3, status: 500 });
  });

  it('gives up after its retries, and when the deadline would pass', async () => {
    const sink = await setUp('postgres', { retries: 2 });
    fake.chaos = () => ({ kind: 'status', status: 500 });
    const [message] = messages(1);
    if (message === undefined) throw new Error('one message');
    expect(await sink.deliver(message)).toMatchObject({ ok: false, status: 500 });
    expect(fake.requests).toHaveLength(3);
    const late = await sink.deliver(message, { deadline: Date.now() - 1 });
    expect(late.ok).toBe(false);
    expect(fake.requests).toHaveLength(3);
  });

  it('a 422 that is not about duplicates fails the delivery and stores nothing', async () => {
    const sink = await setUp('postgres', { codes: { requests: '' } });
    const [message] = messages(1);
    if (message === undefined) throw new Error('one message');
    const outcome = await sink.deliver(message);
    expect(outcome).toMatchObject({ ok: false, status: 422 });
    expect(outcome.ok ? '' : outcome.reason).toContain('value_is_mandatory');
    expect(fake.events).toEqual([]);
  });

  it('a 401 fetches the key again once; the key never appears in an outcome', async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    const source = keys('stale-key', API_KEY);
    const sink = new LagoSink({
      apiUrl: new URL(fake.url),
      apiKey: source,
      billingIds: lookup,
      codes: CODES,
    });
    sinks.push(sink);
    const [message] = messages(1);
    if (message === undefined) throw new Error('one message');
    expect((await sink.deliver(message)).ok).toBe(true);
    expect(source.refreshed).toBe(1);
    const wrong = new LagoSink({
      apiUrl: new URL(fake.url),
      apiKey: keys('wrong-key'),
      billingIds: lookup,
      codes: CODES,
    });
    sinks.push(wrong);
    const outcome = await wrong.deliver(collected(objectName(7), [record('user-a', 'a', 1n)]));
    expect(outcome).toMatchObject({ ok: false, status: 401 });
    expect(JSON.stringify(outcome)).not.toContain('wrong-key');
  });

  it('a message with nothing billable is acknowledged without a request', async () => {
    const sink = await setUp();
    const outcome = await sink.deliver(collected(objectName(8), [record('stranger', 'x', 4n)]));
    expect(outcome).toEqual({ ok: true, attempts: 0, status: 200, unbilled: 1, unbilledUsers: ['stranger'] });
    expect(fake.requests).toEqual([]);
  });

  it('a message of more than 100 events is split, and acknowledged only when every part is', async () => {
    const many = new Map(Array.from({ length: 40 }, (_, n) => [`u${n}`, `sub-${n}`]));
    const sink = await setUp('postgres', {
      billingIds: async (userId) => many.get(userId),
      retries: 0,
      connections: 1,
    });
    const message = collected(
      objectName(10),
      Array.from({ length: 40 }, (_, n) => record(`u${n}`, 'b', 1n)),
    );
    // Act: the second request fails, so the message is not acknowledged; the next run sends it all again
    fake.chaos = (request) => (request === 2 ? { kind: 'status', status: 503 } : undefined);
    const first = await sink.deliver(message);
    const second = await sink.deliver(message);
    // Assess
    expect(first).toMatchObject({ ok: false, status: 503 });
    expect(second.ok).toBe(true);
    expect(fake.requests.map((r) => [r.events, r.status])).toEqual([
      [100, 200],
      [-1, 503],
      [100, 422],
      [20, 200],
    ]);
    expect(fake.events).toHaveLength(120);
  });
});

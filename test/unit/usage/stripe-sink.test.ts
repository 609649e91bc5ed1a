// The Stripe sink (USAGE_SINK=stripe) with the real Stripe API client against the local fake of
// Stripe (HTTP on 127.0.0.1, form-encoded, Bearer key, 24-hour identifier memory, Stripe's
// duplicate answer): which events a usage message becomes, their identifiers and timestamps,
// what counts as acknowledged, what is retried, and what is never sent.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { UsageObject } from '../../../shared/ostor/schemas.ts';
import { meterEventApi, StripeApi } from '../../../shared/stripe/api.ts';
import { aggregateUsage } from '../../../shared/usage/aggregate.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import { storageBody, storageMessageId, usageCollectedBody } from '../../../shared/usage/messages.ts';
import type { MeterReceipts } from '../../../shared/usage/stripe-sink.ts';
import { MAX_METER_VALUE, meterIdentifier, StripeSink } from '../../../shared/usage/stripe-sink.ts';
import type { StripeFake } from '../../e2e/stripe-fake.ts';
import { startStripeFake } from '../../e2e/stripe-fake.ts';

const ALICE = 'a14040e0b2ef8b28';
const BOB = 'b25151f1c3f09c39';
const CAROL = 'c36262a2d4a1ad4a';
const BILLING = new Map([
  [ALICE, 'cus_Alice'],
  [BOB, 'cus_Bob'],
]);
const METERS = {
  downloaded_bytes: 's3_egress',
  uploaded_bytes: 's3_ingress',
  requests: 's3_requests',
  storage: 's3_storage',
};
const DAY = 86_400_000;

let fake: StripeFake;
let now = Date.parse('2026-12-06T12:00:00Z');

beforeAll(async () => {
  fake = await startStripeFake();
  fake.now = () => now;
});

afterAll(async () => {
  await fake.close();
});

beforeEach(() => {
  fake.fault = () => 'none';
  fake.reset();
});

function memoryReceipts(): MeterReceipts & { kept: Map<string, Set<string>> } {
  const kept = new Map<string, Set<string>>();
  return {
    kept,
    acknowledged: async (id) => new Set(kept.get(id)),
    record: async (id, identifiers) => {
      kept.set(id, new Set([...(kept.get(id) ?? []), ...identifiers]));
    },
  };
}

function sink(options: { receipts?: MeterReceipts; meters?: Record<string, string> } = {}) {
  const api = new StripeApi({
    base: new URL(fake.url),
    apiKey: { get: async () => fake.apiKey, refresh: async () => fake.apiKey },
    retries: 3,
    baseDelayMs: 1,
    maxDelayMs: 2,
    clock: () => now,
  });
  return new StripeSink({
    api: meterEventApi(api),
    meters: options.meters ?? METERS,
    billingIds: async (userId) => BILLING.get(userId),
    ...(options.receipts === undefined ? {} : { receipts: options.receipts }),
    clock: () => now,
  });
}

function object(startMs: number, items: UsageObject['items']): UsageObject {
  return {
    name: `s3-usage-8000000000000065-${new Date(startMs).toISOString()}-1800`,
    fmtVersion: 1,
    serviceId: '8000000000000065',
    startTs: startMs / 1000,
    period: 1800,
    items,
  };
}

const item = (userId: string, bucket: string, put: number, uploaded: bigint, downloaded: bigint) => ({
  bucket,
  epoch: 0,
  userId,
  tag: '',
  ops: { put, get: 2, list: 1, other: 0 },
  bytes: { uploaded, downloaded },
});

function collected(o: UsageObject): OutboundMessage {
  return { id: o.name, body: usageCollectedBody(o, aggregateUsage(o), new Map(), new Date(now)) };
}

describe('the meter events of a usage.collected message', () => {
  it('one per user with a billingId and metric: totals over its records, period end, deterministic identifier', async () => {
    // Prepare
    const start = now - 2 * 3600_000;
    const o = object(start, [
      item(ALICE, 'photos', 3, 100n, 1_000n),
      item(ALICE, 'backup', 1, 50n, 0n),
      item(BOB, 'docs', 0, 0n, 7n),
      item(CAROL, 'mine', 5, 5n, 5n),
      item('', '', 9, 9n, 9n),
    ]);
    // Act
    const outcome = await sink().deliver(collected(o));
    // Assess
    expect(outcome).toMatchObject({ ok: true, unbilled: 2, unbilledUsers: [CAROL, ''].sort() });
    const periodEnd = start / 1000 + 1800;
    expect(
      fake.accepted.map((e) => [e.identifier, e.customer, e.eventName, e.value, e.timestamp]).sort(),
    ).toEqual(
      [
        [`${o.name}:${ALICE}:downloaded_bytes`, 'cus_Alice', 's3_egress', 1_000n, periodEnd],
        [`${o.name}:${ALICE}:uploaded_bytes`, 'cus_Alice', 's3_ingress', 150n, periodEnd],
        [`${o.name}:${ALICE}:requests`, 'cus_Alice', 's3_requests', 10n, periodEnd],
        [`${o.name}:${BOB}:downloaded_bytes`, 'cus_Bob', 's3_egress', 7n, periodEnd],
        // Bob's uploads are 0: left out. His requests: get 2 + list 1.
        [`${o.name}:${BOB}:requests`, 'cus_Bob', 's3_requests', 3n, periodEnd],
      ].sort(),
    );
    for (const event of fake.accepted) expect(event.identifier.length).toBeLessThanOrEqual(100);
  });

  it('sends only the metrics whose meter is configured', async () => {
    // Act
    await sink({ meters: { requests: 'only_requests' } }).deliver(
      collected(object(now - 3600_000, [item(ALICE, 'a', 1, 1n, 1n)])),
    );
    // Assess
    expect(fake.accepted.map((e) => e.eventName)).toEqual(['only_requests']);
  });

  it('splits a total above 15 digits into several events whose sum is exact', async () => {
    // Prepare
    const huge = 3n * 10n ** 15n + 12_345n;
    // Act
    const outcome = await sink().deliver(
      collected(object(now - 3600_000, [item(ALICE, 'big', 0, 0n, huge)])),
    );
    // Assess
    expect(outcome.ok).toBe(true);
    const parts = fake.accepted.filter((e) => e.eventName === 's3_egress');
    expect(parts.length).toBe(Number(huge / MAX_METER_VALUE) + 1);
    expect(parts.reduce((sum, e) => sum + e.value, 0n)).toBe(huge);
    expect(new Set(parts.map((e) => e.identifier)).size).toBe(parts.length);
  });
});

describe('a usage.storage message', () => {
  it('becomes one storage event of the bytes stored, at the hour', async () => {
    // Prepare
    const hour = new Date(Math.floor(now / 3600_000) * 3600_000);
    const totals = { userId: ALICE, bytes: 1_073_741_824n, buckets: 2, hmax: 0n, hIntegral: 0n };
    const id = storageMessageId(ALICE, hour);
    // Act
    const outcome = await sink().deliver({ id, body: storageBody(totals, null, hour, new Date(now)) });
    // Assess
    expect(outcome.ok).toBe(true);
    expect(fake.accepted).toEqual([
      {
        eventName: 's3_storage',
        customer: 'cus_Alice',
        value: 1_073_741_824n,
        identifier: `${id}:storage`,
        timestamp: hour.getTime() / 1000,
      },
    ]);
  });

  it('of a user without a billingId is unbilled, not sent, and acknowledged', async () => {
    const hour = new Date(Math.floor(now / 3600_000) * 3600_000);
    const totals = { userId: CAROL, bytes: 5n, buckets: 1, hmax: 0n, hIntegral: 0n };
    const outcome = await sink().deliver({
      id: storageMessageId(CAROL, hour),
      body: storageBody(totals, null, hour, new Date(now)),
    });
    expect(outcome).toEqual({ ok: true, attempts: 0, status: 200, unbilled: 1, unbilledUsers: [CAROL] });
    expect(fake.requests).toEqual([]);
  });
});

describe('acknowledgement', () => {
  it('a resend is answered with Stripe’s duplicate error and counts as delivered, once', async () => {
    // Prepare
    const message = collected(object(now - 3600_000, [item(ALICE, 'a', 1, 1n, 1n)]));
    await sink().deliver(message);
    // Act
    const again = await sink().deliver(message);
    // Assess
    expect(again.ok).toBe(true);
    expect(fake.duplicates).toBe(3);
    expect(fake.accepted).toHaveLength(3);
  });

  it('429, 5xx, resets and a lost answer are retried; each event counted once', async () => {
    // Prepare
    const faults = ['reset', 429, 503, 'accept-then-500', 502] as const;
    let n = 0;
    fake.fault = ({ path }) => (path.endsWith('meter_events') ? (faults[n++] ?? 'none') : 'none');
    // Act
    const outcome = await sink().deliver(collected(object(now - 3600_000, [item(ALICE, 'a', 1, 2n, 3n)])));
    // Assess
    expect(outcome.ok).toBe(true);
    expect(fake.accepted.map((e) => e.eventName).sort()).toEqual(['s3_egress', 's3_ingress', 's3_requests']);
  });

  it('fails the message when an event cannot be delivered; no event is lost or doubled on the resend', async () => {
    // Prepare
    const receipts = memoryReceipts();
    const message = collected(object(now - 3600_000, [item(ALICE, 'a', 1, 2n, 3n)]));
    const failing = sink({ receipts });
    // Act: a first delivery where Stripe takes two events and fails the third...
    let calls = 0;
    fake.fault = ({ path }) => (path.endsWith('meter_events') && ++calls > 2 ? 503 : 'none');
    const partial = await failing.deliver(message);
    // ...then a resend 25 hours later, when Stripe has forgotten the identifiers
    now += 25 * 3600_000;
    fake.fault = () => 'none';
    const resent = await failing.deliver(message);
    now -= 25 * 3600_000;
    // Assess
    expect(partial).toMatchObject({ ok: false, status: 503 });
    expect(partial.ok === false && partial.reason).toContain('1 of 3 meter events not acknowledged');
    expect(resent.ok).toBe(true);
    expect(fake.accepted).toHaveLength(3);
    expect(fake.duplicates).toBe(0);
    expect(receipts.kept.get(message.id)?.size).toBe(3);
  });

  it('usage older than Stripe’s 35-day window is not sent, and not acknowledged (kept for an operator)', async () => {
    // Act
    const outcome = await sink().deliver(collected(object(now - 36 * DAY, [item(ALICE, 'a', 1, 1n, 1n)])));
    // Assess
    expect(outcome.ok).toBe(false);
    expect(outcome.ok === false && outcome.reason).toContain("older than Stripe's 35-day window");
    expect(fake.accepted).toHaveLength(0);
  });

  it('a billing-id lookup that fails leaves the message unacknowledged', async () => {
    const api = new StripeApi({
      base: new URL(fake.url),
      apiKey: { get: async () => fake.apiKey, refresh: async () => fake.apiKey },
    });
    const broken = new StripeSink({
      api: meterEventApi(api),
      meters: METERS,
      billingIds: async () => {
        throw Object.assign(new Error('table gone'), { code: 'ResourceNotFoundException' });
      },
    });
    const outcome = await broken.deliver(collected(object(now - 3600_000, [item(ALICE, 'a', 1, 1n, 1n)])));
    expect(outcome).toMatchObject({
      ok: false,
      reason: 'billing ids could not be read (ResourceNotFoundException)',
    });
    await broken.close();
  });

  it('a refused key is an honest failure, never a retry loop', async () => {
    const api = new StripeApi({
      base: new URL(fake.url),
      apiKey: { get: async () => 'sk_test_wrongwrongwrong', refresh: async () => 'sk_test_wrongwrongwrong' },
    });
    const refused = new StripeSink({
      api: meterEventApi(api),
      meters: METERS,
      billingIds: async (id) => BILLING.get(id),
    });
    const before = fake.requests.length;
    const outcome = await refused.deliver(collected(object(now - 3600_000, [item(ALICE, 'a', 1, 1n, 1n)])));
    expect(outcome).toMatchObject({ ok: false, status: 401 });
    // Three events, each tried with the cached key and once more after a refetch.
    expect(fake.requests.length - before).toBe(6);
    await refused.close();
  });
});

describe('identifiers', () => {
  it('are the natural form up to 100 characters, a stable SHA-256 beyond', () => {
    const short = 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800:b81d6c5f895a8c86:downloaded_bytes';
    const long = `${'x'.repeat(120)}:b81d6c5f895a8c86:requests`;
    expect(meterIdentifier(short)).toBe(short);
    expect(meterIdentifier(long)).toBe(meterIdentifier(long));
    expect(meterIdentifier(long)).toMatch(/^sha256:[A-Za-z0-9_-]{43}$/);
    expect(meterIdentifier(`${long}x`)).not.toBe(meterIdentifier(long));
  });
});

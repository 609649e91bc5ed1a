// USAGE_SINK=stripe end to end: `npm start` sweeps the emulator's statistics objects and stored
// bytes into Billing Meter events at a fake of the Stripe API that injects 429s, 5xx, resets and
// lost answers. Users get their billingId (the Stripe customer) through a signed `provision`, as
// the provider's own portal would send it. Sweeps are started by a signed `POST /collect-usage`
// until every object is gone; then the sum of meter values per customer and event name equals the
// emulator's counters exactly, no identifier was counted twice, and a user without a billingId
// reached Stripe never (counted as `unbilled` instead).
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { seedUsageObjects } from '../../emulator/usage-generator.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { STRIPE_API_VERSION } from '../../shared/stripe/api.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import type { Fault, StripeFake } from './stripe-fake.ts';
import { startStripeFake } from './stripe-fake.ts';
import { contentsOf, sourceTotals } from './usage-totals.ts';

const METERS = {
  STRIPE_METER_DOWNLOADED_BYTES: 's3_downloaded_bytes',
  STRIPE_METER_UPLOADED_BYTES: 's3_uploaded_bytes',
  STRIPE_METER_REQUESTS: 's3_requests',
  STRIPE_METER_STORAGE: 's3_storage_byte_hours',
};

let emulator: Emulator;
let stripe: StripeFake;
let server: RunningServer;
const webhookSecret = generateWebhookSecret();

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@stripe-usage.test');
  stripe = await startStripeFake();
  server = await startServer({
    OSTOR_GATEWAY_URL: emulator.url,
    OSTOR_ACCESS_KEY_ID: system.accessKeyId,
    OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
    WEBHOOK_SECRET: webhookSecret,
    USAGE_SINK: 'stripe',
    STRIPE_API_KEY: stripe.apiKey,
    STRIPE_API_BASE: stripe.url,
    ...METERS,
  });
});

afterAll(async () => {
  const output = server.output();
  await server.stop();
  await Promise.all([emulator.close(), stripe.close()]);
  expect(output.includes(stripe.apiKey), 'the Stripe key appeared in the server output').toBe(false);
});

async function signed(
  type: string,
  data: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const id = `msg_${randomUUID()}`;
  const body = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
  const now = new Date();
  const response = await fetch(`${server.url}/${type}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
    },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('usage to Stripe Billing Meters', () => {
  it('bills each customer exactly the emulator’s counters, through 429s, 5xx, resets and lost answers', async () => {
    // Prepare: alice and bob carry a Stripe customer id, carol none; buckets with data for storage
    const tag = randomUUID().slice(0, 6);
    const alice = await signed('provision', { email: `alice.${tag}@example.com`, billingId: 'cus_Alice' });
    const bob = await signed('provision', { email: `bob.${tag}@example.com`, billingId: 'cus_Bob' });
    const carol = await signed('provision', { email: `carol.${tag}@example.com` });
    const aliceId = String(alice.json.userId);
    const bobId = String(bob.json.userId);
    const carolId = String(carol.json.userId);
    emulator.state.createBucket(aliceId, `alice-${tag}`);
    emulator.state.createBucket(bobId, `bob-${tag}`);
    emulator.state.createBucket(carolId, `carol-${tag}`);
    emulator.state.putObject(`alice-${tag}`, 'a.bin', 'a'.repeat(3000));
    emulator.state.putObject(`bob-${tag}`, 'b.bin', 'b'.repeat(7000));
    emulator.state.putObject(`carol-${tag}`, 'c.bin', 'c'.repeat(500));
    const names = seedUsageObjects(emulator.state, {
      objects: 24,
      start: new Date(Date.now() - 2 * 86_400_000),
      population: [
        { userId: aliceId, bucket: `alice-${tag}` },
        { userId: bobId, bucket: `bob-${tag}` },
        { userId: carolId, bucket: `carol-${tag}` },
        { userId: '', bucket: `alice-${tag}` },
      ],
    });
    const source = sourceTotals(contentsOf(emulator.state, names).values());
    let request = 0;
    const faults: Fault[] = [
      'none',
      429,
      'none',
      503,
      'reset',
      'none',
      'accept-then-500',
      'none',
      'none',
      502,
    ];
    stripe.fault = ({ path }) =>
      path.endsWith('meter_events') ? (faults[request++ % faults.length] ?? 'none') : 'none';

    // Act: sweeps until the gateway holds no statistics object
    const results: Record<string, unknown>[] = [];
    for (let run = 0; run < 10 && emulator.state.usage.size > 0; run++) {
      const answer = await signed('collect-usage', {});
      expect(answer.status).toBe(200);
      results.push(answer.json);
    }

    // Assess
    expect(emulator.state.usage.size).toBe(0);
    const expected = new Map<string, bigint>();
    for (const [userId, customer] of [
      [aliceId, 'cus_Alice'],
      [bobId, 'cus_Bob'],
    ] as const) {
      const total = source.get(userId);
      if (total === undefined) continue;
      const add = (meter: string, value: bigint) => {
        if (value > 0n) expected.set(`${customer} ${meter}`, value);
      };
      add(METERS.STRIPE_METER_DOWNLOADED_BYTES, total.downloaded);
      add(METERS.STRIPE_METER_UPLOADED_BYTES, total.uploaded);
      add(METERS.STRIPE_METER_REQUESTS, total.put + total.get + total.list + total.other);
    }
    const totals = stripe.totals();
    const storage = stripe.accepted.filter((event) => event.eventName === METERS.STRIPE_METER_STORAGE);
    for (const key of [...totals.keys()]) if (key.endsWith(METERS.STRIPE_METER_STORAGE)) totals.delete(key);
    expect(totals).toEqual(expected);
    // One storage event per billed user for this hour: the bytes of its buckets, at the hour.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600;
    expect(storage.map((event) => [event.customer, event.value]).sort()).toEqual([
      ['cus_Alice', 3000n],
      ['cus_Bob', 7000n],
    ]);
    expect(storage.every((event) => event.timestamp === hour || event.timestamp === hour - 3_600)).toBe(true);
    // Each identifier counted once; carol and the anonymous requests never sent, but counted.
    expect(new Set(stripe.accepted.map((event) => event.identifier)).size).toBe(stripe.accepted.length);
    expect(
      stripe.accepted.every((event) => event.customer === 'cus_Alice' || event.customer === 'cus_Bob'),
    ).toBe(true);
    const unbilled = results.reduce((sum, result) => sum + Number(result.unbilled ?? 0), 0);
    expect(unbilled).toBeGreaterThan(0);
    expect(results.every((result) => typeof result.unbilled === 'number')).toBe(true);
    expect(server.output()).toContain('unbilled');
    // Every call named the pinned API version, so an account's default version cannot change it.
    expect(stripe.versions.length).toBeGreaterThan(0);
    expect(new Set(stripe.versions)).toEqual(new Set([STRIPE_API_VERSION]));
  });
});

// `POST /stripe` end to end (docs/contract.md §9): `npm start` runs as a child process against a
// gateway emulator and a fake of the Stripe API in this process, and the events are typed
// `Stripe.Event` objects signed by the `stripe` package (webhooks.generateTestHeaderString), as
// Stripe signs a delivery. Key pairs of created users arrive at a receiver that checks their
// Standard Webhooks signature with the reference `standardwebhooks` package.
import { join } from 'node:path';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { SqliteStore } from '../../shared/store/sqlite.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import {
  invoicePaidEvent,
  meterErrorEvent,
  signed,
  signedNotification,
  subscription,
  subscriptionEvent,
} from './stripe-events.ts';
import type { StripeFake } from './stripe-fake.ts';
import { startStripeFake } from './stripe-fake.ts';
import type { UsageReceiver } from './usage-receiver.ts';
import { startUsageReceiver } from './usage-receiver.ts';

const STRIPE_SECRET = `whsec_${Buffer.from(crypto.getRandomValues(new Uint8Array(24))).toString('hex')}`;
const T0 = Math.floor(Date.now() / 1000) - 3600;

interface Answer {
  readonly status: number;
  readonly json: {
    action?: string;
    reason?: string;
    userId?: string | null;
    state?: string;
    created?: boolean;
    buckets?: string[];
    error?: { code: string; reason?: string; message: string };
  };
}

let emulator: Emulator;
let stripe: StripeFake;
let receiver: UsageReceiver;
let server: RunningServer;
const handedOut: string[] = [];

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@stripe.test');
  stripe = await startStripeFake();
  receiver = await startUsageReceiver(generateWebhookSecret());
  server = await startServer({
    OSTOR_GATEWAY_URL: emulator.url,
    OSTOR_ACCESS_KEY_ID: system.accessKeyId,
    OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
    STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
    STRIPE_API_KEY: stripe.apiKey,
    STRIPE_API_BASE: stripe.url,
    STRIPE_PRODUCTS: 'prod_S3Storage, prod_S3Archive',
    CREDENTIALS_WEBHOOK_URL: receiver.url,
    USAGE_WEBHOOK_SECRET: receiver.secret,
  });
});

afterAll(async () => {
  const output = server.output();
  await server.stop();
  await Promise.all([emulator.close(), stripe.close(), receiver.close()]);
  // Assess (whole file): no secret reached the server's output.
  for (const secret of [STRIPE_SECRET, stripe.apiKey, receiver.secret, ...handedOut]) {
    expect(output.includes(secret), 'a secret appeared in the server output').toBe(false);
  }
});

beforeEach(() => {
  receiver.answer = () => 204;
  stripe.fault = () => 'none';
});

async function post(
  event: Stripe.Event,
  options: { secret?: string; at?: number; header?: string | null; body?: string } = {},
): Promise<Answer> {
  const delivery = signed(event, options.secret ?? STRIPE_SECRET, options.at);
  const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
  const header = options.header === undefined ? delivery.signature : options.header;
  if (header !== null) headers['stripe-signature'] = header;
  const response = await fetch(`${server.url}/stripe`, {
    method: 'POST',
    headers,
    body: options.body ?? delivery.body,
  });
  return { status: response.status, json: (await response.json()) as Answer['json'] };
}

let serial = 0;
/** A subscription of its own customer (with an e-mail in the fake Stripe), per test. */
function customerWithSubscription(email: string | null = `c${++serial}.${T0}@stripe.test`) {
  const customer = `cus_T${serial}x${T0}`;
  stripe.customers.set(customer, { email });
  return { customer, subscriptionId: `sub_T${serial}x${T0}`, email };
}

const userOf = (email: string | null) =>
  email === null ? undefined : emulator.state.usersWithEmail(email)[0];

function credentialsFor(userId: string) {
  return receiver.deliveries.filter(
    (d) => d.message.type === 'credentials.issued' && d.message.data.userId === userId,
  );
}

describe('a subscription through its statuses', () => {
  it('creates, enables, suspends, resumes and terminates its S3 user by status', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    const at = (
      status: Stripe.Subscription.Status,
      minutes: number,
      type = 'customer.subscription.updated',
    ) =>
      subscriptionEvent(
        type as 'customer.subscription.updated',
        subscription({ id, customer, status }),
        T0 + minutes * 60,
      );

    // Act + Assess: trialing → created and enabled, its key pair delivered
    const created = await post(at('trialing', 0, 'customer.subscription.created'));
    expect(created).toMatchObject({
      status: 200,
      json: { action: 'enabled', created: true, state: 'enabled' },
    });
    const user = userOf(email);
    expect(user?.state).toBe('enabled');
    const issued = credentialsFor(user?.id ?? '');
    expect(issued).toHaveLength(1);
    const key = user?.keys[0];
    expect(issued[0]?.id).toBe(`credentials-${user?.id}-${key?.accessKeyId}`);
    expect(issued[0]?.message.data).toEqual({
      email,
      userId: user?.id,
      billingId: customer,
      accessKeyId: key?.accessKeyId,
      secretAccessKey: key?.secretAccessKey,
    });
    handedOut.push(key?.secretAccessKey ?? '');
    // The answer (also what an idempotent redelivery returns) never carries the secret key.
    expect(JSON.stringify(created.json)).not.toContain(key?.secretAccessKey);

    // active: still enabled, no second key pair
    expect((await post(at('active', 1))).json).toMatchObject({ action: 'enabled', created: false });
    // past_due: a grace period (STRIPE_SUSPEND_PAST_DUE is off) — acknowledged, nothing changes
    expect((await post(at('past_due', 2))).json).toMatchObject({ action: 'ignored' });
    expect(userOf(email)?.state).toBe('enabled');
    // unpaid → suspended
    expect((await post(at('unpaid', 3))).json).toMatchObject({ action: 'suspended', userId: user?.id });
    expect(userOf(email)?.state).toBe('disabled');
    // active again → enabled
    await post(at('active', 4));
    expect(userOf(email)?.state).toBe('enabled');
    // paused (customer.subscription.paused) → suspended; resumed → enabled
    await post(at('paused', 5, 'customer.subscription.paused'));
    expect(userOf(email)?.state).toBe('disabled');
    await post(at('active', 6, 'customer.subscription.resumed'));
    expect(userOf(email)?.state).toBe('enabled');
    expect(credentialsFor(user?.id ?? '')).toHaveLength(1);

    // deleted (status canceled) → terminated: the user had no data
    const ended = await post(at('canceled', 7, 'customer.subscription.deleted'));
    expect(ended.json).toMatchObject({ action: 'terminated', state: 'deleted', userId: user?.id });
    expect(userOf(email)).toBeUndefined();
    // billingId remembered for the user (its last statistics objects are billed after it is gone)
    const store = new SqliteStore(join(server.dataDir, 'state.sqlite'));
    expect(await store.billingIds.get(user?.id ?? '')).toBe(customer);
    store.close();
  });

  it('an incomplete subscription creates nothing; incomplete_expired records a suspension of nobody', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    // Act
    const incomplete = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'incomplete' }),
        T0,
      ),
    );
    const expired = await post(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id, customer, status: 'incomplete_expired' }),
        T0 + 60,
      ),
    );
    // Assess
    expect(incomplete.json).toMatchObject({ action: 'ignored' });
    expect(expired.json).toMatchObject({ action: 'suspended', userId: null });
    expect(userOf(email)).toBeUndefined();
  });

  it('a refused termination (buckets hold data, no purge) leaves the user suspended and answers 200', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active' }),
        T0,
      ),
    );
    const user = userOf(email);
    emulator.state.createBucket(user?.id ?? '', `data-${serial}-${T0}`);
    emulator.state.putObject(`data-${serial}-${T0}`, 'invoice.pdf', 'keep me');
    // Act
    const ended = await post(
      subscriptionEvent(
        'customer.subscription.deleted',
        subscription({ id, customer, status: 'canceled' }),
        T0 + 60,
      ),
    );
    // Assess
    expect(ended).toMatchObject({
      status: 200,
      json: { action: 'termination_refused', userId: user?.id, buckets: [`data-${serial}-${T0}`] },
    });
    expect(userOf(email)?.state).toBe('disabled');
    expect(server.output()).toContain('termination refused');
  });
});

describe('order and repetition', () => {
  it('an older event arriving after a newer one is skipped: no user for an unpaid subscription', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    // Act: unpaid (t+2) arrives before active (t+1)
    const unpaid = await post(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id, customer, status: 'unpaid' }),
        T0 + 120,
      ),
    );
    const active = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active' }),
        T0 + 60,
      ),
    );
    // Assess
    expect(unpaid.json).toMatchObject({ action: 'suspended', userId: null });
    expect(active.json).toMatchObject({ action: 'skipped' });
    expect(userOf(email)).toBeUndefined();
    // A later payment brings the user into being.
    const paid = await post(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id, customer, status: 'active' }),
        T0 + 180,
      ),
    );
    expect(paid.json).toMatchObject({ action: 'enabled', created: true });
    expect(userOf(email)?.state).toBe('enabled');
  });

  // The user an activation older than the last event would touch, and how it stays.
  it.each([
    [
      'an existing user stays suspended when the older activation arrives late',
      {
        newer: { type: 'customer.subscription.updated', status: 'unpaid', after: 300 },
        lateAfter: 200,
        stateAfter: 'disabled',
      },
    ],
    [
      'a cancelled subscription is not brought back by an older event',
      {
        newer: { type: 'customer.subscription.deleted', status: 'canceled', after: 600 },
        lateAfter: 300,
        // No user any more.
        stateAfter: undefined,
      },
    ],
  ] as const)('%s', async (_case, { newer, lateAfter, stateAfter }) => {
    // Prepare: an active subscription, then a newer event
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active' }),
        T0,
      ),
    );
    await post(
      subscriptionEvent(newer.type, subscription({ id, customer, status: newer.status }), T0 + newer.after),
    );
    // Act: an activation older than that event arrives after it
    const late = await post(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id, customer, status: 'active' }),
        T0 + lateAfter,
      ),
    );
    // Assess
    expect(late.json).toMatchObject({ action: 'skipped' });
    expect(userOf(email)?.state).toBe(stateAfter);
  });

  it('a duplicate event (same id, even with other bytes) answers the first result and touches nothing', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    const event = subscriptionEvent(
      'customer.subscription.created',
      subscription({ id, customer, status: 'active' }),
      T0,
    );
    const first = await post(event);
    const user = userOf(email);
    emulator.clearRequests();
    const stripeCalls = stripe.requests.length;
    // Act: Stripe's retry (pending_webhooks has changed since) and a plain repeat
    const retried = await post({ ...event, pending_webhooks: 0 });
    const repeated = await post(event);
    // Assess
    expect(retried).toEqual(first);
    expect(repeated).toEqual(first);
    expect(emulator.requests).toHaveLength(0);
    expect(stripe.requests.length).toBe(stripeCalls);
    expect(emulator.state.usersWithEmail(email ?? '')).toHaveLength(1);
    expect(credentialsFor(user?.id ?? '')).toHaveLength(1);
  });

  it('a key pair the receiver does not acknowledge fails the event; Stripe’s retry delivers it, no second user', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    const event = subscriptionEvent(
      'customer.subscription.created',
      subscription({ id, customer, status: 'active' }),
      T0,
    );
    receiver.answer = () => 503;
    // Act
    const failed = await post(event);
    receiver.answer = () => 204;
    const retried = await post(event);
    // Assess
    expect(failed.status).toBe(503);
    expect(failed.json.error?.message).toContain('credentials.issued');
    expect(retried).toMatchObject({ status: 200, json: { action: 'enabled', created: false } });
    const users = emulator.state.usersWithEmail(email ?? '');
    expect(users).toHaveLength(1);
    const deliveries = credentialsFor(users[0]?.id ?? '');
    expect(deliveries.filter((d) => d.status === 204)).toHaveLength(1);
    // Every attempt carried the same webhook-id, so the receiver keeps the pair once.
    expect(new Set(deliveries.map((d) => d.id)).size).toBe(1);
  });
});

describe('what is acknowledged and left alone', () => {
  it('a subscription of an unlisted product: 200, no gateway call, no Stripe call', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    emulator.clearRequests();
    const stripeCalls = stripe.requests.length;
    // Act
    const answer = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active', products: ['prod_Unrelated'] }),
        T0,
      ),
    );
    // Assess
    expect(answer).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(answer.json.reason).toContain('STRIPE_PRODUCTS');
    expect(emulator.requests).toHaveLength(0);
    expect(stripe.requests.length).toBe(stripeCalls);
    expect(userOf(email)).toBeUndefined();
  });

  it('an event type that is not acted on: 200, touches nothing', async () => {
    // Prepare
    emulator.clearRequests();
    // Act
    const answer = await post(invoicePaidEvent(T0));
    // Assess
    expect(answer).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(emulator.requests).toHaveLength(0);
  });

  it('a customer without an e-mail: 200, no user; metadata.s3_email needs no customer lookup', async () => {
    // Prepare
    const nobody = customerWithSubscription(null);
    const tagged = customerWithSubscription(null);
    const s3Email = `tagged.${T0}@stripe.test`;
    // Act
    const without = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id: nobody.subscriptionId, customer: nobody.customer, status: 'active' }),
        T0,
      ),
    );
    const lookupsBefore = stripe.requests.filter((r) => r.includes(tagged.customer)).length;
    const withMetadata = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({
          id: tagged.subscriptionId,
          customer: tagged.customer,
          status: 'active',
          metadata: { s3_email: s3Email },
        }),
        T0,
      ),
    );
    // Assess
    expect(without).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(without.json.reason).toContain('no e-mail');
    expect(withMetadata.json).toMatchObject({ action: 'enabled', created: true });
    expect(userOf(s3Email)?.state).toBe('enabled');
    expect(stripe.requests.filter((r) => r.includes(tagged.customer)).length).toBe(lookupsBefore);
  });

  it('the e-mail is fixed once seen: a customer who changes it keeps the same S3 user', async () => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active' }),
        T0,
      ),
    );
    stripe.customers.set(customer, { email: `changed.${T0}@stripe.test` });
    // Act
    const unpaid = await post(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id, customer, status: 'unpaid' }),
        T0 + 60,
      ),
    );
    // Assess
    expect(unpaid.json).toMatchObject({ action: 'suspended', userId: userOf(email)?.id });
    expect(userOf(email)?.state).toBe('disabled');
    expect(userOf(`changed.${T0}@stripe.test`)).toBeUndefined();
  });
});

describe('meter error reports (thin events)', () => {
  it('fetches the report from Stripe, answers reported, and a redelivery fetches nothing', async () => {
    // Prepare
    const identifier = 'stats-e2e-gw1:user-e2e:uploaded_bytes';
    const { fetched, notification } = meterErrorEvent({
      type: 'v1.billing.meter.error_report_triggered',
      meter: 'mtr_test_E2e',
      errors: [
        { code: 'meter_event_no_customer_defined', identifiers: [identifier], message: 'no customer' },
      ],
    });
    stripe.events.set(fetched.id, fetched);
    const before = stripe.requests.length;
    const send = async () => {
      const delivery = signedNotification(notification, STRIPE_SECRET);
      const response = await fetch(`${server.url}/stripe`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json; charset=utf-8',
          'stripe-signature': delivery.signature,
        },
        body: delivery.body,
      });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    };
    // Act
    const first = await send();
    const again = await send();
    // Assess
    const answer = {
      received: true,
      id: fetched.id,
      action: 'reported',
      meter: 'mtr_test_E2e',
      errorCount: 1,
      errors: [{ code: 'meter_event_no_customer_defined', count: 1 }],
    };
    expect(first).toMatchObject({ status: 200, json: answer });
    expect(again).toEqual(first);
    expect(stripe.requests.slice(before)).toEqual([`GET /v2/core/events/${fetched.id}`]);
  });
});

describe('signatures', () => {
  it.each([
    ['another secret', { secret: 'whsec_someoneElse0123456789' }, 'no_matching_signature'],
    ['no Stripe-Signature header', { header: null }, 'missing_headers'],
    ['a stale timestamp', { at: Math.floor(Date.now() / 1000) - 600 }, 'timestamp_too_old'],
  ] as const)('%s: 401, nothing touched', async (_case, options, reason) => {
    // Prepare
    const { customer, subscriptionId: id, email } = customerWithSubscription();
    emulator.clearRequests();
    const stripeCalls = stripe.requests.length;
    // Act
    const answer = await post(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id, customer, status: 'active' }),
        T0,
      ),
      options,
    );
    // Assess
    expect(answer.status).toBe(401);
    expect(answer.json.error).toMatchObject({ code: 'unauthorized', reason });
    expect(emulator.requests).toHaveLength(0);
    expect(stripe.requests.length).toBe(stripeCalls);
    expect(userOf(email)).toBeUndefined();
  });

  it('a body changed after signing is a 401; a signed body that is no event is a 400', async () => {
    // Prepare
    const event = invoicePaidEvent(T0);
    const { signature } = signed(event, STRIPE_SECRET);
    const notAnEvent = '{"hello":"stripe"}';
    // Act
    const tampered = await post(event, {
      header: signature,
      body: JSON.stringify({ ...event, id: 'evt_forged' }),
    });
    const garbage = await post(event, { header: signed(event, STRIPE_SECRET).signature, body: 'not json' });
    const shapeless = await post(event, {
      header: (await import('stripe')).default.webhooks.generateTestHeaderString({
        payload: notAnEvent,
        secret: STRIPE_SECRET,
      }),
      body: notAnEvent,
    });
    // Assess
    expect(tampered.status).toBe(401);
    expect(garbage.status).toBe(401);
    expect(shapeless.status).toBe(400);
    expect(shapeless.json.error?.message).toMatch(/^body\.id: /);
  });
});

describe('without CREDENTIALS_WEBHOOK_URL', () => {
  let bare: RunningServer;
  beforeAll(async () => {
    const system = emulator.createSystemUser('system2@stripe.test');
    bare = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      STRIPE_WEBHOOK_SECRET: STRIPE_SECRET,
      STRIPE_API_KEY: stripe.apiKey,
      STRIPE_API_BASE: stripe.url,
    });
  });
  afterAll(async () => {
    await bare.stop();
  });

  it('creates no user and says why, but still acts on users that exist', async () => {
    // Prepare
    const fresh = customerWithSubscription();
    const existing = customerWithSubscription();
    const user = emulator.state.createUser(existing.email ?? '');
    const send = async (event: Stripe.Event) => {
      const delivery = signed(event, STRIPE_SECRET);
      const response = await fetch(`${bare.url}/stripe`, {
        method: 'POST',
        headers: { 'stripe-signature': delivery.signature, 'content-type': 'application/json' },
        body: delivery.body,
      });
      return (await response.json()) as Answer['json'];
    };
    // Act
    const notCreated = await send(
      subscriptionEvent(
        'customer.subscription.created',
        subscription({ id: fresh.subscriptionId, customer: fresh.customer, status: 'active' }),
        T0,
      ),
    );
    const suspended = await send(
      subscriptionEvent(
        'customer.subscription.updated',
        subscription({ id: existing.subscriptionId, customer: existing.customer, status: 'unpaid' }),
        T0,
      ),
    );
    // Assess
    expect(notCreated).toMatchObject({ action: 'ignored' });
    expect(userOf(fresh.email)).toBeUndefined();
    expect(bare.output()).toContain('CREDENTIALS_WEBHOOK_URL is not set');
    expect(suspended).toMatchObject({ action: 'suspended', userId: user.id });
    expect(userOf(existing.email)?.state).toBe('disabled');
  });
});

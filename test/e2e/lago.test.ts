// The Lago adapter end to end (docs/contract.md §9): `npm start` runs as a child process against a
// gateway emulator and the Lago fake in this process. Webhook bodies are typed with the official
// client's payload types (test/fixtures/lago-webhooks.ts) and signed here with node:crypto (HMAC)
// and jose (JWT), as lago-api signs them, never with the project's own signer. Key pairs of created
// users arrive at a receiver that checks their Standard Webhooks signature with the reference
// package. Usage goes out with USAGE_SINK=lago to the fake, and is reconciled with the emulator's
// statistics objects.
import { createHmac, generateKeyPairSync, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { importPKCS8, SignJWT } from 'jose';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { SqliteStore } from '../../shared/store/sqlite.ts';
import type { LagoFake, StoredEvent } from '../fakes/lago-api.ts';
import { startLagoFake } from '../fakes/lago-api.ts';
import type { CustomerInput } from '../fixtures/lago-webhooks.ts';
import {
  invoicePaymentOverdue,
  invoicePaymentStatusUpdated,
  subscriptionStarted,
  subscriptionTerminated,
} from '../fixtures/lago-webhooks.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import type { UsageReceiver } from './usage-receiver.ts';
import { startUsageReceiver } from './usage-receiver.ts';
import { contentsOf, sourceTotals } from './usage-totals.ts';

const HMAC_KEY = randomUUID();
const LAGO_API_KEY = `lago_${randomUUID()}`;
const RSA = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const STRANGER = generateKeyPairSync('rsa', {
  modulusLength: 2048,
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const WEBHOOK_SECRET = generateWebhookSecret();
const T0 = Date.now() - 3_600_000;
const CODES = {
  dl: 's3_downloaded_bytes',
  ul: 's3_uploaded_bytes',
  req: 's3_requests',
  storage: 's3_storage_gb_hours',
} as const;

interface Answer {
  readonly status: number;
  readonly json: {
    action?: string;
    reason?: string;
    billingId?: string;
    userId?: string | null;
    state?: string;
    created?: boolean;
    buckets?: string[];
    subscriptions?: { billingId: string; action: string }[];
    error?: { code: string; reason?: string; message: string };
  };
}

let emulator: Emulator;
let lago: LagoFake;
let receiver: UsageReceiver;
let server: RunningServer;
let lagoUrl: string;

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@lago.test');
  lago = await startLagoFake({ apiKey: LAGO_API_KEY });
  lagoUrl = lago.url;
  receiver = await startUsageReceiver(generateWebhookSecret());
  server = await startServer({
    OSTOR_GATEWAY_URL: emulator.url,
    OSTOR_ACCESS_KEY_ID: system.accessKeyId,
    OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
    WEBHOOK_SECRET,
    LAGO_WEBHOOK_HMAC_KEY: `${randomUUID()} ${HMAC_KEY}`,
    // As Lago serves it: base64 of the PEM.
    LAGO_WEBHOOK_PUBLIC_KEY: Buffer.from(RSA.publicKey).toString('base64'),
    LAGO_API_URL: lagoUrl,
    LAGO_API_KEY,
    LAGO_PLANS: 's3_storage, s3_premium',
    USAGE_SINK: 'lago',
    LAGO_METRIC_DOWNLOADED_BYTES: CODES.dl,
    LAGO_METRIC_UPLOADED_BYTES: CODES.ul,
    LAGO_METRIC_REQUESTS: CODES.req,
    LAGO_METRIC_STORAGE: CODES.storage,
    CREDENTIALS_WEBHOOK_URL: receiver.url,
    USAGE_WEBHOOK_SECRET: receiver.secret,
  });
});

afterAll(async () => {
  const output = server.output();
  await server.stop();
  await Promise.all([emulator.close(), lago.close(), receiver.close()]);
  // Assess (whole file): no key reached the server's output.
  for (const secret of [HMAC_KEY, LAGO_API_KEY, receiver.secret, WEBHOOK_SECRET.replace(/^whsec_/, '')]) {
    expect(output.includes(secret), 'a secret appeared in the server output').toBe(false);
  }
});

beforeEach(() => {
  receiver.answer = () => 204;
});

type Signing =
  | { kind: 'hmac'; key?: string }
  | { kind: 'jwt'; privateKey?: string; issuer?: string }
  | { kind: 'none' };

/** Lago's headers for `body`, signed as lago-api's Webhook#generate_headers does. */
async function lagoHeaders(
  body: string,
  signing: Signing,
  uniqueKey: string,
): Promise<Record<string, string>> {
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'x-lago-unique-key': uniqueKey,
  };
  if (signing.kind === 'hmac') {
    headers['x-lago-signature-algorithm'] = 'hmac';
    headers['x-lago-signature'] = createHmac('sha256', signing.key ?? HMAC_KEY)
      .update(body)
      .digest('base64');
  } else if (signing.kind === 'jwt') {
    headers['x-lago-signature-algorithm'] = 'jwt';
    headers['x-lago-signature'] = await new SignJWT({ data: body, iss: signing.issuer ?? lagoUrl })
      .setProtectedHeader({ alg: 'RS256' })
      .sign(await importPKCS8(signing.privateKey ?? RSA.privateKey, 'RS256'));
  }
  return headers;
}

async function post(
  payload: unknown,
  options: { signing?: Signing; uniqueKey?: string; body?: string } = {},
): Promise<Answer> {
  const body = options.body ?? JSON.stringify(payload);
  const headers = await lagoHeaders(
    body,
    options.signing ?? { kind: 'hmac' },
    options.uniqueKey ?? randomUUID(),
  );
  const response = await fetch(`${server.url}/lago`, { method: 'POST', headers, body });
  return { status: response.status, json: (await response.json()) as Answer['json'] };
}

let serial = 0;
/** A customer of its own per test, with an e-mail. */
function newCustomer(): CustomerInput & { email: string } {
  serial += 1;
  return { externalId: `cust-${serial}-${T0}`, email: `billing${serial}.${T0}@lago.test` };
}

const iso = (minutes: number) => new Date(T0 + minutes * 60_000).toISOString();
/** The start of the UTC hour `ms` falls in, as ISO 8601. */
const hourOf = (ms: number) => new Date(Math.floor(ms / 3_600_000) * 3_600_000).toISOString();
const userOf = (email: string) => emulator.state.usersWithEmail(email)[0];

function billingIdOf(userId: string): Promise<string | undefined> {
  const store = new SqliteStore(join(server.dataDir, 'state.sqlite'));
  try {
    return store.billingIds.get(userId);
  } finally {
    store.close();
  }
}

describe('subscriptions', () => {
  it('started: creates and enables the user of an e-mail external_id, delivers its key pair, billingId = external_id', async () => {
    // Prepare
    const customer = newCustomer();
    const email = `alice.${T0}@lago.test`;
    // Act
    const answer = await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    // Assess
    expect(answer).toMatchObject({
      status: 200,
      json: { action: 'enabled', billingId: email, created: true, state: 'enabled' },
    });
    const user = userOf(email);
    expect(user?.state).toBe('enabled');
    expect(await billingIdOf(user?.id ?? '')).toBe(email);
    const issued = receiver.deliveries.filter(
      (d) => d.message.type === 'credentials.issued' && d.message.data.userId === user?.id,
    );
    expect(issued.map((d) => d.message.data)).toEqual([
      {
        email,
        userId: user?.id,
        billingId: email,
        accessKeyId: user?.keys[0]?.accessKeyId,
        secretAccessKey: user?.keys[0]?.secretAccessKey,
      },
    ]);
  });

  it("started: an external_id that is not an address takes the customer's e-mail, fixed for the subscription", async () => {
    const customer = newCustomer();
    const id = `sub-${T0}-named`;
    const answer = await post(subscriptionStarted({ externalId: id, customer, startedAt: iso(0) }));
    expect(answer.json).toMatchObject({ action: 'enabled', billingId: id, created: true });
    expect(userOf(customer.email)?.state).toBe('enabled');
    // The customer changes its e-mail; the subscription's user stays the same one.
    const later = await post(
      subscriptionTerminated({
        externalId: id,
        customer: { ...customer, email: `changed.${T0}@lago.test` },
        terminatedAt: iso(5),
      }),
    );
    expect(later.json).toMatchObject({ action: 'terminated', state: 'deleted' });
    expect(userOf(customer.email)).toBeUndefined();
  });

  it('terminated: deletes the user; with data in its buckets and no purge it is left suspended (200)', async () => {
    const customer = newCustomer();
    const email = `bob.${T0}@lago.test`;
    await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    const user = userOf(email);
    emulator.state.createBucket(user?.id ?? '', `bob-${serial}-data`);
    emulator.state.putObject(`bob-${serial}-data`, 'keep.txt', 'data');
    // Act
    const refused = await post(
      subscriptionTerminated({ externalId: email, customer, terminatedAt: iso(10) }),
    );
    // Assess
    expect(refused).toMatchObject({
      status: 200,
      json: { action: 'termination_refused', buckets: [`bob-${serial}-data`] },
    });
    expect(userOf(email)?.state).toBe('disabled');
  });

  it('a plan change (terminated naming its successor, then started under the same external_id) keeps the user', async () => {
    const customer = newCustomer();
    const email = `carol.${T0}@lago.test`;
    await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    const before = userOf(email);
    const ended = await post(
      subscriptionTerminated({
        externalId: email,
        customer,
        terminatedAt: iso(20),
        nextPlanCode: 's3_premium',
      }),
    );
    const started = await post(
      subscriptionStarted({ externalId: email, customer, startedAt: iso(20), planCode: 's3_premium' }),
    );
    expect(ended.json).toMatchObject({ action: 'ignored' });
    expect(started.json).toMatchObject({ action: 'enabled', created: false });
    // A downgrade scheduled, then called off: Lago cancels the pending subscription and says
    // subscription.terminated for it (status canceled, no terminated_at) under the same external_id.
    const calledOff = await post(
      subscriptionTerminated({ externalId: email, customer, terminatedAt: null, status: 'canceled' }),
    );
    expect(calledOff).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(userOf(email)?.id).toBe(before?.id);
    expect(userOf(email)?.state).toBe('enabled');
  });

  it('a plan not in LAGO_PLANS, and events the adapter does not act on, answer 200 and touch nothing', async () => {
    const customer = newCustomer();
    const email = `dave.${T0}@lago.test`;
    const other = await post(
      subscriptionStarted({ externalId: email, customer, startedAt: iso(0), planCode: 'compute' }),
    );
    const unknown = await post({ webhook_type: 'customer.created', object_type: 'customer', customer: {} });
    expect(other).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(other.json.reason).toContain('LAGO_PLANS');
    expect(unknown).toMatchObject({ status: 200, json: { action: 'ignored' } });
    expect(userOf(email)).toBeUndefined();
  });

  it('out of order: a termination applied first makes the older start a no-op', async () => {
    const customer = newCustomer();
    const email = `erin.${T0}@lago.test`;
    const ended = await post(subscriptionTerminated({ externalId: email, customer, terminatedAt: iso(30) }));
    const started = await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    expect(ended.json).toMatchObject({ action: 'terminated', state: 'absent' });
    expect(started.json).toMatchObject({ action: 'skipped' });
    expect(userOf(email)).toBeUndefined();
  });
});

describe("a customer's invoices", () => {
  async function customerWithTwoSubscriptions() {
    const customer = newCustomer();
    const emails = [`first.${serial}.${T0}@lago.test`, `second.${serial}.${T0}@lago.test`];
    for (const email of emails)
      await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    return { customer, emails };
  }
  const states = (emails: readonly string[]) => emails.map((email) => userOf(email)?.state);

  it("overdue suspends every subscription's user of that customer, and no one else's", async () => {
    const { customer, emails } = await customerWithTwoSubscriptions();
    const bystander = await customerWithTwoSubscriptions();
    // Act
    const answer = await post(
      invoicePaymentOverdue({ invoiceId: randomUUID(), customer, updatedAt: iso(40) }),
    );
    // Assess
    expect(answer.json).toMatchObject({ action: 'customer', desired: 'suspended' });
    expect(answer.json.subscriptions?.map((s) => [s.billingId, s.action]).sort()).toEqual(
      emails.map((email) => [email, 'suspended']).sort(),
    );
    expect(states(emails)).toEqual(['disabled', 'disabled']);
    expect(states(bystander.emails)).toEqual(['enabled', 'enabled']);
  });

  it('paying one of two overdue invoices keeps them suspended; paying the last enables them', async () => {
    const { customer, emails } = await customerWithTwoSubscriptions();
    const [one, two] = [randomUUID(), randomUUID()];
    await post(invoicePaymentOverdue({ invoiceId: one, customer, updatedAt: iso(40) }));
    await post(invoicePaymentOverdue({ invoiceId: two, customer, updatedAt: iso(41) }));
    // Act + Assess
    const first = await post(invoicePaymentStatusUpdated({ invoiceId: one, customer, updatedAt: iso(50) }));
    expect(first.json).toMatchObject({ action: 'ignored' });
    expect(states(emails)).toEqual(['disabled', 'disabled']);
    const last = await post(invoicePaymentStatusUpdated({ invoiceId: two, customer, updatedAt: iso(51) }));
    expect(last.json).toMatchObject({ action: 'customer', desired: 'enabled' });
    expect(states(emails)).toEqual(['enabled', 'enabled']);
  });

  it('a payment of an invoice never overdue, or a failed payment, changes nothing', async () => {
    const { customer, emails } = await customerWithTwoSubscriptions();
    await post(invoicePaymentOverdue({ invoiceId: randomUUID(), customer, updatedAt: iso(40) }));
    const other = await post(
      invoicePaymentStatusUpdated({ invoiceId: randomUUID(), customer, updatedAt: iso(45) }),
    );
    const failed = await post(
      invoicePaymentStatusUpdated({
        invoiceId: randomUUID(),
        customer,
        updatedAt: iso(46),
        paymentStatus: 'failed',
      }),
    );
    expect(other.json).toMatchObject({ action: 'ignored', reason: 'the invoice was not overdue' });
    expect(failed.json).toMatchObject({ action: 'ignored' });
    expect(states(emails)).toEqual(['disabled', 'disabled']);
  });

  it('out of order: the payment arriving before the overdue notice leaves the users enabled', async () => {
    const { customer, emails } = await customerWithTwoSubscriptions();
    const invoiceId = randomUUID();
    const paid = await post(invoicePaymentStatusUpdated({ invoiceId, customer, updatedAt: iso(60) }));
    const overdue = await post(invoicePaymentOverdue({ invoiceId, customer, updatedAt: iso(55) }));
    expect(paid.json).toMatchObject({ action: 'ignored' });
    expect(overdue.json).toMatchObject({ action: 'skipped' });
    expect(states(emails)).toEqual(['enabled', 'enabled']);
  });

  it('reaches the subscriptions Lago lists that started before the adapter was set up (LAGO_PLANS applies)', async () => {
    // Prepare: a user provisioned long ago, a subscription the adapter never saw start
    const customer = newCustomer();
    const email = `legacy.${T0}@lago.test`;
    emulator.state.createUser(email);
    lago.subscriptions.set(customer.externalId, [
      { external_id: email, plan_code: 's3_storage', status: 'active' },
      { external_id: `compute-${T0}`, plan_code: 'compute', status: 'active' },
    ]);
    // Act
    const answer = await post(
      invoicePaymentOverdue({ invoiceId: randomUUID(), customer, updatedAt: iso(40) }),
    );
    // Assess: suspended, and its billingId is the subscription's external_id from now on
    expect(answer.json.subscriptions?.map((s) => [s.billingId, s.action])).toEqual([[email, 'suspended']]);
    const user = userOf(email);
    expect(user?.state).toBe('disabled');
    expect(await billingIdOf(user?.id ?? '')).toBe(email);
  });

  it('a terminated subscription is not brought back by a payment', async () => {
    const { customer, emails } = await customerWithTwoSubscriptions();
    const [kept, ended] = emails as [string, string];
    const invoiceId = randomUUID();
    await post(invoicePaymentOverdue({ invoiceId, customer, updatedAt: iso(40) }));
    await post(subscriptionTerminated({ externalId: ended, customer, terminatedAt: iso(45) }));
    const paid = await post(invoicePaymentStatusUpdated({ invoiceId, customer, updatedAt: iso(50) }));
    expect(paid.json.subscriptions?.map((s) => s.billingId)).toEqual([kept]);
    expect(userOf(kept)?.state).toBe('enabled');
    expect(userOf(ended)).toBeUndefined();
  });
});

describe('deliveries', () => {
  it('a redelivery (same X-Lago-Unique-Key) answers the first result and touches nothing', async () => {
    const customer = newCustomer();
    const email = `frank.${T0}@lago.test`;
    const key = randomUUID();
    const payload = subscriptionStarted({ externalId: email, customer, startedAt: iso(0) });
    const first = await post(payload, { uniqueKey: key });
    const user = userOf(email);
    // Someone disables the user by hand; the redelivery must not enable it again.
    if (user !== undefined) user.state = 'disabled';
    const again = await post(payload, { uniqueKey: key });
    expect(again).toEqual(first);
    expect(userOf(email)?.state).toBe('disabled');
    expect(receiver.deliveries.filter((d) => d.message.data.userId === user?.id)).toHaveLength(1);
  });

  it('a JWT-signed delivery is accepted (public key as Lago serves it, iss = LAGO_API_URL)', async () => {
    const customer = newCustomer();
    const email = `grace.${T0}@lago.test`;
    const answer = await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }), {
      signing: { kind: 'jwt' },
    });
    expect(answer.json).toMatchObject({ action: 'enabled', created: true });
  });

  it('bad signatures are 401 and touch nothing', async () => {
    const customer = newCustomer();
    const email = `mallory.${T0}@lago.test`;
    const payload = subscriptionStarted({ externalId: email, customer, startedAt: iso(0) });
    const body = JSON.stringify(payload);
    const tampered = async () => {
      const headers = await lagoHeaders(body, { kind: 'hmac' }, randomUUID());
      const response = await fetch(`${server.url}/lago`, {
        method: 'POST',
        headers,
        body: body.replace('mallory', 'mallorz'),
      });
      return { status: response.status, json: (await response.json()) as Answer['json'] };
    };
    const answers = [
      await post(payload, { signing: { kind: 'hmac', key: randomUUID() } }),
      await post(payload, { signing: { kind: 'jwt', privateKey: STRANGER.privateKey } }),
      await post(payload, { signing: { kind: 'jwt', issuer: 'https://api.getlago.com' } }),
      await post(payload, { signing: { kind: 'none' } }),
      await tampered(),
    ];
    expect(answers.map((a) => [a.status, a.json.error?.code])).toEqual(
      answers.map(() => [401, 'unauthorized']),
    );
    expect(userOf(email)).toBeUndefined();
    expect(userOf(email.replace('mallory', 'mallorz'))).toBeUndefined();
  });

  it('a signed body that is not a usable Lago event is a 400 naming the field, and touches nothing', async () => {
    const customer = newCustomer();
    const payload = subscriptionStarted({ externalId: `henry.${T0}@lago.test`, customer, startedAt: null });
    const answers = [
      await post(payload),
      await post(undefined, { body: '{"webhook_type":' }),
      await post({ object_type: 'subscription' }),
    ];
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
    expect(answers[0]?.json.error?.message).toBe('subscription.started_at: is required');
    expect(answers[1]?.json.error?.message).toMatch(/^body: /);
    expect(answers[2]?.json.error?.message).toBe('webhook_type: is required');
    expect(userOf(`henry.${T0}@lago.test`)).toBeUndefined();
  });
});

describe('usage to Lago (USAGE_SINK=lago) through npm start', () => {
  /** A signed `POST /collect-usage`, as an operator starts a sweep. */
  async function sweep(): Promise<Record<string, unknown>> {
    const id = `msg_${randomUUID()}`;
    const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });
    const now = new Date();
    const response = await fetch(`${server.url}/collect-usage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(WEBHOOK_SECRET).sign(id, now, body),
      },
      body,
    });
    expect(response.status).toBe(200);
    return (await response.json()) as Record<string, unknown>;
  }

  function totalsAtLago(events: readonly StoredEvent[]): Map<string, bigint> {
    const sums = new Map<string, bigint>();
    for (const event of events) {
      const key = `${event.externalSubscriptionId} ${event.code}`;
      sums.set(key, (sums.get(key) ?? 0n) + BigInt(String(event.properties.value)));
    }
    return sums;
  }

  it("each subscription's totals at Lago equal the statistics objects' counters, storage in GB-hours; users without a billingId are unbilled", async () => {
    // Prepare: two users made by subscriptions (billingIds), one provisioned by hand (none)
    const customer = newCustomer();
    const subs = [`usage-a.${T0}@lago.test`, `usage-b.${T0}@lago.test`];
    for (const email of subs)
      await post(subscriptionStarted({ externalId: email, customer, startedAt: iso(0) }));
    const [a, b] = subs.map((email) => userOf(email)) as [
      NonNullable<ReturnType<typeof userOf>>,
      NonNullable<ReturnType<typeof userOf>>,
    ];
    const stranger = emulator.state.createUser(`stranger.${T0}@lago.test`);
    const population = [
      { userId: a.id, bucket: `a-${T0}` },
      { userId: b.id, bucket: `b-${T0}` },
      { userId: stranger.id, bucket: `s-${T0}` },
    ];
    for (const { userId, bucket } of population) emulator.state.createBucket(userId, bucket);
    // 2,500 bytes stored by a, none by b: one storage event, for a, in GB-hours.
    emulator.state.putObject(`a-${T0}`, 'kept.bin', 'x'.repeat(2500));
    const names = emulator.state.seedUsageObjects({
      objects: 150,
      itemsPerObject: 6,
      start: new Date(Date.now() - 10 * 86_400_000),
      population,
      seed: 11,
    });
    const source = sourceTotals(contentsOf(emulator.state, names).values());
    lago.faults.push(
      { kind: 'status', status: 503 },
      { kind: 'store-then-reset' },
      { kind: 'status', status: 429 },
    );
    // Act
    const before = Date.now();
    const result = await sweep();
    const again = await sweep();
    // Assess
    expect(result).toMatchObject({ objects: 150, delivered: 150, deleted: 150, failed: 0 });
    expect(result.unbilled).toBeGreaterThan(0);
    expect(again).toMatchObject({ objects: 0, delivered: 0 });
    expect(emulator.state.usage.size).toBe(0);
    const expected = new Map<string, bigint>();
    for (const [email, user] of [
      [subs[0], a],
      [subs[1], b],
    ] as const) {
      const totals = source.get(user.id);
      if (totals === undefined) continue;
      expected.set(`${email} ${CODES.dl}`, totals.downloaded);
      expected.set(`${email} ${CODES.ul}`, totals.uploaded);
      expected.set(`${email} ${CODES.req}`, totals.put + totals.get + totals.list + totals.other);
    }
    for (const [key, value] of expected) if (value === 0n) expected.delete(key);
    const mine = lago.events.filter((e) => subs.includes(e.externalSubscriptionId));
    expect(totalsAtLago(mine.filter((e) => e.code !== CODES.storage))).toEqual(expected);
    // The hour the sweep measured in (the first sweep may straddle an hour's end).
    const storage = mine.filter((e) => e.code === CODES.storage);
    expect(storage).toHaveLength(1);
    const hour = new Date(storage[0]?.timestampMs ?? 0).toISOString();
    expect([hourOf(before), hourOf(Date.now())]).toContain(hour);
    expect(storage.map((e) => [e.transactionId, e.externalSubscriptionId, e.properties.value])).toEqual([
      [`storage-${a.id}-${hour}:storage`, subs[0], '0.0000025'],
    ]);
    expect(
      lago.events.some((e) => e.externalSubscriptionId === '' || e.transactionId.includes(stranger.id)),
    ).toBe(false);
    // Every request carried at most 100 events.
    expect(Math.max(...lago.requests.map((r) => r.events))).toBeLessThanOrEqual(100);
  });
});

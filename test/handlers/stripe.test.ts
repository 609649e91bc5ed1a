// The deployed stripe function called as Lambda calls it: HTTP API events (test/handlers/events.ts)
// carrying typed Stripe events signed by the `stripe` package, direct and scheduled invocations,
// with the deployed stores (DynamoDB over dynalite) and the gateway emulator; its metric for a
// refused termination; no Stripe API call when the subscription names its S3 e-mail.
import { randomUUID } from 'node:crypto';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import type Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../bench/lib/dynalite.ts';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler } from '../../functions/stripe/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import {
  STRIPE_IDEMPOTENCY_TTL_SECONDS,
  TERMINATIONS_REFUSED_METRIC,
} from '../../shared/runtime/stripe-handler.ts';
import { signed, subscription, subscriptionEvent } from '../e2e/stripe-events.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

// Metrics decide at construction (module load) whether they are on: turn them on before the
// handler is imported, for the metric test below.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

const SECRET = `whsec_${randomUUID().replaceAll('-', '')}`;
let emulator: Emulator;
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  [emulator, dynamo] = await Promise.all([startEmulator(), startDynalite()]);
  table = await dynamo.newTable({ prefix: 'stripe' });
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  const system = emulator.createSystemUser('system@stripe-handler.test');
  setRuntime(
    emulatorRuntime(emulator, system, {
      IDEMPOTENCY_TABLE_NAME: table,
      STRIPE_WEBHOOK_SECRET: SECRET,
      // Never called: every subscription here names its S3 e-mail.
      STRIPE_API_BASE: 'http://127.0.0.1:9',
      STRIPE_API_KEY: 'sk_test_neverCalled0123',
    }),
  );
});

afterAll(async () => {
  setRuntime(undefined);
  vi.unstubAllEnvs();
  await Promise.all([emulator.close(), dynamo.close()]);
});

const T0 = Math.floor(Date.now() / 1000) - 600;

function event(
  status: Stripe.Subscription.Status,
  email: string,
  created: number,
  type = 'customer.subscription.updated',
) {
  return subscriptionEvent(
    type as 'customer.subscription.updated',
    subscription({
      id: `sub_${email.split('@')[0]}`,
      customer: 'cus_Handler',
      status,
      metadata: { s3_email: email },
    }),
    created,
  );
}

async function post(stripeEvent: Stripe.Event, options: { method?: string; secret?: string } = {}) {
  const delivery = signed(stripeEvent, options.secret ?? SECRET);
  const response = (await handler(
    httpApiEvent(options.method ?? 'POST', '/stripe', delivery.body, {
      headers: {
        'stripe-signature': delivery.signature,
        'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
      },
    }),
    localContext('stripe'),
  )) as { statusCode: number; body: string };
  return { status: response.statusCode, json: JSON.parse(response.body) as Record<string, unknown> };
}

describe('the stripe function', () => {
  it('creates no user without CREDENTIALS_WEBHOOK_URL but remembers the event id in DynamoDB for 4 days', async () => {
    // Prepare
    const email = `nobody.${randomUUID().slice(0, 6)}@example.com`;
    const stripeEvent = event('active', email, T0);
    const before = Date.now() / 1000;
    // Act
    const answer = await post(stripeEvent);
    // Assess
    expect(answer).toMatchObject({
      status: 200,
      json: { received: true, id: stripeEvent.id, action: 'ignored' },
    });
    expect(emulator.state.usersWithEmail(email)).toHaveLength(0);
    // Powertools keeps the record under a hash of the key (stripe#<event id>): this table holds only it.
    const { Items = [] } = await DynamoDBDocumentClient.from(dynamo.client).send(
      new ScanCommand({ TableName: table }),
    );
    const records = Items.filter((item) => item.status === 'COMPLETED');
    expect(records).toHaveLength(1);
    expect(Number(records[0]?.expiration)).toBeGreaterThanOrEqual(
      Math.floor(before) + STRIPE_IDEMPOTENCY_TTL_SECONDS - 5,
    );
    // A redelivery is answered from it, touching nothing.
    emulator.clearRequests();
    expect(await post(stripeEvent)).toEqual(answer);
    expect(emulator.requests).toHaveLength(0);
    expect(STRIPE_IDEMPOTENCY_TTL_SECONDS).toBeGreaterThanOrEqual(72 * 3600);
  });

  it('suspends an existing user, ordered through DynamoDB', async () => {
    // Prepare
    const email = `existing.${randomUUID().slice(0, 6)}@example.com`;
    const user = emulator.state.createUser(email);
    // Act
    const unpaid = await post(event('unpaid', email, T0 + 60));
    const late = await post(event('active', email, T0 + 30));
    // Assess
    expect(unpaid.json).toMatchObject({ action: 'suspended', userId: user.id, status: 'unpaid' });
    expect(late.json).toMatchObject({ action: 'skipped' });
    expect(user.state).toBe('disabled');
  });

  it('counts a refused termination as terminationsRefused (service stripe) and answers 200', async () => {
    // Prepare
    const email = `keeps.${randomUUID().slice(0, 6)}@example.com`;
    const user = emulator.state.createUser(email);
    const bucket = `keeps-${randomUUID().slice(0, 6)}`;
    emulator.state.createBucket(user.id, bucket);
    emulator.state.putObject(bucket, 'data.bin', 'data');
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    // Act
    let answer: Awaited<ReturnType<typeof post>>;
    try {
      answer = await post(event('canceled', email, T0 + 120, 'customer.subscription.deleted'));
    } finally {
      spy.mockRestore();
    }
    // Assess
    expect(answer).toMatchObject({ status: 200, json: { action: 'termination_refused', buckets: [bucket] } });
    expect(user.state).toBe('disabled');
    const emf = printed
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(emf.find((record) => TERMINATIONS_REFUSED_METRIC in record)).toMatchObject({
      [TERMINATIONS_REFUSED_METRIC]: 1,
      service: 'stripe',
    });
  });

  it('refuses a bad signature (401), a GET (400) and a scheduled event, touching nothing', async () => {
    // Prepare
    const email = `refused.${randomUUID().slice(0, 6)}@example.com`;
    emulator.clearRequests();
    // Act
    const forged = await post(event('active', email, T0), { secret: 'whsec_notTheEndpoints0123' });
    const get = await post(event('active', email, T0), { method: 'GET' });
    const scheduled = handler(
      { source: 'aws.scheduler', 'detail-type': 'Scheduled Event', time: new Date().toISOString(), id: 'x' },
      localContext('stripe'),
    );
    // Assess
    expect(forged).toMatchObject({
      status: 401,
      json: { error: { code: 'unauthorized', reason: 'no_matching_signature' } },
    });
    expect(get.status).toBe(400);
    await expect(scheduled).rejects.toThrow(/not started by a schedule/);
    expect(emulator.requests).toHaveLength(0);
  });

  it('takes a direct invocation (console, npm run invoke) of a Stripe event, unsigned', async () => {
    // Prepare
    const email = `direct.${randomUUID().slice(0, 6)}@example.com`;
    const user = emulator.state.createUser(email);
    // Act
    const result = await handler(
      event('paused', email, T0, 'customer.subscription.paused'),
      localContext('stripe'),
    );
    // Assess
    expect(result).toMatchObject({ received: true, action: 'suspended', userId: user.id });
    expect(user.state).toBe('disabled');
  });
});

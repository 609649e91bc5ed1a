// The stripe function's secrets from Secrets Manager (aws-sdk-client-mock), as deployed: the
// endpoint secret rolled in Stripe (two values, then the new one alone) and picked up after one
// refetch, a placeholder refused naming the variable, and the API key refetched once after Stripe
// answers 401 — never printed anywhere.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import type Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler } from '../../functions/stripe/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { redact } from '../../shared/runtime/logging.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { signed, subscription, subscriptionEvent } from '../e2e/stripe-events.ts';
import type { StripeFake } from '../e2e/stripe-fake.ts';
import { startStripeFake } from '../e2e/stripe-fake.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

const secretsManager = mockClient(SecretsManagerClient);
const values = new Map<string, string>();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-stripe-secrets-'));
let emulator: Emulator;
let stripe: StripeFake;
let system: { accessKeyId: string; secretAccessKey: string };
let serial = 0;

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  [emulator, stripe] = await Promise.all([
    startEmulator(),
    startStripeFake({ apiKey: 'rk_test_currentKey0123' }),
  ]);
  system = emulator.createSystemUser('system@stripe-secrets.test');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  setRuntime(undefined);
  secretsManager.restore();
  await Promise.all([emulator.close(), stripe.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  secretsManager.reset();
  secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
    const value = values.get(input.SecretId ?? '');
    if (value === undefined) throw new Error(`no secret ${input.SecretId}`);
    return {
      SecretString: value,
      VersionId: 'v',
      ARN: `arn:aws:secretsmanager:us-east-1:0:secret:${input.SecretId}`,
    };
  });
});

/** A runtime whose Stripe secrets are in (mocked) Secrets Manager under fresh ids. */
function useRuntime(endpoint: string, apiKey: string) {
  serial += 1;
  const ids = { endpoint: `stripe-endpoint-${serial}`, key: `stripe-key-${serial}` };
  values.set(ids.endpoint, endpoint);
  values.set(ids.key, apiKey);
  setRuntime(
    emulatorRuntime(emulator, system, {
      DATA_DIR: dataDir,
      STRIPE_WEBHOOK_SECRET_ID: ids.endpoint,
      STRIPE_API_KEY_ID: ids.key,
      STRIPE_API_BASE: stripe.url,
    }),
  );
  return ids;
}

function event(customer: string, created: number): Stripe.Event {
  return subscriptionEvent(
    'customer.subscription.updated',
    subscription({ id: `sub_s${serial}`, customer, status: 'unpaid' }),
    created,
  );
}

async function post(stripeEvent: Stripe.Event, secret: string) {
  const delivery = signed(stripeEvent, secret);
  const response = (await handler(
    httpApiEvent('POST', '/stripe', delivery.body, { headers: { 'stripe-signature': delivery.signature } }),
    localContext('stripe'),
  )) as { statusCode: number; body: string };
  return { status: response.statusCode, json: JSON.parse(response.body) as Record<string, unknown> };
}

const T0 = Math.floor(Date.now() / 1000) - 300;

describe('Stripe secrets from Secrets Manager', () => {
  it('follows a rolled endpoint secret: a signature the cache lacks refetches once; the old one lapses with the cache', async () => {
    // Prepare: only the old secret is known (and cached)
    const [old, rolled] = ['whsec_oldEndpointSecret01', 'whsec_newEndpointSecret02'];
    const ids = useRuntime(old, 'rk_test_currentKey0123');
    const email = `rolled.${serial}@example.com`;
    const user = emulator.state.createUser(email);
    stripe.customers.set(`cus_R${serial}`, { email });
    const before = await post(event(`cus_R${serial}`, T0), old);
    const fetchesBefore = secretsManager.commandCalls(GetSecretValueCommand).length;
    // Act: the operator stores both; Stripe signs with the new one at once
    values.set(ids.endpoint, `${old} ${rolled}`);
    const during = await post(event(`cus_R${serial}`, T0 + 1), rolled);
    const refetches = secretsManager.commandCalls(GetSecretValueCommand).length - fetchesBefore;
    // ...later the old one is dropped, and the cache lapses (5 minutes)
    values.set(ids.endpoint, rolled);
    vi.useFakeTimers({ now: Date.now() + 6 * 60_000, toFake: ['Date'] });
    let forged: Awaited<ReturnType<typeof post>>;
    let after: Awaited<ReturnType<typeof post>>;
    try {
      forged = await post(event(`cus_R${serial}`, T0 + 2), old);
      after = await post(event(`cus_R${serial}`, T0 + 3), rolled);
    } finally {
      vi.useRealTimers();
    }
    // Assess
    expect(before.json).toMatchObject({ action: 'suspended', userId: user.id });
    expect(during.status).toBe(200);
    expect(refetches).toBe(1);
    expect(forged.json).toMatchObject({ error: { code: 'unauthorized', reason: 'no_matching_signature' } });
    expect(after.status).toBe(200);
  });

  it('refuses the stack’s placeholder, naming STRIPE_WEBHOOK_SECRET_ID and not showing it', async () => {
    // Prepare
    useRuntime('unset', 'rk_test_currentKey0123');
    // Act
    const answer = await post(event('cus_Placeholder', T0), 'whsec_anything0123');
    // Assess
    expect(answer.status).toBe(500);
    expect(answer.json).toEqual({
      error: {
        code: 'configuration',
        message: 'STRIPE_WEBHOOK_SECRET_ID: the secret is not a Stripe endpoint secret (whsec_...)',
      },
    });
  });

  it('refetches the API key once when Stripe answers 401, and never shows it', async () => {
    // Prepare: the cached key was revoked in Stripe and replaced in Secrets Manager
    const secret = 'whsec_keyRotationSecret01';
    const ids = useRuntime(secret, 'rk_test_revokedKey0123');
    const email = `keyed.${serial}@example.com`;
    const user = emulator.state.createUser(email);
    stripe.customers.set(`cus_K${serial}`, { email });
    values.set(ids.key, 'rk_test_currentKey0123');
    // Act
    const answer = await post(event(`cus_K${serial}`, T0), secret);
    // Assess
    expect(answer.json).toMatchObject({ action: 'suspended', userId: user.id });
    expect(JSON.stringify(answer.json)).not.toContain('rk_test_');
  });

  it('masks Stripe keys and endpoint secrets in log lines', () => {
    expect(redact({ message: 'Bearer rk_live_51Hx0abcDEF and whsec_abcDEF123' })).toEqual({
      message: 'Bearer [redacted] and [redacted]',
    });
  });
});

// The Stripe adapter's settings, USAGE_SINK and CREDENTIALS_WEBHOOK_URL in shared/config.ts: read
// with their defaults, and every malformed value or missing companion refused with one
// ConfigurationError naming the variable — never showing a secret's value.
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { startExpectingFailure } from '../../e2e/local-server.ts';

function refusal(env: Record<string, string>): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('accepted');
}

describe('STRIPE_* settings', () => {
  it('have defaults: webhook sink, api.stripe.com, every product, no early suspension, no purge, no meters', () => {
    const config = loadConfig({});
    expect(config.usage.sink).toBe('webhook');
    expect(config.credentialsWebhookUrl).toBeUndefined();
    expect(config.stripe).toEqual({
      webhookSecrets: undefined,
      webhookSecretId: undefined,
      apiKey: undefined,
      apiKeyId: undefined,
      apiBase: new URL('https://api.stripe.com'),
      products: undefined,
      suspendPastDue: false,
      purgeOnCancel: false,
      meters: {
        downloadedBytes: undefined,
        uploadedBytes: undefined,
        requests: undefined,
        storage: undefined,
      },
    });
  });

  it('are read', () => {
    const config = loadConfig({
      USAGE_SINK: 'stripe',
      STRIPE_WEBHOOK_SECRET: 'whsec_old0123456789 whsec_new0123456789',
      STRIPE_API_KEY: 'rk_live_51Hx0abcDEF',
      STRIPE_API_BASE: 'http://127.0.0.1:12111',
      STRIPE_PRODUCTS: 'prod_A1, prod_B2,',
      STRIPE_SUSPEND_PAST_DUE: 'true',
      STRIPE_PURGE_ON_CANCEL: 'yes',
      STRIPE_METER_REQUESTS: 's3_requests',
      CREDENTIALS_WEBHOOK_URL: 'https://portal.example.com/keys',
      USAGE_WEBHOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
    });
    expect(config.usage.sink).toBe('stripe');
    expect(config.credentialsWebhookUrl?.href).toBe('https://portal.example.com/keys');
    expect(config.stripe).toMatchObject({
      apiBase: new URL('http://127.0.0.1:12111'),
      products: ['prod_A1', 'prod_B2'],
      suspendPastDue: true,
      purgeOnCancel: true,
      meters: { requests: 's3_requests' },
    });
  });

  it.each([
    [
      { STRIPE_WEBHOOK_SECRET: 'sk_test_notAnEndpointSecret' },
      'STRIPE_WEBHOOK_SECRET',
      'not a Stripe endpoint secret',
    ],
    [{ STRIPE_WEBHOOK_SECRET: 'whsec_okok0123456789 whsec_' }, 'STRIPE_WEBHOOK_SECRET', 'secret 2 of 2'],
    [
      { STRIPE_API_KEY: 'pk_live_publishableKey0123' },
      'STRIPE_API_KEY',
      'not a Stripe secret or restricted key',
    ],
    [{ STRIPE_API_BASE: 'http://stripe.example.com' }, 'STRIPE_API_BASE', 'must use https'],
    [{ STRIPE_PRODUCTS: 'prod A' }, 'STRIPE_PRODUCTS', 'product ids'],
    [{ STRIPE_SUSPEND_PAST_DUE: 'maybe' }, 'STRIPE_SUSPEND_PAST_DUE', 'true or false'],
    [{ STRIPE_METER_STORAGE: 'has space' }, 'STRIPE_METER_STORAGE', 'meter event name'],
    [{ USAGE_SINK: 'ndjson' }, 'USAGE_SINK', 'webhook, stripe or lago'],
    [{ USAGE_SINK: 'stripe', STRIPE_METER_REQUESTS: 'r' }, 'STRIPE_API_KEY', 'USAGE_SINK=stripe'],
    [
      { USAGE_SINK: 'stripe', STRIPE_API_KEY: 'sk_test_abcdefgh1234' },
      'STRIPE_METER_DOWNLOADED_BYTES',
      'at least one',
    ],
    [
      { CREDENTIALS_WEBHOOK_URL: 'https://portal.example.com/keys' },
      'USAGE_WEBHOOK_SECRET',
      'CREDENTIALS_WEBHOOK_URL',
    ],
    [
      { CREDENTIALS_WEBHOOK_URL: 'https://user:pw@portal.example.com' },
      'CREDENTIALS_WEBHOOK_URL',
      'credentials',
    ],
  ] as const)('%j is refused naming %s', (env, variable, text) => {
    const error = refusal(env);
    expect(error.variable).toBe(variable);
    expect(error.message).toContain(text);
    // A secret is named by position and kind, never shown.
    const secret = (env as Record<string, string | undefined>)[variable];
    if (secret !== undefined && variable.match(/SECRET|KEY/)) expect(error.message).not.toContain(secret);
  });

  it('a malformed STRIPE_WEBHOOK_SECRET stops npm start with one line, without the value', async () => {
    const { code, output } = await startExpectingFailure({
      STRIPE_WEBHOOK_SECRET: 'whsec_okok0123456789 s3cr3t-typo',
    });
    expect(code).not.toBe(0);
    expect(output.trim().split('\n')).toEqual([
      'npm start: STRIPE_WEBHOOK_SECRET: secret 2 of 2 is not a Stripe endpoint secret (whsec_...)',
    ]);
    expect(output).not.toContain('s3cr3t-typo');
  });
});

// The LAGO_* settings: parsed into Config, and a bad one stops start-up naming the variable,
// never showing a key.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigurationError } from '../../../shared/errors.ts';

const vector = JSON.parse(readFileSync(new URL('../../vectors/lago.json', import.meta.url), 'utf8')) as {
  jwt: { publicKeyAsServed: string };
};

function refused(env: NodeJS.ProcessEnv): ConfigurationError {
  try {
    loadConfig(env);
  } catch (error) {
    if (error instanceof ConfigurationError) return error;
    throw error;
  }
  throw new Error('expected a ConfigurationError');
}

const sink = {
  USAGE_SINK: 'lago',
  LAGO_API_URL: 'https://lago.example.com',
  LAGO_API_KEY: '3f1c2d4e-aaaa-bbbb-cccc-111122223333',
  LAGO_METRIC_DOWNLOADED_BYTES: 's3_downloaded_bytes',
};

describe('LAGO_* settings', () => {
  it('are read into config.lago, with defaults', () => {
    const config = loadConfig({
      ...sink,
      LAGO_WEBHOOK_HMAC_KEY: 'old-key new-key',
      LAGO_WEBHOOK_PUBLIC_KEY: vector.jwt.publicKeyAsServed,
      LAGO_PLANS: ' s3_storage, s3_premium ,',
      LAGO_PURGE_ON_TERMINATE: 'true',
      LAGO_METRIC_STORAGE: 's3_storage_gb_hours',
    });
    expect(config.usage.sink).toBe('lago');
    expect(config.lago).toMatchObject({
      webhookHmacKeys: 'old-key new-key',
      apiUrl: new URL('https://lago.example.com'),
      plans: ['s3_storage', 's3_premium'],
      purgeOnTerminate: true,
      metrics: {
        downloadedBytes: 's3_downloaded_bytes',
        uploadedBytes: undefined,
        requests: undefined,
        storage: 's3_storage_gb_hours',
      },
      fieldName: 'value',
    });
    expect(loadConfig({}).lago).toMatchObject({
      purgeOnTerminate: false,
      plans: undefined,
      fieldName: 'value',
    });
    expect(loadConfig({ LAGO_WEBHOOK_PUBLIC_KEY_ID: 'lago/public-key' }).lago.webhookPublicKeyId).toBe(
      'lago/public-key',
    );
  });

  it('USAGE_SINK=lago needs the API URL, a key and at least one metric code', () => {
    expect(refused({ ...sink, LAGO_API_URL: undefined }).variable).toBe('LAGO_API_URL');
    expect(refused({ ...sink, LAGO_API_KEY: undefined }).variable).toBe('LAGO_API_KEY');
    expect(
      loadConfig({ ...sink, LAGO_API_KEY: undefined, LAGO_API_KEY_ID: 'lago-api-key' }).lago.apiKeyId,
    ).toBe('lago-api-key');
    expect(refused({ ...sink, LAGO_METRIC_DOWNLOADED_BYTES: undefined }).message).toContain('LAGO_METRIC_*');
  });

  it('the API URL is https (http only on loopback), without credentials or /api/v1', () => {
    expect(refused({ ...sink, LAGO_API_URL: 'http://lago.example.com' }).variable).toBe('LAGO_API_URL');
    expect(refused({ ...sink, LAGO_API_URL: 'https://u:p@lago.example.com' }).variable).toBe('LAGO_API_URL');
    expect(refused({ ...sink, LAGO_API_URL: 'https://lago.example.com/api/v1' }).message).toContain(
      '/api/v1',
    );
    expect(loadConfig({ ...sink, LAGO_API_URL: 'http://127.0.0.1:3000' }).lago.apiUrl?.port).toBe('3000');
  });

  it('bad keys and names are refused naming the variable, never showing the value', () => {
    const badKey = 'bad key with spaces';
    const apiKey = refused({ ...sink, LAGO_API_KEY: 'short' });
    expect(apiKey.variable).toBe('LAGO_API_KEY');
    expect(apiKey.message).not.toContain('short');
    const hmac = refused({ LAGO_WEBHOOK_HMAC_KEY: 'a\u0007b' });
    expect(hmac.variable).toBe('LAGO_WEBHOOK_HMAC_KEY');
    const pem = refused({ LAGO_WEBHOOK_PUBLIC_KEY: badKey });
    expect(pem.variable).toBe('LAGO_WEBHOOK_PUBLIC_KEY');
    expect(pem.message).not.toContain(badKey);
    expect(refused({ LAGO_METRIC_REQUESTS: 'two words' }).variable).toBe('LAGO_METRIC_REQUESTS');
    expect(refused({ LAGO_PLANS: 'a,b c' }).variable).toBe('LAGO_PLANS');
    expect(refused({ LAGO_PURGE_ON_TERMINATE: 'maybe' }).variable).toBe('LAGO_PURGE_ON_TERMINATE');
  });
});

// `npm start` as a person first meets it: with nothing configured it starts the embedded emulator,
// generates a webhook secret, prints how to call it, and serves; a bad variable stops it with one
// line naming the variable.
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunningServer } from './local-server.ts';
import { startExpectingFailure, startServer } from './local-server.ts';

describe('npm start with nothing configured', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({});
  });

  afterAll(async () => {
    await server.stop();
  });

  it('is healthy and prints the emulator, the generated secret and how to call it', async () => {
    // Act
    const health = await fetch(`${server.url}/healthz`);
    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const output = server.output();
    expect(output).toMatch(/gateway\s+embedded emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/WEBHOOK_SECRET=whsec_[A-Za-z0-9+/=]+/);
    expect(output).toContain('npm run send -- provision alice@example.com');
  });

  it('provisions through the embedded emulator with the printed secret, and 404s an unknown route', async () => {
    // Prepare
    const secret = /WEBHOOK_SECRET=(whsec_[A-Za-z0-9+/=]+)/.exec(server.output())?.[1] ?? '';
    const body = JSON.stringify({
      type: 'provision',
      timestamp: new Date().toISOString(),
      data: { email: 'first@example.com' },
    });
    const now = new Date();
    // Act
    const response = await fetch(`${server.url}/provision`, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_first',
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign('msg_first', now, body),
      },
      body,
    });
    const missing = await fetch(`${server.url}/nope`, { method: 'POST', body: '{}' });
    // Assess
    expect(response.status).toBe(200);
    const result = (await response.json()) as { created: boolean; accessKeys: { secretAccessKey: string }[] };
    expect(result.created).toBe(true);
    expect(result.accessKeys).toHaveLength(1);
    expect(server.output()).not.toContain(result.accessKeys[0]?.secretAccessKey ?? 'unset');
    expect(missing.status).toBe(404);
  });
});

describe('npm start with a bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ OSTOR_SIGNATURE_VERSION: '3' }, 'OSTOR_SIGNATURE_VERSION'],
    [{ OSTOR_GATEWAY_URL: 'http://10.0.0.1' }, 'OSTOR_GATEWAY_URL'],
    [{ OSTOR_GATEWAY_URL: 'https://s3.example.com', OSTOR_ACCESS_KEY_ID: 'AKIA' }, 'OSTOR_SECRET_ACCESS_KEY'],
    [{ WEBHOOK_SECRET: 'whsec_short' }, 'WEBHOOK_SECRET'],
    [{ USAGE_SWEEP_INTERVAL_SECONDS: '-1' }, 'USAGE_SWEEP_INTERVAL_SECONDS'],
    [{ USAGE_WEBHOOK_URL: 'https://billing.example.com/usage' }, 'USAGE_WEBHOOK_SECRET'],
  ])('%j stops start-up with one line naming %s', async (env, variable) => {
    // Act
    const { code, output } = await startExpectingFailure(env);
    // Assess
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^npm start: ${variable}: `));
  });
});

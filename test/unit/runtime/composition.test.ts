// The composition root builds every client from the one configuration: the clients credential
// rotation makes (signing with the pending or current key) honour OSTOR_TIMEOUT_MS like the
// function's own gateway client, and rotation is refused without credentials in Secrets Manager.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import { loadConfig } from '../../../shared/config.ts';
import { createRuntime } from '../../../shared/runtime/runtime.ts';

let emulator: Emulator;
let system: { accessKeyId: string; secretAccessKey: string };

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system@composition.test');
});

afterAll(async () => {
  await emulator.close();
});

describe('credential rotation’s gateway clients', () => {
  it('give up on a hung gateway after OSTOR_TIMEOUT_MS, as the function’s own client does', async () => {
    // Prepare
    const runtime = createRuntime(
      loadConfig({
        OSTOR_GATEWAY_URL: emulator.url,
        OSTOR_CREDENTIALS_SECRET_ID:
          'arn:aws:secretsmanager:us-east-1:123456789012:secret:vhi/gateway-AbCdEf',
        OSTOR_TIMEOUT_MS: '300',
        AWS_REGION: 'us-east-1',
      }),
    );
    emulator.faults.inject({
      match: { service: 'ostor-users' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'hang' },
    });
    const client = runtime.rotation().gatewayFor(system);
    // Act
    const started = Date.now();
    const failure = await client.getUser({ userId: '0123456789abcdef' }).catch((error: unknown) => error);
    const took = Date.now() - started;
    emulator.faults.clear();
    await client.close?.();
    // Assess: the default timeout is 10 s; 300 ms per attempt, retried with backoff, ends far sooner
    expect(failure).toMatchObject({ code: 'gateway_timeout' });
    expect(took).toBeLessThan(8_000);
  });

  it('are refused, naming the setting, when the credentials are not in Secrets Manager', () => {
    const runtime = createRuntime(
      loadConfig({
        OSTOR_GATEWAY_URL: emulator.url,
        OSTOR_ACCESS_KEY_ID: system.accessKeyId,
        OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      }),
    );
    expect(() => runtime.rotation()).toThrow(/OSTOR_CREDENTIALS_SECRET_ID/);
  });
});

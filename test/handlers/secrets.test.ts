// Secrets from Secrets Manager (the real SDK client, its transport mocked by aws-sdk-client-mock):
// a rotated gateway key is picked up after one 403, and a rotated webhook secret after one
// signature miss — without waiting for the cache to expire.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { loadConfig } from '../../shared/config.ts';
import { createRuntime, setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

const secretsManager = mockClient(SecretsManagerClient);
let emulator: Emulator;
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-secrets-'));
let serial = 0;

beforeAll(async () => {
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  emulator = await startEmulator();
});

afterAll(async () => {
  vi.unstubAllEnvs();
  setRuntime(undefined);
  secretsManager.restore();
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  secretsManager.reset();
});

/** Serves each secret id's current value, as Secrets Manager's AWSCURRENT would. */
function serveSecrets(values: Map<string, string>) {
  secretsManager.on(GetSecretValueCommand).callsFake((input: { SecretId?: string }) => {
    const value = values.get(input.SecretId ?? '');
    if (value === undefined) throw new Error(`no secret ${input.SecretId}`);
    return {
      SecretString: value,
      VersionId: 'v',
      ARN: `arn:aws:secretsmanager:us-east-1:0:secret:${input.SecretId}`,
    };
  });
}

function signedEvent(secret: string, body: string) {
  const id = `msg_${++serial}`;
  const now = new Date();
  return httpApiEvent('POST', '/provision', body, {
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, now, body),
    },
  });
}

describe('gateway credentials from OSTOR_CREDENTIALS_SECRET_ID', () => {
  it('after the cached key is revoked, one 403 fetches the rotated secret and the call succeeds', async () => {
    // Prepare
    const system = emulator.createSystemUser(`system${++serial}@secrets.test`);
    const credentialsId = `gateway-${serial}`;
    const values = new Map([
      [
        credentialsId,
        JSON.stringify({ accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey }),
      ],
    ]);
    serveSecrets(values);
    setRuntime(
      createRuntime(
        loadConfig({
          OSTOR_GATEWAY_URL: emulator.url,
          OSTOR_CREDENTIALS_SECRET_ID: credentialsId,
          DATA_DIR: dataDir,
        }),
      ),
    );
    await provision(
      { type: 'provision', timestamp: new Date().toISOString(), data: { email: `a${serial}@example.com` } },
      localContext('p'),
    );
    // The operator rotates: a new key goes into the secret, the old one is revoked on the gateway.
    const fresh = emulator.state.generateKey(system.userId);
    emulator.state.revokeKey(system.userId, system.accessKeyId);
    values.set(
      credentialsId,
      JSON.stringify({ accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey }),
    );
    const fetchesBefore = secretsManager.commandCalls(GetSecretValueCommand).length;
    // Act
    const email = `b${serial}@example.com`;
    const result = await provision(
      { type: 'provision', timestamp: new Date().toISOString(), data: { email } },
      localContext('p'),
    );
    // Assess
    expect(result).toMatchObject({ email, created: true });
    expect(secretsManager.commandCalls(GetSecretValueCommand).length).toBe(fetchesBefore + 1);
    const refused = emulator.requests.filter((r) => r.status === 403 && r.signatureVersion !== null);
    expect(refused.length).toBeGreaterThanOrEqual(1);
  });

  it('a secret that is not the expected JSON is a configuration error that does not echo it', async () => {
    // Prepare
    const credentialsId = `broken-${++serial}`;
    serveSecrets(new Map([[credentialsId, 'hunter2-not-json']]));
    setRuntime(
      createRuntime(
        loadConfig({
          OSTOR_GATEWAY_URL: emulator.url,
          OSTOR_CREDENTIALS_SECRET_ID: credentialsId,
          DATA_DIR: dataDir,
        }),
      ),
    );
    // Act
    const attempt = provision(
      { type: 'provision', timestamp: new Date().toISOString(), data: { email: 'c@example.com' } },
      localContext('p'),
    );
    // Assess
    await expect(attempt).rejects.toMatchObject({
      code: 'configuration',
      message: expect.stringContaining('OSTOR_CREDENTIALS_SECRET_ID'),
    });
    await expect(attempt).rejects.not.toMatchObject({ message: expect.stringContaining('hunter2') });
  });
});

describe('webhook secrets from WEBHOOK_SECRET_ID', () => {
  it('accepts both secrets during rotation, and a secret added after caching on the first miss', async () => {
    // Prepare
    const system = emulator.createSystemUser(`system${++serial}@secrets.test`);
    const webhookId = `webhook-${serial}`;
    const oldSecret = generateWebhookSecret();
    const newSecret = generateWebhookSecret();
    const values = new Map([[webhookId, oldSecret]]);
    serveSecrets(values);
    setRuntime(
      emulatorRuntime(emulator, system, {
        WEBHOOK_SECRET_ID: webhookId,
        DATA_DIR: dataDir,
      }),
    );
    const body = (email: string) =>
      JSON.stringify({ type: 'provision', timestamp: new Date().toISOString(), data: { email } });
    const warm = (await provision(
      signedEvent(oldSecret, body(`w${serial}@example.com`)),
      localContext('p'),
    )) as {
      statusCode: number;
    };
    // The billing system starts signing with the new secret; the secret now holds both.
    values.set(webhookId, `${oldSecret} ${newSecret}`);
    // Act
    const withNew = (await provision(
      signedEvent(newSecret, body(`n${serial}@example.com`)),
      localContext('p'),
    )) as {
      statusCode: number;
    };
    const withOld = (await provision(
      signedEvent(oldSecret, body(`o${serial}@example.com`)),
      localContext('p'),
    )) as {
      statusCode: number;
    };
    const forged = (await provision(
      signedEvent(generateWebhookSecret(), body(`f${serial}@example.com`)),
      localContext('p'),
    )) as {
      statusCode: number;
    };
    // Assess
    expect(warm.statusCode).toBe(200);
    expect(withNew.statusCode).toBe(200);
    expect(withOld.statusCode).toBe(200);
    expect(forged.statusCode).toBe(401);
    expect(emulator.state.usersWithEmail(`f${serial}@example.com`)).toHaveLength(0);
  });

  it('a flood of forged signatures makes at most one forced refetch', async () => {
    // Prepare
    const system = emulator.createSystemUser(`system${++serial}@secrets.test`);
    const webhookId = `webhook-${serial}`;
    serveSecrets(new Map([[webhookId, generateWebhookSecret()]]));
    setRuntime(
      emulatorRuntime(emulator, system, {
        WEBHOOK_SECRET_ID: webhookId,
        DATA_DIR: dataDir,
      }),
    );
    const forged = () =>
      signedEvent(
        generateWebhookSecret(),
        JSON.stringify({
          type: 'provision',
          timestamp: new Date().toISOString(),
          data: { email: 'x@example.com' },
        }),
      );
    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 20; i++) {
      statuses.push(((await provision(forged(), localContext('p'))) as { statusCode: number }).statusCode);
    }
    // Assess: one fetch to fill the cache, one forced refetch, then the cache answers.
    expect(new Set(statuses)).toEqual(new Set([401]));
    const fetches = secretsManager.commandCalls(GetSecretValueCommand, { SecretId: webhookId }).length;
    expect(fetches).toBeLessThanOrEqual(2);
  });
});

// The rotate-key function serves two callers: Secrets Manager's rotation steps go to the credential
// rotation, everything else to the customer key rotation as before.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Context } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator, SystemUserCredentials } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import { handler } from '../../../functions/rotate-key/handler.ts';
import { classifyRotation } from '../../../shared/runtime/invocation.ts';
import { setRuntime } from '../../../shared/runtime/runtime.ts';
import { CURRENT, PENDING, SecretModel } from './secrets-manager-model.ts';

const context = {
  functionName: 'rotate-key',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:rotate-key',
  memoryLimitInMB: '512',
  awsRequestId: 'request-1',
  logGroupName: '/aws/lambda/rotate-key',
  logStreamName: 'stream',
  callbackWaitsForEmptyEventLoop: false,
  getRemainingTimeInMillis: () => 30_000,
  done: () => {},
  fail: () => {},
  succeed: () => {},
} satisfies Context;

let emulator: Emulator;
let system: SystemUserCredentials;
let model: SecretModel;
let stub: AwsClientStub<SecretsManagerClient>;
let dataDir: string;
const saved = { ...process.env };

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system.handler@example.com');
  model = new SecretModel(
    'vhi-s3-billing/gateway',
    JSON.stringify({
      accessKeyId: system.accessKeyId,
      secretAccessKey: system.secretAccessKey,
      userId: system.userId,
    }),
    () => new Date(),
  );
  stub = model.mock();
  dataDir = mkdtempSync(join(tmpdir(), 'rotate-key-handler-'));
  Object.assign(process.env, {
    OSTOR_GATEWAY_URL: emulator.url,
    OSTOR_CREDENTIALS_SECRET_ID: model.arn,
    DATA_DIR: dataDir,
    AWS_REGION: 'us-east-1',
  });
  setRuntime(undefined);
});

afterAll(async () => {
  stub.restore();
  setRuntime(undefined);
  process.env = saved;
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('classifyRotation', () => {
  it('recognises the four steps and nothing else', () => {
    const event = { SecretId: 'arn:x', ClientRequestToken: 't', Step: 'testSecret', RotationToken: 'r' };
    expect(classifyRotation(event)).toEqual({
      kind: 'rotation',
      secretId: 'arn:x',
      token: 't',
      step: 'testSecret',
    });
    expect(classifyRotation({ ...event, Step: 'deleteSecret' })).toBeUndefined();
    expect(classifyRotation({ ...event, ClientRequestToken: '' })).toBeUndefined();
    expect(
      classifyRotation({ type: 'rotate-key', timestamp: '2026-11-26T12:00:00Z', data: {} }),
    ).toBeUndefined();
  });
});

describe('the rotate-key handler', () => {
  it('runs Secrets Manager’s four steps on the gateway credentials', async () => {
    // Prepare
    const token = model.beginRotation();

    // Act
    for (const Step of ['createSecret', 'setSecret', 'testSecret', 'finishSecret']) {
      await handler({ SecretId: model.arn, ClientRequestToken: token, Step }, context);
    }

    // Assess
    expect(model.versionWith(CURRENT)).toBe(token);
    const current = JSON.parse(model.valueOf(CURRENT) ?? '{}') as { accessKeyId: string };
    expect(emulator.state.users.get(system.userId)?.keys.map((key) => key.accessKeyId)).toEqual([
      system.accessKeyId,
      current.accessKeyId,
    ]);
    expect(model.versionWith(PENDING)).toBe(token);
  });

  it('still treats every other event as a customer key rotation', async () => {
    // Act: a direct invocation with an invalid envelope is refused by the lifecycle stack as before
    const refused = handler({ type: 'rotate-key', timestamp: '2026-11-26T12:00:00Z', data: {} }, context);

    // Assess
    await expect(refused).rejects.toThrow(/data\.email/);
  });

  it('refuses to rotate a secret other than its own', async () => {
    const other = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf';
    await expect(
      handler({ SecretId: other, ClientRequestToken: 'token', Step: 'createSecret' }, context),
    ).rejects.toThrow(/rotates .* only/);
  });
});

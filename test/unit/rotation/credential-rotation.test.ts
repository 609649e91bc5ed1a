// The gateway credential rotation, step by step, against the real emulator, with Secrets Manager
// modelled behind aws-sdk-client-mock. After every step — and after a failure injected at every
// step — exactly one AWSCURRENT exists and works, and the system user holds at most two keys.

import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, SystemUserCredentials } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import type {
  GatewayKeyPair,
  RotationDependencies,
  RotationStep,
} from '../../../shared/lifecycle/credential-rotation.ts';
import {
  CredentialRotationError,
  isSameSecret,
  PREVIOUS_KEY_GRACE_SECONDS,
  parseKeyPair,
  rotateGatewayCredentials,
} from '../../../shared/lifecycle/credential-rotation.ts';
import { OstorClient } from '../../../shared/ostor/index.ts';
import type { Credentials } from '../../../shared/signing/index.ts';
import { secretsManagerVersions } from '../../../shared/store/secrets-manager.ts';
import { CURRENT, PENDING, PREVIOUS, SecretModel } from './secrets-manager-model.ts';

const STEPS: readonly RotationStep[] = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];

let emulator: Emulator;
let system: SystemUserCredentials;
let model: SecretModel;
let stub: AwsClientStub<SecretsManagerClient>;
let now: Date;
const clients: OstorClient[] = [];

function gatewayFor(credentials: Credentials): OstorClient {
  const client = new OstorClient({
    endpoint: emulator.url,
    credentials,
    timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000 },
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2, sleep: async () => {} },
  });
  clients.push(client);
  return client;
}

function deps(overrides: Partial<RotationDependencies> = {}): RotationDependencies {
  return {
    secrets: secretsManagerVersions(new SecretsManagerClient({ region: 'us-east-1' })),
    gatewayFor,
    expectedSecretId: model.arn,
    now: () => now,
    ...overrides,
  };
}

function step(
  token: string,
  which: RotationStep,
  overrides: Partial<RotationDependencies> = {},
): Promise<void> {
  return rotateGatewayCredentials({ secretId: model.arn, token, step: which }, deps(overrides));
}

/** One rotation as Secrets Manager runs it: RotateSecret, the four steps, then the service's bookkeeping. */
async function rotate(): Promise<string> {
  const token = model.beginRotation();
  for (const which of STEPS) await step(token, which);
  model.completeRotation();
  return token;
}

function systemKeys(): string[] {
  return emulator.state.users.get(system.userId)?.keys.map((key) => key.accessKeyId) ?? [];
}

function stored(stage: string): GatewayKeyPair {
  const value = model.valueOf(stage);
  if (value === undefined) throw new Error(`no ${stage} value`);
  return parseKeyPair(value, stage);
}

async function works(pair: Credentials & { userId?: string }): Promise<boolean> {
  try {
    await gatewayFor(pair).getUser({ userId: system.userId });
    return true;
  } catch {
    return false;
  }
}

/** The invariants: one working AWSCURRENT, at most two keys, never a refused third key. */
async function expectSound(): Promise<void> {
  expect(model.countWith(CURRENT)).toBe(1);
  expect(await works(stored(CURRENT))).toBe(true);
  expect(systemKeys().length).toBeLessThanOrEqual(2);
  expect(emulator.requests.filter((request) => request.status === 409)).toEqual([]);
}

beforeAll(async () => {
  emulator = await startEmulator();
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  // Prepare: a fresh system user whose one key is the secret's AWSCURRENT (without userId, as an
  // operator may first store it: the user is read from the key id).
  system = emulator.createSystemUser(`system.${Math.random().toString(36).slice(2)}@example.com`);
  now = new Date('2026-11-26T12:00:00Z');
  model = new SecretModel(
    'vhi-s3-billing/gateway',
    JSON.stringify({ accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey }),
    () => now,
  );
  stub = model.mock();
  emulator.faults.clear();
  emulator.clearRequests();
});

afterEach(async () => {
  stub.restore();
  // The steps close the clients they were given; closing twice is refused by undici.
  await Promise.all(clients.splice(0).map((client) => client.close().catch(() => {})));
});

describe('a rotation, step by step', () => {
  it('creates, tests and promotes a new key, and keeps the previous key working', async () => {
    // Act + Assess, one step at a time
    const token = model.beginRotation();
    expect(model.versions.get(token)?.value).toBeUndefined();

    await step(token, 'createSecret');
    const pending = stored(PENDING);
    expect(model.versionWith(PENDING)).toBe(token);
    expect(pending.userId).toBe(system.userId);
    expect(systemKeys()).toEqual([system.accessKeyId, pending.accessKeyId]);
    expect(stored(CURRENT).accessKeyId).toBe(system.accessKeyId);
    await expectSound();

    await step(token, 'setSecret');
    expect(systemKeys()).toEqual([system.accessKeyId, pending.accessKeyId]);
    await expectSound();

    emulator.clearRequests();
    await step(token, 'testSecret');
    // The test call is a read, signed with the pending key.
    expect(emulator.requests.map((r) => [r.method, r.service, r.accessKeyId])).toEqual([
      ['GET', 'ostor-users', pending.accessKeyId],
    ]);
    await expectSound();

    await step(token, 'finishSecret');
    model.completeRotation();
    expect(model.versionWith(CURRENT)).toBe(token);
    expect(stored(CURRENT)).toEqual(pending);
    expect(stored(PREVIOUS).accessKeyId).toBe(system.accessKeyId);
    // A caller still holding the previous value in its cache keeps working.
    expect(systemKeys()).toEqual([system.accessKeyId, pending.accessKeyId]);
    expect(await works(system)).toBe(true);
    await expectSound();
  });

  it('answers every step of a finished rotation again without touching anything', async () => {
    // Prepare
    const token = await rotate();
    const keys = systemKeys();
    const calls = model.calls.length;

    // Act
    for (const which of STEPS) await step(token, which);

    // Assess: only DescribeSecret was asked each time
    expect(systemKeys()).toEqual(keys);
    expect(model.calls.slice(calls).map((call) => call.command)).toEqual(Array(4).fill('DescribeSecret'));
    await expectSound();
  });

  it('revokes the previous key at the next rotation, only once callers’ cache lifetime has passed', async () => {
    // Prepare: a first rotation; the second starts 60 seconds later
    await rotate();
    const first = stored(CURRENT);
    now = new Date(now.getTime() + 60_000);
    const token = model.beginRotation();

    // Act: too soon
    const refused = await step(token, 'createSecret').catch((error: unknown) => error);

    // Assess: refused, nothing revoked, both keys still work
    expect(refused).toBeInstanceOf(CredentialRotationError);
    expect((refused as CredentialRotationError).reason).toBe('previous_key_in_use');
    expect(systemKeys()).toEqual([system.accessKeyId, first.accessKeyId]);
    expect(await works(system)).toBe(true);
    await expectSound();

    // Act: Secrets Manager reattempts the same version once the grace has passed
    now = new Date(now.getTime() + PREVIOUS_KEY_GRACE_SECONDS * 1000);
    expect(model.beginRotation()).toBe(token);
    for (const which of STEPS) await step(token, which);
    model.completeRotation();

    // Assess: the key of two rotations ago is gone, the last two remain
    const second = stored(CURRENT);
    expect(systemKeys()).toEqual([first.accessKeyId, second.accessKeyId]);
    expect(await works(system)).toBe(false);
    expect(await works(first)).toBe(true);
    await expectSound();
  });

  it('rotates many times in a row without ever holding more than two keys', async () => {
    for (let round = 0; round < 5; round++) {
      now = new Date(now.getTime() + 86_400_000);
      await rotate();
      await expectSound();
      expect(systemKeys()).toHaveLength(2);
    }
  });
});

describe('a failure at each step, then a rerun', () => {
  /** Runs `token`'s steps from createSecret, as Secrets Manager's retry of a failed rotation does. */
  async function rerun(token: string): Promise<void> {
    expect(model.beginRotation()).toBe(token);
    for (const which of STEPS) await step(token, which);
    model.completeRotation();
  }

  it('createSecret: generating the key fails', async () => {
    const token = model.beginRotation();
    emulator.faults.inject({ match: { param: 'genKey' }, fault: { kind: 'status', status: 500 } });

    await expect(step(token, 'createSecret')).rejects.toThrow();
    expect(systemKeys()).toEqual([system.accessKeyId]);
    expect(model.valueOf(PENDING)).toBeUndefined();
    await expectSound();

    await rerun(token);
    expect(systemKeys()).toEqual([system.accessKeyId, stored(CURRENT).accessKeyId]);
    await expectSound();
  });

  it('createSecret: the key is generated but the answer is lost', async () => {
    const token = model.beginRotation();
    emulator.faults.inject({ match: { param: 'genKey' }, fault: { kind: 'reset', afterApply: true } });

    await expect(step(token, 'createSecret')).rejects.toThrow();
    const [, orphan] = systemKeys();
    expect(orphan).toBeDefined();
    await expectSound();

    await rerun(token);
    // The orphan was revoked before a new key was made: still two keys, not three.
    expect(systemKeys()).toEqual([system.accessKeyId, stored(CURRENT).accessKeyId]);
    expect(systemKeys()).not.toContain(orphan);
    await expectSound();
  });

  it('createSecret: storing the pending version fails', async () => {
    const token = model.beginRotation();
    model.failNext('PutSecretValue');

    await expect(step(token, 'createSecret')).rejects.toThrow(/injected failure/);
    const [, orphan] = systemKeys();
    expect(model.valueOf(PENDING)).toBeUndefined();
    await expectSound();

    await rerun(token);
    expect(systemKeys()).toEqual([system.accessKeyId, stored(CURRENT).accessKeyId]);
    expect(systemKeys()).not.toContain(orphan);
    await expectSound();
  });

  it('createSecret: the pending version is stored but the answer is lost', async () => {
    const token = model.beginRotation();
    model.failNext('PutSecretValue', { afterApply: true });

    await expect(step(token, 'createSecret')).rejects.toThrow(/injected failure/);
    const keys = systemKeys();
    const pending = stored(PENDING);
    await expectSound();

    await rerun(token);
    // The rerun found the stored version: no key generated, the stored one promoted.
    expect(systemKeys()).toEqual(keys);
    expect(stored(CURRENT)).toEqual(pending);
    await expectSound();
  });

  it('setSecret: the invocation fails', async () => {
    const token = model.beginRotation();
    await step(token, 'createSecret');
    const keys = systemKeys();
    model.failNext('DescribeSecret');

    await expect(step(token, 'setSecret')).rejects.toThrow(/injected failure/);
    expect(systemKeys()).toEqual(keys);
    await expectSound();

    await rerun(token);
    expect(systemKeys()).toEqual(keys);
    expect(stored(CURRENT).accessKeyId).toBe(keys[1]);
    await expectSound();
  });

  it('testSecret: the gateway is unavailable', async () => {
    const token = model.beginRotation();
    await step(token, 'createSecret');
    await step(token, 'setSecret');
    const keys = systemKeys();
    emulator.faults.inject({
      match: { method: 'GET', service: 'ostor-users' },
      times: 4,
      fault: { kind: 'status', status: 503 },
    });

    const error = await step(token, 'testSecret').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(CredentialRotationError);
    expect((error as CredentialRotationError).reason).toBe('pending_key_refused');
    // Nothing promoted: the old key is still the current one.
    expect(stored(CURRENT).accessKeyId).toBe(system.accessKeyId);
    emulator.faults.clear();
    emulator.clearRequests();
    await expectSound();

    await rerun(token);
    expect(systemKeys()).toEqual(keys);
    expect(stored(CURRENT).accessKeyId).toBe(keys[1]);
    await expectSound();
  });

  it('finishSecret: moving the label fails', async () => {
    const token = model.beginRotation();
    for (const which of STEPS.slice(0, 3)) await step(token, which);
    model.failNext('UpdateSecretVersionStage');

    await expect(step(token, 'finishSecret')).rejects.toThrow(/injected failure/);
    expect(stored(CURRENT).accessKeyId).toBe(system.accessKeyId);
    await expectSound();

    await rerun(token);
    expect(model.versionWith(CURRENT)).toBe(token);
    await expectSound();
  });

  it('finishSecret: the label moved but the answer is lost', async () => {
    const token = model.beginRotation();
    for (const which of STEPS.slice(0, 3)) await step(token, which);
    model.failNext('UpdateSecretVersionStage', { afterApply: true });

    await expect(step(token, 'finishSecret')).rejects.toThrow(/injected failure/);
    expect(model.versionWith(CURRENT)).toBe(token);
    await expectSound();

    // The rerun sees the version already current and changes nothing.
    const keys = systemKeys();
    for (const which of STEPS) await step(token, which);
    expect(systemKeys()).toEqual(keys);
    expect(model.versionWith(CURRENT)).toBe(token);
    await expectSound();
  });
});

describe('refusals', () => {
  it('refuses a secret other than its own', async () => {
    const token = model.beginRotation();
    const error = await rotateGatewayCredentials(
      {
        secretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:other-AbCdEf',
        token,
        step: 'createSecret',
      },
      deps(),
    ).catch((caught: unknown) => caught);
    expect((error as CredentialRotationError).reason).toBe('other_secret');
    expect(systemKeys()).toEqual([system.accessKeyId]);
  });

  it('refuses a version that is not AWSPENDING', async () => {
    const previous = model.versionWith(CURRENT) as string;
    await rotate();
    const error = await step(previous, 'createSecret').catch((caught: unknown) => caught);
    expect((error as CredentialRotationError).reason).toBe('not_pending');
  });

  it('refuses to rotate when the secret’s key does not belong to the user it names', async () => {
    const other = emulator.createSystemUser(`other.${Math.random().toString(36).slice(2)}@example.com`);
    stub.restore();
    model = new SecretModel(
      'vhi-s3-billing/gateway',
      JSON.stringify({
        accessKeyId: system.accessKeyId,
        secretAccessKey: system.secretAccessKey,
        userId: other.userId,
      }),
      () => now,
    );
    stub = model.mock();
    const token = model.beginRotation();

    const error = await step(token, 'createSecret').catch((caught: unknown) => caught);

    expect((error as CredentialRotationError).reason).toBe('key_not_owned');
    expect(emulator.state.users.get(other.userId)?.keys).toHaveLength(1);
    expect(systemKeys()).toEqual([system.accessKeyId]);
  });

  it('refuses the unset placeholder a created stack starts with', async () => {
    stub.restore();
    model = new SecretModel(
      'vhi-s3-billing/gateway',
      JSON.stringify({ accessKeyId: '', secretAccessKey: '', userId: '' }),
      () => now,
    );
    stub = model.mock();
    await expect(step(model.beginRotation(), 'createSecret')).rejects.toThrow(
      /OSTOR_CREDENTIALS_SECRET_ID: the AWSCURRENT value must be JSON/,
    );
  });
});

describe('secret values and ids', () => {
  it('reads the user id from the key id when the secret does not name it', () => {
    expect(parseKeyPair('{"accessKeyId":"0123456789abcdefAB12","secretAccessKey":"s"}', 'x').userId).toBe(
      '0123456789abcdef',
    );
    expect(
      parseKeyPair(
        '{"accessKeyId":"0123456789abcdefAB12","secretAccessKey":"s","userId":"fedcba9876543210"}',
        'x',
      ).userId,
    ).toBe('fedcba9876543210');
    expect(() => parseKeyPair('{"accessKeyId":"notauserid-AB12XYZW","secretAccessKey":"s"}', 'x')).toThrow(
      /userId/,
    );
  });

  it('matches the secret by ARN, or by name against the ARN', () => {
    const arn = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vhi/gateway-AbC123';
    expect(isSameSecret(arn, arn)).toBe(true);
    expect(isSameSecret(arn, 'vhi/gateway')).toBe(true);
    expect(isSameSecret(arn, 'vhi/other')).toBe(false);
    expect(isSameSecret(arn, 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:vhi/gateway-XyZ789')).toBe(
      false,
    );
  });
});

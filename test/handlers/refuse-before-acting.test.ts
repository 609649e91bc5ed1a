// Invalid input is refused before any call to the gateway (CONTRACT.md §3): the six plans of issue
// 10 that used to create a user and then answer 400, sent through the deployed provision handler
// as a signed webhook and as a direct invocation, with the emulator's request log read around each.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { InvalidInputError } from '../../shared/errors.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

let emulator: Emulator;
const webhookSecret = generateWebhookSecret();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-refuse-'));

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@refuse.test');
  setRuntime(
    emulatorRuntime(emulator, system, {
      WEBHOOK_SECRET: webhookSecret,
      DATA_DIR: dataDir,
    }),
  );
});

afterAll(async () => {
  setRuntime(undefined);
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

const unique = (name: string) => `${name}.${Math.random().toString(36).slice(2, 8)}@example.com`;

function signedEvent(body: string) {
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const now = new Date();
  return httpApiEvent('POST', '/provision', body, {
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
    },
  });
}

/** The table of issue 10: each plan, and the field and problem the 400 must name. */
const CASES = [
  {
    plan: { limits: { ops: { get: 0.001 } } },
    field: 'data.plan.limits.ops.get',
    problem: 'must have at most two decimal places',
  },
  {
    plan: { limits: { ops: { get: 1e-7 } } },
    field: 'data.plan.limits.ops.get',
    problem: 'must have at most two decimal places',
  },
  {
    plan: { limits: { ops: { get: 1e21 } } },
    field: 'data.plan.limits.ops.get',
    problem: 'must be at most 1000000000',
  },
  {
    plan: { limits: { ops: { get: 10000000000 } } },
    field: 'data.plan.limits.ops.get',
    problem: 'must be at most 1000000000',
  },
  {
    plan: { limits: { bandwidth: { out: 2147483648 } } },
    field: 'data.plan.limits.bandwidth.out',
    problem: 'must be at most 2147483647',
  },
  {
    plan: { quotaGb: 10, limits: { bandwidth: { out: 2147483648 } } },
    field: 'data.plan.limits.bandwidth.out',
    problem: 'must be at most 2147483647',
  },
] as const;

describe('provision refuses a plan the gateway client would refuse, before any gateway call', () => {
  it.each(CASES)('as a signed webhook: $field in $plan', async ({ plan, field, problem }) => {
    // Prepare
    const email = unique('webhook');
    const body = JSON.stringify({
      type: 'provision',
      timestamp: new Date().toISOString(),
      data: { email, plan },
    });
    emulator.clearRequests();
    // Act
    const response = (await provision(signedEvent(body), localContext('provision'))) as {
      statusCode: number;
      body: string;
    };
    // Assess: a 400 naming the field by its full path; the gateway heard nothing; no user exists.
    expect(response.statusCode).toBe(400);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'invalid_input', message: `${field}: ${problem}` },
    });
    expect(emulator.requests).toHaveLength(0);
    expect(emulator.state.usersWithEmail(email)).toHaveLength(0);
  });

  it.each(CASES)('as a direct invocation: $field in $plan', async ({ plan, field, problem }) => {
    // Prepare
    const email = unique('direct');
    emulator.clearRequests();
    // Act
    const attempt = provision(
      { type: 'provision', timestamp: new Date().toISOString(), data: { email, plan } },
      localContext('provision'),
    );
    // Assess
    const error = await attempt.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error).toMatchObject({ code: 'invalid_input', field, message: `${field}: ${problem}` });
    expect(emulator.requests).toHaveLength(0);
    expect(emulator.state.usersWithEmail(email)).toHaveLength(0);
  });
});

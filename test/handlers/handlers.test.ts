// The deployed handlers called as Lambda calls them: Function URL events, console (direct)
// invocations and scheduled events, with a fake Lambda context; the gateway is the emulator and
// the stores are the real adapters (SQLite locally, DynamoDB via dynalite).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../bench/lib/dynalite.ts';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { handler as resume } from '../../functions/resume/handler.ts';
import { handler as suspend } from '../../functions/suspend/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

// Metrics decide at construction (module load) whether they are on: turn them on before the
// handlers are imported, for the metric test below.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
});

let emulator: Emulator;
let system: { accessKeyId: string; secretAccessKey: string };
const webhookSecret = generateWebhookSecret();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-handlers-'));

function useRuntime(extra: Record<string, string> = {}) {
  setRuntime(
    emulatorRuntime(emulator, system, {
      WEBHOOK_SECRET: webhookSecret,
      DATA_DIR: dataDir,
      ...extra,
    }),
  );
}

function functionUrlEvent(path: string, body: string, options: { id?: string; base64?: boolean } = {}) {
  const id = options.id ?? `msg_${Math.random().toString(36).slice(2)}`;
  const now = new Date();
  return httpApiEvent('POST', path, body, {
    base64: options.base64 === true,
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
    },
  });
}

const envelope = (type: string, data: unknown, timestamp = new Date().toISOString()) => ({
  type,
  timestamp,
  data,
});
const unique = (name: string) => `${name}.${Math.random().toString(36).slice(2, 8)}@example.com`;

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system@handlers.test');
});

afterAll(async () => {
  setRuntime(undefined);
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('console (direct) invocation', () => {
  it('returns the result object of an unsigned envelope', async () => {
    // Prepare
    useRuntime();
    const email = unique('console');
    // Act
    const result = await provision(
      envelope('provision', { email, plan: { quotaGb: 2 } }),
      localContext('provision'),
    );
    // Assess
    const [user] = emulator.state.usersWithEmail(email);
    expect(result).toMatchObject({ userId: user?.id, email, created: true });
    expect(emulator.state.quotas.users.get(user?.id ?? '')).toBe(2);
  });

  it('throws a named error whose message names the field, and changes nothing', async () => {
    // Prepare
    useRuntime();
    const before = emulator.state.users.size;
    // Act
    const attempt = provision(envelope('provision', { email: 'not an email' }), localContext('provision'));
    // Assess
    await expect(attempt).rejects.toMatchObject({
      name: 'InvalidInputError',
      code: 'invalid_input',
      message: expect.stringMatching(/^data\.email: /),
    });
    expect(emulator.state.users.size).toBe(before);
  });

  it('refuses an envelope of another type, and a scheduled event', async () => {
    // Prepare
    useRuntime();
    const scheduled = {
      source: 'aws.scheduler',
      'detail-type': 'Scheduled Event',
      time: new Date().toISOString(),
    };
    // Act
    const wrongType = suspend(envelope('resume', { email: 'a@example.com' }), localContext('suspend'));
    const fromSchedule = suspend(scheduled, localContext('suspend'));
    // Assess
    await expect(wrongType).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^type: /),
    });
    await expect(fromSchedule).rejects.toMatchObject({
      code: 'invalid_input',
      message: expect.stringMatching(/^event: /),
    });
  });
});

describe('Function URL invocation', () => {
  it('verifies a base64-encoded body over its raw bytes and answers JSON', async () => {
    // Prepare
    useRuntime();
    const email = unique('url');
    const body = JSON.stringify(envelope('provision', { email }));
    // Act
    const response = (await provision(
      functionUrlEvent('/anything', body, { base64: true }),
      localContext('provision'),
    )) as {
      statusCode: number;
      headers: Record<string, string>;
      body: string;
    };
    // Assess
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toContain('application/json');
    expect(JSON.parse(response.body)).toMatchObject({ email, created: true });
  });

  it('answers a bad signature with 401 and never throws', async () => {
    // Prepare
    useRuntime();
    const event = functionUrlEvent(
      '/provision',
      JSON.stringify(envelope('provision', { email: unique('sig') })),
    );
    event.headers['webhook-signature'] = 'v1,AAAA';
    // Act
    const response = (await provision(event, localContext('provision'))) as {
      statusCode: number;
      body: string;
    };
    // Assess
    expect(response.statusCode).toBe(401);
    expect(JSON.parse(response.body)).toEqual({
      error: { code: 'unauthorized', reason: 'no_matching_signature', message: expect.any(String) },
    });
  });

  it('emits one metric per event with its outcome', async () => {
    // Prepare
    useRuntime();
    const printed: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      printed.push(String(chunk));
      return true;
    });
    // Act
    try {
      await provision(envelope('provision', { email: 'bad' }), localContext('provision')).catch(
        () => undefined,
      );
    } finally {
      spy.mockRestore();
    }
    // Assess
    const emf = printed
      .filter((line) => line.includes('"_aws"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const event = emf.find((record) => 'events' in record);
    expect(event).toMatchObject({ events: 1, outcome: 'refused', service: 'provision' });
  });
});

describe('deployed stores: DynamoDB (dynalite) for idempotency and event order', () => {
  let dynamo: LocalDynamo;
  let table: string;

  beforeAll(async () => {
    dynamo = await startDynalite();
    table = await dynamo.newTable({ prefix: 'state' });
    vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
    vi.stubEnv('AWS_REGION', 'us-east-1');
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
  });

  afterAll(async () => {
    vi.unstubAllEnvs();
    await dynamo.close();
  });

  afterEach(() => setRuntime(undefined));

  it('a redelivery is answered from DynamoDB without touching the gateway', async () => {
    // Prepare
    useRuntime({ IDEMPOTENCY_TABLE_NAME: table });
    const body = JSON.stringify(envelope('provision', { email: unique('dynamo') }));
    const first = (await provision(
      functionUrlEvent('/', body, { id: 'dyn-1' }),
      localContext('provision'),
    )) as {
      statusCode: number;
      body: string;
    };
    emulator.clearRequests();
    // Act
    const again = (await provision(
      functionUrlEvent('/', body, { id: 'dyn-1' }),
      localContext('provision'),
    )) as {
      statusCode: number;
      body: string;
    };
    // Assess
    expect(first.statusCode).toBe(200);
    expect(again).toMatchObject({ statusCode: 200, body: first.body });
    expect(emulator.requests).toHaveLength(0);
  });

  it('an older suspend is skipped after a newer resume, with the order kept in DynamoDB', async () => {
    // Prepare
    useRuntime({ IDEMPOTENCY_TABLE_NAME: table });
    const email = unique('order');
    await provision(envelope('provision', { email }), localContext('provision'));
    const [user] = emulator.state.usersWithEmail(email);
    // Act
    await resume(envelope('resume', { email }, '2026-11-26T12:05:00Z'), localContext('resume'));
    const late = await suspend(
      envelope('suspend', { email }, '2026-11-26T12:00:00Z'),
      localContext('suspend'),
    );
    // Assess
    expect(late).toEqual({ userId: user?.id, email, state: 'enabled', skipped: true });
    expect(user?.state).toBe('enabled');
  });
});

describe('the invocation deadline', () => {
  it('answers 504 before the function would be cut off when the gateway hangs', async () => {
    // Prepare: 3.5 s left in the invocation, and a gateway that never answers.
    useRuntime();
    emulator.faults.inject({
      match: { service: 'ostor-users' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'hang' },
    });
    const context = { ...localContext('provision'), getRemainingTimeInMillis: () => deadline - Date.now() };
    const deadline = Date.now() + 3_500;
    const body = JSON.stringify(envelope('provision', { email: unique('hung') }));
    // Act
    const started = Date.now();
    const response = (await provision(functionUrlEvent('/', body), context)) as {
      statusCode: number;
      body: string;
    };
    const took = Date.now() - started;
    emulator.faults.clear();
    // Assess
    expect(response.statusCode).toBe(504);
    expect(JSON.parse(response.body)).toMatchObject({ error: { code: 'gateway_timeout' } });
    expect(took).toBeLessThan(3_500);
  });
});

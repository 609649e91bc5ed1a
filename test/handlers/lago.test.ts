// `POST /lago` through the deployed handler as the HTTP API calls it: the signature checked over
// the raw bytes (a base64-encoded body too), a bad one a 401 that neither calls the gateway nor
// writes a record, `X-Lago-Unique-Key` required, the idempotency record kept 4 days, a direct
// invocation unsigned, the health route, and a function without any Lago key answering 500.
import { createHmac, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { localContext } from '../../local/lambda-context.ts';
import { createLagoHandler, LAGO_IDEMPOTENCY_TTL_SECONDS } from '../../shared/runtime/lago-handler.ts';
import type { Runtime } from '../../shared/runtime/runtime.ts';
import { SqliteStore } from '../../shared/store/sqlite.ts';
import { subscriptionStarted } from '../fixtures/lago-webhooks.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

const HMAC_KEY = randomUUID();
let emulator: Emulator;
let runtime: Runtime;
let system: { accessKeyId: string; secretAccessKey: string };
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-lago-handler-'));

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system@lago-handler.test');
  runtime = emulatorRuntime(emulator, system, {
    LAGO_WEBHOOK_HMAC_KEY: HMAC_KEY,
    DATA_DIR: dataDir,
  });
});

afterAll(async () => {
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  emulator.clearRequests();
});

const handler = createLagoHandler(() => runtime);
const sign = (body: string, key = HMAC_KEY) => createHmac('sha256', key).update(body).digest('base64');

interface Answer {
  readonly status: number;
  readonly json: {
    action?: string;
    created?: boolean;
    error?: { code: string; reason?: string; message: string };
  };
}

async function call(event: unknown): Promise<Answer> {
  const response = (await handler(event, localContext('lago'))) as { statusCode: number; body: string };
  return { status: response.statusCode, json: JSON.parse(response.body) as Answer['json'] };
}

function lagoEvent(body: string, headers: Record<string, string>, base64 = false) {
  return httpApiEvent('POST', '/lago', body, { headers, base64 });
}

function idempotencyRecords(): { id: string; expiration: number }[] {
  const store = new SqliteStore(join(dataDir, 'state.sqlite'));
  try {
    return store.db.prepare('SELECT id, expiration FROM idempotency').all() as {
      id: string;
      expiration: number;
    }[];
  } finally {
    store.close();
  }
}

const started = (email: string) =>
  JSON.stringify(
    subscriptionStarted({
      externalId: email,
      customer: { externalId: `c-${email}` },
      startedAt: new Date().toISOString(),
    }),
  );

describe('POST /lago through the handler', () => {
  it('verifies the raw bytes, a base64-encoded body included, and remembers the unique key for 4 days', async () => {
    // Prepare
    const email = `handler.${randomUUID().slice(0, 8)}@lago.test`;
    const body = started(email);
    const key = randomUUID();
    const before = Math.floor(Date.now() / 1000);
    const known = new Set(idempotencyRecords().map((r) => r.id));
    // Act
    const answer = await call(
      lagoEvent(
        body,
        { 'x-lago-signature': sign(body), 'x-lago-signature-algorithm': 'hmac', 'x-lago-unique-key': key },
        true,
      ),
    );
    // Assess: without CREDENTIALS_WEBHOOK_URL the adapter creates no user nobody could reach, and says so.
    expect(answer.status).toBe(200);
    expect(answer.json.action).toBe('ignored');
    // Powertools keeps a hash of the key: the record is the one this delivery added.
    const added = idempotencyRecords().filter((r) => !known.has(r.id));
    expect(added).toHaveLength(1);
    const [record] = added;
    expect(record?.expiration).toBeGreaterThanOrEqual(before + LAGO_IDEMPOTENCY_TTL_SECONDS);
    expect(LAGO_IDEMPOTENCY_TTL_SECONDS).toBeGreaterThanOrEqual(72 * 3600);
  });

  it('a bad signature is a 401 that calls no gateway and writes no record', async () => {
    const body = started(`bad.${randomUUID().slice(0, 8)}@lago.test`);
    const key = randomUUID();
    const records = idempotencyRecords().length;
    const answers = [
      await call(lagoEvent(body, { 'x-lago-signature': sign(body, randomUUID()), 'x-lago-unique-key': key })),
      await call(lagoEvent(body, { 'x-lago-unique-key': key })),
      await call(
        lagoEvent(body, {
          'x-lago-signature': 'a.b.c',
          'x-lago-signature-algorithm': 'jwt',
          'x-lago-unique-key': key,
        }),
      ),
    ];
    expect(answers.map((a) => [a.status, a.json.error?.code])).toEqual([
      [401, 'unauthorized'],
      [401, 'unauthorized'],
      [401, 'unauthorized'],
    ]);
    // No public key is configured: a JWT cannot be checked, and says so.
    expect(answers[2]?.json.error?.message).toContain('no Lago public key is configured');
    expect(emulator.requests).toEqual([]);
    expect(idempotencyRecords()).toHaveLength(records);
  });

  it('a signed delivery without X-Lago-Unique-Key is a 400 naming it', async () => {
    const body = started(`nokey.${randomUUID().slice(0, 8)}@lago.test`);
    const answer = await call(
      lagoEvent(body, { 'x-lago-signature': sign(body), 'x-lago-signature-algorithm': 'hmac' }),
    );
    expect(answer.status).toBe(400);
    expect(answer.json.error?.message).toMatch(/^x-lago-unique-key: /);
    expect(emulator.requests).toEqual([]);
  });

  it('answers the health route, and takes a direct invocation unsigned', async () => {
    const health = await call(httpApiEvent('GET', '/healthz', undefined));
    expect(health).toEqual({ status: 200, json: { status: 'ok' } });
    const direct = (await handler(
      { webhook_type: 'customer.updated', customer: {} },
      localContext('lago'),
    )) as { action: string; received: boolean };
    expect(direct).toMatchObject({ received: true, action: 'ignored' });
  });

  it('without any Lago key the function answers 500 naming the setting, and touches nothing', async () => {
    const bare = emulatorRuntime(emulator, system, {
      DATA_DIR: dataDir,
    });
    const unconfigured = createLagoHandler(() => bare);
    const body = started(`none.${randomUUID().slice(0, 8)}@lago.test`);
    const response = (await unconfigured(
      lagoEvent(body, { 'x-lago-signature': sign(body), 'x-lago-unique-key': randomUUID() }),
      localContext('lago'),
    )) as { statusCode: number; body: string };
    expect(response.statusCode).toBe(500);
    expect(response.body).toContain('LAGO_WEBHOOK_HMAC_KEY');
    expect(emulator.requests).toEqual([]);
  });
});

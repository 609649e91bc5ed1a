// Two deliveries of one webhook-id at the same moment (a billing system's retry racing its
// original), on both idempotency stores: SQLite (local) and DynamoDB over dynalite (deployed). One
// runs; the other is told the first is still in progress (409 in_progress, which billing systems
// retry), and the gateway sees the work once; a later redelivery answers the stored result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../bench/lib/dynalite.ts';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

let emulator: Emulator;
let system: { accessKeyId: string; secretAccessKey: string };
let dynamo: LocalDynamo;
let table: string;
const webhookSecret = generateWebhookSecret();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-idem-race-'));

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system@idempotency-race.test');
  dynamo = await startDynalite();
  table = await dynamo.newTable({ prefix: 'state' });
  vi.stubEnv('AWS_ENDPOINT_URL_DYNAMODB', dynamo.endpoint);
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
});

afterAll(async () => {
  vi.unstubAllEnvs();
  setRuntime(undefined);
  await emulator.close();
  await dynamo.close();
  rmSync(dataDir, { recursive: true, force: true });
});

function delivery(id: string, body: string) {
  const now = new Date();
  return httpApiEvent('POST', '/provision', body, {
    headers: {
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
    },
  });
}

describe.each([
  ['SQLite', (): Record<string, string> => ({})],
  ['DynamoDB', (): Record<string, string> => ({ IDEMPOTENCY_TABLE_NAME: table })],
])('one webhook-id delivered twice at once, on %s', (store, stores) => {
  it('runs once: one answer 200, the other 409 in_progress, one create on the gateway; a later redelivery answers the result', async () => {
    // Prepare: the create call is slow, so both deliveries are inside the work at once
    setRuntime(
      emulatorRuntime(emulator, system, {
        WEBHOOK_SECRET: webhookSecret,
        DATA_DIR: join(dataDir, store),
        ...stores(),
      }),
    );
    const email = `race.${store.toLowerCase()}@example.com`;
    const id = `msg_race_${store}`;
    const body = JSON.stringify({ type: 'provision', timestamp: new Date().toISOString(), data: { email } });
    emulator.faults.inject({
      match: { service: 'ostor-users', method: 'PUT' },
      times: 1,
      fault: { kind: 'delay', ms: 400 },
    });
    emulator.clearRequests();
    // Act
    const answers = (await Promise.all([
      provision(delivery(id, body), localContext('provision')),
      provision(delivery(id, body), localContext('provision')),
    ])) as { statusCode: number; body: string }[];
    const later = (await provision(delivery(id, body), localContext('provision'))) as {
      statusCode: number;
      body: string;
    };
    emulator.faults.clear();
    // Assess
    const statuses = answers.map((answer) => answer.statusCode).sort();
    expect(statuses).toEqual([200, 409]);
    const refused = answers.find((answer) => answer.statusCode === 409);
    expect(JSON.parse(refused?.body ?? '{}')).toMatchObject({
      error: { code: 'conflict', reason: 'in_progress' },
    });
    const creates = emulator.requests.filter((r) => r.method === 'PUT' && r.service === 'ostor-users');
    expect(creates).toHaveLength(1);
    expect(emulator.state.usersWithEmail(email)).toHaveLength(1);
    const first = answers.find((answer) => answer.statusCode === 200);
    expect(later).toEqual(expect.objectContaining({ statusCode: 200, body: first?.body }));
  });
});

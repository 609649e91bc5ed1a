// collect-usage wired by the composition root to a real runtime: the handler (scheduled, direct and signed HTTP
// invocations), the NDJSON sink and summary table without USAGE_WEBHOOK_URL, and the webhook with it.
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { localContext } from '../../../local/lambda-context.ts';
import { loadConfig } from '../../../shared/config.ts';
import { ConfigurationError } from '../../../shared/errors.ts';
import { silentEvents } from '../../../shared/lifecycle/ports.ts';
import type { LambdaHandler } from '../../../shared/runtime/lifecycle-handler.ts';
import type { Runtime } from '../../../shared/runtime/runtime.ts';
import { createRuntime, setRuntime } from '../../../shared/runtime/runtime.ts';
import { LEDGER_FILE, NDJSON_FILE, runCollectUsage } from '../../../shared/runtime/usage.ts';
import { generateWebhookSecret, parseWebhookSecrets, webhookHeaders } from '../../../shared/signing/index.ts';
import { httpApiEvent } from '../../handlers/events.ts';
import type { Gateway, Receiver } from '../usage/peers.ts';
import { startGateway, startReceiver } from '../usage/peers.ts';

const folder = mkdtempSync(join(tmpdir(), 'collect-usage-'));
let dirs = 0;
afterAll(() => rmSync(folder, { recursive: true, force: true }));

let gateway: Gateway;
let receiver: Receiver;
const runtimes: Runtime[] = [];

beforeEach(async () => {
  gateway = await startGateway();
  receiver = await startReceiver();
});

afterEach(async () => {
  setRuntime(undefined);
  await Promise.all(runtimes.splice(0).map((r) => r.gateway.close()));
  await receiver.close();
  await gateway.close();
});

function runtime(extra: Record<string, string> = {}): { runtime: Runtime; dataDir: string } {
  const dataDir = join(folder, `data-${++dirs}`);
  const made = createRuntime(
    loadConfig({
      OSTOR_GATEWAY_URL: gateway.emulator.url,
      OSTOR_ACCESS_KEY_ID: gateway.system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: gateway.system.secretAccessKey,
      DATA_DIR: dataDir,
      ...extra,
    }),
  );
  runtimes.push(made);
  return { runtime: made, dataDir };
}

function seed(): { alice: string; names: string[] } {
  const { state } = gateway.emulator;
  const alice = state.createUser('alice@example.com').id;
  state.createBucket(alice, 'alice-photos');
  state.putObject('alice-photos', 'cat.jpg', 'x'.repeat(2048));
  const start = Date.now() - 2 * 86_400_000;
  const names = [0, 1, 2].map((i) =>
    state.addUsageObject({
      serviceId: 8000000000000065n,
      start: new Date(start + i * 1_800_000),
      period: 1800,
      items: [
        {
          userId: alice,
          bucket: 'alice-photos',
          ops: { put: i + 1, get: 10 },
          uploaded: 1000,
          downloaded: 5000,
        },
      ],
    }),
  );
  return { alice, names };
}

describe('collect-usage without USAGE_WEBHOOK_URL', () => {
  it('appends every message to DATA_DIR/usage.ndjson, deletes the objects and prints a summary table', async () => {
    // Prepare
    const { alice, names } = seed();
    const { runtime: local, dataDir } = runtime();
    const printed: string[] = [];

    // Act
    const result = await runCollectUsage(local, {
      events: silentEvents,
      print: (text) => printed.push(text),
    });

    // Assess
    expect(result).toMatchObject({
      objects: 3,
      records: 3,
      delivered: 3,
      deleted: 3,
      skipped: 0,
      failed: 0,
      storage: { delivered: 1, failed: 0 },
    });
    const lines = readFileSync(join(dataDir, NDJSON_FILE), 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'usage.collected').map((l) => l.id)).toEqual(names);
    expect(lines.find((l) => l.type === 'usage.storage')).toMatchObject({
      id: expect.stringMatching(new RegExp(`^storage-${alice}-`)),
      data: { userId: alice, email: 'alice@example.com', bytes: 2048, buckets: 1 },
    });
    expect(gateway.emulator.state.usage.size).toBe(0);
    expect(existsSync(join(dataDir, LEDGER_FILE))).toBe(true);
    const table = printed.join('');
    expect(table).toContain('3 objects read, 3 records, 3 delivered, 3 deleted');
    expect(table).toMatch(/user\s+email\s+objects\s+put\s+get\s+list\s+other\s+uploaded\s+downloaded/);
    expect(table).toMatch(
      new RegExp(`${alice}\\s+alice@example.com\\s+3\\s+6\\s+30\\s+0\\s+0\\s+3000\\s+15000`),
    );
  });

  it('does not append a second line for objects already delivered (a second sweep finds nothing)', async () => {
    // Prepare
    seed();
    const { runtime: local, dataDir } = runtime();
    await runCollectUsage(local, { events: silentEvents, print: () => {} });

    // Act
    const second = await runCollectUsage(local, { events: silentEvents, print: () => {} });

    // Assess
    expect(second).toMatchObject({ objects: 0, delivered: 0, storage: { delivered: 0, failed: 0 } });
    expect(readFileSync(join(dataDir, NDJSON_FILE), 'utf8').trimEnd().split('\n')).toHaveLength(4);
  });
});

describe('collect-usage with USAGE_WEBHOOK_URL', () => {
  it('delivers signed messages to the receiver and prints nothing', async () => {
    // Prepare
    const { names } = seed();
    const { runtime: deployed } = runtime({
      USAGE_WEBHOOK_URL: receiver.url.toString(),
      USAGE_WEBHOOK_SECRET: receiver.secretText,
    });
    const printed: string[] = [];

    // Act
    const result = await runCollectUsage(deployed, {
      events: silentEvents,
      print: (text) => printed.push(text),
    });

    // Assess
    expect(result).toMatchObject({ delivered: 3, deleted: 3, storage: { delivered: 1, failed: 0 } });
    expect(receiver.received.filter((m) => m.json.type === 'usage.collected').map((m) => m.id)).toEqual(
      names,
    );
    expect(receiver.unauthorized).toBe(0);
    expect(printed).toEqual([]);
  });

  it('refuses to send usage unsigned', async () => {
    // Prepare
    seed();
    const { runtime: unsigned } = runtime({ USAGE_WEBHOOK_URL: receiver.url.toString() });

    // Act
    const failure = await runCollectUsage(unsigned, { events: silentEvents }).catch(
      (error: unknown) => error,
    );

    // Assess
    expect(failure).toBeInstanceOf(ConfigurationError);
    expect((failure as ConfigurationError).variable).toBe('USAGE_WEBHOOK_SECRET');
    expect(receiver.received).toEqual([]);
    expect(gateway.emulator.state.usage.size).toBe(3);
  });
});

describe('functions/collect-usage/handler.ts', () => {
  let handler: LambdaHandler;
  const inboundSecret = generateWebhookSecret();

  beforeAll(async () => {
    process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
    process.env.POWERTOOLS_METRICS_DISABLED = 'true';
    ({ handler } = (await import('../../../functions/collect-usage/handler.ts')) as {
      handler: LambdaHandler;
    });
  });

  function install(): void {
    setRuntime(
      runtime({
        USAGE_WEBHOOK_URL: receiver.url.toString(),
        USAGE_WEBHOOK_SECRET: receiver.secretText,
        WEBHOOK_SECRET: inboundSecret,
      }).runtime,
    );
  }

  it('runs a sweep on a scheduled event and returns the result', async () => {
    // Prepare
    seed();
    install();
    const event = {
      source: 'aws.scheduler',
      'detail-type': 'Scheduled Event',
      time: new Date().toISOString(),
      id: 'x',
    };

    // Act
    const result = await handler(event, localContext('collect-usage', 60_000));

    // Assess
    expect(result).toMatchObject({
      objects: 3,
      records: 3,
      delivered: 3,
      deleted: 3,
      skipped: 0,
      failed: 0,
      storage: { delivered: 1, failed: 0 },
      leaseHeld: false,
    });
  });

  it('runs a sweep on a direct invocation of the envelope', async () => {
    // Prepare
    seed();
    install();

    // Act
    const result = await handler(
      { type: 'collect-usage', timestamp: new Date().toISOString(), data: {} },
      localContext('collect-usage', 60_000),
    );

    // Assess
    expect(result).toMatchObject({ delivered: 3, deleted: 3 });
  });

  it('answers a signed POST /collect-usage with 200 and the result', async () => {
    // Prepare
    seed();
    install();
    const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });
    const headers = webhookHeaders(
      { id: 'msg_sweep_1', timestamp: Math.floor(Date.now() / 1000), body },
      parseWebhookSecrets(inboundSecret),
    );
    const event = httpApiEvent('POST', '/collect-usage', body, { base64: true, headers });

    // Act
    const response = (await handler(event, localContext('collect-usage', 60_000))) as {
      statusCode: number;
      body: string;
    };

    // Assess
    expect(response.statusCode).toBe(200);
    expect(JSON.parse(response.body)).toMatchObject({ objects: 3, delivered: 3, deleted: 3, failed: 0 });
  });
});

// The deployed front door as the functions see it: API Gateway HTTP API events, payload format 2.0,
// with the body plain or base64-encoded, as the HTTP API delivers them. The signature must hold over
// the raw bytes that arrived, whatever the JSON inside; GET /healthz touches nothing; a sweep asked
// for over HTTP gets the HTTP budget, not the function's whole timeout.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as collectUsage } from '../../functions/collect-usage/handler.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { handler as resume } from '../../functions/resume/handler.ts';
import { handler as rotateKey } from '../../functions/rotate-key/handler.ts';
import { handler as suspend } from '../../functions/suspend/handler.ts';
import { handler as terminate } from '../../functions/terminate/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { createLifecycleHandler, type LambdaHandler } from '../../shared/runtime/lifecycle-handler.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

let emulator: Emulator;
let system: { accessKeyId: string; secretAccessKey: string };
const webhookSecret = generateWebhookSecret();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-http-api-'));

function useRuntime(extra: Record<string, string> = {}) {
  setRuntime(
    emulatorRuntime(emulator, system, {
      DATA_DIR: dataDir,
      USAGE_SWEEP_INTERVAL_SECONDS: '0',
      ...extra,
    }),
  );
}

interface HttpResponse {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

/** Standard Webhooks headers for `body`, signed by the reference library. */
function signed(body: string, id = `msg_${Math.random().toString(36).slice(2)}`) {
  const now = new Date();
  return {
    'webhook-id': id,
    'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
    'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
  };
}

/**
 * The envelope as a billing system might write it: spaces, another key order, an escaped `@`.
 * Valid JSON whose bytes differ from what JSON.stringify would make of it, so a check over
 * re-serialized JSON would fail where the check over the raw bytes holds.
 */
function unusualEnvelope(type: string, data: Record<string, unknown>): string {
  const fields = Object.entries(data)
    .map(([key, value]) => `"${key}" : ${JSON.stringify(value).replace('@', '\\u0040')}`)
    .join(' , ');
  return `{ "data" : { ${fields} } ,\n  "timestamp" : "${new Date().toISOString()}", "type" : "${type}" }`;
}

const FUNCTIONS: readonly (readonly [string, LambdaHandler])[] = [
  ['provision', provision],
  ['suspend', suspend],
  ['resume', resume],
  ['rotate-key', rotateKey],
  ['terminate', terminate],
  ['collect-usage', collectUsage],
];

async function call(handler: LambdaHandler, event: unknown, name: string): Promise<HttpResponse> {
  return (await handler(event, localContext(name))) as HttpResponse;
}

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('system@http-api.test');
});

afterAll(async () => {
  setRuntime(undefined);
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe.each([
  ['a plain body', false],
  ['a base64 body', true],
])('every function over the HTTP API, %s', (_label, base64) => {
  it('verifies the signature over the raw bytes and carries out the event', async () => {
    // Prepare
    useRuntime({ WEBHOOK_SECRET: webhookSecret });
    const email = `http.${base64 ? 'b64' : 'plain'}.${Math.random().toString(36).slice(2, 8)}@example.com`;
    const dataOf: Record<string, Record<string, unknown>> = {
      provision: { email, plan: { quotaGb: 3 } },
      suspend: { email },
      resume: { email },
      'rotate-key': { email },
      terminate: { email },
      'collect-usage': {},
    };
    const answers: Record<string, unknown> = {};
    let quotaAfterProvision: number | undefined;
    // Act: the whole life of one customer, each event in the HTTP API's own event shape
    for (const [name, handler] of FUNCTIONS) {
      const body = unusualEnvelope(name, dataOf[name] ?? {});
      const response = await call(
        handler,
        httpApiEvent('POST', `/${name}`, body, { base64, headers: signed(body) }),
        name,
      );
      expect({ name, status: response.statusCode }).toEqual({ name, status: 200 });
      expect(response.headers['content-type']).toContain('application/json');
      answers[name] = JSON.parse(response.body);
      if (name === 'provision') {
        quotaAfterProvision = emulator.state.quotas.users.get((answers[name] as { userId: string }).userId);
      }
    }
    // Assess: each answer is the contract's, and the gateway shows each step's effect
    expect(answers.provision).toMatchObject({ email, created: true, accessKeys: [expect.any(Object)] });
    const userId = (answers.provision as { userId: string }).userId;
    expect(quotaAfterProvision).toBe(3);
    expect(answers.suspend).toEqual({ userId, email, state: 'disabled' });
    expect(answers.resume).toEqual({ userId, email, state: 'enabled' });
    expect(answers['rotate-key']).toMatchObject({ userId, email, accessKeyId: expect.any(String) });
    expect(answers.terminate).toMatchObject({ userId, email, state: 'deleted' });
    expect(emulator.state.usersWithEmail(email)).toEqual([]);
    expect(answers['collect-usage']).toMatchObject({ objects: expect.any(Number), failed: 0 });
  });

  it.each(FUNCTIONS.map(([name, handler]) => [name, handler] as const))(
    '%s refuses the same JSON re-serialized under the original signature (401), touching nothing',
    async (name, handler) => {
      // Prepare: sign the bytes as sent, then deliver JSON that means the same but is other bytes
      useRuntime({ WEBHOOK_SECRET: webhookSecret });
      const email = `reserialized.${Math.random().toString(36).slice(2, 8)}@example.com`;
      const body = unusualEnvelope(name, name === 'collect-usage' ? {} : { email });
      const reserialized = JSON.stringify(JSON.parse(body));
      expect(reserialized).not.toBe(body);
      emulator.clearRequests();
      // Act
      const response = await call(
        handler,
        httpApiEvent('POST', `/${name}`, reserialized, { base64, headers: signed(body) }),
        name,
      );
      // Assess
      expect(response.statusCode).toBe(401);
      expect(JSON.parse(response.body)).toMatchObject({
        error: { code: 'unauthorized', reason: 'no_matching_signature' },
      });
      expect(emulator.requests).toHaveLength(0);
    },
  );
});

describe('GET /healthz over the HTTP API', () => {
  it('answers 200 without a secret, a signature or a gateway call', async () => {
    // Prepare: no WEBHOOK_SECRET at all: a POST would be refused as misconfigured
    useRuntime();
    emulator.clearRequests();
    // Act
    const health = await call(provision, httpApiEvent('GET', '/healthz', undefined), 'provision');
    const post = await call(provision, httpApiEvent('POST', '/provision', '{}'), 'provision');
    // Assess
    expect(health.statusCode).toBe(200);
    expect(JSON.parse(health.body)).toEqual({ status: 'ok' });
    expect(post.statusCode).toBe(500);
    expect(emulator.requests).toHaveLength(0);
  });
});

describe('the time an HTTP caller can wait', () => {
  /** A function that answers how much time its operation was given. */
  function timedFunction(httpBudgetMs: number | undefined): LambdaHandler {
    return createLifecycleHandler({
      type: 'collect-usage',
      parse: () => ({}),
      run: async (_request, { lambdaContext }) => ({ remainingMs: lambdaContext.getRemainingTimeInMillis() }),
      ...(httpBudgetMs === undefined ? {} : { httpBudgetMs }),
    });
  }
  const tenMinutes = (): Context => localContext('collect-usage', 600_000);
  const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });

  it('caps the operation’s time over HTTP at the budget, and leaves direct and scheduled runs their whole timeout', async () => {
    // Prepare
    useRuntime({ WEBHOOK_SECRET: webhookSecret });
    const fn = timedFunction(25_000);
    // Act
    const overHttp = (await fn(
      httpApiEvent('POST', '/collect-usage', body, { headers: signed(body) }),
      tenMinutes(),
    )) as HttpResponse;
    const direct = (await fn(JSON.parse(body), tenMinutes())) as { remainingMs: number };
    // Assess
    const { remainingMs } = JSON.parse(overHttp.body) as { remainingMs: number };
    expect(remainingMs).toBeLessThanOrEqual(25_000);
    expect(remainingMs).toBeGreaterThan(20_000);
    expect(direct.remainingMs).toBeGreaterThan(590_000);
  });
});

// `billingId` on provision (docs/contract.md §3), through the deployed handler as the HTTP API
// calls it: accepted at the edge, remembered per user in the runtime's store, replaced by a later
// value, left alone when absent; refused (400 naming data.billingId, no gateway call) when it
// breaks the rule of shared/ostor/validate.ts.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler as provision } from '../../functions/provision/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { billingIdProblem } from '../../shared/ostor/validate.ts';
import type { Runtime } from '../../shared/runtime/runtime.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

let emulator: Emulator;
let runtime: Runtime;
const webhookSecret = generateWebhookSecret();
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-billing-id-'));

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@billing-id.test');
  runtime = emulatorRuntime(emulator, system, {
    WEBHOOK_SECRET: webhookSecret,
    DATA_DIR: dataDir,
  });
  setRuntime(runtime);
});

afterAll(async () => {
  setRuntime(undefined);
  await emulator.close();
  rmSync(dataDir, { recursive: true, force: true });
});

interface Answer {
  readonly status: number;
  readonly json: { userId?: string; created?: boolean; error?: { code: string; message: string } };
}

async function post(data: unknown): Promise<Answer> {
  const body = JSON.stringify({ type: 'provision', timestamp: new Date().toISOString(), data });
  const id = `msg_${Math.random().toString(36).slice(2)}`;
  const now = new Date();
  const response = (await provision(
    httpApiEvent('POST', '/provision', body, {
      headers: {
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(webhookSecret).sign(id, now, body),
      },
    }),
    localContext('provision'),
  )) as { statusCode: number; body: string };
  return { status: response.statusCode, json: JSON.parse(response.body) };
}

const unique = (name: string) => `${name}.${Math.random().toString(36).slice(2, 8)}@example.com`;

describe('billingId on provision', () => {
  it('is remembered for the user, replaced by a later value and kept when a later provision has none', async () => {
    // Prepare
    const email = unique('billed');
    // Act
    const first = await post({ email, billingId: 'cus_NffrFeUfNV2Hib' });
    const userId = first.json.userId ?? '';
    const afterFirst = await runtime.billingIds.get(userId);
    const second = await post({ email, billingId: 'cus_Other' });
    const afterSecond = await runtime.billingIds.get(userId);
    const third = await post({ email, plan: { quotaGb: 1 } });
    // Assess
    expect([first.status, second.status, third.status]).toEqual([200, 200, 200]);
    expect(first.json).toMatchObject({ email, created: true });
    expect(second.json).toMatchObject({ userId, created: false });
    expect(afterFirst).toBe('cus_NffrFeUfNV2Hib');
    expect(afterSecond).toBe('cus_Other');
    expect(await runtime.billingIds.get(userId)).toBe('cus_Other');
  });

  it('takes 255 characters, and any printable Unicode', async () => {
    // Prepare
    const email = unique('long');
    const value = `kunde-ü-${'x'.repeat(247)}`;
    // Act
    const response = await post({ email, billingId: value });
    // Assess
    expect(response.status).toBe(200);
    expect(await runtime.billingIds.get(response.json.userId ?? '')).toBe(value);
  });

  it.each([
    ['256 characters', 'y'.repeat(256), 'must be 1 to 255 characters'],
    ['empty', '', 'must be 1 to 255 characters'],
    ['a number', 42, 'must be a string'],
    ['a control character', 'cus_1\nx', 'must not contain control characters'],
    ['a lone surrogate', 'cus_\ud800', 'must be well-formed Unicode'],
  ])(
    'refuses %s with a 400 naming data.billingId, before any gateway call',
    async (_case, billingId, problem) => {
      // Prepare
      emulator.clearRequests();
      const email = unique('refused');
      // Act
      const response = await post({ email, billingId });
      // Assess
      expect(response.status).toBe(400);
      expect(response.json.error).toEqual({ code: 'invalid_input', message: `data.billingId: ${problem}` });
      expect(emulator.requests).toHaveLength(0);
      expect(emulator.state.usersWithEmail(email)).toHaveLength(0);
    },
  );

  it('is written once, in validate.ts, and the edge uses that rule', () => {
    // Act + Assess
    expect(billingIdProblem('cus_1')).toBeUndefined();
    expect(billingIdProblem('z'.repeat(256))).toBe('must be 1 to 255 characters');
    // 255 code points, 510 UTF-16 units: characters are counted, not units.
    expect(billingIdProblem('😀'.repeat(255))).toBeUndefined();
    expect(billingIdProblem('\u0085')).toBe('must not contain control characters');
  });
});

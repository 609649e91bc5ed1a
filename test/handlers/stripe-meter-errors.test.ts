// The stripe function's thin event notifications, called as Lambda calls it: a meter error report
// (`v1.billing.meter.error_report_triggered`, `v1.billing.meter.no_meter_found`) signed as Stripe
// signs it (the `stripe` package's test header), fetched whole from the Stripe fake's
// `GET /v2/core/events/{id}`, becomes one error-level log line and one `meterErrorReports` metric;
// a redelivery fetches nothing; a bad signature fetches nothing; a failed fetch answers 5xx.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Stripe from 'stripe';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { handler } from '../../functions/stripe/handler.ts';
import { localContext } from '../../local/lambda-context.ts';
import { setRuntime } from '../../shared/runtime/runtime.ts';
import {
  METER_ERROR_REPORT_MESSAGE,
  METER_ERROR_REPORTS_METRIC,
} from '../../shared/runtime/stripe-handler.ts';
import { STRIPE_API_VERSION } from '../../shared/stripe/api.ts';
import { meterErrorEvent, signedNotification } from '../e2e/stripe-events.ts';
import type { StripeFake } from '../e2e/stripe-fake.ts';
import { startStripeFake } from '../e2e/stripe-fake.ts';
import { httpApiEvent } from './events.ts';
import { emulatorRuntime } from './runtime.ts';

// Metrics and the logger decide at construction (module load) whether they print: turn both on
// before the handler is imported.
vi.hoisted(() => {
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  process.env.POWERTOOLS_LOG_LEVEL = 'INFO';
});

const SECRET = `whsec_${randomUUID().replaceAll('-', '')}`;
const dataDir = mkdtempSync(join(tmpdir(), 'vhi-stripe-meter-errors-'));
let emulator: Emulator;
let stripe: StripeFake;

beforeAll(async () => {
  [emulator, stripe] = await Promise.all([
    startEmulator(),
    startStripeFake({ apiKey: 'rk_test_meterErrors0123' }),
  ]);
  const system = emulator.createSystemUser('system@stripe-meter-errors.test');
  setRuntime(
    emulatorRuntime(emulator, system, {
      DATA_DIR: dataDir,
      STRIPE_WEBHOOK_SECRET: SECRET,
      STRIPE_API_BASE: stripe.url,
      STRIPE_API_KEY: stripe.apiKey,
    }),
  );
});

afterAll(async () => {
  setRuntime(undefined);
  await Promise.all([emulator.close(), stripe.close()]);
  rmSync(dataDir, { recursive: true, force: true });
});

beforeEach(() => {
  stripe.reset();
  emulator.clearRequests();
});

/** Posts a signed notification; returns the answer and every line printed meanwhile. */
async function post(notification: object, secret = SECRET) {
  const delivery = signedNotification(notification, secret);
  const printed: string[] = [];
  const capture = (chunk: string | Uint8Array) => {
    printed.push(String(chunk));
    return true;
  };
  // Powertools prints warnings and errors to stderr, the rest (and EMF) to stdout.
  const spies = [
    vi.spyOn(process.stdout, 'write').mockImplementation(capture),
    vi.spyOn(process.stderr, 'write').mockImplementation(capture),
  ];
  let response: { statusCode: number; body: string };
  try {
    response = (await handler(
      httpApiEvent('POST', '/stripe', delivery.body, {
        headers: {
          'stripe-signature': delivery.signature,
          'user-agent': 'Stripe/1.0 (+https://stripe.com/docs/webhooks)',
        },
      }),
      localContext('stripe'),
    )) as { statusCode: number; body: string };
  } finally {
    for (const spy of spies) spy.mockRestore();
  }
  const lines = printed
    .flatMap((chunk) => chunk.split('\n'))
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return {
    status: response.statusCode,
    json: JSON.parse(response.body) as Record<string, unknown>,
    lines,
    printed: printed.join(''),
  };
}

const metricOf = (lines: Record<string, unknown>[]) =>
  lines.filter((line) => '_aws' in line && METER_ERROR_REPORTS_METRIC in line);

const IDENTIFIERS = [
  'stats-2026-11-02T09:45:00Z-gw1:user-7f3a:downloaded_bytes',
  'stats-2026-11-02T09:45:00Z-gw1:user-7f3a:requests',
];

describe('meter error reports (thin events) at POST /stripe', () => {
  it('fetches the event, logs one error naming meter, codes, counts, window and samples, counts the metric, answers reported', async () => {
    // Prepare
    const { fetched, notification } = meterErrorEvent({
      type: 'v1.billing.meter.error_report_triggered',
      meter: 'mtr_test_DownloadedBytes',
      errors: [
        {
          code: 'meter_event_customer_not_found',
          identifiers: IDENTIFIERS,
          message: 'No customer found for stripe_customer_id cus_Gone.',
        },
      ],
    });
    stripe.events.set(fetched.id, fetched);
    // The package's own verifier takes the delivery this test posts (an oracle for the signing).
    const delivery = signedNotification(notification, SECRET);
    expect(
      new Stripe('sk_test_oracle').parseEventNotification(delivery.body, delivery.signature, SECRET).id,
    ).toBe(fetched.id);
    // Act
    const first = await post(notification);
    const again = await post(notification);
    // Assess
    const answer = {
      received: true,
      id: fetched.id,
      type: 'v1.billing.meter.error_report_triggered',
      action: 'reported',
      meter: 'mtr_test_DownloadedBytes',
      errorCount: 2,
      errors: [{ code: 'meter_event_customer_not_found', count: 2 }],
      window: { start: '2026-11-02T10:00:10.000Z', end: '2026-11-02T10:00:20.000Z' },
    };
    expect(first).toMatchObject({ status: 200, json: answer });
    // One fetch, as Stripe's library makes it, and none for the redelivery.
    expect(stripe.requests).toEqual([`GET /v2/core/events/${fetched.id}`]);
    expect(stripe.headers[0]).toMatchObject({
      authorization: `Bearer ${stripe.apiKey}`,
      'stripe-version': STRIPE_API_VERSION,
      'stripe-request-trigger': `event=${fetched.id}`,
    });
    expect(stripe.headers[0]?.['stripe-context']).toBeUndefined();
    const errors = first.lines.filter((line) => line.level === 'ERROR');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      message: METER_ERROR_REPORT_MESSAGE,
      service: 'stripe',
      id: fetched.id,
      type: 'v1.billing.meter.error_report_triggered',
      meter: 'mtr_test_DownloadedBytes',
      errorCount: 2,
      errors: [{ code: 'meter_event_customer_not_found', count: 2 }],
      window: { start: '2026-11-02T10:00:10.000Z', end: '2026-11-02T10:00:20.000Z' },
      samples: IDENTIFIERS.map((identifier) => ({
        code: 'meter_event_customer_not_found',
        identifier,
        message: 'No customer found for stripe_customer_id cus_Gone.',
      })),
    });
    expect(metricOf(first.lines)).toEqual([
      expect.objectContaining({ [METER_ERROR_REPORTS_METRIC]: 1, service: 'stripe' }),
    ]);
    // Neither the key nor the signature is printed.
    expect(first.printed).not.toContain(stripe.apiKey);
    expect(first.printed).not.toContain(SECRET);
    expect(first.printed).not.toMatch(/v1=[0-9a-f]{64}/);
    // The redelivery answers the same, logs no second report and counts nothing.
    expect(again).toMatchObject({ status: 200, json: answer });
    expect(again.lines.filter((line) => line.level === 'ERROR')).toHaveLength(0);
    expect(metricOf(again.lines)).toHaveLength(0);
    expect(emulator.requests).toHaveLength(0);
  });

  it('reports no_meter_found without a meter, fetching in the notification’s context', async () => {
    // Prepare
    const { fetched, notification } = meterErrorEvent({
      type: 'v1.billing.meter.no_meter_found',
      context: 'acct_1Connected',
      errors: [
        {
          code: 'no_meter',
          identifiers: [IDENTIFIERS[0] ?? ''],
          message: 'No active meter for s3_dl_bytes.',
        },
      ],
    });
    stripe.events.set(fetched.id, fetched);
    // Act
    const answer = await post(notification);
    // Assess
    expect(answer).toMatchObject({
      status: 200,
      json: { action: 'reported', meter: null, errorCount: 1, errors: [{ code: 'no_meter', count: 1 }] },
    });
    expect(stripe.headers[0]?.['stripe-context']).toBe('acct_1Connected');
    expect(answer.lines.find((line) => line.level === 'ERROR')).toMatchObject({
      message: METER_ERROR_REPORT_MESSAGE,
      meter: 'none',
      samples: [
        { code: 'no_meter', identifier: IDENTIFIERS[0], message: 'No active meter for s3_dl_bytes.' },
      ],
    });
    expect(metricOf(answer.lines)).toHaveLength(1);
  });

  it('refuses a bad signature (401) without fetching anything', async () => {
    // Prepare
    const { fetched, notification } = meterErrorEvent({
      type: 'v1.billing.meter.error_report_triggered',
      errors: [{ code: 'meter_event_no_customer_defined', identifiers: IDENTIFIERS, message: 'x' }],
    });
    stripe.events.set(fetched.id, fetched);
    // Act
    const forged = await post(notification, 'whsec_notTheEndpoints0123');
    // Assess
    expect(forged).toMatchObject({
      status: 401,
      json: { error: { code: 'unauthorized', reason: 'no_matching_signature' } },
    });
    expect(stripe.requests).toHaveLength(0);
    expect(metricOf(forged.lines)).toHaveLength(0);
  });

  it('answers 5xx when the event cannot be fetched, warning with its id, and reports on the redelivery', async () => {
    // Prepare: Stripe does not serve the event yet.
    const { fetched, notification } = meterErrorEvent({
      type: 'v1.billing.meter.error_report_triggered',
      errors: [{ code: 'timestamp_too_far_in_past', identifiers: IDENTIFIERS, message: 'too old' }],
    });
    // Act
    const failed = await post(notification);
    stripe.events.set(fetched.id, fetched);
    const redelivered = await post(notification);
    // Assess
    expect(failed.status).toBe(503);
    expect(failed.json).toMatchObject({ error: { code: 'gateway_unavailable' } });
    expect(failed.lines.find((line) => line.level === 'WARN')).toMatchObject({
      id: fetched.id,
      message: expect.stringMatching(/not fetched/),
    });
    expect(metricOf(failed.lines)).toHaveLength(0);
    // The failure was not remembered: Stripe's redelivery fetches again and reports.
    expect(redelivered).toMatchObject({ status: 200, json: { action: 'reported', errorCount: 2 } });
    expect(stripe.requests).toEqual([
      `GET /v2/core/events/${fetched.id}`,
      `GET /v2/core/events/${fetched.id}`,
    ]);
  });

  it('acknowledges any other thin event and ignores it, fetching nothing', async () => {
    // Prepare
    const notification = {
      id: `evt_test_${randomUUID().replaceAll('-', '')}`,
      object: 'v2.core.event',
      type: 'v1.billing.meter.updated',
      created: '2026-11-02T10:00:22.134Z',
      livemode: false,
      context: null,
      related_object: { id: 'mtr_test_X', type: 'billing.meter', url: '/v1/billing/meters/mtr_test_X' },
    } satisfies Omit<
      Stripe.Events.V1BillingMeterUpdatedEventNotification,
      'fetchEvent' | 'fetchRelatedObject' | 'context'
    > & {
      context: null;
    };
    // Act
    const answer = await post(notification);
    // Assess
    expect(answer).toMatchObject({
      status: 200,
      json: { received: true, id: notification.id, type: 'v1.billing.meter.updated', action: 'ignored' },
    });
    expect(stripe.requests).toHaveLength(0);
    expect(metricOf(answer.lines)).toHaveLength(0);
  });
});

// The Lago fake against Lago's own JavaScript client: what the client sends is what the fake reads,
// and the fake's refusals are the ones lago-api gives (the rules are listed in test/fakes/lago-api.ts).
import type { EventInputObject } from 'lago-javascript-client';
import { Client, getLagoError } from 'lago-javascript-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { LagoEventStore, LagoFake } from '../../fakes/lago-api.ts';
import { startLagoFake } from '../../fakes/lago-api.ts';

const API_KEY = 'lago-test-api-key';
let fake: LagoFake | undefined;

afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

async function open(store: LagoEventStore = 'postgres') {
  fake = await startLagoFake({ apiKey: API_KEY, store });
  return { fake, client: Client(API_KEY, { baseUrl: `${fake.url}/api/v1` }) };
}

const event = (n: number, overrides: Partial<EventInputObject> = {}): EventInputObject => ({
  transaction_id: `tx-${n}`,
  external_subscription_id: 'sub-1',
  code: 's3_downloaded_bytes',
  timestamp: 1_764_158_400 + n,
  properties: { value: String(n * 10) },
  ...overrides,
});

/** The 422 body the client hands back (it throws the Response for any non-2xx). */
async function refusal(promise: Promise<unknown>): Promise<{ status: number; body: unknown }> {
  try {
    await promise;
  } catch (error) {
    const body = await getLagoError<unknown>(error);
    return { status: (error as Response).status, body };
  }
  throw new Error('expected the request to be refused');
}

describe('the Lago fake, driven by lago-javascript-client', () => {
  it('stores a batch and answers the events as Lago serialises them', async () => {
    const { fake, client } = await open();
    const { data } = await client.events.createBatchEvents({ events: [event(1), event(2)] });
    expect(data.events.map((e) => [e.transaction_id, e.external_subscription_id, e.code])).toEqual([
      ['tx-1', 'sub-1', 's3_downloaded_bytes'],
      ['tx-2', 'sub-1', 's3_downloaded_bytes'],
    ]);
    expect(data.events[0]?.timestamp).toBe('2025-11-26T12:00:01.000Z');
    expect(fake.totals('value')).toEqual(new Map([['sub-1 s3_downloaded_bytes', 30n]]));
  });

  it('a wrong API key is 401 with Lago body', async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    const client = Client('wrong', { baseUrl: `${fake.url}/api/v1` });
    expect(await refusal(client.events.createBatchEvents({ events: [event(1)] }))).toEqual({
      status: 401,
      body: { status: 401, error: 'Unauthorized' },
    });
  });

  it('no events, or more than 100, is refused as a whole', async () => {
    const { fake, client } = await open();
    const many = Array.from({ length: 101 }, (_, n) => event(n));
    const details = (events: string) => ({
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: { events: [events] },
      },
    });
    expect(await refusal(client.events.createBatchEvents({ events: [] }))).toEqual(details('no_events'));
    expect(await refusal(client.events.createBatchEvents({ events: many }))).toEqual(
      details('too_many_events'),
    );
    await client.events.createBatchEvents({ events: many.slice(0, 100) });
    expect(fake.events).toHaveLength(100);
  });

  it('invalid events are reported by index and nothing of the batch is stored', async () => {
    const { fake, client } = await open();
    const answer = await refusal(
      client.events.createBatchEvents({
        events: [
          event(1),
          event(2, { code: '' }),
          event(3, { timestamp: 'noon' }),
          event(4, { transaction_id: '' }),
        ],
      }),
    );
    expect(answer.body).toMatchObject({
      error_details: {
        '1': { code: ['value_is_mandatory'] },
        '2': { timestamp: ['invalid_format'] },
        '3': { transaction_id: ['value_is_mandatory'] },
      },
    });
    expect(fake.events).toEqual([]);
  });

  it('Postgres store: a repeated transaction_id is value_already_exist at its index and rolls back the batch', async () => {
    const { fake, client } = await open('postgres');
    await client.events.createBatchEvents({ events: [event(1)] });
    const answer = await refusal(
      client.events.createBatchEvents({ events: [event(2), event(1), event(3), event(3)] }),
    );
    expect(answer).toEqual({
      status: 422,
      body: {
        status: 422,
        error: 'Unprocessable Entity',
        code: 'validation_errors',
        error_details: {
          '1': { transaction_id: ['value_already_exist'] },
          '3': { transaction_id: ['value_already_exist'] },
        },
      },
    });
    expect(fake.events.map((e) => e.transactionId)).toEqual(['tx-1']);
    // The same transaction_id for another subscription is another event.
    await client.events.createBatchEvents({ events: [event(1, { external_subscription_id: 'sub-2' })] });
    expect(fake.events).toHaveLength(2);
  });

  it('ClickHouse store: a repeat with the same timestamp replaces the event; another timestamp is a second one', async () => {
    const { fake, client } = await open('clickhouse');
    await client.events.createBatchEvents({ events: [event(1)] });
    await client.events.createBatchEvents({ events: [event(1)] });
    expect(fake.totals('value')).toEqual(new Map([['sub-1 s3_downloaded_bytes', 10n]]));
    await client.events.createBatchEvents({ events: [event(1, { timestamp: 1_764_158_999 })] });
    expect(fake.totals('value')).toEqual(new Map([['sub-1 s3_downloaded_bytes', 20n]]));
  });

  it('unknown fields are dropped as Rails permit does; numbers keep their exact digits', async () => {
    const { fake } = await open();
    const body = `{"events":[{"transaction_id":"t","code":"c","external_subscription_id":"s","external_customer_id":"x","timestamp":1,"properties":{"value":12345678901234567890}}]}`;
    const response = await fetch(`${fake.url}/api/v1/events/batch`, {
      method: 'POST',
      headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(fake.totals('value')).toEqual(new Map([['s c', 12345678901234567890n]]));
    expect(fake.totals('value', 9).get('s c')).toBe(12345678901234567890n * 10n ** 9n);
    expect(Object.keys(fake.events[0] ?? {})).not.toContain('externalCustomerId');
  });
});

// The Lago API client of the webhook adapter against the Lago fake: a customer's active
// subscriptions page by page, retried on 5xx, the key fetched again once on a 401, and a key Lago
// keeps refusing named as the setting to fix.
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigurationError, hasCode } from '../../../shared/errors.ts';
import { LagoApi } from '../../../shared/lago/api.ts';
import type { LagoFake } from '../../fakes/lago-api.ts';
import { startLagoFake } from '../../fakes/lago-api.ts';

const API_KEY = 'lago-api-client-key';
let fake: LagoFake;
const clients: LagoApi[] = [];

afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
  await fake.close();
});

function client(keys: string[] = [API_KEY]): LagoApi & { refreshed: () => number } {
  let index = 0;
  let refreshed = 0;
  const made = new LagoApi({
    apiUrl: new URL(fake.url),
    apiKey: {
      get: async () => keys[index] ?? '',
      refresh: async () => {
        refreshed += 1;
        index = Math.min(index + 1, keys.length - 1);
        return keys[index] ?? '';
      },
    },
    sleep: async () => {},
  });
  clients.push(made);
  return Object.assign(made, { refreshed: () => refreshed });
}

describe('LagoApi.activeSubscriptions', () => {
  it("lists every page of the customer's active subscriptions, and nobody else's", async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    const many = Array.from({ length: 230 }, (_, n) => ({
      external_id: `sub-${n}`,
      plan_code: 's3',
      status: 'active',
    }));
    fake.subscriptions.set('cust-1', [
      ...many,
      { external_id: 'gone', plan_code: 's3', status: 'terminated' },
    ]);
    fake.subscriptions.set('cust-2', [{ external_id: 'theirs', plan_code: 's3', status: 'active' }]);
    const listed = await client().activeSubscriptions('cust-1');
    expect(listed).toHaveLength(230);
    expect(listed[229]).toEqual({ billingId: 'sub-229', planCode: 's3' });
    expect(listed.some((s) => s.billingId === 'gone' || s.billingId === 'theirs')).toBe(false);
    expect(await client().activeSubscriptions('nobody')).toEqual([]);
  });

  it('retries a 5xx, fetches the key again once on a 401, and names LAGO_API_KEY when Lago keeps refusing it', async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    fake.subscriptions.set('c', [{ external_id: 's', plan_code: 'p', status: 'active' }]);
    fake.faults.push({ kind: 'status', status: 503 });
    expect(await client().activeSubscriptions('c')).toHaveLength(1);
    const stale = client(['stale', API_KEY]);
    expect(await stale.activeSubscriptions('c')).toHaveLength(1);
    expect(stale.refreshed()).toBe(1);
    const wrong = await client(['wrong-key'])
      .activeSubscriptions('c')
      .catch((error: unknown) => error);
    expect(wrong).toBeInstanceOf(ConfigurationError);
    expect(String(wrong)).not.toContain('wrong-key');
  });

  it('after a 429 waits as long as Lago asks (Retry-After), not just the backoff', async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    fake.subscriptions.set('c', [{ external_id: 's', plan_code: 'p', status: 'active' }]);
    fake.faults.push({ kind: 'status', status: 429, retryAfterSeconds: 3 }, { kind: 'status', status: 503 });
    const sleeps: number[] = [];
    const paced = new LagoApi({
      apiUrl: new URL(fake.url),
      apiKey: { get: async () => API_KEY, refresh: async () => API_KEY },
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
    });
    clients.push(paced);
    expect(await paced.activeSubscriptions('c')).toHaveLength(1);
    // Retry-After 3 s (within the 4 s cap) after the 429; full jitter at 0.5 of 500 ms after the 503.
    expect(sleeps).toEqual([3000, 250]);
  });

  it('a Lago that stays down is gateway_unavailable (the webhook is answered 503 and sent again)', async () => {
    fake = await startLagoFake({ apiKey: API_KEY });
    fake.faults.push(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 500 })));
    const error = await client()
      .activeSubscriptions('c')
      .catch((caught: unknown) => caught);
    expect(hasCode(error, 'gateway_unavailable')).toBe(true);
  });
});

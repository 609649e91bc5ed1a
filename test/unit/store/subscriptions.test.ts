// The billing adapters' subscription store on both adapters, SQLite (local) and DynamoDB over
// dynalite (deployed): the e-mail fixed once seen, decisions claimed in the billing system's time
// order (an equal time applies again) atomically under racing claims, and the owed key pair flag.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import type { SubscriptionState, SubscriptionStore } from '../../../shared/lifecycle/ports.ts';
import { dynamoSubscriptionStore } from '../../../shared/store/dynamodb.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'vhi-subscriptions-'));
let sqlite: SqliteStore;
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  sqlite = new SqliteStore(join(dir, 'state.sqlite'));
  dynamo = await startDynalite();
  table = await dynamo.newTable({ prefix: 'subscriptions' });
});

afterAll(async () => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  await dynamo.close();
});

const adapters: [string, () => SubscriptionStore][] = [
  ['SQLite', () => sqlite.subscriptions],
  ['DynamoDB', () => dynamoSubscriptionStore(dynamo.client, table)],
];
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));

describe.each(adapters)('subscriptions on %s', (_name, store) => {
  it('knows nothing of a subscription never seen', async () => {
    expect(await store().get('stripe:sub_never')).toBeUndefined();
  });

  it('fixes the first e-mail and answers it to every later pin', async () => {
    // Prepare
    const subscriptions = store();
    // Act
    const first = await subscriptions.pinEmail('stripe:sub_pin', 'first@example.com');
    const second = await subscriptions.pinEmail('stripe:sub_pin', 'second@example.com');
    // Assess
    expect([first, second]).toEqual(['first@example.com', 'first@example.com']);
    expect((await subscriptions.get('stripe:sub_pin'))?.email).toBe('first@example.com');
  });

  it('claims decisions in time order: older refused, equal and newer recorded', async () => {
    // Prepare
    const subscriptions = store();
    const key = 'stripe:sub_order';
    // Act
    const claims = [
      await subscriptions.claim(key, at(10), 'enabled'),
      await subscriptions.claim(key, at(5), 'suspended'),
      await subscriptions.claim(key, at(10), 'suspended'),
      await subscriptions.claim(key, at(20), 'terminated'),
      await subscriptions.claim(key, at(15), 'enabled'),
    ];
    // Assess
    expect(claims).toEqual([true, false, true, true, false]);
    expect(await subscriptions.get(key)).toEqual({
      email: undefined,
      decidedAt: at(20),
      decided: 'terminated',
      credentialsOwed: false,
    });
  });

  it('ends on the newest of racing claims', async () => {
    // Prepare
    const subscriptions = store();
    const states: SubscriptionState[] = ['enabled', 'suspended', 'terminated'];
    for (let round = 0; round < 10; round++) {
      const key = `stripe:sub_race${round}`;
      const claims = Array.from({ length: 8 }, (_, i) => ({ at: at(i), state: states[i % 3] ?? 'enabled' }));
      // Act
      await Promise.all(
        [...claims].sort(() => Math.random() - 0.5).map((c) => subscriptions.claim(key, c.at, c.state)),
      );
      // Assess
      expect((await subscriptions.get(key))?.decidedAt).toEqual(at(7));
      expect((await subscriptions.get(key))?.decided).toBe(states[7 % 3]);
    }
  });

  it('sets and clears the owed key pair without touching the rest', async () => {
    // Prepare
    const subscriptions = store();
    const key = 'stripe:sub_owed';
    await subscriptions.pinEmail(key, 'owed@example.com');
    await subscriptions.claim(key, at(1), 'enabled');
    // Act
    await subscriptions.setCredentialsOwed(key, true);
    const owed = await subscriptions.get(key);
    await subscriptions.setCredentialsOwed(key, false);
    // Assess
    expect(owed).toEqual({
      email: 'owed@example.com',
      decidedAt: at(1),
      decided: 'enabled',
      credentialsOwed: true,
    });
    expect((await subscriptions.get(key))?.credentialsOwed).toBe(false);
  });
});

// The billing-id store on both adapters: SQLite (local) and DynamoDB over dynalite (deployed),
// checked with the same cases — remembered per user, replaced by a later value, absent by default,
// and kept under its own id prefix beside the other records of the idempotency table.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import type { BillingIdStore } from '../../../shared/lifecycle/ports.ts';
import { dynamoBillingIdStore, dynamoStateChangeStore } from '../../../shared/store/dynamodb.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'vhi-billing-ids-'));
const file = join(dir, 'state.sqlite');
let sqlite: SqliteStore;
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  sqlite = new SqliteStore(file);
  dynamo = await startDynalite();
  table = await dynamo.newTable({ prefix: 'billing-ids' });
});

afterAll(async () => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  await dynamo.close();
});

const adapters: [string, () => BillingIdStore][] = [
  ['SQLite', () => sqlite.billingIds],
  ['DynamoDB', () => dynamoBillingIdStore(dynamo.client, table)],
];

describe.each(adapters)('billing ids on %s', (_name, store) => {
  it('answers undefined for a user that never had one', async () => {
    // Act + Assess
    expect(await store().get('0000000000000000')).toBeUndefined();
  });

  it('remembers the value per user, and a later value replaces it', async () => {
    // Prepare
    const billingIds = store();
    // Act
    await billingIds.set('a14040e0b2ef8b28', 'cus_first');
    await billingIds.set('b81d6c5f895a8c86', 'sub_other');
    await billingIds.set('a14040e0b2ef8b28', 'cus_second');
    // Assess
    expect(await billingIds.get('a14040e0b2ef8b28')).toBe('cus_second');
    expect(await billingIds.get('b81d6c5f895a8c86')).toBe('sub_other');
  });

  it('keeps any value the edge accepts exactly: 255 characters, Unicode, quotes', async () => {
    // Prepare
    const billingIds = store();
    const values = ['x'.repeat(255), 'kunde-ü-€-😀', `it's "quoted"; DROP TABLE billing_id`];
    // Act + Assess
    for (const [index, value] of values.entries()) {
      const userId = `c0ffee00000000${String(index).padStart(2, '0')}`;
      await billingIds.set(userId, value);
      expect(await billingIds.get(userId)).toBe(value);
    }
  });
});

describe('where the values live', () => {
  it('SQLite keeps them across a reopen of the file', async () => {
    // Prepare
    await sqlite.billingIds.set('d00d000000000001', 'cus_durable');
    // Act
    const reopened = new SqliteStore(file);
    // Assess
    expect(await reopened.billingIds.get('d00d000000000001')).toBe('cus_durable');
    reopened.close();
  });

  it('DynamoDB keeps them under billing-id#<userId>, without a TTL, apart from the state records', async () => {
    // Prepare
    const billingIds = dynamoBillingIdStore(dynamo.client, table);
    const states = dynamoStateChangeStore(dynamo.client, table);
    // Act
    await billingIds.set('e0e0e0e0e0e0e0e0', 'cus_kept');
    await states.claim({
      userId: 'e0e0e0e0e0e0e0e0',
      at: new Date('2026-12-01T00:00:00Z'),
      state: 'disabled',
    });
    // Assess
    const { Item } = await DynamoDBDocumentClient.from(dynamo.client).send(
      new GetCommand({ TableName: table, Key: { id: 'billing-id#e0e0e0e0e0e0e0e0' } }),
    );
    expect(Item).toEqual({ id: 'billing-id#e0e0e0e0e0e0e0e0', billingId: 'cus_kept' });
    expect(await billingIds.get('e0e0e0e0e0e0e0e0')).toBe('cus_kept');
    expect((await states.latest('e0e0e0e0e0e0e0e0'))?.state).toBe('disabled');
  });
});

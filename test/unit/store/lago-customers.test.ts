// The Lago adapter's customer store on both adapters, SQLite (local) and DynamoDB over dynalite
// (deployed): a customer's subscriptions, and its overdue invoices in Lago's time order whatever
// order the notices arrive in (a payment at the same moment as the overdue notice wins).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import type { LagoCustomerStore } from '../../../shared/lifecycle/lago.ts';
import { dynamoLagoCustomers, sqliteLagoCustomers } from '../../../shared/store/lago-customers.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';

const dir = mkdtempSync(join(tmpdir(), 'vhi-lago-customers-'));
let sqlite: SqliteStore;
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  sqlite = new SqliteStore(join(dir, 'state.sqlite'));
  dynamo = await startDynalite();
  table = await dynamo.newTable({ prefix: 'lago' });
});

afterAll(async () => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  await dynamo.close();
});

const adapters: [string, () => LagoCustomerStore][] = [
  ['SQLite', () => sqliteLagoCustomers(sqlite.db)],
  ['DynamoDB', () => dynamoLagoCustomers(dynamo.client, table)],
];
const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));
let unique = 0;
const customer = () => `cust-${++unique}`;

describe.each(adapters)('Lago customers on %s', (_name, store) => {
  it('remembers each subscription of a customer once', async () => {
    const customers = store();
    const c = customer();
    await customers.addSubscription(c, 'sub-b');
    await customers.addSubscription(c, 'sub-a');
    await customers.addSubscription(c, 'sub-b');
    expect(await customers.subscriptionsOf(c)).toEqual(['sub-a', 'sub-b']);
    expect(await customers.subscriptionsOf(customer())).toEqual([]);
  });

  it('counts overdue invoices down as they are paid', async () => {
    // Prepare
    const customers = store();
    const c = customer();
    const one = { invoiceId: `${c}-inv-1`, customerId: c };
    const two = { invoiceId: `${c}-inv-2`, customerId: c };
    // Act
    const overdue = [await customers.markOverdue(one, at(1)), await customers.markOverdue(two, at(2))];
    const firstPaid = await customers.markPaid(one, at(3));
    const secondPaid = await customers.markPaid(two, at(4));
    // Assess
    expect(overdue).toEqual([true, true]);
    expect(firstPaid).toEqual({ recorded: true, wasOverdue: true, stillOverdue: 1 });
    expect(secondPaid).toEqual({ recorded: true, wasOverdue: true, stillOverdue: 0 });
  });

  it('an invoice paid without ever being overdue says so', async () => {
    const c = customer();
    expect(await store().markPaid({ invoiceId: `${c}-inv`, customerId: c }, at(1))).toEqual({
      recorded: true,
      wasOverdue: false,
      stillOverdue: 0,
    });
  });

  it('an overdue notice older than the payment, or at the same moment, is refused', async () => {
    const customers = store();
    const c = customer();
    const invoice = { invoiceId: `${c}-inv`, customerId: c };
    await customers.markPaid(invoice, at(5));
    expect(await customers.markOverdue(invoice, at(4))).toBe(false);
    expect(await customers.markOverdue(invoice, at(5))).toBe(false);
    // Overdue again after the payment (a refund, say): recorded.
    expect(await customers.markOverdue(invoice, at(6))).toBe(true);
    expect((await customers.markPaid({ invoiceId: `${c}-other`, customerId: c }, at(7))).stillOverdue).toBe(
      1,
    );
  });

  it('a payment older than the overdue notice is refused; repeats of either are recorded again', async () => {
    const customers = store();
    const c = customer();
    const invoice = { invoiceId: `${c}-inv`, customerId: c };
    expect(await customers.markOverdue(invoice, at(5))).toBe(true);
    expect(await customers.markOverdue(invoice, at(5))).toBe(true);
    expect((await customers.markPaid(invoice, at(4))).recorded).toBe(false);
    expect(await customers.markPaid(invoice, at(6))).toEqual({
      recorded: true,
      wasOverdue: true,
      stillOverdue: 0,
    });
    expect(await customers.markPaid(invoice, at(6))).toEqual({
      recorded: true,
      wasOverdue: true,
      stillOverdue: 0,
    });
  });
});

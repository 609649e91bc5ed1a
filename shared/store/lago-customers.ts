// The Lago adapter's memory of customers (shared/lifecycle/lago.ts): which subscriptions each has,
// and which of its invoices are overdue. SQLite tables beside the local store's others; DynamoDB
// items in the idempotency table, `lago-customer#<id>` (string sets `subscriptions` and `overdue`)
// and `lago-invoice#<id>` (its latest state and time; paid ones expire after 90 days).

import type { DatabaseSync } from 'node:sqlite';
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { InvoiceRef, LagoCustomerStore, LagoPayment } from '../lifecycle/lago.ts';

/** A paid invoice is remembered long enough to refuse a late, older overdue notice of it. */
const PAID_INVOICE_TTL_SECONDS = 90 * 86_400;

export function sqliteLagoCustomers(db: DatabaseSync): LagoCustomerStore {
  db.exec(`
    CREATE TABLE IF NOT EXISTS lago_subscription (
      customer_id TEXT NOT NULL, billing_id TEXT NOT NULL, PRIMARY KEY (customer_id, billing_id));
    CREATE TABLE IF NOT EXISTS lago_invoice (
      invoice_id TEXT PRIMARY KEY, customer_id TEXT NOT NULL, state TEXT NOT NULL, at_ms INTEGER NOT NULL,
      ever_overdue INTEGER NOT NULL DEFAULT 0);
    CREATE INDEX IF NOT EXISTS lago_invoice_overdue ON lago_invoice (customer_id) WHERE state = 'overdue';
  `);
  const stillOverdue = (customerId: string) =>
    Number(
      (
        db
          .prepare(`SELECT count(*) AS n FROM lago_invoice WHERE customer_id = ? AND state = 'overdue'`)
          .get(customerId) as {
          n: number;
        }
      ).n,
    );
  return {
    addSubscription: async (customerId, billingId) => {
      db.prepare('INSERT OR IGNORE INTO lago_subscription (customer_id, billing_id) VALUES (?, ?)').run(
        customerId,
        billingId,
      );
    },
    subscriptionsOf: async (customerId) =>
      (
        db
          .prepare('SELECT billing_id FROM lago_subscription WHERE customer_id = ? ORDER BY billing_id')
          .all(customerId) as { billing_id: string }[]
      ).map((row) => row.billing_id),
    markOverdue: async (invoice: InvoiceRef, at: Date) => {
      // One statement decides: a newer record, or a payment at the same moment, keeps its place.
      const result = db
        .prepare(
          `INSERT INTO lago_invoice (invoice_id, customer_id, state, at_ms, ever_overdue) VALUES (?, ?, 'overdue', ?, 1)
           ON CONFLICT(invoice_id) DO UPDATE SET state = 'overdue', at_ms = excluded.at_ms, ever_overdue = 1
           WHERE excluded.at_ms > lago_invoice.at_ms
              OR (excluded.at_ms = lago_invoice.at_ms AND lago_invoice.state = 'overdue')`,
        )
        .run(invoice.invoiceId, invoice.customerId, at.getTime());
      return Number(result.changes) > 0;
    },
    markPaid: async (invoice: InvoiceRef, at: Date): Promise<LagoPayment> => {
      const result = db
        .prepare(
          `INSERT INTO lago_invoice (invoice_id, customer_id, state, at_ms) VALUES (?, ?, 'paid', ?)
           ON CONFLICT(invoice_id) DO UPDATE SET state = 'paid', at_ms = excluded.at_ms
           WHERE excluded.at_ms >= lago_invoice.at_ms`,
        )
        .run(invoice.invoiceId, invoice.customerId, at.getTime());
      const row = db
        .prepare('SELECT ever_overdue FROM lago_invoice WHERE invoice_id = ?')
        .get(invoice.invoiceId) as { ever_overdue: number } | undefined;
      return {
        recorded: Number(result.changes) > 0,
        wasOverdue: row?.ever_overdue === 1,
        stillOverdue: stillOverdue(invoice.customerId),
      };
    },
  };
}

export function dynamoLagoCustomers(client: DynamoDBClient, tableName: string): LagoCustomerStore {
  const documents = DynamoDBDocumentClient.from(client);
  const customerKey = (customerId: string) => ({ id: `lago-customer#${customerId}` });
  const invoiceKey = (invoiceId: string) => ({ id: `lago-invoice#${invoiceId}` });
  const conditional = async (command: UpdateCommand): Promise<Record<string, unknown> | undefined> => {
    try {
      const { Attributes } = await documents.send(command);
      return Attributes ?? {};
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  };
  return {
    async addSubscription(customerId, billingId) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: customerKey(customerId),
          UpdateExpression: 'ADD subscriptions :one',
          ExpressionAttributeValues: { ':one': new Set([billingId]) },
        }),
      );
    },
    async subscriptionsOf(customerId) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: customerKey(customerId), ConsistentRead: true }),
      );
      const found = Item?.subscriptions;
      return found instanceof Set ? [...found].map(String).sort() : [];
    },
    async markOverdue(invoice, at) {
      const recorded = await conditional(
        new UpdateCommand({
          TableName: tableName,
          Key: invoiceKey(invoice.invoiceId),
          UpdateExpression:
            'SET #state = :overdue, atMs = :at, customerId = :customer, everOverdue = :yes REMOVE expiration',
          ConditionExpression:
            'attribute_not_exists(atMs) OR atMs < :at OR (atMs = :at AND #state = :overdue)',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':overdue': 'overdue',
            ':at': at.getTime(),
            ':customer': invoice.customerId,
            ':yes': true,
          },
        }),
      );
      if (recorded === undefined) return false;
      // After the invoice's own record: a crash in between is repaired by Lago's redelivery, which
      // finds the same record and adds it again.
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: customerKey(invoice.customerId),
          UpdateExpression: 'ADD overdue :one',
          ExpressionAttributeValues: { ':one': new Set([invoice.invoiceId]) },
        }),
      );
      return true;
    },
    async markPaid(invoice, at) {
      const after = await conditional(
        new UpdateCommand({
          TableName: tableName,
          Key: invoiceKey(invoice.invoiceId),
          UpdateExpression:
            'SET #state = :paid, atMs = :at, customerId = :customer, expiration = :expiration',
          ConditionExpression: 'attribute_not_exists(atMs) OR atMs <= :at',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: {
            ':paid': 'paid',
            ':at': at.getTime(),
            ':customer': invoice.customerId,
            ':expiration': Math.ceil(Date.now() / 1000) + PAID_INVOICE_TTL_SECONDS,
          },
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (after === undefined) return { recorded: false, wasOverdue: false, stillOverdue: 0 };
      // After the invoice's own record, as in markOverdue: a redelivery repeats both.
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: customerKey(invoice.customerId),
          UpdateExpression: 'DELETE overdue :one',
          ExpressionAttributeValues: { ':one': new Set([invoice.invoiceId]) },
          ReturnValues: 'ALL_NEW',
        }),
      );
      const overdue = Attributes?.overdue;
      return {
        recorded: true,
        wasOverdue: after.everOverdue === true,
        stillOverdue: overdue instanceof Set ? overdue.size : 0,
      };
    },
  };
}

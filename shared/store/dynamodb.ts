// DynamoDB adapters of the stores used when deployed. The suspend/resume order, the locks, the
// billing ids and the billing adapters' subscriptions share the idempotency table (partition key
// `id`), under ids prefixed `user-state#`, `lock#`, `billing-id#` and `subscription#`, and the
// Stripe sink's receipts under `meter-receipts#`; a lock and a receipt carry the table's TTL
// attribute so an abandoned one is cleaned up (a billing id has none: it outlives its user until
// the last usage is billed; nor has a subscription, whose record keeps an ended subscription from
// being brought back by a late or replayed event).
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  BillingIdStore,
  LockStore,
  StateChange,
  StateChangeStore,
  SubscriptionState,
  SubscriptionStore,
} from '../lifecycle/ports.ts';
import type { MeterReceipts } from '../usage/stripe-sink.ts';

export function dynamoStateChangeStore(client: DynamoDBClient, tableName: string): StateChangeStore {
  const documents = DynamoDBDocumentClient.from(client);
  const key = (userId: string) => ({ id: `user-state#${userId}` });
  return {
    async claim(change: StateChange) {
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(change.userId),
            UpdateExpression: 'SET atMs = :at, #state = :state',
            ConditionExpression: 'attribute_not_exists(atMs) OR atMs <= :at',
            ExpressionAttributeNames: { '#state': 'state' },
            ExpressionAttributeValues: { ':at': change.at.getTime(), ':state': change.state },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async latest(userId: string) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: key(userId), ConsistentRead: true }),
      );
      if (Item === undefined || typeof Item.atMs !== 'number') return undefined;
      return { userId, at: new Date(Item.atMs), state: Item.state === 'disabled' ? 'disabled' : 'enabled' };
    },
  };
}

export function dynamoLockStore(client: DynamoDBClient, tableName: string): LockStore {
  const documents = DynamoDBDocumentClient.from(client);
  return {
    async tryAcquire(name: string, owner: string, ttlMs: number) {
      const now = Date.now();
      try {
        await documents.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              id: `lock#${name}`,
              owner,
              expiresAtMs: now + ttlMs,
              expiration: Math.ceil((now + ttlMs) / 1000) + 3600,
            },
            ConditionExpression: 'attribute_not_exists(id) OR expiresAtMs <= :now',
            ExpressionAttributeValues: { ':now': now },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async release(name: string, owner: string) {
      try {
        await documents.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { id: `lock#${name}` },
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        );
      } catch (error) {
        if (!(error instanceof ConditionalCheckFailedException)) throw error;
      }
    },
  };
}

export function dynamoBillingIdStore(client: DynamoDBClient, tableName: string): BillingIdStore {
  const documents = DynamoDBDocumentClient.from(client);
  const key = (userId: string) => ({ id: `billing-id#${userId}` });
  return {
    async set(userId: string, billingId: string) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(userId),
          UpdateExpression: 'SET billingId = :billingId',
          ExpressionAttributeValues: { ':billingId': billingId },
        }),
      );
    },
    async get(userId: string) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: key(userId), ConsistentRead: true }),
      );
      return typeof Item?.billingId === 'string' ? Item.billingId : undefined;
    },
  };
}

export function dynamoSubscriptionStore(client: DynamoDBClient, tableName: string): SubscriptionStore {
  const documents = DynamoDBDocumentClient.from(client);
  const key = (name: string) => ({ id: `subscription#${name}` });
  return {
    async get(name: string) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: key(name), ConsistentRead: true }),
      );
      if (Item === undefined) return undefined;
      return {
        email: typeof Item.email === 'string' ? Item.email : undefined,
        decidedAt: typeof Item.decidedAtMs === 'number' ? new Date(Item.decidedAtMs) : undefined,
        decided: subscriptionState(Item.decided),
        credentialsOwed: Item.credentialsOwed === true,
      };
    },
    async pinEmail(name: string, email: string) {
      const { Attributes } = await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(name),
          UpdateExpression: 'SET email = if_not_exists(email, :email)',
          ExpressionAttributeValues: { ':email': email },
          ReturnValues: 'ALL_NEW',
        }),
      );
      return typeof Attributes?.email === 'string' ? Attributes.email : email;
    },
    async claim(name: string, at: Date, state: SubscriptionState) {
      try {
        await documents.send(
          new UpdateCommand({
            TableName: tableName,
            Key: key(name),
            UpdateExpression: 'SET decidedAtMs = :at, decided = :state',
            ConditionExpression: 'attribute_not_exists(decidedAtMs) OR decidedAtMs <= :at',
            ExpressionAttributeValues: { ':at': at.getTime(), ':state': state },
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    },
    async setCredentialsOwed(name: string, owed: boolean) {
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(name),
          UpdateExpression: 'SET credentialsOwed = :owed',
          ExpressionAttributeValues: { ':owed': owed },
        }),
      );
    },
  };
}

function subscriptionState(value: unknown): SubscriptionState | undefined {
  return value === 'enabled' || value === 'suspended' || value === 'terminated' ? value : undefined;
}

/** Receipts outlive Stripe's 35-day window, after which nothing of the message can be sent anyway. */
const RECEIPT_TTL_SECONDS = 40 * 86_400;

export function dynamoMeterReceipts(client: DynamoDBClient, tableName: string): MeterReceipts {
  const documents = DynamoDBDocumentClient.from(client);
  const key = (messageId: string) => ({ id: `meter-receipts#${messageId}` });
  return {
    async acknowledged(messageId: string) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: tableName, Key: key(messageId), ConsistentRead: true }),
      );
      const identifiers: unknown = Item?.identifiers;
      return identifiers instanceof Set ? new Set([...identifiers].map(String)) : new Set<string>();
    },
    async record(messageId: string, identifiers: readonly string[]) {
      if (identifiers.length === 0) return;
      await documents.send(
        new UpdateCommand({
          TableName: tableName,
          Key: key(messageId),
          UpdateExpression: 'ADD identifiers :identifiers SET expiration = :expiration',
          ExpressionAttributeValues: {
            ':identifiers': new Set(identifiers),
            ':expiration': Math.ceil(Date.now() / 1000) + RECEIPT_TTL_SECONDS,
          },
        }),
      );
    },
  };
}

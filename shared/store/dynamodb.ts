// DynamoDB adapters of the stores used when deployed. The suspend/resume order, the locks and the
// billing ids share the idempotency table (partition key `id`), under ids prefixed `user-state#`,
// `lock#` and `billing-id#`; a lock carries the table's TTL attribute so an abandoned one is
// cleaned up (a billing id has none: it outlives its user until the last usage is billed).
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type { BillingIdStore, LockStore, StateChange, StateChangeStore } from '../lifecycle/ports.ts';

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

// DynamoDB adapters of the stores used when deployed. The suspend/resume order shares the
// idempotency table (partition key `id`), under ids prefixed `user-state#`.
import { ConditionalCheckFailedException, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { StateChange, StateChangeStore } from '../lifecycle/ports.ts';

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

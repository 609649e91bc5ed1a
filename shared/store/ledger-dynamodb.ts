// The usage ledger when deployed: one DynamoDB table (USAGE_LEDGER_TABLE_NAME) with partition key
// `id` (string) and TTL on `expiresAt` (Unix seconds). A first read is one conditional write, so
// two writers can never both record it; reads are strongly consistent. The sweep's batches of
// marks go as BatchWriteItem (ledger-dynamodb-batch.ts says why that is safe without conditions).
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ConditionalCheckFailedException } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import type {
  LeaseResult,
  LedgerEntry,
  LedgerState,
  LedgerTurn,
  LedgerTurnResult,
  NewLedgerEntry,
  UsageLedger,
} from '../usage/ledger.ts';
import { expiresAtMs, LedgerStateError, SWEEP_LEASE, writeTurnApart } from '../usage/ledger.ts';
import type { LedgerItem as Item } from './ledger-dynamodb-batch.ts';
import { putAll } from './ledger-dynamodb-batch.ts';

/** Items are limited to 400 KB; a larger message is not kept (it is rebuilt on a redelivery). */
const MAX_STORED_BODY_BYTES = 350_000;
/** A lease item outlives its expiry by a day before TTL removes it (it is also released at the end of each sweep). */
const LEASE_ITEM_TTL_SECONDS = 24 * 3600;

const seconds = (ms: number): number => Math.floor(ms / 1000);

export interface DynamoUsageLedgerOptions {
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

export class DynamoUsageLedger implements UsageLedger {
  readonly #documents: DynamoDBDocumentClient;
  readonly #table: string;

  constructor(options: DynamoUsageLedgerOptions) {
    this.#documents = DynamoDBDocumentClient.from(options.client, {
      marshallOptions: { removeUndefinedValues: true },
    });
    this.#table = options.tableName;
  }

  async record(entry: NewLedgerEntry): Promise<LedgerEntry> {
    const keepBody = Buffer.byteLength(entry.body, 'utf8') <= MAX_STORED_BODY_BYTES;
    const item: Item = {
      id: entry.name,
      state: 'read',
      hash: entry.hash,
      ...(keepBody ? { body: entry.body } : {}),
      readAt: entry.at,
      expiresAt: seconds(expiresAtMs(entry.at)),
    };
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: item,
          ConditionExpression: 'attribute_not_exists(id) OR expiresAt <= :now',
          ExpressionAttributeValues: { ':now': seconds(entry.at) },
        }),
      );
      return toEntry(item);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const existing = await this.get(entry.name, entry.at);
    if (existing === undefined)
      throw new LedgerStateError(entry.name, 'neither recorded nor found (retry the sweep)');
    return existing;
  }

  /** One conditional write each, sent together: BatchWriteItem could not keep an entry from being overwritten. */
  async recordAll(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]> {
    return Promise.all(entries.map((entry) => this.record(entry)));
  }

  async markAllDelivered(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]> {
    return putAll(this.#documents, this.#table, entries, 'read', (entry) => ({
      id: entry.name,
      state: 'delivered',
      hash: entry.hash,
      readAt: entry.readAt,
      deliveredAt: at,
      expiresAt: seconds(expiresAtMs(at)),
    }));
  }

  async markAllDeleted(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]> {
    return putAll(this.#documents, this.#table, entries, 'delivered', (entry) => ({
      id: entry.name,
      state: 'deleted',
      hash: entry.hash,
      readAt: entry.readAt,
      ...(entry.deliveredAt === undefined ? {} : { deliveredAt: entry.deliveredAt }),
      deletedAt: at,
      expiresAt: seconds(expiresAtMs(at)),
    }));
  }

  async writeTurn(turn: LedgerTurn, at: number): Promise<LedgerTurnResult> {
    return writeTurnApart(this, turn, at);
  }

  async get(name: string, now: number): Promise<LedgerEntry | undefined> {
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: { id: name }, ConsistentRead: true }),
    );
    if (Item === undefined) return undefined;
    const item = Item as Item;
    // TTL deletes lazily (up to days late): an expired item counts as absent, as in SQLite.
    if (item.expiresAt <= seconds(now)) return undefined;
    return toEntry(item);
  }

  async markDelivered(name: string, at: number): Promise<void> {
    if (await this.#advance(name, 'read', 'delivered', 'deliveredAt', at)) return;
    const state = (await this.get(name, at))?.state;
    if (state === 'delivered' || state === 'deleted') return;
    throw new LedgerStateError(name, 'cannot be marked delivered: it was never recorded as read');
  }

  async markDeleted(name: string, at: number): Promise<void> {
    if (await this.#advance(name, 'delivered', 'deleted', 'deletedAt', at)) return;
    const state = (await this.get(name, at))?.state;
    if (state === 'deleted') return;
    throw new LedgerStateError(
      name,
      state === 'read'
        ? 'cannot be marked deleted before it was delivered'
        : 'cannot be marked deleted: unknown',
    );
  }

  /**
   * `owner` is the holding invocation's request id and `expiresAt` its deadline plus a short margin
   * (sweep.ts): Lambda ends an invocation at its deadline, so a lease past `expiresAt` belongs to an
   * invocation that is over, and the next sweep takes it in the same conditional write. A holder
   * that ends earlier releases it (in a finally); one whose budget is shorter than its invocation
   * and that is still running at its deadline renews it (renewLease); only a crashed process
   * leaves it to lapse.
   */
  async acquireLease(owner: string, now: number, expiresAt: number): Promise<LeaseResult> {
    try {
      await this.#documents.send(
        new PutCommand({
          TableName: this.#table,
          Item: {
            id: SWEEP_LEASE,
            owner,
            leaseExpiresAt: expiresAt,
            expiresAt: seconds(expiresAt) + LEASE_ITEM_TTL_SECONDS,
          },
          ConditionExpression: 'attribute_not_exists(id) OR leaseExpiresAt <= :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': now, ':owner': owner },
        }),
      );
      return { acquired: true, expiresAt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
    const { Item } = await this.#documents.send(
      new GetCommand({ TableName: this.#table, Key: { id: SWEEP_LEASE }, ConsistentRead: true }),
    );
    return {
      acquired: false,
      holder: typeof Item?.owner === 'string' ? Item.owner : '',
      expiresAt: typeof Item?.leaseExpiresAt === 'number' ? Item.leaseExpiresAt : 0,
    };
  }

  async renewLease(owner: string, expiresAt: number): Promise<boolean> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: SWEEP_LEASE },
          UpdateExpression: 'SET leaseExpiresAt = :expires, expiresAt = :ttl',
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: {
            ':expires': expiresAt,
            ':ttl': seconds(expiresAt) + LEASE_ITEM_TTL_SECONDS,
            ':owner': owner,
          },
        }),
      );
      return true;
    } catch (error) {
      // Released, or taken over by another sweep: not ours any more.
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async releaseLease(owner: string): Promise<void> {
    try {
      await this.#documents.send(
        new DeleteCommand({
          TableName: this.#table,
          Key: { id: SWEEP_LEASE },
          ConditionExpression: '#owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': owner },
        }),
      );
    } catch (error) {
      // Someone else holds it (ours had expired and was taken over): not ours to release.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async close(): Promise<void> {
    // The DynamoDB client belongs to the caller, which may share it.
  }

  /** One conditional transition `from` → `to`; false when the entry is not in `from`. */
  async #advance(
    name: string,
    from: LedgerState,
    to: LedgerState,
    stamp: string,
    at: number,
  ): Promise<boolean> {
    try {
      await this.#documents.send(
        new UpdateCommand({
          TableName: this.#table,
          Key: { id: name },
          UpdateExpression: `SET #state = :to, #stamp = :at, expiresAt = :expires${to === 'delivered' ? ' REMOVE body' : ''}`,
          ConditionExpression: '#state = :from',
          ExpressionAttributeNames: { '#state': 'state', '#stamp': stamp },
          ExpressionAttributeValues: {
            ':from': from,
            ':to': to,
            ':at': at,
            ':expires': seconds(expiresAtMs(at)),
          },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }
}

function toEntry(item: Item): LedgerEntry {
  return {
    name: item.id,
    state: item.state as LedgerState,
    hash: item.hash,
    body: item.body,
    readAt: item.readAt,
    deliveredAt: item.deliveredAt,
    deletedAt: item.deletedAt,
  };
}

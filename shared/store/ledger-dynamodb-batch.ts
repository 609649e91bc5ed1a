// The DynamoDB ledger's batches of marks (read → delivered, delivered → deleted) as BatchWriteItem
// requests, with the reasoning that makes them safe without conditions.
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { BatchWriteCommand } from '@aws-sdk/lib-dynamodb';
import { backoffDelay } from '../backoff.ts';
import { AppError } from '../errors.ts';
import type { LedgerEntry, LedgerState } from '../usage/ledger.ts';
import { LedgerStateError } from '../usage/ledger.ts';

/** BatchWriteItem takes at most 25 requests; what DynamoDB leaves unprocessed is sent again. */
const BATCH_LIMIT = 25;
const BATCH_ATTEMPTS = 8;

/** A ledger entry as stored: `id` is its name, `expiresAt` Unix seconds (the table's TTL). */
export interface LedgerItem {
  id: string;
  state: string;
  hash: string;
  body?: string;
  readAt: number;
  deliveredAt?: number;
  deletedAt?: number;
  expiresAt: number;
}

/**
 * Moves each entry in state `from` on to the item `next` makes of it, 25 to a BatchWriteItem;
 * an entry already past `from` is left alone, one before it is refused. BatchWriteItem carries
 * no condition, so the state checked is the one the caller had from this ledger (`record`'s
 * answer, or the mark before). That is enough here: this sweep recorded the entry moments ago
 * under its lease, an entry never moves backward but by expiring (90 days), and each put holds
 * everything the entry keeps (the body goes at delivery anyway). Should another sweep have moved
 * the same entry meanwhile (a lease lost to a stalled process), the put can at worst take a
 * deleted entry back to delivered, which only makes a later sweep delete an object that is
 * already gone. Conditional writes would cost a round trip per object; transactions
 * (TransactWriteItems) twice the write units, and dynalite, the tests' DynamoDB, lacks them.
 */
export async function putAll(
  documents: DynamoDBDocumentClient,
  table: string,
  entries: readonly LedgerEntry[],
  from: LedgerState,
  next: (entry: LedgerEntry) => LedgerItem,
): Promise<(LedgerStateError | undefined)[]> {
  const order: readonly LedgerState[] = ['read', 'delivered', 'deleted'];
  const outcomes = entries.map((entry) =>
    order.indexOf(entry.state) < order.indexOf(from)
      ? new LedgerStateError(entry.name, `cannot be marked ${next(entry).state} before it was ${from}`)
      : undefined,
  );
  const puts = entries
    .filter((entry, i) => entry.state === from && outcomes[i] === undefined)
    .map((entry) => ({ PutRequest: { Item: next(entry) } }));
  for (let start = 0; start < puts.length; start += BATCH_LIMIT) {
    let requests = puts.slice(start, start + BATCH_LIMIT);
    for (let attempt = 1; requests.length > 0; attempt++) {
      if (attempt > BATCH_ATTEMPTS) {
        throw new AppError('internal', 'usage ledger: DynamoDB kept leaving writes of a batch unprocessed');
      }
      if (attempt > 1) {
        const wait = backoffDelay(attempt - 1, { baseMs: 50, maxMs: 2_000, random: Math.random });
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
      const { UnprocessedItems } = await documents.send(
        new BatchWriteCommand({ RequestItems: { [table]: requests } }),
      );
      requests = (UnprocessedItems?.[table] ?? []) as typeof requests;
    }
  }
  return outcomes;
}

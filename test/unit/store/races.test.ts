// The stores under concurrency, on both adapters: SQLite (local) and DynamoDB over dynalite (what
// runs deployed). Each race is run for many rounds and is checked to be sensitive: the same race run
// against a read-then-write version of the store (written below, over the same dynalite table) must
// catch it, so a regression from a conditional write to a read followed by a write cannot pass.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import type { LockStore, StateChange, StateChangeStore } from '../../../shared/lifecycle/ports.ts';
import { dynamoLockStore, dynamoStateChangeStore } from '../../../shared/store/dynamodb.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';

const ROUNDS = 15;
const RACERS = 8;

const dir = mkdtempSync(join(tmpdir(), 'vhi-races-'));
const sqlite = new SqliteStore(join(dir, 'state.sqlite'));
let dynamo: LocalDynamo;
let table: string;

beforeAll(async () => {
  dynamo = await startDynalite();
  table = await dynamo.newTable({ prefix: 'state' });
});

afterAll(async () => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  await dynamo.close();
});

/** Winners per round of RACERS owners taking one lock at once. */
async function lockRace(locks: LockStore, label: string): Promise<number[]> {
  const winners: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const name = `${label}-${round}`;
    const taken = await Promise.all(
      Array.from({ length: RACERS }, (_, i) => locks.tryAcquire(name, `owner-${i}`, 10_000)),
    );
    winners.push(taken.filter(Boolean).length);
  }
  return winners;
}

/**
 * Rounds of RACERS suspend/resume decisions for one user, each with its own time, claimed at once
 * in a shuffled order. Answers, per round, whether the store ended on the latest decision.
 */
async function orderRace(store: StateChangeStore, label: string): Promise<boolean[]> {
  const endedOnLatest: boolean[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const userId = `${label}-${round}`;
    const base = Date.parse('2026-12-01T00:00:00Z');
    const changes: StateChange[] = Array.from({ length: RACERS }, (_, i) => ({
      userId,
      at: new Date(base + i * 1000),
      state: i % 2 === 0 ? 'disabled' : 'enabled',
    }));
    const shuffled = [...changes].sort(() => Math.random() - 0.5);
    await Promise.all(shuffled.map((change) => store.claim(change)));
    const latest = await store.latest(userId);
    const newest = changes.at(-1);
    endedOnLatest.push(latest?.at.getTime() === newest?.at.getTime() && latest?.state === newest?.state);
  }
  return endedOnLatest;
}

/** The lock as a careless adapter would write it: look, then write without a condition. */
function readThenWriteLocks(): LockStore {
  const documents = DynamoDBDocumentClient.from(dynamo.client);
  return {
    async tryAcquire(name, owner, ttlMs) {
      const id = `rtw-lock#${name}`;
      const { Item } = await documents.send(
        new GetCommand({ TableName: table, Key: { id }, ConsistentRead: true }),
      );
      if (Item !== undefined && (Item.expiresAtMs as number) > Date.now()) return false;
      await documents.send(
        new PutCommand({ TableName: table, Item: { id, owner, expiresAtMs: Date.now() + ttlMs } }),
      );
      return true;
    },
    async release() {},
  };
}

/** The order store as a careless adapter would write it. */
function readThenWriteOrder(): StateChangeStore {
  const documents = DynamoDBDocumentClient.from(dynamo.client);
  const key = (userId: string) => ({ id: `rtw-state#${userId}` });
  return {
    async claim(change) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: table, Key: key(change.userId), ConsistentRead: true }),
      );
      if (Item !== undefined && (Item.atMs as number) > change.at.getTime()) return false;
      await documents.send(
        new PutCommand({
          TableName: table,
          Item: { ...key(change.userId), atMs: change.at.getTime(), state: change.state },
        }),
      );
      return true;
    },
    async latest(userId) {
      const { Item } = await documents.send(
        new GetCommand({ TableName: table, Key: key(userId), ConsistentRead: true }),
      );
      if (Item === undefined) return undefined;
      return { userId, at: new Date(Item.atMs as number), state: Item.state as StateChange['state'] };
    },
  };
}

describe.each([
  ['SQLite', () => sqlite.locks],
  ['DynamoDB', () => dynamoLockStore(dynamo.client, table)],
])('the per-customer lock on %s', (name, locks) => {
  it(`goes to exactly one of ${RACERS} owners taking it at once, round after round`, async () => {
    // Act
    const winners = await lockRace(locks(), `lock-${name}`);
    // Assess
    expect(winners).toEqual(Array.from({ length: ROUNDS }, () => 1));
  });
});

describe.each([
  ['SQLite', () => sqlite.stateChanges],
  ['DynamoDB', () => dynamoStateChangeStore(dynamo.client, table)],
])('the suspend/resume order store on %s', (name, store) => {
  it(`ends on the latest of ${RACERS} decisions claimed at once in any order`, async () => {
    // Act
    const endedOnLatest = await orderRace(store(), `order-${name}`);
    // Assess
    expect(endedOnLatest).toEqual(Array.from({ length: ROUNDS }, () => true));
  });

  it('applies a decision with the same time as the last one (an equal timestamp applies)', async () => {
    // Prepare
    const at = new Date('2026-12-02T10:00:00Z');
    const userId = `equal-${name}`;
    await store().claim({ userId, at, state: 'disabled' });
    // Act
    const applied = await store().claim({ userId, at, state: 'enabled' });
    const older = await store().claim({ userId, at: new Date(at.getTime() - 1), state: 'disabled' });
    // Assess
    expect([applied, older]).toEqual([true, false]);
    expect(await store().latest(userId)).toEqual({ userId, at, state: 'enabled' });
  });
});

describe('the races catch a read-then-write store', () => {
  it('the lock race sees several winners in some round', async () => {
    // Act
    const winners = await lockRace(readThenWriteLocks(), 'careless');
    // Assess
    expect(Math.max(...winners)).toBeGreaterThan(1);
  });

  it('the order race sees a round that ends on an older decision', async () => {
    // Act
    const endedOnLatest = await orderRace(readThenWriteOrder(), 'careless');
    // Assess
    expect(endedOnLatest).toContain(false);
  });
});

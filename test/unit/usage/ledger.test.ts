// One suite, two adapters: the SQLite ledger of a local run and the DynamoDB ledger (against
// dynalite) must behave the same, transition for transition.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoUsageLedger } from '../../../shared/store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import type { UsageLedger } from '../../../shared/usage/ledger.ts';
import { LedgerStateError } from '../../../shared/usage/ledger.ts';
import type { LocalDynamo } from './peers.ts';
import { startDynalite } from './peers.ts';

let dynamo: LocalDynamo;
const folder = mkdtempSync(join(tmpdir(), 'usage-ledger-'));
let files = 0;

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
  rmSync(folder, { recursive: true, force: true });
});

const adapters: { name: string; make: () => Promise<UsageLedger>; holderPid: { pid?: number } }[] = [
  {
    name: 'SQLite file',
    make: async () => new SqliteUsageLedger(join(folder, `ledger-${++files}.sqlite`)),
    // The local ledger records the holding process (this one) and names it.
    holderPid: { pid: process.pid },
  },
  {
    name: 'DynamoDB (dynalite)',
    make: async () => new DynamoUsageLedger({ client: dynamo.client, tableName: await dynamo.newTable() }),
    holderPid: {},
  },
];

const T0 = Date.parse('2026-11-26T12:00:00Z');
const NAME = 's3-usage-8000000000000065-2026-11-26T11:00:00.000Z-1800';
const DAY = 86_400_000;
/** Entries are kept 90 days: long enough to recognise any statistics object the gateway could still hold. */
const LEDGER_TTL_MS = 90 * DAY;

async function refusal(action: () => Promise<unknown>): Promise<LedgerStateError> {
  try {
    await action();
  } catch (error) {
    if (error instanceof LedgerStateError) return error;
    throw error;
  }
  throw new Error('expected a LedgerStateError');
}

describe.each(adapters)('usage ledger: $name', ({ make, holderPid }) => {
  it('records a first read and answers it', async () => {
    // Prepare
    const ledger = await make();

    // Act
    const entry = await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{"x":1}', at: T0 });

    // Assess
    expect(entry).toEqual({
      name: NAME,
      state: 'read',
      hash: 'sha256:aa',
      body: '{"x":1}',
      readAt: T0,
      deliveredAt: undefined,
      deletedAt: undefined,
    });
    expect(await ledger.get(NAME, T0)).toEqual(entry);
  });

  it('answers a known name with the entry already there, untouched (hash, body and time)', async () => {
    // Prepare
    const ledger = await make();
    await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{"first":true}', at: T0 });

    // Act
    const again = await ledger.record({
      name: NAME,
      hash: 'sha256:bb',
      body: '{"second":true}',
      at: T0 + 5_000,
    });

    // Assess
    expect(again.hash).toBe('sha256:aa');
    expect(again.body).toBe('{"first":true}');
    expect(again.readAt).toBe(T0);
  });

  it('moves read → delivered (dropping the body) → deleted, each step repeatable', async () => {
    // Prepare
    const ledger = await make();
    await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{}', at: T0 });

    // Act
    await ledger.markDelivered(NAME, T0 + 1_000);
    await ledger.markDelivered(NAME, T0 + 2_000);
    const delivered = await ledger.get(NAME, T0 + 2_000);
    await ledger.markDeleted(NAME, T0 + 3_000);
    await ledger.markDeleted(NAME, T0 + 4_000);
    await ledger.markDelivered(NAME, T0 + 5_000);
    const deleted = await ledger.get(NAME, T0 + 5_000);

    // Assess
    expect(delivered).toMatchObject({
      state: 'delivered',
      body: undefined,
      deliveredAt: T0 + 1_000,
      hash: 'sha256:aa',
    });
    expect(deleted).toMatchObject({ state: 'deleted', deliveredAt: T0 + 1_000, deletedAt: T0 + 3_000 });
    const recordedAgain = await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{}', at: T0 + 6_000 });
    expect(recordedAgain.state).toBe('deleted');
  });

  it('refuses to mark deleted what was never delivered, and to mark what it never recorded', async () => {
    // Prepare
    const ledger = await make();
    await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{}', at: T0 });

    // Act
    const beforeDelivery = await refusal(() => ledger.markDeleted(NAME, T0));
    const unknownDelete = await refusal(() =>
      ledger.markDeleted('s3-usage-1-2026-01-01T00:00:00.000Z-1', T0),
    );
    const unknownDelivery = await refusal(() =>
      ledger.markDelivered('s3-usage-1-2026-01-01T00:00:00.000Z-1', T0),
    );

    // Assess
    expect(beforeDelivery.message).toContain('before it was delivered');
    expect(unknownDelete.message).toContain('unknown');
    expect(unknownDelivery.message).toContain('never recorded');
    expect((await ledger.get(NAME, T0))?.state).toBe('read');
  });

  it('forgets entries after the TTL: an expired entry counts as absent', async () => {
    // Prepare
    const ledger = await make();
    await ledger.record({ name: NAME, hash: 'sha256:aa', body: '{}', at: T0 });
    await ledger.markDelivered(NAME, T0);
    const ttl = LEDGER_TTL_MS;

    // Act
    const justBefore = await ledger.get(NAME, T0 + ttl - 2_000);
    const after = await ledger.get(NAME, T0 + ttl + 1_000);
    const fresh = await ledger.record({
      name: NAME,
      hash: 'sha256:cc',
      body: '{"new":1}',
      at: T0 + ttl + 1_000,
    });

    // Assess
    expect(justBefore?.state).toBe('delivered');
    expect(after).toBeUndefined();
    expect(fresh).toMatchObject({ state: 'read', hash: 'sha256:cc', readAt: T0 + ttl + 1_000 });
  });

  it('lets exactly one of several concurrent first reads win', async () => {
    // Prepare
    const ledger = await make();

    // Act
    const answers = await Promise.all(
      ['a', 'b', 'c', 'd'].map((h) => ledger.record({ name: NAME, hash: `sha256:${h}`, body: h, at: T0 })),
    );

    // Assess
    const hashes = new Set(answers.map((a) => a.hash));
    expect(hashes.size).toBe(1);
    expect((await ledger.get(NAME, T0))?.hash).toBe(answers[0]?.hash);
  });

  it('records several first reads in one call, each answered as record would (new, known, expired)', async () => {
    // Prepare
    const ledger = await make();
    const known = `${NAME}-known`;
    const expired = `${NAME}-expired`;
    await ledger.record({ name: known, hash: 'sha256:kk', body: 'first', at: T0 });
    await ledger.record({ name: expired, hash: 'sha256:ee', body: 'old', at: T0 - LEDGER_TTL_MS - DAY });
    const at = T0 + 1_000;

    // Act
    const answers = await ledger.recordAll([
      { name: NAME, hash: 'sha256:aa', body: 'a', at },
      { name: known, hash: 'sha256:k2', body: 'second', at },
      { name: expired, hash: 'sha256:e2', body: 'new', at },
    ]);

    // Assess
    expect(answers).toEqual([
      {
        name: NAME,
        state: 'read',
        hash: 'sha256:aa',
        body: 'a',
        readAt: at,
        deliveredAt: undefined,
        deletedAt: undefined,
      },
      {
        name: known,
        state: 'read',
        hash: 'sha256:kk',
        body: 'first',
        readAt: T0,
        deliveredAt: undefined,
        deletedAt: undefined,
      },
      {
        name: expired,
        state: 'read',
        hash: 'sha256:e2',
        body: 'new',
        readAt: at,
        deliveredAt: undefined,
        deletedAt: undefined,
      },
    ]);
    expect(await ledger.get(known, at)).toEqual(answers[1]);
  });

  it('marks several at once: read → delivered → deleted, leaves what is past the step, refuses a skipped step', async () => {
    // Prepare
    const ledger = await make();
    const names = ['a', 'b', 'c'].map((n) => `${NAME}-${n}`);
    const [a, b, c] = await ledger.recordAll(
      names.map((name) => ({ name, hash: 'sha256:aa', body: '{}', at: T0 })),
    );
    if (a === undefined || b === undefined || c === undefined) throw new Error('three entries recorded');

    // Act
    const delivering = await ledger.markAllDelivered([a, b], T0 + 1_000);
    const deliveredA = await ledger.get(a.name, T0 + 1_000);
    const deliveredB = await ledger.get(b.name, T0 + 1_000);
    if (deliveredA === undefined || deliveredB === undefined) throw new Error('both delivered');
    const again = await ledger.markAllDelivered([deliveredA], T0 + 1_500);
    const deleting = await ledger.markAllDeleted([deliveredA, c], T0 + 2_000);

    // Assess
    expect(delivering).toEqual([undefined, undefined]);
    expect(deliveredB).toMatchObject({ state: 'delivered', body: undefined, deliveredAt: T0 + 1_000 });
    expect(again).toEqual([undefined]);
    expect(deleting[0]).toBeUndefined();
    expect(deleting[1]).toBeInstanceOf(LedgerStateError);
    expect(deleting[1]?.message).toContain('before it was delivered');
    expect(await ledger.get(a.name, T0 + 2_000)).toMatchObject({
      state: 'deleted',
      deliveredAt: T0 + 1_000,
      deletedAt: T0 + 2_000,
      hash: 'sha256:aa',
      readAt: T0,
    });
    expect((await ledger.get(c.name, T0 + 2_000))?.state).toBe('read');
  });

  describe('the sweep lease', () => {
    it('excludes a second owner until it expires, and names the holder', async () => {
      // Prepare
      const ledger = await make();
      await ledger.acquireLease('sweep-a', T0, T0 + 60_000);

      // Act
      const second = await ledger.acquireLease('sweep-b', T0 + 1_000, T0 + 61_000);
      const own = await ledger.acquireLease('sweep-a', T0 + 2_000, T0 + 90_000);
      const stillHeld = await ledger.acquireLease('sweep-b', T0 + 89_999, T0 + 150_000);
      const afterExpiry = await ledger.acquireLease('sweep-b', T0 + 90_000, T0 + 150_000);

      // Assess
      expect(second).toEqual({ acquired: false, holder: 'sweep-a', expiresAt: T0 + 60_000, ...holderPid });
      expect(own).toEqual({ acquired: true, expiresAt: T0 + 90_000 });
      expect(stillHeld.acquired).toBe(false);
      expect(afterExpiry).toEqual({ acquired: true, expiresAt: T0 + 150_000 });
    });

    it('is released only by its holder', async () => {
      // Prepare
      const ledger = await make();
      await ledger.acquireLease('sweep-a', T0, T0 + DAY);

      // Act
      await ledger.releaseLease('sweep-b');
      const whileHeld = await ledger.acquireLease('sweep-c', T0 + 1, T0 + DAY);
      await ledger.releaseLease('sweep-a');
      const afterRelease = await ledger.acquireLease('sweep-c', T0 + 2, T0 + DAY);

      // Assess
      expect(whileHeld.acquired).toBe(false);
      expect(afterRelease.acquired).toBe(true);
    });

    it('goes to exactly one of several sweeps starting at once', async () => {
      // Prepare
      const ledger = await make();

      // Act
      const results = await Promise.all(
        Array.from({ length: 6 }, (_, i) => ledger.acquireLease(`sweep-${i}`, T0, T0 + 60_000)),
      );

      // Assess
      expect(results.filter((r) => r.acquired)).toHaveLength(1);
    });
  });
});

describe('SQLite ledger on disk', () => {
  it('keeps its entries across a reopen (a restarted npm start)', async () => {
    // Prepare
    const file = join(folder, 'reopen.sqlite');
    const first = new SqliteUsageLedger(file);
    await first.record({ name: NAME, hash: 'sha256:aa', body: '{}', at: T0 });
    await first.markDelivered(NAME, T0);
    await first.close();

    // Act
    const second = new SqliteUsageLedger(file);
    const entry = await second.get(NAME, T0);
    const pruned = second.prune(T0 + LEDGER_TTL_MS + 1);
    await second.close();

    // Assess
    expect(entry?.state).toBe('delivered');
    expect(pruned).toBe(1);
  });
});

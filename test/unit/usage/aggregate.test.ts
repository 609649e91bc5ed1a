import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UsageItem } from '../../../shared/ostor/schemas.ts';
import { aggregateUsage } from '../../../shared/usage/aggregate.ts';

function item(
  userId: string,
  bucket: string,
  epoch: number,
  counters: Partial<{
    put: number;
    get: number;
    list: number;
    other: number;
    uploaded: bigint;
    downloaded: bigint;
  }>,
  tag = '',
): UsageItem {
  return {
    bucket,
    epoch,
    userId,
    tag,
    ops: {
      put: counters.put ?? 0,
      get: counters.get ?? 0,
      list: counters.list ?? 0,
      other: counters.other ?? 0,
    },
    bytes: { uploaded: counters.uploaded ?? 0n, downloaded: counters.downloaded ?? 0n },
  };
}

const ALICE = 'a14040e0b2ef8b28';
const BOB = 'b81d6c5f895a8c86';

describe('aggregation per (userId, bucket)', () => {
  it('sums a bucket over several epochs (the bucket recreated) and tags into one record', () => {
    // Prepare
    const items = [
      item(BOB, 'client', 98309, { put: 1, get: 3, uploaded: 41258n, downloaded: 45511311n }),
      item(BOB, 'client', 102405, { put: 2, list: 5, uploaded: 10n }),
      item(BOB, 'client', 102405, { other: 7, downloaded: 1n }, 'tagged'),
    ];

    // Act
    const records = aggregateUsage({ items });

    // Assess
    expect(records).toEqual([
      {
        userId: BOB,
        bucket: 'client',
        put: 3n,
        get: 3n,
        list: 5n,
        other: 7n,
        uploaded: 41268n,
        downloaded: 45511312n,
      },
    ]);
  });

  it('keeps users and buckets apart, sorted by user then bucket', () => {
    // Prepare
    const items = [
      item(BOB, 'zeta', 1, { get: 1 }),
      item(ALICE, 'photos', 1, { put: 1 }),
      item(BOB, 'alpha', 1, { get: 2 }),
      item(ALICE, 'backup', 1, { put: 2 }),
      item('', 'public', 1, { get: 9 }),
    ];

    // Act
    const records = aggregateUsage({ items });

    // Assess
    expect(records.map((r) => [r.userId, r.bucket, r.put, r.get])).toEqual([
      ['', 'public', 0n, 9n],
      [ALICE, 'backup', 2n, 0n],
      [ALICE, 'photos', 1n, 0n],
      [BOB, 'alpha', 0n, 2n],
      [BOB, 'zeta', 0n, 1n],
    ]);
  });

  it('sums byte counters beyond 2^32 and across 2^53 without losing a unit', () => {
    // Prepare: 2^32 + 5 twice, and two counters whose sum passes 2^53 by 3
    const big = 2n ** 53n - 1n;
    const items = [
      item(ALICE, 'b', 1, { uploaded: 2n ** 32n + 5n, downloaded: big }),
      item(ALICE, 'b', 2, { uploaded: 2n ** 32n + 5n, downloaded: 4n }),
      item(ALICE, 'b', 3, { put: Number.MAX_SAFE_INTEGER }),
      item(ALICE, 'b', 4, { put: 2 }),
    ];

    // Act
    const [record] = aggregateUsage({ items });

    // Assess
    expect(record?.uploaded).toBe(2n ** 33n + 10n);
    expect(record?.downloaded).toBe(2n ** 53n + 3n);
    expect(record?.put).toBe(BigInt(Number.MAX_SAFE_INTEGER) + 2n);
  });

  it('property: per user, the records add up to the items', () => {
    const users = fc.constantFrom(ALICE, BOB, '');
    const buckets = fc.constantFrom('a-bucket', 'b-bucket', '');
    const anItem = fc
      .record({
        user: users,
        bucket: buckets,
        epoch: fc.nat(5),
        put: fc.nat(),
        uploaded: fc.bigInt({ min: 0n, max: 2n ** 63n }),
      })
      .map((x) => item(x.user, x.bucket, x.epoch, { put: x.put, uploaded: x.uploaded }));
    fc.assert(
      fc.property(fc.array(anItem, { maxLength: 40 }), (items) => {
        // Act
        const records = aggregateUsage({ items });

        // Assess
        const keys = new Set(records.map((r) => `${r.userId}/${r.bucket}`));
        expect(keys.size).toBe(records.length);
        for (const user of [ALICE, BOB, '']) {
          const expectedPut = items
            .filter((i) => i.userId === user)
            .reduce((sum, i) => sum + BigInt(i.ops.put), 0n);
          const expectedUp = items
            .filter((i) => i.userId === user)
            .reduce((sum, i) => sum + i.bytes.uploaded, 0n);
          const mine = records.filter((r) => r.userId === user);
          expect(mine.reduce((sum, r) => sum + r.put, 0n)).toBe(expectedPut);
          expect(mine.reduce((sum, r) => sum + r.uploaded, 0n)).toBe(expectedUp);
        }
      }),
      { numRuns: 300 },
    );
  });
});

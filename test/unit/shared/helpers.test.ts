// The two generic helpers of the house: the bounded-concurrency pool (shared/concurrency.ts) and
// the backoff (shared/backoff.ts).
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../shared/backoff.ts';
import { forEachConcurrently } from '../../../shared/concurrency.ts';

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('forEachConcurrently', () => {
  it('never has more than the limit in flight, takes every item once, and says the items ran out', async () => {
    // Prepare
    let inFlight = 0;
    let most = 0;
    const seen: number[] = [];
    // Act
    const exhausted = await forEachConcurrently(
      Array.from({ length: 20 }, (_, i) => i),
      3,
      async (n) => {
        inFlight += 1;
        most = Math.max(most, inFlight);
        await tick();
        seen.push(n);
        inFlight -= 1;
      },
    );
    // Assess
    expect(exhausted).toBe(true);
    expect(most).toBe(3);
    expect(seen.sort((a, b) => a - b)).toEqual(Array.from({ length: 20 }, (_, i) => i));
  });

  it('stops taking on the first error, lets the items in flight finish, then throws it', async () => {
    // Prepare
    const finished: number[] = [];
    // Act
    const failure = await forEachConcurrently([1, 2, 3, 4, 5, 6, 7, 8], 2, async (n) => {
      await tick();
      if (n === 2) throw new Error('item 2 failed');
      await tick();
      finished.push(n);
    }).catch((error: unknown) => error);
    // Assess
    expect(failure).toEqual(new Error('item 2 failed'));
    expect(finished).toEqual([1]);
  });

  it('stops when told to and closes an async source it leaves early', async () => {
    // Prepare
    let closed = false;
    async function* names() {
      try {
        for (let i = 0; ; i++) yield `name-${i}`;
      } finally {
        closed = true;
      }
    }
    const taken: string[] = [];
    // Act
    const exhausted = await forEachConcurrently(
      names(),
      4,
      async (name) => {
        taken.push(name);
      },
      { stop: () => taken.length >= 10 },
    );
    // Assess
    expect(exhausted).toBe(false);
    expect(taken.slice(0, 10)).toEqual(Array.from({ length: 10 }, (_, i) => `name-${i}`));
    expect(closed).toBe(true);
  });
});

describe('backoffDelay', () => {
  it('doubles from the base up to the cap, and draws below that ceiling with a random source', () => {
    const policy = { baseMs: 100, maxMs: 1_000 };
    expect([1, 2, 3, 4, 5, 6].map((n) => backoffDelay(n, policy))).toEqual([
      100, 200, 400, 800, 1_000, 1_000,
    ]);
    expect(backoffDelay(3, { ...policy, random: () => 0.5 })).toBe(200);
    expect(backoffDelay(3, { ...policy, random: () => 0 })).toBe(0);
    expect(backoffDelay(9, { ...policy, random: () => 0.999 })).toBe(999);
  });
});

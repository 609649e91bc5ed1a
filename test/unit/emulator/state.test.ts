// The emulator's state and seed helpers, used directly by tests and benchmarks.

import { describe, expect, it } from 'vitest';
import { compareKeys, EmulatorState, seedUsageObjects } from '../../../emulator/gateway.ts';

describe('EmulatorState', () => {
  it('creates users with ids, keys and secrets in the gateway formats', () => {
    // Prepare
    const state = new EmulatorState();

    // Act
    const user = state.createUser('user@example.com', { system: true });

    // Assess
    expect(user.id).toMatch(/^[0-9a-f]{16}$/);
    expect(user.flags).toEqual(['system']);
    expect(user.keys[0]?.accessKeyId).toMatch(new RegExp(`^${user.id}[A-Z0-9]{4}$`));
    expect(user.keys[0]?.secretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(state.resolveAccessKey(user.keys[0]?.accessKeyId ?? '')?.user).toBe(user);
  });

  it('names statistics objects s3-usage-<service id>-<ISO start>-<period> and keeps them in name order', () => {
    // Prepare
    const state = new EmulatorState();
    const start = new Date('2017-02-01T16:31:54.000Z');

    // Act
    const later = state.addUsageObject({ serviceId: 8_000_000_000_000_067n, start, period: 1800, items: [] });
    const earlier = state.addUsageObject({ serviceId: '8000000000000065', start, period: 1800, items: [] });
    const page = state.listUsageObjects(undefined, 10);

    // Assess
    expect(earlier).toBe('s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800');
    expect(page).toEqual({ items: [earlier, later], truncated: false });
    expect(state.listUsageObjects(earlier, 10).items).toEqual([later]);
  });

  it('refuses a service id that is not decimal digits', () => {
    // Prepare
    const state = new EmulatorState();

    // Act, Assess
    expect(() =>
      state.addUsageObject({ serviceId: '800000000000006a', start: new Date(0), period: 1, items: [] }),
    ).toThrow(RangeError);
  });

  it('integrates byte-hours as the clock moves, and keeps hmax', () => {
    // Prepare
    let now = new Date('2026-01-01T00:00:00Z');
    const state = new EmulatorState(() => now);
    const user = state.createUser('u@example.com');
    const bucket = state.createBucket(user.id, 'bucket');

    // Act
    state.putObject('bucket', 'a', new Uint8Array(1000));
    now = new Date('2026-01-01T10:00:00Z');
    state.deleteObject('bucket', 'a');
    now = new Date('2026-01-01T12:00:00Z');
    state.settleBucketSize(bucket);

    // Assess
    expect(bucket.size).toEqual({
      current: 0,
      hIntegral: 10_000n,
      hmax: 1000,
      lastTs: Date.parse('2026-01-01T12:00:00Z') / 3_600_000,
    });
  });

  it('orders object keys by UTF-8 bytes, as S3 lists them', () => {
    // Act
    const sorted = ['\u{1F600}', '\uFF21', 'b', 'a'].sort(compareKeys);

    // Assess
    expect(sorted).toEqual(['a', 'b', '\uFF21', '\u{1F600}']);
    expect(sorted.map((k) => Buffer.from(k))).toEqual(
      sorted.map((k) => Buffer.from(k)).sort((x, y) => Buffer.compare(x, y)),
    );
  });
});

describe('seedUsageObjects', () => {
  it('seeds 10,000 objects of 8 items quickly, and pages through them with after=', () => {
    // Prepare
    const state = new EmulatorState();
    const started = performance.now();

    // Act
    const names = state.seedUsageObjects({ objects: 10_000, itemsPerObject: 8 });
    let after: string | undefined;
    let seen = 0;
    let pages = 0;
    for (;;) {
      const page = state.listUsageObjects(after, 500);
      seen += page.items.length;
      pages += 1;
      after = page.items.at(-1);
      if (!page.truncated) break;
    }
    const elapsed = performance.now() - started;

    // Assess
    expect(new Set(names).size).toBe(10_000);
    expect(seen).toBe(10_000);
    expect(pages).toBe(20);
    expect(elapsed).toBeLessThan(2000);
    const first = state.usage.get(names[0] ?? '');
    expect(typeof first === 'object' && first.items).toHaveLength(8);
  });

  it('gives the same objects for the same seed, items naming the state’s buckets when there are any', () => {
    // Prepare
    const a = new EmulatorState();
    const b = new EmulatorState();
    const user = b.createUser('owner@example.com');
    b.createBucket(user.id, 'real-bucket');

    // Act
    const fromA1 = seedUsageObjects(a, { objects: 3, seed: 7 });
    const other = new EmulatorState();
    const fromA2 = seedUsageObjects(other, { objects: 3, seed: 7 });
    const [fromB] = seedUsageObjects(b, { objects: 1, itemsPerObject: 2 });

    // Assess
    expect(fromA1).toEqual(fromA2);
    expect(a.usage.get(fromA1[0] ?? '')).toEqual(other.usage.get(fromA2[0] ?? ''));
    const content = b.usage.get(fromB ?? '');
    if (typeof content !== 'object') throw new Error('structured content');
    expect(content.items.map((i) => [i.key.bucket, i.key.user_id])).toEqual([
      ['real-bucket', user.id],
      ['real-bucket', user.id],
    ]);
    expect(new Set(content.items.map((i) => i.key.epoch)).size).toBe(2);
  });
});

// The statistics object's fast path (shared/ostor/usage-object.ts) against the schema it stands
// in for: on any body, generated with the gateway's drift (counters as strings, nulls, missing
// fields, integers past 2^53, extra keys), whatever the fast path answers is exactly what
// parseGatewayJson + UsageObjectSchema make of it, and the ordinary form does take the fast path.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseGatewayJson, toUsageObject, UsageObjectSchema } from '../../../shared/ostor/schemas.ts';
import { readUsageObject } from '../../../shared/ostor/usage-object.ts';

const NAME = 's3-usage-8000000000000065-2026-11-26T10:00:00.000Z-1800';
const rawJSON = (JSON as unknown as { rawJSON(text: string): unknown }).rawJSON;

/** JSON text with bigints written as bare integers, as a gateway prints 64-bit counters. */
const toText = (value: unknown) =>
  JSON.stringify(value, (_key, v: unknown) => (typeof v === 'bigint' ? rawJSON(v.toString()) : v));

/** What the schema path makes of a body: the object, or 'refused'. */
function viaSchema(body: string): unknown {
  try {
    const parsed = UsageObjectSchema.safeParse(parseGatewayJson(body));
    return parsed.success ? toUsageObject(NAME, parsed.data) : 'refused';
  } catch {
    return 'refused';
  }
}

const count = fc.oneof(
  { weight: 8, arbitrary: fc.nat(1_000_000) },
  { weight: 1, arbitrary: fc.nat(1_000).map(String) },
  { weight: 1, arbitrary: fc.bigInt({ min: 2n ** 53n - 2n, max: 2n ** 64n }) },
  { weight: 1, arbitrary: fc.constantFrom(null, -1, 1.5, 'x', true, 0.0, 1e3) },
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: undefined, freq: 8 });
const text = fc.oneof({ weight: 8, arbitrary: fc.string() }, fc.constantFrom(null, 7, undefined));

const item = fc.oneof(
  {
    weight: 12,
    arbitrary: fc.record(
      {
        key: fc.record({ bucket: text, epoch: maybe(count), user_id: text, tag: text }, { requiredKeys: [] }),
        counters: fc.record(
          {
            ops: fc.oneof(
              {
                weight: 8,
                arbitrary: fc.record(
                  { put: count, get: count, list: count, other: count },
                  { requiredKeys: [] },
                ),
              },
              fc.constant(null),
            ),
            net_io: fc.oneof(
              {
                weight: 8,
                arbitrary: fc.record({ uploaded: count, downloaded: count }, { requiredKeys: [] }),
              },
              fc.constant(null),
            ),
          },
          { requiredKeys: [] },
        ),
        extra: maybe(fc.string()),
      },
      { requiredKeys: ['key', 'counters'] },
    ),
  },
  fc.constantFrom(null, [], 'item', {}),
);

const object = fc.record(
  {
    fmt_version: count,
    service_id: fc.oneof(
      { weight: 6, arbitrary: fc.bigInt({ min: 0n, max: 2n ** 53n - 1n }) },
      fc.bigInt({ min: 2n ** 53n, max: 2n ** 60n }),
      fc.constantFrom('8000000000000065', 'ABCDEF', -5, 1.5, null),
    ),
    start_ts: count,
    period: count,
    items: fc.oneof(
      { weight: 8, arbitrary: fc.array(item, { maxLength: 5 }) },
      fc.constantFrom(null, undefined, {}),
    ),
  },
  { requiredKeys: [] },
);

describe('the statistics object fast path', () => {
  it('answers exactly what the schema answers, whenever it answers', () => {
    let taken = 0;
    fc.assert(
      fc.property(object, (value) => {
        const body = toText(value);
        const fast = readUsageObject(NAME, body);
        if (fast === undefined) return;
        taken += 1;
        expect(fast).toEqual(viaSchema(body));
      }),
      { numRuns: 2_000 },
    );
    // The generator reaches the fast path often enough for the comparison to mean something.
    expect(taken).toBeGreaterThan(100);
  });

  it('takes the ordinary form, keeping a service id near 2^53 digit for digit', () => {
    // Prepare
    const body = toText({
      fmt_version: 1,
      service_id: 9_007_199_254_740_991n,
      start_ts: 1_764_151_200,
      period: 1800,
      items: [
        {
          key: { bucket: 'photos', epoch: 98_309, user_id: 'a14040e0b2ef8b28', tag: '' },
          counters: {
            ops: { put: 3, get: 5, list: 1, other: 0 },
            net_io: { uploaded: 4096, downloaded: 1024 },
          },
        },
        { key: { bucket: null, epoch: null, user_id: null }, counters: {} },
      ],
    });
    // Act
    const fast = readUsageObject(NAME, body);
    // Assess
    expect(fast).toEqual(viaSchema(body));
    expect(fast?.serviceId).toBe('9007199254740991');
    expect(fast?.items[1]).toEqual({
      bucket: '',
      epoch: 0,
      userId: '',
      tag: '',
      ops: { put: 0, get: 0, list: 0, other: 0 },
      bytes: { uploaded: 0n, downloaded: 0n },
    });
  });

  it('leaves to the schema what it must decide: big counters, strings, nulls, broken JSON', () => {
    const ordinary = { fmt_version: 1, service_id: 5, start_ts: 0, period: 1800 };
    const withItem = (counters: unknown) => ({ ...ordinary, items: [{ key: {}, counters }] });
    for (const value of [
      withItem({ net_io: { uploaded: 2n ** 53n } }),
      withItem({ ops: { put: '3' } }),
      withItem({ ops: null }),
      withItem({ ops: { get: null } }),
      { ...ordinary, service_id: 2n ** 60n },
      { ...ordinary, service_id: '8000000000000065' },
    ]) {
      expect(readUsageObject(NAME, toText(value))).toBeUndefined();
    }
    expect(readUsageObject(NAME, '{"fmt_version":1,')).toBeUndefined();
    expect(readUsageObject(NAME, '')).toBeUndefined();
  });
});

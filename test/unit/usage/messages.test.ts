import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { BucketInfo, UsageObject } from '../../../shared/ostor/schemas.ts';
import { parseGatewayJson, toUsageObject, UsageObjectSchema } from '../../../shared/ostor/schemas.ts';
import { aggregateUsage } from '../../../shared/usage/aggregate.ts';
import { ndjsonLine } from '../../../shared/usage/file-sink.ts';
import {
  contentHash,
  hourOf,
  storageBody,
  storageMessageId,
  storageTotals,
  usageCollectedBody,
} from '../../../shared/usage/messages.ts';

const GUIDE_NAME = 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800';
// The guide's `GET ?ostor-usage&obj=` answer, as the gateway prints it.
const GUIDE_BODY = `{
  "fmt_version": 1, "service_id": 8000000000000065, "start_ts": 1485966714, "period": 1390, "nr_items": 1,
  "items": [ { "key": { "bucket": "client", "epoch": 98309, "user_id": "b81d6c5f895a8c86", "tag": "" },
               "counters": { "ops": { "put": 1, "get": 3, "list": 0, "other": 0 },
                             "net_io": { "uploaded": 41258, "downloaded": 45511311 } } } ] }`;

function guideObject(): UsageObject {
  return toUsageObject(GUIDE_NAME, UsageObjectSchema.parse(parseGatewayJson(GUIDE_BODY)));
}

describe('usage.collected', () => {
  it('is exactly the docs/contract.md §6 example for the guide object, field order included', () => {
    // Prepare
    const object = guideObject();
    const emails = new Map([['b81d6c5f895a8c86', 'client@example.com']]);

    // Act
    const body = usageCollectedBody(object, aggregateUsage(object), emails, new Date('2026-11-26T12:00:00Z'));

    // Assess
    expect(body).toBe(
      JSON.stringify({
        type: 'usage.collected',
        timestamp: '2026-11-26T12:00:00.000Z',
        data: {
          source: 's3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800',
          periodStart: '2017-02-01T16:31:54.000Z',
          periodSeconds: 1390,
          records: [
            {
              userId: 'b81d6c5f895a8c86',
              email: 'client@example.com',
              bucket: 'client',
              ops: { put: 1, get: 3, list: 0, other: 0 },
              bytes: { uploaded: 41258, downloaded: 45511311 },
            },
          ],
        },
      }),
    );
  });

  it('says email null for a user the gateway does not list', () => {
    // Prepare
    const object = guideObject();

    // Act
    const body = JSON.parse(usageCollectedBody(object, aggregateUsage(object), new Map(), new Date(0)));

    // Assess
    expect(body.data.records[0].email).toBeNull();
    expect(body.data.records[0].userId).toBe('b81d6c5f895a8c86');
  });

  it('writes counters up to 2^53 - 1 as numbers and larger ones as exact integer literals', () => {
    // Prepare
    const object: UsageObject = {
      ...guideObject(),
      items: [
        {
          bucket: 'huge',
          epoch: 1,
          userId: 'a14040e0b2ef8b28',
          tag: '',
          ops: { put: Number.MAX_SAFE_INTEGER, get: 0, list: 0, other: 0 },
          bytes: { uploaded: 2n ** 64n + 1n, downloaded: 2n ** 40n },
        },
      ],
    };

    // Act
    const body = usageCollectedBody(object, aggregateUsage(object), new Map(), new Date(0));

    // Assess
    expect(body).toContain('"ops":{"put":9007199254740991,"get":0,"list":0,"other":0}');
    expect(body).toContain('"bytes":{"uploaded":18446744073709551617,"downloaded":1099511627776}');
    const exact = parseGatewayJson(body) as { data: { records: { bytes: { uploaded: unknown } }[] } };
    expect(exact.data.records[0]?.bytes.uploaded).toBe(2n ** 64n + 1n);
  });
});

describe('content hash', () => {
  it('does not depend on item order or on how the numbers were printed', () => {
    // Prepare
    const object = guideObject();
    const second = { ...object.items[0], bucket: 'other' } as UsageObject['items'][number];
    const one = { ...object, items: [object.items[0] as UsageObject['items'][number], second] };
    const swapped = { ...object, items: [second, object.items[0] as UsageObject['items'][number]] };
    const asStrings = toUsageObject(
      GUIDE_NAME,
      UsageObjectSchema.parse(
        parseGatewayJson(GUIDE_BODY.replace('41258', '"41258"').replace('"put": 1', '"put": "1"')),
      ),
    );

    // Act
    const hashes = [contentHash(one), contentHash(swapped), contentHash(object), contentHash(asStrings)];

    // Assess
    expect(hashes[0]).toBe(hashes[1]);
    expect(hashes[2]).toBe(hashes[3]);
    expect(hashes[2]).toMatch(/^sha256:[0-9a-f]{64}$/);
  });

  it('property: changing any one counter changes the hash', () => {
    const object = guideObject();
    const base = contentHash(object);
    const field = fc.constantFrom('put', 'get', 'list', 'other', 'uploaded', 'downloaded', 'epoch', 'period');
    fc.assert(
      fc.property(field, fc.integer({ min: 1, max: 1_000_000 }), (which, delta) => {
        // Prepare
        const original = object.items[0] as UsageObject['items'][number];
        const changed: UsageObject['items'][number] = {
          ...original,
          epoch: which === 'epoch' ? original.epoch + delta : original.epoch,
          ops: {
            put: original.ops.put + (which === 'put' ? delta : 0),
            get: original.ops.get + (which === 'get' ? delta : 0),
            list: original.ops.list + (which === 'list' ? delta : 0),
            other: original.ops.other + (which === 'other' ? delta : 0),
          },
          bytes: {
            uploaded: original.bytes.uploaded + (which === 'uploaded' ? BigInt(delta) : 0n),
            downloaded: original.bytes.downloaded + (which === 'downloaded' ? BigInt(delta) : 0n),
          },
        };

        // Act
        const hash = contentHash({
          ...object,
          period: object.period + (which === 'period' ? delta : 0),
          items: [changed],
        });

        // Assess
        expect(hash).not.toBe(base);
      }),
      { numRuns: 200 },
    );
  });
});

describe('usage.storage', () => {
  function bucket(
    ownerId: string,
    name: string,
    current: bigint,
    hmax: bigint,
    hIntegral: bigint,
  ): BucketInfo {
    return {
      name,
      ownerId,
      epoch: 0,
      createdAt: '2026-01-01T00:00:00.000Z',
      size: { current, hIntegral, hmax, lastTs: 0 },
    };
  }

  it('sums size.current, hmax and h_integral per owner', () => {
    // Prepare
    const buckets = [
      bucket('b81d6c5f895a8c86', 'one', 100n, 150n, 10n ** 12n),
      bucket('a14040e0b2ef8b28', 'two', 7n, 7n, 0n),
      bucket('b81d6c5f895a8c86', 'three', 2n ** 53n, 2n ** 53n, 10n ** 12n),
    ];

    // Act
    const totals = storageTotals(buckets);

    // Assess
    expect(totals).toEqual([
      { userId: 'a14040e0b2ef8b28', bytes: 7n, buckets: 1, hmax: 7n, hIntegral: 0n },
      {
        userId: 'b81d6c5f895a8c86',
        bytes: 2n ** 53n + 100n,
        buckets: 2,
        hmax: 2n ** 53n + 150n,
        hIntegral: 2n * 10n ** 12n,
      },
    ]);
  });

  it('builds the §5 message and an id stable for the user and the UTC hour', () => {
    // Prepare
    const measured = Date.parse('2026-11-26T17:42:10.123Z');
    const hour = hourOf(measured);
    const [totals] = storageTotals([bucket('b81d6c5f895a8c86', 'one', 41258n, 50000n, 123456789012n)]);
    if (totals === undefined) throw new Error('one owner expected');

    // Act
    const id = storageMessageId(totals.userId, hour);
    const body = storageBody(totals, 'client@example.com', hour, new Date(measured));

    // Assess
    expect(id).toBe('storage-b81d6c5f895a8c86-2026-11-26T17:00:00.000Z');
    expect(storageMessageId(totals.userId, hourOf(Date.parse('2026-11-26T17:59:59.999Z')))).toBe(id);
    expect(JSON.parse(body)).toEqual({
      type: 'usage.storage',
      timestamp: '2026-11-26T17:42:10.123Z',
      data: {
        userId: 'b81d6c5f895a8c86',
        email: 'client@example.com',
        hour: '2026-11-26T17:00:00.000Z',
        bytes: 41258,
        buckets: 1,
        hmax: 50000,
        hIntegral: 123456789012,
      },
    });
  });
});

describe('usage.ndjson lines', () => {
  it('put the webhook-id first, then the body fields, on one line', () => {
    // Act
    const line = ndjsonLine({ id: GUIDE_NAME, body: '{"type":"usage.collected","data":{"a":"x\\ny"}}' });

    // Assess
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(JSON.parse(line)).toEqual({ id: GUIDE_NAME, type: 'usage.collected', data: { a: 'x\ny' } });
  });
});

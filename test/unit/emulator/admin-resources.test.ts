// ?ostor-buckets, ?ostor-limits, ?ostor-quotas and ?ostor-usage on the emulator.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type EmulatedUser, type Emulator, startEmulator } from '../../../emulator/gateway.ts';
import { client } from './http.ts';

let emulator: Emulator;
let admin: ReturnType<typeof client>;
let now = new Date('2026-11-26T12:30:00.000Z');
let owner: EmulatedUser;

beforeAll(async () => {
  emulator = await startEmulator({ clock: () => now, usagePageSize: 3 });
  admin = client(emulator, emulator.createSystemUser('admin@example.com'));
  owner = emulator.state.createUser('client@example.com');
});

afterAll(async () => {
  await emulator.close();
});

const HOUR = 3_600_000;

describe('buckets (?ostor-buckets)', () => {
  it('lists all buckets, a user’s buckets, and one bucket, with the size block of the guide', async () => {
    // Prepare
    const other = emulator.state.createUser('other@example.com');
    emulator.state.createBucket(owner.id, 'client');
    emulator.state.createBucket(other.id, 'other-bucket');
    emulator.state.putObject('client', 'a', 'x'.repeat(12288));
    now = new Date(now.getTime() + 599 * HOUR);

    // Act
    const all = await admin.json<{ Buckets: { name: string }[] }>('GET', '/?ostor-buckets');
    const mine = await admin.json<{ Buckets: unknown[] }>(
      'GET',
      '/?ostor-buckets&emailAddress=client%40example.com',
    );
    const one = await admin.json<{ Buckets: unknown[] }>('GET', '/?ostor-buckets&bucket=client');

    // Assess
    expect(all.Buckets.map((b) => b.name)).toEqual(['client', 'other-bucket']);
    expect(mine.Buckets).toEqual([
      {
        size: {
          current: 12288,
          h_integral: 12288 * 599,
          hmax: 12288,
          last_ts: Math.floor(now.getTime() / HOUR),
        },
        epoch: 0,
        owner_id: owner.id,
        name: 'client',
        creation_date: '2026-11-26T12:30:00.000Z',
      },
    ]);
    expect(one).toEqual(mine);
  });

  it('keeps 64-bit byte-hour integrals exact in the JSON', async () => {
    // Prepare
    const bucket = emulator.state.buckets.get('other-bucket');
    if (bucket === undefined) throw new Error('seeded above');
    bucket.size.hIntegral = 9_007_199_254_740_993n;
    bucket.size.lastTs = Math.floor(now.getTime() / HOUR);

    // Act
    const answer = await admin.call('GET', '/?ostor-buckets&bucket=other-bucket');

    // Assess
    expect(answer.text).toContain('"h_integral":9007199254740993,');
  });

  it('answers 404 for an unknown bucket or user and 400 for a user and a bucket together', async () => {
    // Act
    const bucket = await admin.call('GET', '/?ostor-buckets&bucket=nope');
    const user = await admin.call('GET', '/?ostor-buckets&emailAddress=nobody%40example.com');
    const both = await admin.call('GET', '/?ostor-buckets&emailAddress=client%40example.com&bucket=client');
    const put = await admin.call('PUT', '/?ostor-buckets');

    // Assess
    expect([bucket.status, user.status, both.status, put.status]).toEqual([404, 404, 400, 405]);
  });
});

describe('limits (?ostor-limits)', () => {
  it('sets ops and bandwidth limits for a user and reads them back as the guide shows', async () => {
    // Act
    const ops = await admin.call(
      'PUT',
      '/?ostor-limits&emailAddress=client%40example.com&limit-type=ops&limit-resource=get&limit-value=3600',
    );
    await admin.call(
      'PUT',
      '/?ostor-limits&emailAddress=client%40example.com&limit-type=ops&limit-resource=put&limit-value=2.5',
    );
    const bandwidth = await admin.call(
      'PUT',
      '/?ostor-limits&emailAddress=client%40example.com&limit-type=bandwidth&limit-resource=out&limit-value=100',
    );
    const read = await admin.json('GET', '/?ostor-limits&emailAddress=client%40example.com');

    // Assess
    expect([ops.status, ops.text, bandwidth.status]).toEqual([200, '', 200]);
    expect(read).toEqual({
      'ops:default': '0.00',
      'ops:get': '3600.00',
      'ops:put': '2.50',
      'ops:list': '0.00',
      'ops:delete': '0.00',
      'bandwidth:out': '100',
    });
  });

  it('sets, reads and deletes bucket limits', async () => {
    // Act
    await admin.call(
      'PUT',
      '/?ostor-limits&bucket=client&limit-type=ops&limit-resource=delete&limit-value=7',
    );
    const set = await admin.json<Record<string, string>>('GET', '/?ostor-limits&bucket=client');
    const deleted = await admin.call('DELETE', '/?ostor-limits&bucket=client');
    const after = await admin.json<Record<string, string>>('GET', '/?ostor-limits&bucket=client');

    // Assess
    expect(set['ops:delete']).toBe('7.00');
    expect(deleted.status).toBe(204);
    expect(after['ops:delete']).toBe('0.00');
    expect(emulator.state.limits.buckets.has('client')).toBe(false);
  });

  it('refuses negative, non-numeric and fractional bandwidth values, unknown types and resources', async () => {
    // Prepare
    const base = '/?ostor-limits&emailAddress=client%40example.com';

    // Act
    const answers = await Promise.all([
      admin.call('PUT', `${base}&limit-type=ops&limit-resource=get&limit-value=-1`),
      admin.call('PUT', `${base}&limit-type=ops&limit-resource=get&limit-value=abc`),
      admin.call('PUT', `${base}&limit-type=bandwidth&limit-resource=out&limit-value=1.5`),
      admin.call('PUT', `${base}&limit-type=iops&limit-resource=get&limit-value=1`),
      admin.call('PUT', `${base}&limit-type=ops&limit-resource=out&limit-value=1`),
      admin.call('PUT', `${base}&limit-type=ops&limit-resource=get`),
    ]);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 400, 400]);
    expect(emulator.state.limits.users.get(owner.id)?.ops.get).toBe(3600);
  });

  it('answers 404 for an unknown user or bucket', async () => {
    // Act
    const user = await admin.call('GET', '/?ostor-limits&emailAddress=nobody%40example.com');
    const bucket = await admin.call('DELETE', '/?ostor-limits&bucket=nope');

    // Assess
    expect([user.status, bucket.status]).toEqual([404, 404]);
  });
});

describe('quotas (?ostor-quotas)', () => {
  it('sets, reads and deletes user, bucket and default quotas', async () => {
    // Act
    await admin.call('PUT', '/?ostor-quotas&emailAddress=client%40example.com&quota-size=1024');
    await admin.call('PUT', '/?ostor-quotas&bucket=client&quota-size=256');
    await admin.call('PUT', '/?ostor-quotas&default=user&quota-size=10');
    await admin.call('PUT', '/?ostor-quotas&default=bucket&quota-size=5');
    const user = await admin.json('GET', '/?ostor-quotas&emailAddress=client%40example.com');
    const bucket = await admin.json('GET', '/?ostor-quotas&bucket=client');
    const defaultUser = await admin.json('GET', '/?ostor-quotas&default=user');
    const defaultBucket = await admin.json('GET', '/?ostor-quotas&default=bucket');
    const deleted = await admin.call('DELETE', '/?ostor-quotas&emailAddress=client%40example.com');
    const afterDelete = await admin.json('GET', '/?ostor-quotas&emailAddress=client%40example.com');

    // Assess
    expect(user).toEqual({ version: '1', type: '0', size: '1024' });
    expect(bucket).toEqual({ version: '1', type: '1', size: '256' });
    expect(defaultUser).toEqual({ version: '1', type: '0', size: '10' });
    expect(defaultBucket).toEqual({ version: '1', type: '1', size: '5' });
    expect(deleted.status).toBe(204);
    expect(afterDelete).toEqual({ version: '1', type: '0', size: '0' });
  });

  it('refuses non-whole sizes, bad defaults and two targets; 404 for unknown targets', async () => {
    // Act
    const answers = await Promise.all([
      admin.call('PUT', '/?ostor-quotas&bucket=client&quota-size=1.5'),
      admin.call('PUT', '/?ostor-quotas&default=account&quota-size=1'),
      admin.call('GET', '/?ostor-quotas&bucket=client&default=user'),
      admin.call('GET', '/?ostor-quotas'),
      admin.call('GET', '/?ostor-quotas&bucket=nope'),
    ]);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400, 400, 404]);
  });
});

describe('usage statistics (?ostor-usage)', () => {
  const names: string[] = [];

  beforeAll(() => {
    for (const minute of [31, 30, 27, 28, 29]) {
      names.push(
        emulator.state.addUsageObject({
          serviceId: 8_000_000_000_000_065n,
          start: new Date(`2017-02-01T16:${minute}:54.000Z`),
          period: 1800,
          items: [{ bucket: 'client', userId: owner.id, ops: { get: minute } }],
        }),
      );
    }
    names.sort();
  });

  it('returns a statistics object exactly as the guide shows, service_id a bare JSON number', async () => {
    // Prepare
    const name = emulator.state.addUsageObject({
      serviceId: '8000000000000065',
      start: new Date('2017-02-01T16:31:54.000Z'),
      period: 1390,
      namePeriod: 1800,
      items: [
        {
          key: { bucket: 'client', epoch: 98309, user_id: 'b81d6c5f895a8c86', tag: '' },
          counters: {
            ops: { put: 1, get: 3, list: 0, other: 0 },
            net_io: { uploaded: 41258, downloaded: 45511311 },
          },
        },
      ],
    });

    // Act
    const answer = await admin.call('GET', `/?ostor-usage&obj=${name}`);

    // Assess
    expect(name).toBe('s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800');
    expect(answer.headers['content-type']).toBe('application/json');
    expect(answer.text).toBe(
      '{"fmt_version":1,"service_id":8000000000000065,"start_ts":1485966714,"period":1390,"nr_items":1,"items":[' +
        '{"key":{"bucket":"client","epoch":98309,"user_id":"b81d6c5f895a8c86","tag":""},' +
        '"counters":{"ops":{"put":1,"get":3,"list":0,"other":0},"net_io":{"uploaded":41258,"downloaded":45511311}}}]}',
    );
  });

  it('pages the listing in name order with after= (exclusive) and limit=, default page from the option', async () => {
    // Act
    const first = await admin.json<{ nr_items: number; truncated: boolean; items: string[] }>(
      'GET',
      '/?ostor-usage',
    );
    const last = first.items[first.items.length - 1] ?? '';
    const second = await admin.json<{ nr_items: number; truncated: boolean; items: string[] }>(
      'GET',
      `/?ostor-usage&after=${encodeURIComponent(last)}&limit=100`,
    );

    // Assess
    expect(first).toEqual({ nr_items: 3, truncated: true, items: names.slice(0, 3) });
    expect(second).toEqual({ nr_items: 2, truncated: false, items: names.slice(3) });
    expect(emulator.requests.at(-1)?.params).toContainEqual(['after', last]);
  });

  it('treats after= as a position, not a member: a name between two objects still works', async () => {
    // Act
    const page = await admin.json<{ items: string[] }>(
      'GET',
      `/?ostor-usage&after=${names[1]?.slice(0, -1)}&limit=1`,
    );

    // Assess
    expect(page.items).toEqual([names[1]]);
  });

  it('refuses limit=0, a non-numeric limit and obj together with paging', async () => {
    // Act
    const answers = await Promise.all([
      admin.call('GET', '/?ostor-usage&limit=0'),
      admin.call('GET', '/?ostor-usage&limit=ten'),
      admin.call('GET', `/?ostor-usage&obj=${names[0]}&limit=1`),
    ]);

    // Assess
    expect(answers.map((a) => a.status)).toEqual([400, 400, 400]);
  });

  it('deletes an object (204) and answers 404 for an absent one', async () => {
    // Prepare
    const name = emulator.state.addUsageObject({ serviceId: 1, start: new Date(0), period: 60, items: [] });

    // Act
    const deleted = await admin.call('DELETE', `/?ostor-usage&obj=${name}`);
    const read = await admin.call('GET', `/?ostor-usage&obj=${name}`);
    const again = await admin.call('DELETE', `/?ostor-usage&obj=${name}`);

    // Assess
    expect(deleted.status).toBe(204);
    expect(emulator.state.usage.has(name)).toBe(false);
    expect(read.status).toBe(404);
    expect(again.status).toBe(404);
  });

  it('returns broken JSON for a large limit when the reported defect is switched on', async () => {
    // Prepare
    emulator.behaviour.brokenUsageJsonAboveLimit = 700;

    // Act
    const small = await admin.call('GET', '/?ostor-usage&limit=700');
    const large = await admin.call('GET', '/?ostor-usage&limit=701');
    emulator.behaviour.brokenUsageJsonAboveLimit = null;

    // Assess
    expect(() => JSON.parse(small.text)).not.toThrow();
    expect(large.status).toBe(200);
    expect(() => JSON.parse(large.text)).toThrow();
  });

  it('serves a raw statistics object verbatim (drift and defects)', async () => {
    // Prepare
    emulator.state.addRawUsageObject('s3-usage-raw', '{"fmt_version":1,"service_id":18446744073709551615}');

    // Act
    const answer = await admin.call('GET', '/?ostor-usage&obj=s3-usage-raw');

    // Assess
    expect(answer.text).toBe('{"fmt_version":1,"service_id":18446744073709551615}');
  });
});

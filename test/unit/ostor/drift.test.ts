// Documented drift between gateway versions, served by a scripted HTTP peer: the client reads
// every variant into the same domain values, and refuses (MalformedResponseError) what it cannot.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { OstorClient } from '../../../shared/ostor/index.ts';
import { OstorClient as Client, MalformedResponseError } from '../../../shared/ostor/index.ts';
import { caught } from './harness.ts';
import type { Peer } from './peer.ts';
import { rawJson, startPeer } from './peer.ts';

const SECRET = 'drift-secret-drift-secret-drift-secret-00';
let peer: Peer;
let client: OstorClient;

beforeAll(async () => {
  peer = await startPeer();
  client = new Client({
    endpoint: peer.url,
    credentials: { accessKeyId: 'ca55631f9f3d59dcDF4M', secretAccessKey: SECRET },
    retry: { retries: 0 },
  });
});

beforeEach(() => {
  peer.requests.length = 0;
});

afterAll(async () => {
  await client.close();
  await peer.close();
});

const USER = {
  UserEmail: 'user@example.com',
  UserId: 'b09693b73b3c7686',
  State: 'enabled',
  OwnerId: '0000000000000000',
};

describe('users', () => {
  it('reads a bare array and a {"Users": [...]} list alike, ignoring extra fields', async () => {
    // Prepare
    const list = [
      { ...USER, Unknown: 1 },
      { ...USER, UserId: 'ca55631f9f3d59dc', State: 'Disabled' },
    ];

    // Act
    peer.answer(rawJson(JSON.stringify(list)));
    const bare = await client.listUsers();
    peer.answer(rawJson(JSON.stringify({ Users: list, Marker: 'x' })));
    const wrapped = await client.listUsers();
    peer.answer(rawJson('{"Users": null}'));
    const none = await client.listUsers();

    // Assess
    expect(bare).toEqual(wrapped);
    expect(bare.map((u) => [u.userId, u.state])).toEqual([
      ['b09693b73b3c7686', 'enabled'],
      ['ca55631f9f3d59dc', 'disabled'],
    ]);
    expect(bare[0]).not.toHaveProperty('Unknown');
    expect(none).toEqual([]);
  });

  it('reads AccountCount as a string or a number, Flags as an array or a string, missing lists as empty', async () => {
    // Act
    peer.answer(rawJson(JSON.stringify({ ...USER, AccountCount: '3', Flags: [], AWSAccessKeys: [] })));
    const asString = await client.getUser({ userId: USER.UserId });
    peer.answer(rawJson(JSON.stringify({ ...USER, AccountCount: 2, Flags: 'system, audit' })));
    const asNumber = await client.getUser({ userId: USER.UserId });

    // Assess
    expect(asString).toMatchObject({ accountCount: 3, flags: [], accessKeys: [], accounts: [] });
    expect(asNumber).toMatchObject({ accountCount: 2, flags: ['system', 'audit'], accessKeys: [] });
  });

  it('refuses a user in an unknown state, naming the field but not the secrets around it', async () => {
    // Prepare
    const keys = [
      {
        AWSAccessKeyId: 'b09693b73b3c7686FIGH',
        AWSSecretAccessKey: 'j02p4JBN1tWc4FEGxwZ8qW2jPCJBYP8RJ4KgBcZP',
      },
    ];
    peer.answer(rawJson(JSON.stringify({ ...USER, State: 'frozen', AWSAccessKeys: keys })));

    // Act
    const error = await caught(() => client.getUser({ userId: USER.UserId }));

    // Assess
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect((error as Error).message).toMatch(/State/);
    expect(JSON.stringify(error) + String((error as Error).message)).not.toContain(
      'j02p4JBN1tWc4FEGxwZ8qW2jPCJBYP8RJ4KgBcZP',
    );
  });

  it('takes the last pair when a genKey answer lists every pair', async () => {
    peer.answer(
      rawJson(
        JSON.stringify({
          ...USER,
          AWSAccessKeys: [
            { AWSAccessKeyId: 'b09693b73b3c7686OLD1', AWSSecretAccessKey: 'old' },
            { AWSAccessKeyId: 'b09693b73b3c7686NEW2', AWSSecretAccessKey: 'new' },
          ],
        }),
      ),
    );
    expect(await client.generateKey({ userId: USER.UserId })).toEqual({
      accessKeyId: 'b09693b73b3c7686NEW2',
      secretAccessKey: 'new',
    });
  });

  it('refuses an empty answer to genKey: the new key would be lost silently', async () => {
    peer.answer(rawJson(''));
    const error = await caught(() => client.generateKey({ userId: USER.UserId }));
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(error).toMatchObject({ outcomeUnknown: true });
  });

  it('ignores whatever body a disable, delete or set answers with', async () => {
    peer.answer(rawJson('not even json', 200));
    await client.disableUser({ userId: USER.UserId });
    peer.answer(rawJson('', 203));
    await client.deleteUser({ userId: USER.UserId });
    peer.answer(rawJson('', 204));
    await client.setQuota({ default: 'bucket' }, 5);
    expect(peer.requests.map((r) => r.method)).toEqual(['POST', 'DELETE', 'PUT']);
  });
});

describe('numbers', () => {
  it('reads limits printed as strings, as numbers, with units, or missing', async () => {
    // Act
    peer.answer(
      rawJson(
        '{"ops:default":"0.00","ops:get":"3600.00","ops:put":"0.00","ops:list":"0.00","ops:delete":"0.00","bandwidth:out":"100"}',
      ),
    );
    const strings = await client.getLimits({ bucket: 'client' });
    peer.answer(rawJson('{"ops:get":3600,"ops:put":0.5,"bandwidth:out":100,"extra":"x"}'));
    const numbers = await client.getLimits({ bucket: 'client' });
    peer.answer(rawJson('{"ops:get":"12.50ops/s","bandwidth:out":"7kbs/s"}'));
    const units = await client.getLimits({ bucket: 'client' });
    peer.answer(rawJson(''));
    const empty = await client.getLimits({ bucket: 'client' });

    // Assess
    expect(strings).toEqual({
      ops: { default: 0, get: 3600, put: 0, list: 0, delete: 0 },
      bandwidth: { out: 100 },
    });
    expect(numbers).toEqual({
      ops: { default: 0, get: 3600, put: 0.5, list: 0, delete: 0 },
      bandwidth: { out: 100 },
    });
    expect(units.ops.get).toBe(12.5);
    expect(units.bandwidth.out).toBe(7);
    expect(empty).toEqual({ ops: { default: 0, get: 0, put: 0, list: 0, delete: 0 }, bandwidth: { out: 0 } });
  });

  it('refuses a negative or non-numeric limit', async () => {
    peer.answer(rawJson('{"ops:get":"-1"}'));
    expect(await caught(() => client.getLimits({ bucket: 'client' }))).toBeInstanceOf(MalformedResponseError);
    peer.answer(rawJson('{"ops:get":"lots"}'));
    expect(await caught(() => client.getLimits({ bucket: 'client' }))).toBeInstanceOf(MalformedResponseError);
  });

  it('reads quotas with string or numeric fields, and no quota as undefined', async () => {
    // Act
    peer.answer(rawJson('{"version":"1","type":"1","size":"256"}'));
    const bucket = await client.getQuota({ bucket: 'bucket1' });
    peer.answer(rawJson('{"version":1,"type":0,"size":1024}'));
    const user = await client.getQuota({ userId: 'b09693b73b3c7686' });
    const none = [];
    for (const body of ['', '{}', 'null', '{"version":"1","type":"0","size":"0"}']) {
      peer.answer(rawJson(body));
      none.push(await client.getQuota({ default: 'user' }));
    }

    // Assess
    expect(bucket).toEqual({ type: 'bucket', sizeGb: 256 });
    expect(user).toEqual({ type: 'user', sizeGb: 1024 });
    expect(none).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('keeps bucket sizes beyond 2^53 exact, as bare JSON numbers or strings', async () => {
    // Prepare
    const body =
      '[{"size":{"current":"12288","h_integral":36028797018963971,"hmax":12288,"last_ts":424241},' +
      '"epoch":0,"owner_id":"ba7eba06129464c5","name":"bucketname","creation_date":"2018-05-25T17:12:00.000Z"}]';
    peer.answer(rawJson(body));

    // Act
    const [bucket] = await client.listBuckets();

    // Assess
    expect(bucket?.size).toEqual({
      current: 12288n,
      hIntegral: 36028797018963971n,
      hmax: 12288n,
      lastTs: 424241,
    });
  });

  it('keeps a service_id beyond 2^53 digit for digit', async () => {
    // Prepare
    const name = 's3-usage-800000000000006a-2017-02-01T16:31:54.000Z-1800';
    peer.answer(
      rawJson(
        '{"fmt_version":1,"service_id":18446744073709551557,"start_ts":1485966714,"period":1390,"nr_items":1,' +
          '"items":[{"key":{"bucket":"client","epoch":98309,"user_id":"b81d6c5f895a8c86","tag":""},' +
          '"counters":{"ops":{"put":"1","get":3,"list":0,"other":0},"net_io":{"uploaded":41258,"downloaded":18446744073709551615}}}]}',
      ),
    );

    // Act
    const usage = await client.getUsage(name);

    // Assess
    expect(usage.serviceId).toBe('18446744073709551557');
    expect(usage.items[0]?.bytes.downloaded).toBe(18446744073709551615n);
    expect(usage.items[0]?.ops.put).toBe(1);
  });

  it('reads truncated as a boolean or a string', async () => {
    peer.answer(
      rawJson('{"nr_items":1,"truncated":"true","items":["s3-usage-1-2017-02-01T16:31:54.000Z-1800"]}'),
    );
    expect((await client.listUsage()).truncated).toBe(true);
    peer.answer(rawJson('{"nr_items":0,"truncated":false,"items":null}'));
    expect(await client.listUsage()).toEqual({ names: [], truncated: false });
  });
});

describe('paging of statistics objects', () => {
  const names = (from: number, to: number) =>
    Array.from(
      { length: to - from },
      (_, i) => `s3-usage-1-2017-02-01T16:${String(from + i).padStart(2, '0')}:00.000Z-1800`,
    );

  it('yields each name once when a gateway repeats the after= name on the next page', async () => {
    // Prepare
    peer.answer((request, response) => {
      const after = new URL(request.url ?? '/', 'http://x').searchParams.get('after');
      const page = after === null ? names(0, 3) : names(2, 5);
      response.end(JSON.stringify({ truncated: after === null, items: page }));
    });

    // Act
    const seen: string[] = [];
    for await (const name of client.usageObjectNames({ pageSize: 3 })) seen.push(name);

    // Assess
    expect(seen).toEqual(names(0, 5));
    expect(peer.requests).toHaveLength(2);
  });

  it('stops with MalformedResponseError when a gateway ignores after= and keeps claiming more', async () => {
    // Prepare
    peer.answer(rawJson(JSON.stringify({ truncated: true, items: names(0, 2) })));

    // Act
    const error = await caught(async () => {
      for await (const _ of client.usageObjectNames()) {
        // draining
      }
    });

    // Assess
    expect(error).toBeInstanceOf(MalformedResponseError);
    expect(peer.requests).toHaveLength(2);
  });
});

describe('plain S3 XML', () => {
  it('decodes entities and character references in keys, and url-encoded keys when the gateway says so', async () => {
    // Prepare
    peer.answer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/xml' });
      response.end(
        '<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult><Name>b</Name><KeyCount>3</KeyCount>' +
          '<IsTruncated>true</IsTruncated><NextContinuationToken>tok+/=</NextContinuationToken>' +
          '<Contents><Key>a&amp;b&#13;&#x41; </Key><Size>5</Size></Contents>' +
          '<Contents><Key>0001</Key><Size>0</Size></Contents></ListBucketResult>',
      );
    });

    // Act
    const plain = await client.listObjects('b00');
    peer.answer((_request, response) => {
      response.end(
        '<ListBucketResult><EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>' +
          '<Contents><Key>a%20b%2Bc%0D</Key></Contents></ListBucketResult>',
      );
    });
    const encoded = await client.listObjects('b00');

    // Assess
    expect(plain.objects.map((o) => o.key)).toEqual(['a&b\rA ', '0001']);
    expect(plain.nextContinuationToken).toBe('tok+/=');
    expect(encoded.objects.map((o) => o.key)).toEqual(['a b+c\r']);
    expect(encoded.nextContinuationToken).toBeUndefined();
    expect(peer.requests[0]?.url).toBe('/b00?list-type=2&encoding-type=url');
  });

  it('reads DeleteObjects errors and an empty result', async () => {
    peer.answer(
      rawJson(
        '<DeleteResult><Deleted><Key>a</Key></Deleted><Error><Key>b</Key><Code>AccessDenied</Code><Message>no</Message></Error></DeleteResult>',
      ),
    );
    expect(await client.deleteObjects('b00', ['a', 'b'])).toEqual({
      deleted: ['a'],
      errors: [{ key: 'b', code: 'AccessDenied', message: 'no' }],
    });
    peer.answer(rawJson('<DeleteResult/>'));
    expect(await client.deleteObjects('b00', ['a'])).toEqual({ deleted: [], errors: [] });
  });

  it('reads versions without VersionId as null versions, and a version error with its VersionId', async () => {
    // Prepare
    peer.answer((_request, response) => {
      response.end(
        '<ListVersionsResult><IsTruncated>true</IsTruncated><NextKeyMarker>a%20b</NextKeyMarker>' +
          '<NextVersionIdMarker>v2</NextVersionIdMarker><EncodingType>url</EncodingType>' +
          '<Version><Key>a%20b</Key><IsLatest>true</IsLatest></Version>' +
          '<DeleteMarker><Key>c</Key><VersionId>v2</VersionId></DeleteMarker></ListVersionsResult>',
      );
    });

    // Act
    const listing = await client.listObjectVersions('b00');
    peer.answer(
      rawJson(
        '<DeleteResult><Error><Key>a</Key><VersionId>v1</VersionId><Code>AccessDenied</Code></Error></DeleteResult>',
      ),
    );
    const deleted = await client.deleteObjects('b00', [{ key: 'a', versionId: 'v1' }]);

    // Assess
    expect(listing).toEqual({
      versions: [
        { key: 'a b', versionId: 'null', isDeleteMarker: false, isLatest: true },
        { key: 'c', versionId: 'v2', isDeleteMarker: true },
      ],
      isTruncated: true,
      nextKeyMarker: 'a b',
      nextVersionIdMarker: 'v2',
    });
    expect(peer.requests[0]?.url).toBe('/b00?versions&encoding-type=url');
    expect(deleted.errors).toEqual([{ key: 'a', versionId: 'v1', code: 'AccessDenied' }]);
  });

  it('reads a gateway that ignores ?versions and ?uploads (answering an object listing) as holding none', async () => {
    // Prepare
    peer.answer((_request, response) => {
      response.end('<ListBucketResult><Contents><Key>k</Key></Contents></ListBucketResult>');
    });

    // Act
    const versions = await client.listObjectVersions('b00');
    const uploads = await client.listMultipartUploads('b00', { maxUploads: 10 });

    // Assess
    expect(versions).toEqual({ versions: [], isTruncated: false, unsupported: true });
    expect(uploads).toEqual({ uploads: [], isTruncated: false, unsupported: true });
    expect(peer.requests.map((r) => r.url)).toEqual([
      '/b00?versions&encoding-type=url',
      '/b00?uploads&encoding-type=url&max-uploads=10',
    ]);
  });

  it('answers MalformedResponseError for a listing that is not XML', async () => {
    peer.answer(rawJson('{"not":"xml"}'));
    expect(await caught(() => client.listObjects('b00'))).toBeInstanceOf(MalformedResponseError);
  });
});

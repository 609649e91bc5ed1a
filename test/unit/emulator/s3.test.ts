// Plain S3 on the emulator: buckets, uploads, ListObjectsV2, DeleteObjects with its Content-MD5
// rules, bucket deletion, ownership, and the admin size statistics kept in step.

import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/gateway.ts';
import { client, deleteBody, md5Base64, send, unescapeXml, xmlValues } from './http.ts';

let emulator: Emulator;
let admin: ReturnType<typeof client>;
let owner: ReturnType<typeof client>;
let ownerId: string;
let stranger: ReturnType<typeof client>;

beforeAll(async () => {
  emulator = await startEmulator();
  admin = client(emulator, emulator.createSystemUser('admin@example.com'));
  const user = emulator.state.createUser('owner@example.com');
  ownerId = user.id;
  const other = emulator.state.createUser('stranger@example.com');
  const [ownerKey] = user.keys;
  const [strangerKey] = other.keys;
  if (ownerKey === undefined || strangerKey === undefined) throw new Error('new users have keys');
  owner = client(emulator, ownerKey);
  stranger = client(emulator, strangerKey);
});

afterAll(async () => {
  await emulator.close();
});

function seed(bucket: string, keys: readonly string[]): void {
  emulator.state.createBucket(ownerId, bucket);
  for (const key of keys) emulator.state.putObject(bucket, key, `body of ${key}`);
}

async function listAll(bucket: string, query: string): Promise<{ pages: string[][]; truncations: string[] }> {
  const pages: string[][] = [];
  const truncations: string[] = [];
  let token: string | undefined;
  do {
    const target = `/${bucket}?list-type=2${query}${token === undefined ? '' : `&continuation-token=${encodeURIComponent(token)}`}`;
    const answer = await owner.call('GET', target);
    expect(answer.status).toBe(200);
    pages.push(xmlValues(answer.text, 'Key').map(unescapeXml));
    truncations.push(xmlValues(answer.text, 'IsTruncated')[0] ?? '');
    token = xmlValues(answer.text, 'NextContinuationToken')[0];
  } while (token !== undefined);
  return { pages, truncations };
}

describe('buckets and uploads', () => {
  it('creates a bucket owned by the caller, refuses a taken name (409) and an invalid one (400)', async () => {
    // Act
    const created = await owner.call('PUT', '/new-bucket');
    const taken = await stranger.call('PUT', '/new-bucket');
    const invalid = await owner.call('PUT', '/Not_Valid');

    // Assess
    expect(created.status).toBe(200);
    expect(emulator.state.buckets.get('new-bucket')?.ownerId).toBe(ownerId);
    expect(taken.status).toBe(409);
    expect(taken.text).toContain('<Code>BucketAlreadyExists</Code>');
    expect(invalid.status).toBe(400);
  });

  it('uploads objects over S3 and keeps the admin size statistics in step', async () => {
    // Act
    const first = await owner.call('PUT', '/new-bucket/a.txt', { body: 'x'.repeat(100) });
    await owner.call('PUT', '/new-bucket/b.txt', { body: 'y'.repeat(50) });
    const afterPuts = { ...emulator.state.buckets.get('new-bucket')?.size };
    await owner.call('DELETE', '/new-bucket/a.txt');
    const sizes = await admin.json<{ Buckets: { size: { current: number; hmax: number } }[] }>(
      'GET',
      '/?ostor-buckets&bucket=new-bucket',
    );

    // Assess
    expect(first.status).toBe(200);
    expect(first.headers.etag).toBe(`"${createHash('md5').update('x'.repeat(100)).digest('hex')}"`);
    expect(afterPuts.current).toBe(150);
    expect(sizes.Buckets[0]?.size).toMatchObject({ current: 50, hmax: 150 });
  });

  it('checks a Content-MD5 sent with an upload (400 BadDigest when wrong)', async () => {
    // Act
    const good = await owner.call('PUT', '/new-bucket/md5', {
      body: 'abc',
      headers: { 'content-md5': md5Base64('abc') },
    });
    const bad = await owner.call('PUT', '/new-bucket/md5-bad', {
      body: 'abc',
      headers: { 'content-md5': md5Base64('abd') },
    });

    // Assess
    expect(good.status).toBe(200);
    expect(bad.status).toBe(400);
    expect(bad.text).toContain('<Code>BadDigest</Code>');
    expect(emulator.state.buckets.get('new-bucket')?.objects.has('md5-bad')).toBe(false);
  });

  it('keeps a normal user out of another user’s bucket (403) while the system user may act on it', async () => {
    // Act
    const list = await stranger.call('GET', '/new-bucket?list-type=2');
    const upload = await stranger.call('PUT', '/new-bucket/intruder', { body: 'x' });
    const remove = await stranger.call('DELETE', '/new-bucket');
    const bySystem = await admin.call('GET', '/new-bucket?list-type=2');

    // Assess
    expect([list.status, upload.status, remove.status]).toEqual([403, 403, 403]);
    expect(list.text).toContain('<Code>AccessDenied</Code>');
    expect(bySystem.status).toBe(200);
  });

  it('reads an object back with GET and HEAD', async () => {
    // Act
    const got = await owner.call('GET', '/new-bucket/b.txt');
    const head = await owner.call('HEAD', '/new-bucket/b.txt');
    const missing = await owner.call('GET', '/new-bucket/none');

    // Assess
    expect(got.text).toBe('y'.repeat(50));
    expect(head.headers['content-length']).toBe('50');
    expect(missing.status).toBe(404);
  });
});

describe('ListObjectsV2', () => {
  it('pages with max-keys and continuation tokens, in UTF-8 byte order, XML-escaped', async () => {
    // Prepare
    const keys = ['a&b<c>', 'b "q"', 'c/d', 'photos/1.jpg', 'photos/2.jpg', '\u{1F600}', '\uFF21', 'z'];
    seed('listing', keys);

    // Act
    const { pages, truncations } = await listAll('listing', '&max-keys=3');

    // Assess
    expect(pages).toEqual([
      ['a&b<c>', 'b "q"', 'c/d'],
      ['photos/1.jpg', 'photos/2.jpg', 'z'],
      ['\uFF21', '\u{1F600}'],
    ]);
    expect(truncations).toEqual(['true', 'true', 'false']);
  });

  it('answers Name, Prefix, KeyCount, MaxKeys and Contents with Size, ETag and LastModified', async () => {
    // Act
    const answer = await owner.call('GET', '/listing?list-type=2&prefix=photos%2F&max-keys=1');

    // Assess
    expect(answer.headers['content-type']).toBe('application/xml');
    expect(xmlValues(answer.text, 'Name')).toEqual(['listing']);
    expect(xmlValues(answer.text, 'Prefix')).toEqual(['photos/']);
    expect(xmlValues(answer.text, 'KeyCount')).toEqual(['1']);
    expect(xmlValues(answer.text, 'MaxKeys')).toEqual(['1']);
    expect(xmlValues(answer.text, 'Key')).toEqual(['photos/1.jpg']);
    expect(xmlValues(answer.text, 'Size')).toEqual([String('body of photos/1.jpg'.length)]);
    expect(xmlValues(answer.text, 'ETag')[0]).toMatch(/^&quot;[0-9a-f]{32}&quot;$/);
    expect(xmlValues(answer.text, 'LastModified')[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(xmlValues(answer.text, 'IsTruncated')).toEqual(['true']);
  });

  it('starts after start-after, and rolls keys up to CommonPrefixes with a delimiter', async () => {
    // Act
    const after = await owner.call('GET', '/listing?list-type=2&start-after=photos%2F1.jpg');
    const rolled = await owner.call('GET', '/listing?list-type=2&delimiter=%2F');

    // Assess
    expect(xmlValues(after.text, 'Key').map(unescapeXml)).toEqual([
      'photos/2.jpg',
      'z',
      '\uFF21',
      '\u{1F600}',
    ]);
    expect(xmlValues(rolled.text, 'Prefix')).toEqual(['', 'c/', 'photos/']);
    expect(xmlValues(rolled.text, 'Key').map(unescapeXml)).toEqual([
      'a&b<c>',
      'b "q"',
      'z',
      '\uFF21',
      '\u{1F600}',
    ]);
  });

  it('answers 404 NoSuchBucket for an absent bucket and 400 for a bad token or max-keys', async () => {
    // Act
    const absent = await owner.call('GET', '/absent-bucket?list-type=2');
    const token = await owner.call('GET', '/listing?list-type=2&continuation-token=%25%25');
    const maxKeys = await owner.call('GET', '/listing?list-type=2&max-keys=-1');

    // Assess
    expect(absent.status).toBe(404);
    expect(absent.text).toContain('<Code>NoSuchBucket</Code>');
    expect([token.status, maxKeys.status]).toEqual([400, 400]);
  });
});

describe('DeleteObjects (POST ?delete)', () => {
  it('requires Content-MD5 (400 InvalidRequest) and refuses a wrong one (400 BadDigest)', async () => {
    // Prepare
    seed('deleting', ['k1', 'k2']);
    const body = deleteBody(['k1']);

    // Act
    const missing = await owner.call('POST', '/deleting?delete', { body });
    const wrong = await owner.call('POST', '/deleting?delete', {
      body,
      headers: { 'content-md5': md5Base64('other') },
    });

    // Assess
    expect(missing.status).toBe(400);
    expect(missing.text).toContain('<Code>InvalidRequest</Code>');
    expect(missing.message).toBe('Missing required header for this request: Content-MD5');
    expect(wrong.status).toBe(400);
    expect(wrong.text).toContain('<Code>BadDigest</Code>');
    expect(emulator.state.buckets.get('deleting')?.objects.size).toBe(2);
  });

  it('deletes the keys, reports each as Deleted, and counts an absent key as deleted', async () => {
    // Prepare
    const body = deleteBody(['k1', 'never-existed']);

    // Act
    const answer = await owner.call('POST', '/deleting?delete', {
      body,
      headers: { 'content-md5': md5Base64(body) },
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.text).toContain('<DeleteResult');
    expect(xmlValues(answer.text, 'Key')).toEqual(['k1', 'never-existed']);
    expect([...(emulator.state.buckets.get('deleting')?.objects.keys() ?? [])]).toEqual(['k2']);
  });

  it('answers nothing but errors in quiet mode', async () => {
    // Prepare
    const body = deleteBody(['k2'], true);

    // Act
    const answer = await owner.call('POST', '/deleting?delete', {
      body,
      headers: { 'content-md5': md5Base64(body) },
    });

    // Assess
    expect(answer.status).toBe(200);
    expect(xmlValues(answer.text, 'Deleted')).toEqual([]);
    expect(emulator.state.buckets.get('deleting')?.objects.size).toBe(0);
  });

  it('takes at most 1,000 keys (400 MalformedXML beyond) and refuses XML that is not well-formed', async () => {
    // Prepare
    const tooMany = deleteBody(Array.from({ length: 1001 }, (_, i) => `k${i}`));
    const exactly = deleteBody(
      Array.from({ length: 1000 }, (_, i) => `k${i}`),
      true,
    );
    const broken = '<Delete><Object><Key>k</Key></Delete>';

    // Act
    const over = await owner.call('POST', '/deleting?delete', {
      body: tooMany,
      headers: { 'content-md5': md5Base64(tooMany) },
    });
    const limit = await owner.call('POST', '/deleting?delete', {
      body: exactly,
      headers: { 'content-md5': md5Base64(exactly) },
    });
    const malformed = await owner.call('POST', '/deleting?delete', {
      body: broken,
      headers: { 'content-md5': md5Base64(broken) },
    });

    // Assess
    expect(over.status).toBe(400);
    expect(over.text).toContain('<Code>MalformedXML</Code>');
    expect(limit.status).toBe(200);
    expect(malformed.status).toBe(400);
  });

  it('decodes XML escapes in keys and keeps whitespace', async () => {
    // Prepare
    emulator.state.putObject('deleting', ' a&b ', 'x');
    const body = deleteBody([' a&b ']);

    // Act
    const answer = await owner.call('POST', '/deleting?delete', {
      body,
      headers: { 'content-md5': md5Base64(body) },
    });

    // Assess
    expect(xmlValues(answer.text, 'Key')).toEqual([' a&amp;b ']);
    expect(emulator.state.buckets.get('deleting')?.objects.size).toBe(0);
  });
});

describe('deleting buckets (DELETE /bucket)', () => {
  it('refuses a bucket with objects (409 BucketNotEmpty), deletes an empty one (204), then 404', async () => {
    // Prepare
    seed('to-delete', ['only']);

    // Act
    const notEmpty = await owner.call('DELETE', '/to-delete');
    await owner.call('DELETE', '/to-delete/only');
    const deleted = await owner.call('DELETE', '/to-delete');
    const absent = await owner.call('DELETE', '/to-delete');

    // Assess
    expect(notEmpty.status).toBe(409);
    expect(notEmpty.text).toContain('<Code>BucketNotEmpty</Code>');
    expect(deleted.status).toBe(204);
    expect(emulator.state.buckets.has('to-delete')).toBe(false);
    expect(absent.status).toBe(404);
    expect(absent.text).toContain('<Code>NoSuchBucket</Code>');
  });

  it('counts empty objects: a bucket holding only zero-byte objects is not empty', async () => {
    // Prepare
    emulator.state.createBucket(ownerId, 'zero-bytes');
    emulator.state.putObject('zero-bytes', 'empty', '');

    // Act
    const answer = await owner.call('DELETE', '/zero-bytes');

    // Assess
    expect(emulator.state.buckets.get('zero-bytes')?.size.current).toBe(0);
    expect(answer.status).toBe(409);
  });

  it('answers 501 for sub-resources it does not emulate', async () => {
    // Act
    const answer = await owner.call('GET', '/listing?acl');

    // Assess
    expect(answer.status).toBe(501);
  });
});

describe('the service root', () => {
  it('lists the caller’s own buckets', async () => {
    // Act
    const answer = await send(
      emulator,
      { accessKeyId: '', secretAccessKey: '' },
      { method: 'GET', target: '/', version: null },
    );
    const mine = await owner.call('GET', '/');

    // Assess
    expect(answer.status).toBe(403);
    expect(xmlValues(mine.text, 'Name')).toContain('listing');
    expect(xmlValues(mine.text, 'Name')).not.toContain('absent-bucket');
  });
});

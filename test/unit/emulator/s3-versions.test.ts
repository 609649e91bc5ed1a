// Plain S3 on the emulator beyond objects: bucket versioning, object versions and delete markers,
// ListObjectVersions paging, DeleteObjects by version id, minimal multipart uploads, and bucket
// deletion refused while any of them remains; the admin size statistics kept in step.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/gateway.ts';
import { client, md5Base64, unescapeXml, xmlValues } from './http.ts';

let emulator: Emulator;
let owner: ReturnType<typeof client>;
let ownerId: string;
let stranger: ReturnType<typeof client>;
let counter = 0;

beforeAll(async () => {
  emulator = await startEmulator();
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

function newBucket(versioning?: 'Enabled' | 'Suspended'): string {
  counter += 1;
  const name = `versions-${counter}`;
  emulator.state.createBucket(ownerId, name);
  if (versioning !== undefined) emulator.state.setVersioning(name, versioning);
  return name;
}

const versioningBody = (status: string): string =>
  `<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Status>${status}</Status></VersioningConfiguration>`;

/** Versions and delete markers of one ListObjectVersions answer, in document order. */
function entriesOf(xml: string): { kind: string; key: string; versionId: string; latest: string }[] {
  const entries: { kind: string; key: string; versionId: string; latest: string }[] = [];
  for (const match of xml.matchAll(/<(Version|DeleteMarker)>([\s\S]*?)<\/\1>/g)) {
    const body = match[2] ?? '';
    entries.push({
      kind: match[1] ?? '',
      key: unescapeXml(xmlValues(body, 'Key')[0] ?? ''),
      versionId: xmlValues(body, 'VersionId')[0] ?? '',
      latest: xmlValues(body, 'IsLatest')[0] ?? '',
    });
  }
  return entries;
}

describe('bucket versioning (?versioning)', () => {
  it('reads unset, enables and suspends versioning with the S3 XML body', async () => {
    // Prepare
    const bucket = newBucket();

    // Act
    const unset = await owner.call('GET', `/${bucket}?versioning`);
    const enabled = await owner.call('PUT', `/${bucket}?versioning`, { body: versioningBody('Enabled') });
    const afterEnable = await owner.call('GET', `/${bucket}?versioning`);
    const body = versioningBody('Suspended');
    const suspended = await owner.call('PUT', `/${bucket}?versioning`, {
      body,
      headers: { 'content-md5': md5Base64(body) },
    });

    // Assess
    expect(unset.status).toBe(200);
    expect(unset.text).toContain('<VersioningConfiguration');
    expect(xmlValues(unset.text, 'Status')).toEqual([]);
    expect(enabled.status).toBe(200);
    expect(xmlValues(afterEnable.text, 'Status')).toEqual(['Enabled']);
    expect(suspended.status).toBe(200);
    expect(emulator.state.buckets.get(bucket)?.versioning).toBe('Suspended');
  });

  it('refuses an unknown status or a body that is not XML (400 MalformedXML), and a stranger (403)', async () => {
    // Prepare
    const bucket = newBucket();

    // Act
    const unknown = await owner.call('PUT', `/${bucket}?versioning`, { body: versioningBody('On') });
    const notXml = await owner.call('PUT', `/${bucket}?versioning`, { body: 'Enabled' });
    const foreign = await stranger.call('PUT', `/${bucket}?versioning`, { body: versioningBody('Enabled') });

    // Assess
    expect(unknown.status).toBe(400);
    expect(unknown.text).toContain('<Code>MalformedXML</Code>');
    expect(notXml.status).toBe(400);
    expect(foreign.status).toBe(403);
    expect(emulator.state.buckets.get(bucket)?.versioning).toBeUndefined();
  });
});

describe('object versions and delete markers', () => {
  it('keeps every version of a key, serves the latest or a named one, and counts all their bytes', async () => {
    // Prepare
    const bucket = newBucket('Enabled');

    // Act
    const first = await owner.call('PUT', `/${bucket}/doc.txt`, { body: 'one' });
    const second = await owner.call('PUT', `/${bucket}/doc.txt`, { body: 'second' });
    const latest = await owner.call('GET', `/${bucket}/doc.txt`);
    const firstId = String(first.headers['x-amz-version-id']);
    const old = await owner.call('GET', `/${bucket}/doc.txt?versionId=${encodeURIComponent(firstId)}`);

    // Assess
    expect(firstId).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(second.headers['x-amz-version-id']).not.toBe(firstId);
    expect(latest.text).toBe('second');
    expect(latest.headers['x-amz-version-id']).toBe(second.headers['x-amz-version-id']);
    expect(old.text).toBe('one');
    expect(emulator.state.buckets.get(bucket)?.size.current).toBe('one'.length + 'second'.length);
  });

  it('DELETE without a version id adds a delete marker: the key is hidden, the bucket still not deletable', async () => {
    // Prepare
    const bucket = newBucket('Enabled');
    emulator.state.putObject(bucket, 'a', 'v1');
    emulator.state.putObject(bucket, 'a', 'v2');

    // Act
    const deleted = await owner.call('DELETE', `/${bucket}/a`);
    const get = await owner.call('GET', `/${bucket}/a`);
    const listing = await owner.call('GET', `/${bucket}?list-type=2`);
    const versions = await owner.call('GET', `/${bucket}?versions`);
    const deleteBucket = await owner.call('DELETE', `/${bucket}`);

    // Assess
    expect(deleted.status).toBe(204);
    expect(deleted.headers['x-amz-delete-marker']).toBe('true');
    expect(get.status).toBe(404);
    expect(xmlValues(listing.text, 'Key')).toEqual([]);
    expect(entriesOf(versions.text).map((e) => [e.kind, e.key, e.latest])).toEqual([
      ['DeleteMarker', 'a', 'true'],
      ['Version', 'a', 'false'],
      ['Version', 'a', 'false'],
    ]);
    expect(entriesOf(versions.text)[0]?.versionId).toBe(deleted.headers['x-amz-version-id']);
    expect(deleteBucket.status).toBe(409);
    expect(deleteBucket.text).toContain('<Code>BucketNotEmpty</Code>');
    expect(emulator.state.buckets.get(bucket)?.size.current).toBe(4);
  });

  it('DELETE ?versionId= removes that version for good; removing the marker restores the key', async () => {
    // Prepare
    const bucket = newBucket('Enabled');
    const older = emulator.state.putObject(bucket, 'k', 'older');
    emulator.state.putObject(bucket, 'k', 'newer');
    const marker = emulator.state.deleteCurrent(bucket, 'k').deleteMarkerVersionId ?? '';

    // Act
    const unmark = await owner.call('DELETE', `/${bucket}/k?versionId=${marker}`);
    const restored = await owner.call('GET', `/${bucket}/k`);
    const history = emulator.state.buckets.get(bucket)?.versions.get('k') ?? [];
    for (const version of [...history]) {
      await owner.call('DELETE', `/${bucket}/k?versionId=${version.versionId}`);
    }
    const absent = await owner.call('DELETE', `/${bucket}/k?versionId=${older.versionId}`);
    const deleteBucket = await owner.call('DELETE', `/${bucket}`);

    // Assess
    expect(unmark.status).toBe(204);
    expect(unmark.headers['x-amz-delete-marker']).toBe('true');
    expect(restored.text).toBe('newer');
    expect(absent.status).toBe(204);
    expect(deleteBucket.status).toBe(204);
    expect(emulator.state.buckets.has(bucket)).toBe(false);
  });

  it('while suspended, a PUT replaces the null version and keeps the versioned ones', async () => {
    // Prepare
    const bucket = newBucket('Enabled');
    emulator.state.putObject(bucket, 'k', 'versioned');
    emulator.state.setVersioning(bucket, 'Suspended');

    // Act
    const first = await owner.call('PUT', `/${bucket}/k`, { body: 'null-1' });
    await owner.call('PUT', `/${bucket}/k`, { body: 'null-two' });
    const versions = await owner.call('GET', `/${bucket}?versions`);

    // Assess
    expect(first.headers['x-amz-version-id']).toBe('null');
    expect(entriesOf(versions.text).map((e) => e.versionId)[0]).toBe('null');
    expect(entriesOf(versions.text)).toHaveLength(2);
    expect(emulator.state.buckets.get(bucket)?.size.current).toBe('versioned'.length + 'null-two'.length);
  });

  it('an unversioned bucket lists its objects as null versions and deletes one by versionId=null', async () => {
    // Prepare
    const bucket = newBucket();
    emulator.state.putObject(bucket, 'plain', 'x');

    // Act
    const put = await owner.call('PUT', `/${bucket}/other`, { body: 'y' });
    const versions = await owner.call('GET', `/${bucket}?versions`);
    const deleted = await owner.call('DELETE', `/${bucket}/plain?versionId=null`);

    // Assess
    expect(put.headers['x-amz-version-id']).toBeUndefined();
    expect(entriesOf(versions.text)).toEqual([
      { kind: 'Version', key: 'other', versionId: 'null', latest: 'true' },
      { kind: 'Version', key: 'plain', versionId: 'null', latest: 'true' },
    ]);
    expect(deleted.status).toBe(204);
    expect(emulator.state.buckets.get(bucket)?.objects.has('plain')).toBe(false);
    expect(emulator.state.buckets.get(bucket)?.size.current).toBe(1);
  });
});

describe('ListObjectVersions (GET ?versions)', () => {
  it('pages with max-keys, key-marker and version-id-marker, each entry once, keys URL-encoded on request', async () => {
    // Prepare
    const bucket = newBucket('Enabled');
    const keys = ['a b', 'c&d', 'dir/ü'];
    for (const key of keys) {
      emulator.state.putObject(bucket, key, '1');
      emulator.state.putObject(bucket, key, '2');
    }
    emulator.state.deleteCurrent(bucket, 'c&d');

    // Act
    const seen: string[] = [];
    const truncations: string[] = [];
    let query = '';
    for (;;) {
      const answer = await owner.call('GET', `/${bucket}?versions&encoding-type=url&max-keys=3${query}`);
      expect(answer.status).toBe(200);
      for (const entry of entriesOf(answer.text))
        seen.push(`${decodeURIComponent(entry.key)}@${entry.versionId}`);
      truncations.push(xmlValues(answer.text, 'IsTruncated')[0] ?? '');
      const nextKey = xmlValues(answer.text, 'NextKeyMarker')[0];
      const nextVersion = xmlValues(answer.text, 'NextVersionIdMarker')[0];
      if (nextKey === undefined || nextVersion === undefined) break;
      query = `&key-marker=${encodeURIComponent(decodeURIComponent(nextKey))}&version-id-marker=${nextVersion}`;
    }

    // Assess
    const expected = keys.flatMap((key) =>
      (emulator.state.buckets.get(bucket)?.versions.get(key) ?? []).map((v) => `${key}@${v.versionId}`),
    );
    expect(seen).toEqual(expected);
    expect(seen).toHaveLength(7);
    expect(truncations).toEqual(['true', 'true', 'false']);
  });

  it('refuses a version-id-marker without a key-marker, and a stranger', async () => {
    // Prepare
    const bucket = newBucket('Enabled');

    // Act
    const noKeyMarker = await owner.call('GET', `/${bucket}?versions&version-id-marker=abc`);
    const foreign = await stranger.call('GET', `/${bucket}?versions`);

    // Assess
    expect(noKeyMarker.status).toBe(400);
    expect(foreign.status).toBe(403);
  });
});

describe('DeleteObjects with version ids', () => {
  it('removes the named versions and markers, and reports each with its VersionId', async () => {
    // Prepare
    const bucket = newBucket('Enabled');
    const v1 = emulator.state.putObject(bucket, 'k', 'abc');
    const v2 = emulator.state.putObject(bucket, 'k', 'de');
    const marker = emulator.state.deleteCurrent(bucket, 'k').deleteMarkerVersionId ?? '';
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><Delete>' +
      [v1.versionId, v2.versionId, marker]
        .map((id) => `<Object><Key>k</Key><VersionId>${id}</VersionId></Object>`)
        .join('') +
      '<Object><Key>other</Key></Object></Delete>';

    // Act
    const answer = await owner.call('POST', `/${bucket}?delete`, {
      body,
      headers: { 'content-md5': md5Base64(body) },
    });
    const deleteBucket = await owner.call('DELETE', `/${bucket}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(xmlValues(answer.text, 'VersionId')).toEqual([v1.versionId, v2.versionId, marker]);
    // The marker deleted by id, and the new marker DeleteObjects put on `other` without one.
    expect(xmlValues(answer.text, 'DeleteMarker')).toEqual(['true', 'true']);
    expect(emulator.state.buckets.get(bucket)?.versions.has('k')).toBe(false);
    expect(emulator.state.buckets.get(bucket)?.size.current).toBe(0);
    expect(deleteBucket.status).toBe(409);
  });
});

describe('multipart uploads (initiate, list, abort)', () => {
  it('initiates uploads, lists them page by page, refuses to delete the bucket until all are aborted', async () => {
    // Prepare
    const bucket = newBucket();

    // Act
    const initiated: string[] = [];
    for (const key of ['big/one', 'big/two', 'big/one']) {
      const answer = await owner.call('POST', `/${bucket}/${key}?uploads`);
      expect(answer.status).toBe(200);
      initiated.push(xmlValues(answer.text, 'UploadId')[0] ?? '');
    }
    const firstPage = await owner.call('GET', `/${bucket}?uploads&max-uploads=2`);
    const nextKey = xmlValues(firstPage.text, 'NextKeyMarker')[0] ?? '';
    const nextId = xmlValues(firstPage.text, 'NextUploadIdMarker')[0] ?? '';
    const secondPage = await owner.call(
      'GET',
      `/${bucket}?uploads&max-uploads=2&key-marker=${encodeURIComponent(nextKey)}&upload-id-marker=${nextId}`,
    );
    const refused = await owner.call('DELETE', `/${bucket}`);
    const part = await owner.call('PUT', `/${bucket}/big/one?partNumber=1&uploadId=${initiated[0]}`, {
      body: 'x',
    });
    for (const [i, key] of ['big/one', 'big/two', 'big/one'].entries()) {
      const aborted = await owner.call('DELETE', `/${bucket}/${key}?uploadId=${initiated[i]}`);
      expect(aborted.status).toBe(204);
    }
    const again = await owner.call('DELETE', `/${bucket}/big/two?uploadId=${initiated[1]}`);
    const deleted = await owner.call('DELETE', `/${bucket}`);

    // Assess
    expect(xmlValues(firstPage.text, 'IsTruncated')).toEqual(['true']);
    expect(xmlValues(firstPage.text, 'Key')).toEqual(['big/one', 'big/one']);
    expect(xmlValues(secondPage.text, 'Key')).toEqual(['big/two']);
    expect(xmlValues(secondPage.text, 'IsTruncated')).toEqual(['false']);
    expect(
      [...xmlValues(firstPage.text, 'UploadId'), ...xmlValues(secondPage.text, 'UploadId')].sort(),
    ).toEqual([...initiated].sort());
    expect(refused.status).toBe(409);
    expect(refused.text).toContain('<Code>BucketNotEmpty</Code>');
    expect(part.status).toBe(501);
    expect(again.status).toBe(404);
    expect(again.text).toContain('<Code>NoSuchUpload</Code>');
    expect(deleted.status).toBe(204);
  });

  it('refuses to abort an upload under another key (404) and a stranger’s listing (403)', async () => {
    // Prepare
    const bucket = newBucket();
    const upload = emulator.state.createMultipartUpload(bucket, 'mine');

    // Act
    const wrongKey = await owner.call('DELETE', `/${bucket}/theirs?uploadId=${upload.uploadId}`);
    const foreign = await stranger.call('GET', `/${bucket}?uploads`);

    // Assess
    expect(wrongKey.status).toBe(404);
    expect(foreign.status).toBe(403);
    expect(emulator.state.buckets.get(bucket)?.uploads.size).toBe(1);
  });
});

// Signature V2: the S3 documentation vectors, the VHI admin rule, header canonicalisation, verification.

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { InvalidInputError } from '../../../shared/errors.ts';
import type { SignableRequest } from '../../../shared/signing/sigv2.ts';
import {
  canonicalizedResourceV2,
  presignUrlV2,
  requestDateV2,
  signatureV2,
  signRequestV2,
  stringToSignV2,
  verifyRequestV2,
} from '../../../shared/signing/sigv2.ts';

const vectorFile = z.object({
  credentials: z.object({ accessKeyId: z.string(), secretAccessKey: z.string() }),
  examples: z.array(
    z.object({
      id: z.string(),
      request: z.string(),
      stringToSign: z.string(),
      signature: z.string(),
      authorization: z.string(),
    }),
  ),
  derived: z.array(
    z.object({ id: z.string(), stringToSign: z.string(), requestTarget: z.string(), signature: z.string() }),
  ),
  notReproducible: z.array(
    z.object({ where: z.string(), note: z.string(), publishedSignature: z.string().optional() }),
  ),
});
const vectors = vectorFile.parse(
  JSON.parse(readFileSync(new URL('../../vectors/sigv2-s3-docs.json', import.meta.url), 'utf8')),
);
const { credentials } = vectors;
const lookupSecret = (id: string): string | undefined =>
  id === credentials.accessKeyId ? credentials.secretAccessKey : undefined;

/** Splits a request target at the first '?'. */
function splitTarget(target: string): { path: string; query: string } {
  const question = target.indexOf('?');
  return question === -1
    ? { path: target, query: '' }
    : { path: target.slice(0, question), query: target.slice(question + 1) };
}

/**
 * Parses a documented request (`METHOD target HTTP/1.1` + `Name: value` lines; repeated names become
 * lists) and works out the virtual-host bucket from Host as S3 does: `<bucket>.s3.amazonaws.com`,
 * no bucket for `s3.amazonaws.com`, and the whole host name for a CNAME.
 */
function parseDocumentedRequest(text: string): { request: SignableRequest; bucket: string | undefined } {
  const [requestLine = '', ...lines] = text.split('\n');
  const [method = '', target = ''] = requestLine.split(' ');
  const headers: Record<string, string[]> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    const name = line.slice(0, colon);
    headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()];
  }
  const host = (headers.Host?.[0] ?? '').replace(/:\d+$/, '');
  const bucket =
    host === 's3.amazonaws.com' ? undefined : host.endsWith('.s3.amazonaws.com') ? host.split('.')[0] : host;
  return { request: { method, ...splitTarget(target), headers }, bucket };
}

const withBucket = (bucket: string | undefined): { bucket?: string } =>
  bucket === undefined ? {} : { bucket };

describe('Signature V2: the S3 documentation examples (johnsmith edition)', () => {
  const headerExamples = vectors.examples.filter((example) => example.id !== 'query-string-auth');

  it('holds the 9 documented examples and 3 derived ones', () => {
    // Assess
    expect(vectors.examples.map((example) => example.id)).toEqual([
      'object-get',
      'object-put',
      'list',
      'fetch-acl',
      'delete-x-amz-date',
      'upload-amz-headers',
      'list-all-my-buckets',
      'unicode-keys',
      'query-string-auth',
    ]);
    expect(vectors.derived).toHaveLength(3);
  });

  it.each(headerExamples)('$id: string to sign, signature and Authorization', (example) => {
    // Prepare
    const { request, bucket } = parseDocumentedRequest(example.request);

    // Act
    const stringToSign = stringToSignV2(request, withBucket(bucket));
    const added = signRequestV2(request, credentials, withBucket(bucket));

    // Assess
    expect(stringToSign).toBe(example.stringToSign);
    expect(signatureV2(credentials.secretAccessKey, stringToSign)).toBe(example.signature);
    expect(added).toEqual({ Authorization: example.authorization });
  });

  it.each(headerExamples)('$id: the signed request verifies on the server side', (example) => {
    // Prepare
    const { request, bucket } = parseDocumentedRequest(example.request);
    const signed = { ...request, headers: { ...request.headers, Authorization: example.authorization } };

    // Act
    const result = verifyRequestV2(signed, lookupSecret, withBucket(bucket));

    // Assess
    expect(result).toEqual({ ok: true, accessKeyId: credentials.accessKeyId });
  });

  it('query-string-auth: the presigned URL reproduces the documented one', () => {
    // Prepare
    const example = vectors.examples.find((candidate) => candidate.id === 'query-string-auth');
    const { request: documented, bucket } = parseDocumentedRequest(example?.request ?? '');
    const request = { ...documented, query: '' };

    // Act
    const fromNumber = presignUrlV2(request, credentials, { expires: 1175139620, ...withBucket(bucket) });
    const fromDate = presignUrlV2(request, credentials, {
      expires: new Date(1175139620_000),
      ...withBucket(bucket),
    });
    const stringToSign = stringToSignV2(request, { expires: '1175139620', ...withBucket(bucket) });

    // Assess
    expect(stringToSign).toBe(example?.stringToSign);
    expect(fromNumber).toBe(`${documented.path}?${documented.query}`);
    expect(fromNumber).toBe(
      '/photos/puppy.jpg?AWSAccessKeyId=AKIAIOSFODNN7EXAMPLE&Signature=NpgCjnDzrM%2BWFzoENXmpNDUsSn8%3D&Expires=1175139620',
    );
    expect(fromDate).toBe(fromNumber);
  });

  it.each(vectors.derived)('$id: VHI admin form signs only the ostor- service', (vector) => {
    // Prepare
    const [method = '', , , date = ''] = vector.stringToSign.split('\n');
    const request: SignableRequest = {
      method,
      ...splitTarget(vector.requestTarget),
      headers: { Date: date },
    };

    // Act
    const stringToSign = stringToSignV2(request);
    const added = signRequestV2(request, credentials);

    // Assess
    expect(stringToSign).toBe(vector.stringToSign);
    expect(added).toEqual({ Authorization: `AWS ${credentials.accessKeyId}:${vector.signature}` });
  });

  it.each([
    [
      'page intro',
      'GET\n\n\nMon, 26 Mar 2007 19:37:58 +0000\n/johnsmith/photos/puppy.jpg',
      'j13QHXoC1R3TD0fTtFwNKK5DM3w=',
    ],
    [
      'Creating a Signature',
      'GET\n\n\n1141889120\n/johnsmith/photos/puppy.jpg',
      'fScKGHCDI0NY5E7CYp9Vc8VKMbY=',
    ],
    [
      'CURRENT docs',
      'GET\n\n\nTue, 27 Mar 2007 19:36:42 +0000\n/awsexamplebucket1/photos/puppy.jpg',
      'qgk2+6Sv9/oM7G3qLEjTH1a1l1g=',
    ],
  ])(
    'notReproducible (%s): the obvious string to sign gives %s, not the published value',
    (where, sts, actual) => {
      // Prepare
      const entry = vectors.notReproducible.find((candidate) => candidate.where.includes(where));

      // Act
      const signature = signatureV2(credentials.secretAccessKey, sts);

      // Assess
      expect(entry?.note).toContain(actual);
      expect(signature).toBe(actual);
      expect(signature).not.toBe(entry?.publishedSignature ?? 'bWq2s1WEIj+Ydj0vQ697zp+IXMU=');
    },
  );
});

describe('Signature V2: canonical resource', () => {
  it.each([
    ['/', '', undefined, '/'],
    ['/', '', 'johnsmith', '/johnsmith/'],
    ['/photos/a%20b.jpg', 'prefix=x&max-keys=5', undefined, '/photos/a%20b.jpg'],
    ['/b/k', 'versionId=3%2F4&acl&uploads', undefined, '/b/k?acl&uploads&versionId=3/4'],
    ['/b/k', 'uploadId=u1&partNumber=2', undefined, '/b/k?partNumber=2&uploadId=u1'],
    ['/b', 'delete', undefined, '/b?delete'],
    ['/', 'delete', 'b', '/b/?delete'],
    ['/b', 'list-type=2&continuation-token=abc&prefix=p', undefined, '/b'],
    [
      '/b/k',
      'response-content-disposition=attachment%3B%20filename%3D%22a.txt%22&response-content-type=text%2Fplain',
      undefined,
      '/b/k?response-content-disposition=attachment; filename="a.txt"&response-content-type=text/plain',
    ],
    ['/b/k', 'acl=', undefined, '/b/k?acl='],
    [
      '/b',
      'versioning&lifecycle&website&cors&policy&tagging&location&logging',
      undefined,
      '/b?cors&lifecycle&location&logging&policy&tagging&versioning&website',
    ],
  ])('%s ? %s (bucket %s) → %s', (path, query, bucket, expected) => {
    // Act
    const resource = canonicalizedResourceV2(path, query, withBucket(bucket));

    // Assess
    expect(resource).toBe(expected);
  });

  it.each([
    ['ostor-users&emailAddress=user%40example.com&genKey', '/?ostor-users'],
    ['emailAddress=user%40example.com&ostor-users', '/?ostor-users'],
    ['ostor-limits&emailAddress=a%40b.c&limit-type=ops&limit-resource=get&value=3600', '/?ostor-limits'],
    ['ostor-usage&obj=s3-usage-0100000000000002-2026-03-01T10%3A00%3A00.000Z-3600', '/?ostor-usage'],
    ['ostor-users&acl&versionId=1', '/?ostor-users'],
  ])('the VHI admin service alone is signed: ?%s → %s', (query, expected) => {
    // Act
    const resource = canonicalizedResourceV2('/', query);

    // Assess
    expect(resource).toBe(expected);
  });

  it('refuses a signed sub-resource value with malformed percent-encoding, naming it', () => {
    // Act
    const act = (): string => canonicalizedResourceV2('/b/k', 'versionId=%E0%A4%A');

    // Assess
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow('query.versionId: malformed percent-encoding');
  });
});

describe('Signature V2: headers in the string to sign', () => {
  it('lower-cases, sorts, joins duplicates with "," and unfolds x-amz-* headers; Content-MD5/Type are positional', () => {
    // Prepare
    const request: SignableRequest = {
      method: 'PUT',
      path: '/b/k',
      query: '',
      headers: {
        'X-Amz-Meta-Zeta': '  last  ',
        'x-amz-acl': 'private',
        'X-AMZ-META-LIST': ['one', 'two'],
        'x-amz-meta-list': 'three',
        'X-Amz-Meta-Folded': 'first line\r\n   second line',
        'CONTENT-TYPE': 'text/plain',
        'Content-Md5': 'XrY7u+Ae7tCTyyK7j1rNww==',
        Date: 'Sun, 01 Mar 2026 10:00:00 GMT',
        'User-Agent': 'not signed',
        'X-Amz-Meta-Absent': undefined,
      },
    };

    // Act
    const stringToSign = stringToSignV2(request);

    // Assess
    expect(stringToSign).toBe(
      'PUT\nXrY7u+Ae7tCTyyK7j1rNww==\ntext/plain\nSun, 01 Mar 2026 10:00:00 GMT\n' +
        'x-amz-acl:private\nx-amz-meta-folded:first line second line\nx-amz-meta-list:one,two,three\n' +
        'x-amz-meta-zeta:last\n/b/k',
    );
  });

  it('leaves the positional slots empty when Content-MD5, Content-Type and Date are absent', () => {
    // Act
    const stringToSign = stringToSignV2({ method: 'GET', path: '/', query: 'ostor-users', headers: {} });

    // Assess
    expect(stringToSign).toBe('GET\n\n\n\n/?ostor-users');
  });

  it('puts x-amz-date in the Date position and does not repeat it, but keeps it under query-string auth', () => {
    // Prepare
    const request: SignableRequest = {
      method: 'GET',
      path: '/b',
      query: '',
      headers: { Date: 'ignored', 'x-amz-date': 'Sun, 01 Mar 2026 10:00:00 GMT' },
    };

    // Act
    const headerAuth = stringToSignV2(request);
    const queryAuth = stringToSignV2(request, { expires: '1772359200' });

    // Assess
    expect(headerAuth).toBe('GET\n\n\nSun, 01 Mar 2026 10:00:00 GMT\n/b');
    expect(queryAuth).toBe('GET\n\n\n1772359200\nx-amz-date:Sun, 01 Mar 2026 10:00:00 GMT\n/b');
  });
});

describe('Signature V2: signRequestV2', () => {
  it('adds an RFC 1123 Date from `now` and signs it', () => {
    // Prepare
    const request: SignableRequest = { method: 'GET', path: '/', query: 'ostor-users', headers: {} };

    // Act
    const added = signRequestV2(request, credentials, { now: new Date('2026-03-01T10:00:00Z') });

    // Assess
    expect(added).toEqual({
      Date: 'Sun, 01 Mar 2026 10:00:00 GMT',
      Authorization: `AWS AKIAIOSFODNN7EXAMPLE:${signatureV2(
        credentials.secretAccessKey,
        'GET\n\n\nSun, 01 Mar 2026 10:00:00 GMT\n/?ostor-users',
      )}`,
    });
  });

  it('keeps the request own x-amz-date and adds no Date', () => {
    // Prepare
    const request: SignableRequest = {
      method: 'GET',
      path: '/',
      query: 'ostor-users',
      headers: { 'X-Amz-Date': 'Sun, 01 Mar 2026 10:00:00 GMT' },
    };

    // Act
    const added = signRequestV2(request, credentials, { now: new Date(0) });

    // Assess
    expect(Object.keys(added)).toEqual(['Authorization']);
  });
});

describe('Signature V2: verifyRequestV2', () => {
  const date = 'Sun, 01 Mar 2026 10:00:00 GMT';
  const request: SignableRequest = {
    method: 'GET',
    path: '/',
    query: 'ostor-users&emailAddress=alice%40example.com',
    headers: { Date: date },
  };
  const signed: SignableRequest = {
    ...request,
    headers: { ...request.headers, ...signRequestV2(request, credentials) },
  };

  it('accepts the signed request', () => {
    // Act / Assess
    expect(verifyRequestV2(signed, lookupSecret)).toEqual({ ok: true, accessKeyId: credentials.accessKeyId });
  });

  it('still accepts a changed parameter under ostor-*: V2 signs only the service (the gateway rule)', () => {
    // Prepare
    const changed = { ...signed, query: 'ostor-users&emailAddress=mallory%40example.com&disable' };

    // Act
    const result = verifyRequestV2(changed, lookupSecret);

    // Assess
    expect(result).toEqual({ ok: true, accessKeyId: credentials.accessKeyId });
  });

  it.each([
    ['method', { ...signed, method: 'DELETE' }],
    ['service', { ...signed, query: 'ostor-limits&emailAddress=alice%40example.com' }],
    ['path', { ...signed, path: '/bucket' }],
    ['date', { ...signed, headers: { ...signed.headers, Date: 'Sun, 01 Mar 2026 10:00:01 GMT' } }],
    ['content type', { ...signed, headers: { ...signed.headers, 'Content-Type': 'application/json' } }],
    ['x-amz header', { ...signed, headers: { ...signed.headers, 'x-amz-meta-a': 'b' } }],
  ])('refuses a changed %s', (_what, tampered) => {
    // Act / Assess
    expect(verifyRequestV2(tampered, lookupSecret)).toEqual({ ok: false, reason: 'mismatch' });
  });

  it.each([
    ['missing', {}],
    ['malformed', { Authorization: 'AWS4-HMAC-SHA256 Credential=x' }],
    ['malformed', { Authorization: 'AWS AKIAIOSFODNN7EXAMPLE' }],
    ['malformed', { Authorization: ['AWS a:b', 'AWS a:b'] }],
    ['unknown_key', { Authorization: 'AWS SOMEOTHERKEY:bWq2s1WEIj+Ydj0vQ697zp+IXMU=' }],
    ['mismatch', { Authorization: 'AWS AKIAIOSFODNN7EXAMPLE:bWq2s1WEIj+Ydj0vQ697zp+IXMU=' }],
    ['mismatch', { Authorization: 'AWS AKIAIOSFODNN7EXAMPLE:c2hvcnQ=' }],
  ])('answers %s for %j', (reason, headers) => {
    // Act
    const result = verifyRequestV2({ ...request, headers: { ...request.headers, ...headers } }, lookupSecret);

    // Assess
    expect(result).toEqual({ ok: false, reason });
  });

  it('answers malformed, not a throw, for a signed value with broken percent-encoding', () => {
    // Prepare
    const broken = { ...signed, path: '/b/k', query: 'versionId=%zz' };

    // Act / Assess
    expect(verifyRequestV2(broken, lookupSecret)).toEqual({ ok: false, reason: 'malformed' });
  });

  it('reads the request time from x-amz-date, else Date', () => {
    // Act / Assess
    expect(requestDateV2(signed)?.toISOString()).toBe('2026-03-01T10:00:00.000Z');
    expect(
      requestDateV2({
        ...signed,
        headers: { ...signed.headers, 'x-amz-date': 'Tue, 27 Mar 2007 21:20:26 +0000' },
      })?.toISOString(),
    ).toBe('2007-03-27T21:20:26.000Z');
    expect(requestDateV2({ ...signed, headers: { Date: 'yesterday' } })).toBeUndefined();
    expect(requestDateV2({ ...signed, headers: {} })).toBeUndefined();
  });
});

const pathSegment = fc
  .string({ unit: 'binary', maxLength: 8 })
  .map((segment) =>
    encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16)}`),
  );
const queryParameter = fc.oneof(
  fc.constantFrom('acl', 'uploads', 'delete', 'versioning', 'tagging', 'list-type=2', 'genKey'),
  fc
    .tuple(
      fc.constantFrom('versionId', 'uploadId', 'partNumber', 'response-content-type', 'prefix', 'marker'),
      fc.string({ unit: 'binary', maxLength: 8 }),
    )
    .map(([name, value]) => `${name}=${encodeURIComponent(value)}`),
);

describe('Signature V2: sign → verify round trip', () => {
  it('verifies what it signs and refuses the same request with another method', () => {
    fc.assert(
      fc.property(
        fc.array(pathSegment, { maxLength: 4 }),
        fc.option(fc.constantFrom('ostor-users', 'ostor-limits', 'ostor-buckets'), { nil: undefined }),
        fc.array(queryParameter, { maxLength: 5 }),
        fc.dictionary(
          fc.stringMatching(/^[Xx]-[Aa]mz-[Mm]eta-[a-z0-9]{1,6}$/),
          fc.string({ unit: 'grapheme-ascii' }),
          {
            maxKeys: 3,
          },
        ),
        fc.option(fc.constantFrom('application/json', 'application/xml'), { nil: undefined }),
        fc.option(fc.stringMatching(/^[a-z0-9-]{3,12}$/), { nil: undefined }),
        fc.date({ min: new Date('2000-01-01'), max: new Date('2100-01-01'), noInvalidDate: true }),
        (segments, service, parameters, metaHeaders, contentType, bucket, now) => {
          // Prepare
          const request: SignableRequest = {
            method: 'PUT',
            path: `/${segments.join('/')}`,
            query: [...(service === undefined ? [] : [service]), ...parameters].join('&'),
            headers: {
              ...metaHeaders,
              ...(contentType === undefined ? {} : { 'Content-Type': contentType }),
            },
          };
          const options = withBucket(bucket);
          const signed = {
            ...request,
            headers: { ...request.headers, ...signRequestV2(request, credentials, { now, ...options }) },
          };

          // Act
          const result = verifyRequestV2(signed, lookupSecret, options);
          const otherMethod = verifyRequestV2({ ...signed, method: 'POST' }, lookupSecret, options);

          // Assess
          expect(result).toEqual({ ok: true, accessKeyId: credentials.accessKeyId });
          expect(otherMethod).toEqual({ ok: false, reason: 'mismatch' });
        },
      ),
      { numRuns: 300 },
    );
  });
});

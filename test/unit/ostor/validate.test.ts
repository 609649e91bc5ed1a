// Every validator of the gateway client: what passes, what is refused, and the field named.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/errors.ts';
import {
  accessKeyIdProblem,
  accountNameProblem,
  bandwidthLimitProblem,
  bucketNameProblem,
  checkBucketName,
  checkEmail,
  checkIntegerInRange,
  checkObjectKey,
  checkOpsLimit,
  continuationTokenProblem,
  emailProblem,
  objectKeyProblem,
  objectPathKeyProblem,
  opsLimitProblem,
  parseStatisticsObjectName,
  quotaSizeProblem,
  statisticsObjectNameProblem,
  userIdProblem,
} from '../../../shared/ostor/validate.ts';

const ok = (problem: (value: unknown) => string | undefined, values: readonly unknown[]) => {
  for (const value of values) expect(problem(value), JSON.stringify(value)).toBeUndefined();
};
const bad = (problem: (value: unknown) => string | undefined, values: readonly unknown[]) => {
  for (const value of values) expect(problem(value), JSON.stringify(value)).toBeTypeOf('string');
};

describe('emails', () => {
  it('accepts plain local@domain addresses, special characters of the local part included', () => {
    ok(emailProblem, [
      'user@example.com',
      'User.Name+tag@Example.COM',
      "a!#$%&'*+/=?^_`{|}~-z@example.com",
      'x@a-b.c0',
      `${'a'.repeat(64)}@example.com`,
      `a@${'b'.repeat(63)}.com`,
    ]);
  });

  it('refuses whitespace, control and non-ASCII characters, and anything not plain local@domain', () => {
    bad(emailProblem, [
      undefined,
      42,
      '',
      'plain',
      'a@b',
      'a@localhost',
      'a@1.2.3.4',
      'a@b..com',
      'a@.b.com',
      'a@b.com.',
      'a@-b.com',
      'a@b-.com',
      `a@${'b'.repeat(64)}.com`,
      'a@b_c.com',
      'a b@example.com',
      'a@example.com\n',
      '\ta@example.com',
      'ä@example.com',
      'a@exämple.com',
      'a\uff20example.com',
      '.a@example.com',
      'a.@example.com',
      'a..b@example.com',
      '"a"@example.com',
      'a@@example.com',
      'a@b@example.com',
      'a<b>@example.com',
      `${'a'.repeat(65)}@example.com`,
      `${'a'.repeat(64)}@${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(63)}.com`,
    ]);
  });

  it('throws an InvalidInputError naming the field, and never alters the value', () => {
    expect(checkEmail('Mixed@Example.com')).toBe('Mixed@Example.com');
    expect(() => checkEmail(' a@example.com', 'data.email')).toThrow(
      new InvalidInputError(
        'data.email',
        'must be a plain local@domain address (no spaces, control or non-ASCII characters)',
      ),
    );
    expect(() => checkEmail('a@b')).toThrow(/^email: must be a plain local@domain address$/);
  });
});

describe('bucket names', () => {
  it('accepts the S3 naming rules', () => {
    ok(bucketNameProblem, ['abc', 'a.b-c', '0bucket9', 'a'.repeat(63), 'my.bucket.name', 'a-.b']);
  });

  it('refuses everything else, with the reason', () => {
    bad(bucketNameProblem, [
      null,
      'ab',
      'a'.repeat(64),
      'Abc',
      'a_b',
      'a b',
      '-ab',
      'ab-',
      '.ab',
      'a..b',
      '192.168.0.1',
      'xn--abc',
      'sthree-abc',
      'abc-s3alias',
      'abc--ol-s3',
      'a&b',
      'abc\n',
    ]);
    expect(bucketNameProblem('a..b')).toMatch(/adjacent dots/);
    expect(bucketNameProblem('10.0.0.1')).toMatch(/IP address/);
    expect(() => checkBucketName('UPPER')).toThrow(/^bucket: must hold only lowercase/);
  });
});

describe('identifiers', () => {
  it('checks user ids: 16 lowercase hex digits', () => {
    ok(userIdProblem, ['a14040e0b2ef8b28', '0000000000000000']);
    bad(userIdProblem, ['A14040E0B2EF8B28', 'a14040e0b2ef8b2', 'a14040e0b2ef8b288', 'g14040e0b2ef8b28', 1]);
  });

  it('checks access key ids as the gateway issues them', () => {
    ok(accessKeyIdProblem, ['a14040e0b2ef8b28FZZ8', 'AKIAIOSFODNN7EXAMPLE', 'a'.repeat(128)]);
    bad(accessKeyIdProblem, ['short', 'a14040e0b2ef8b28FZZ8&x', 'a14040e0b2ef8b28 FZZ', 'a'.repeat(129), '']);
  });

  it('checks account names', () => {
    ok(accountNameProblem, ['account1', 'a', 'billing_2024-q1.eu', 'A'.repeat(64)]);
    bad(accountNameProblem, ['', '-a', '.a', 'a b', 'a&b', 'a/b', 'ä', 'A'.repeat(65)]);
  });

  it('checks statistics object names and splits them', () => {
    const name = 's3-usage-800000000000006a-2017-02-01T16:31:54.000Z-1800';
    ok(statisticsObjectNameProblem, [name, 's3-usage-8000000000000065-2017-02-01T16:31:54Z-1390']);
    bad(statisticsObjectNameProblem, [
      's3-usage-8000000000000065-2017-02-01T16:31:54.000Z',
      's3-usage--2017-02-01T16:31:54.000Z-1800',
      's3-usage-xyz-2017-02-01T16:31:54.000Z-1800',
      's3-usage-1-2017-13-45T16:31:54.000Z-1800',
      's3-usage-1-2017-02-31T16:31:54.000Z-1800',
      's3-usage-1-2017-02-01T24:31:54.000Z-1800',
      `${name}&obj=x`,
      ` ${name}`,
    ]);
    expect(parseStatisticsObjectName(name)).toEqual({
      name,
      serviceId: '800000000000006a',
      start: '2017-02-01T16:31:54.000Z',
      startMs: Date.UTC(2017, 1, 1, 16, 31, 54),
      periodSeconds: 1800,
    });
  });

  it('checks object keys: 1 to 1024 UTF-8 bytes that XML can carry', () => {
    ok(objectKeyProblem, ['a', 'dir/ü', 'x'.repeat(1024), 'ü'.repeat(512), 'tab\tcr\rlf\n', ' ']);
    bad(objectKeyProblem, [
      '',
      'x'.repeat(1025),
      'ü'.repeat(513),
      'bell\u0007',
      'nul\u0000',
      '\ud800',
      '\uffff',
    ]);
    expect(() => checkObjectKey('', 'keys[3]')).toThrow(/^keys\[3\]: must not be empty$/);
  });

  it('checks keys for a request path more loosely than keys for an XML body', () => {
    ok(objectPathKeyProblem, ['a', 'bell\u0007', 'esc\u001b/x', 'tab\there', 'x'.repeat(1024)]);
    bad(objectPathKeyProblem, ['', 'x'.repeat(1025), '\ud800', 1]);
    bad(objectKeyProblem, ['bell\u0007', 'esc\u001b/x']);
    ok(objectKeyProblem, ['tab\there', 'cr\rlf\n']);
  });

  it('checks continuation tokens', () => {
    ok(continuationTokenProblem, ['tok+/=', 'x'.repeat(4096)]);
    bad(continuationTokenProblem, ['', 'x'.repeat(4097), '\udc00']);
  });
});

describe('numbers', () => {
  it('checks ops limits: non-negative, finite, at most two decimals', () => {
    ok(opsLimitProblem, [0, -0, 1, 0.5, 0.01, 3600, 0.29, 12.34, 1e9, 999_999_999.99]);
    bad(opsLimitProblem, [-1, -0.01, 0.001, 1.234, Number.NaN, Number.POSITIVE_INFINITY, 1e9 + 1, '1']);
    expect(() => checkOpsLimit(-1)).toThrow(/^value: must not be negative$/);
  });

  it('judges the decimals of an ops limit exactly: a tiny value is not taken for 0 (unlimited)', () => {
    // Within the old tolerance (|round(100x) - 100x| <= 1e-6) these passed and were sent as "0".
    for (const tiny of [1e-7, 1e-9, 5e-324, 0.000001]) {
      expect(opsLimitProblem(tiny), String(tiny)).toBe('must have at most two decimal places');
    }
    expect(opsLimitProblem(1e21)).toBe('must be at most 1000000000');
    expect(opsLimitProblem(10_000_000_000)).toBe('must be at most 1000000000');
  });

  it('checks bandwidth limits: whole non-negative KB/s', () => {
    ok(bandwidthLimitProblem, [0, 100, 2_147_483_647]);
    bad(bandwidthLimitProblem, [-1, 1.5, 2_147_483_648, Number.NaN, '100']);
  });

  it('checks quotas: whole non-negative GB', () => {
    ok(quotaSizeProblem, [0, 1, 1024, Number.MAX_SAFE_INTEGER]);
    bad(quotaSizeProblem, [-1, 0.5, Number.MAX_SAFE_INTEGER + 1, Number.NaN, '1']);
  });

  it('checks page sizes', () => {
    expect(checkIntegerInRange(500, 'limit', 1, 500)).toBe(500);
    expect(() => checkIntegerInRange(501, 'limit', 1, 500)).toThrow(
      /^limit: must be a whole number from 1 to 500$/,
    );
    expect(() => checkIntegerInRange(1.5, 'limit', 1, 500)).toThrow(InvalidInputError);
  });
});

// Injection corpus: inputs with `& = # % + ?`, CR/LF, spaces, Unicode look-alikes and 10 kB
// strings are either refused before any request (InvalidInputError naming the field, nothing
// recorded by the emulator) or arrive as exactly one parameter equal to the input. Property tests
// show the same for generated inputs.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseQuery } from '../../../emulator/query.ts';
import { InvalidInputError } from '../../../shared/errors.ts';
import type { OstorClient } from '../../../shared/ostor/index.ts';
import { bucketNameProblem, emailProblem, encodeQuery, FLAG } from '../../../shared/ostor/index.ts';
import type { QueryParam } from '../../../shared/ostor/query.ts';
import { objectKeyProblem } from '../../../shared/ostor/validate.ts';
import type { Harness } from './harness.ts';
import { caught, startHarness, uniqueBucket } from './harness.ts';

let h: Harness;
let client: OstorClient;
let bucket: string;

beforeAll(async () => {
  h = await startHarness();
  client = h.client({ retry: { retries: 0 } });
  bucket = uniqueBucket('inject');
  h.emulator.state.createBucket(h.system.userId, bucket);
});

afterAll(async () => {
  await h.close();
});

const TEN_KB = 'a'.repeat(10_240);

const EMAILS = [
  // Legal addresses full of query syntax: they must travel as one value.
  'a&disable@example.com',
  'a&id=0123456789abcdef@example.com',
  'a=b@example.com',
  'a#b@example.com',
  'a%20b@example.com',
  'a%2B%26@example.com',
  'a+b@example.com',
  '+@example.com',
  'a?b@example.com',
  '?genKey&x=@example.com',
  "o'brien@example.com",
  "!#$%&'*+/=?^_`{|}~-@example.com",
  'ostor-users@example.com',
  'first.last@sub.example.co.uk',
  `${'l'.repeat(64)}@${'d'.repeat(63)}.${'e'.repeat(63)}.${'f'.repeat(57)}.com`,
  // Refused: not a plain local@domain.
  'x@y.com&disable',
  'a@example.com?x=1',
  'a@example.com#frag',
  'a@example.com&id=0123456789abcdef',
  'a@exa&mple.com',
  'a@exa%2Bmple.com',
  'a\r\nb@example.com',
  'a@example.com\r\nX-Injected: 1',
  'a\n@example.com',
  ' a@example.com',
  'a@example.com ',
  'a b@example.com',
  'a\t@example.com',
  'a\u0000@example.com',
  'user\uff20example.com',
  'user\uff20example.com@example.com',
  '\u0430dmin@example.com',
  'admin@ex\u0430mple.com',
  'admin@example.com\u200b',
  'admin@xn--80ak6aa92e.com\u0301',
  `${TEN_KB}@example.com`,
  `a@${TEN_KB}.com`,
  TEN_KB,
  '',
  '@example.com',
  'a@',
  'a@@example.com',
  'a@b@example.com',
  '.a@example.com',
  'a..b@example.com',
  'a.@example.com',
  '"quoted"@example.com',
  'a(comment)@example.com',
  'a@localhost',
  'a@1.2.3.4',
  'a@-example.com',
  'a@example-.com',
  `${'l'.repeat(65)}@example.com`,
];

const BUCKETS = [
  'abc',
  'my.bucket-1',
  'a'.repeat(63),
  'a&b',
  'bucket&acl',
  'bucket?delete',
  'bucket#1',
  'bucket%20',
  'bucket+1',
  'bucket=1',
  'Bucket',
  'buck et',
  'bucket\r\n',
  'bucket\n',
  'bucket\u0430',
  '\uff42ucket',
  'b'.repeat(10_240),
  '192.168.1.1',
  'xn--abc',
  'abc-s3alias',
  'a..b',
  '-abc',
  'abc-',
  'ab',
  '',
  '../etc',
  'a/b',
];

/** The request the client made for one call, or undefined when it made none. */
async function sent(action: () => Promise<unknown>) {
  const mark = h.emulator.requests.length;
  let error: unknown;
  try {
    await action();
  } catch (e) {
    error = e;
  }
  const requests = h.since(mark);
  expect(requests.length).toBeLessThanOrEqual(1);
  return { request: requests[0], error };
}

describe('emails', () => {
  it.each(EMAILS.map((email) => [JSON.stringify(email).slice(0, 60), email]))(
    '%s is refused or arrives as one parameter',
    async (_label, email) => {
      const valid = emailProblem(email) === undefined;
      const calls: [() => Promise<unknown>, readonly (readonly [string, string])[]][] = [
        [() => client.findUser({ email }), [['emailAddress', email]]],
        [
          () => client.disableUser({ email }),
          [
            ['emailAddress', email],
            ['disable', ''],
          ],
        ],
        [
          () => client.setQuota({ email }, 1),
          [
            ['emailAddress', email],
            ['quota-size', '1'],
          ],
        ],
        [() => client.findUsersByEmail(email), []],
      ];
      for (const [call, expected] of calls) {
        // Act
        const { request, error } = await sent(call);

        // Assess
        if (valid) {
          expect(request?.params.slice(1)).toEqual(expected);
          expect(request?.status).not.toBe(400);
        } else {
          expect(request).toBeUndefined();
          expect(error).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).field).toBe('email');
        }
      }
    },
  );

  it('creates a user whose email is full of query syntax, exactly as given', async () => {
    // Prepare
    const email = '?a&disable=1+%2B#x@example.com';

    // Act
    const { request } = await sent(() => client.createUser(email));

    // Assess
    expect(request?.params).toEqual([
      ['ostor-users', ''],
      ['emailAddress', email],
    ]);
    expect(h.emulator.state.usersWithEmail(email)).toHaveLength(1);
    expect(request?.query).toBe('ostor-users&emailAddress=%3Fa%26disable%3D1%2B%252B%23x%40example.com');
  });
});

describe('bucket names', () => {
  it.each(BUCKETS.map((name) => [JSON.stringify(name).slice(0, 60), name]))(
    '%s is refused or arrives as one parameter',
    async (_label, name) => {
      const valid = bucketNameProblem(name) === undefined;
      const calls: [() => Promise<unknown>, string][] = [
        [() => client.getBucket(name), 'ostor-buckets'],
        [() => client.getLimits({ bucket: name }), 'ostor-limits'],
        [() => client.deleteQuota({ bucket: name }), 'ostor-quotas'],
        [() => client.deleteBucket(name), 's3'],
      ];
      for (const [call, service] of calls) {
        // Act
        const { request, error } = await sent(call);

        // Assess
        if (!valid) {
          expect(request).toBeUndefined();
          expect(error).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).field).toBe('bucket');
        } else if (service === 's3') {
          expect(request?.path).toBe(`/${name}`);
          expect(request?.params).toEqual([]);
        } else {
          expect(request?.params).toEqual([
            [service, ''],
            ['bucket', name],
          ]);
        }
      }
    },
  );
});

describe('other fields', () => {
  it('refuses an account name, key id or statistics object name that carries query syntax', async () => {
    const ref = { userId: h.system.userId };
    const cases: [() => Promise<unknown>, string][] = [
      [() => client.createAccount(ref, 'a&genKey'), 'name'],
      [() => client.deleteAccount(ref, 'a\r\nb'), 'name'],
      [() => client.generateKey(ref, { accountName: 'x=1' }), 'accountName'],
      [() => client.revokeKey(ref, 'ABCDEFGHIJKLMNOP&disable'), 'accessKeyId'],
      [() => client.revokeKey(ref, TEN_KB), 'accessKeyId'],
      [() => client.getUsage('s3-usage-1-2017-02-01T16:31:54.000Z-1800&obj=x'), 'name'],
      [() => client.deleteUsage(`s3-usage-1-2017-02-01T16:31:54.000Z-${TEN_KB}`), 'name'],
      [() => client.getUser({ userId: '0123456789abcdef&disable' }), 'userId'],
    ];
    for (const [call, field] of cases) {
      const { request, error } = await sent(call);
      expect(request).toBeUndefined();
      expect(error).toBeInstanceOf(InvalidInputError);
      expect((error as InvalidInputError).field).toBe(field);
    }
  });

  it('sends object keys with query syntax, CR/LF and Unicode as one value each', async () => {
    const keys = [
      'a&b=c',
      'x?list-type=1',
      '#%2B+ ',
      'line\r\nbreak',
      'ｆｕｌｌ／ｗｉｄｔｈ',
      '\u0430',
      'dir/../x',
    ];
    for (const key of keys) {
      // Act
      const { request } = await sent(() => client.listObjects(bucket, { startAfter: key, prefix: key }));

      // Assess
      expect(request?.params).toEqual([
        ['list-type', '2'],
        ['encoding-type', 'url'],
        ['start-after', key],
        ['prefix', key],
      ]);
    }
  });

  it('deletes objects whose keys hold XML and query syntax, exactly those keys', async () => {
    // Prepare
    const keys = ['<Key>x</Key>', ']]>', '&amp;', 'a\r\nb', 'tab\t', 'q\'"', '%00', 'ü/ß'];
    for (const key of [...keys, 'keep']) h.emulator.state.putObject(bucket, key, 'x');

    // Act
    const result = await client.deleteObjects(bucket, keys);

    // Assess
    expect(result.errors).toEqual([]);
    expect([...(h.emulator.state.buckets.get(bucket)?.objects.keys() ?? [])]).toEqual(['keep']);
  });
});

// --- properties ------------------------------------------------------------------------------

const ATEXT = [..."abcXYZ019!#$%&'*+/=?^_`{|}~-"];
const localPart = fc
  .array(fc.string({ unit: fc.constantFrom(...ATEXT), minLength: 1, maxLength: 12 }), {
    minLength: 1,
    maxLength: 3,
  })
  .map((atoms) => atoms.join('.'))
  .filter((local) => local.length <= 64);
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/);
const domain = fc
  .tuple(fc.array(label, { minLength: 1, maxLength: 3 }), fc.stringMatching(/^[a-z]{2,6}$/))
  .map(([labels, tld]) => [...labels, tld].join('.'));
const nastyEmail = fc.tuple(localPart, domain).map(([local, host]) => `${local}@${host}`);

const FORBIDDEN = [
  ' ',
  '\r',
  '\n',
  '\t',
  '\u0000',
  '\u007f',
  '\uff20',
  '\u0430',
  '\u200b',
  '"',
  '(',
  ',',
  ':',
  ';',
  '<',
  '[',
  '\\',
  '@',
];
const brokenEmail = fc
  .tuple(nastyEmail, fc.constantFrom(...FORBIDDEN), fc.nat())
  .map(([email, bad, at]) => {
    const i = at % (email.length + 1);
    return `${email.slice(0, i)}${bad}${email.slice(i)}`;
  })
  .filter((email) => emailProblem(email) !== undefined);

describe('properties', () => {
  it('generated valid-but-nasty emails arrive as exactly one parameter equal to the input', async () => {
    await fc.assert(
      fc.asyncProperty(nastyEmail, async (email) => {
        expect(emailProblem(email)).toBeUndefined();
        const { request } = await sent(() => client.findUser({ email }));
        expect(request?.params).toEqual([
          ['ostor-users', ''],
          ['emailAddress', email],
        ]);
      }),
      { numRuns: 300 },
    );
  });

  it('generated invalid emails never cause a request', async () => {
    const mark = h.emulator.requests.length;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          brokenEmail,
          fc.string({ maxLength: 300 }).filter((s) => emailProblem(s) !== undefined),
        ),
        async (email) => {
          const error = await caught(() => client.findUser({ email }));
          expect(error).toBeInstanceOf(InvalidInputError);
          expect((error as InvalidInputError).field).toBe('email');
        },
      ),
      { numRuns: 300 },
    );
    expect(h.since(mark)).toHaveLength(0);
  });

  it('generated object keys arrive as exactly one parameter equal to the input', async () => {
    const key = fc
      .string({ unit: 'grapheme', minLength: 1, maxLength: 40 })
      .filter((k) => objectKeyProblem(k) === undefined);
    await fc.assert(
      fc.asyncProperty(key, async (startAfter) => {
        const { request } = await sent(() => client.listObjects(bucket, { startAfter, maxKeys: 1 }));
        expect(request?.params.find(([name]) => name === 'start-after')).toEqual(['start-after', startAfter]);
        expect(request?.params).toHaveLength(4);
      }),
      { numRuns: 300 },
    );
  });

  it('the gateway’s query parser reads back exactly the parameters encoded, for any text', () => {
    const param = fc.tuple(
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }),
      fc.option(fc.string({ unit: 'grapheme', maxLength: 40 }), { nil: undefined }),
    );
    fc.assert(
      fc.property(fc.array(param, { maxLength: 6 }), (pairs) => {
        const params: QueryParam[] = pairs.map(([name, value]) => [name, value === undefined ? FLAG : value]);
        const expected = pairs.map(([name, value]) => [name, value ?? '']);
        expect(parseQuery(encodeQuery(params))).toEqual(expected);
      }),
      { numRuns: 2_000 },
    );
  });

  it('bucket names that pass validation are made of characters that need no encoding', () => {
    // Names one character away from a valid one (the character anything at all, anywhere), and any
    // text: so that a good share of the runs reach the assertion, not only the rare valid random string.
    const nearValid = fc
      .tuple(
        fc.stringMatching(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/),
        fc.string({ unit: 'grapheme', maxLength: 1 }),
        fc.nat(),
      )
      .map(([name, odd, at]) => {
        const i = at % (name.length + 1);
        return `${name.slice(0, i)}${odd}${name.slice(i)}`;
      });
    let accepted = 0;
    const runs = 2_000;
    fc.assert(
      fc.property(
        fc.oneof({ arbitrary: nearValid, weight: 3 }, { arbitrary: fc.string({ maxLength: 70 }), weight: 1 }),
        (name) => {
          if (bucketNameProblem(name) !== undefined) return;
          accepted++;
          expect(name).toMatch(/^[a-z0-9.-]+$/);
        },
      ),
      { numRuns: runs },
    );
    // About 30% of the runs are valid names (measured: 598 to 641 of 2,000); a tenth is the floor.
    expect(accepted).toBeGreaterThan(runs / 10);
  });
});

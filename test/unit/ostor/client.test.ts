// Every OstorClient method over real HTTP against the emulator, success and error paths, signed
// with Signature V2 and with V4.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/errors.ts';
import type { OstorClient, UserRef } from '../../../shared/ostor/index.ts';
import {
  GatewayAuthError,
  GatewayConflictError,
  GatewayNotFoundError,
  GatewayRejectedError,
} from '../../../shared/ostor/index.ts';
import type { Harness } from './harness.ts';
import { caught, paramsOf, startHarness, uniqueBucket, uniqueEmail } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

describe.each([2, 4] as const)('OstorClient with Signature V%i', (signatureVersion) => {
  let client: OstorClient;

  beforeAll(() => {
    client = h.client({ signatureVersion });
  });

  async function newUser(prefix = 'user') {
    return client.createUser(uniqueEmail(prefix));
  }

  async function expectRefusedLocally(action: () => Promise<unknown>, field: string): Promise<void> {
    const mark = h.emulator.requests.length;
    const error = await caught(action);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect((error as InvalidInputError).field).toBe(field);
    expect(h.since(mark)).toHaveLength(0);
  }

  describe('users', () => {
    it('creates a user with the email exactly as given and one key pair', async () => {
      // Prepare
      const email = uniqueEmail('Mixed.Case+tag');
      const mark = h.emulator.requests.length;

      // Act
      const created = await client.createUser(email);

      // Assess
      expect(created.userId).toMatch(/^[0-9a-f]{16}$/);
      expect(created.email).toBe(email);
      expect(created.accessKeys).toHaveLength(1);
      expect(h.emulator.state.users.get(created.userId)?.email).toBe(email);
      const [request] = h.since(mark);
      expect(request?.method).toBe('PUT');
      expect(request?.signatureVersion).toBe(signatureVersion);
      expect(paramsOf(request)).toEqual([
        ['ostor-users', ''],
        ['emailAddress', email],
      ]);
    });

    it('refuses an invalid email before any request', async () => {
      await expectRefusedLocally(() => client.createUser('not an email'), 'email');
    });

    it('creates a second user for an email already in use, and findUsersByEmail finds both', async () => {
      // Prepare
      const email = uniqueEmail('twice');
      const first = await client.createUser(email);

      // Act
      const second = await client.createUser(email);
      const found = await client.findUsersByEmail(email);

      // Assess
      expect(second.userId).not.toBe(first.userId);
      expect(found.map((u) => u.userId).sort()).toEqual([first.userId, second.userId].sort());
    });

    it('lists users with their state and owner', async () => {
      // Prepare
      const created = await newUser();

      // Act
      const users = await client.listUsers();

      // Assess
      expect(users).toContainEqual({
        userId: created.userId,
        email: created.email,
        state: 'enabled',
        ownerId: '0000000000000000',
      });
      expect(users.find((u) => u.userId === h.system.userId)?.email).toBe('system@example.com');
    });

    it('gets a user by email and by id, with keys, secrets and accounts', async () => {
      // Prepare
      const created = await newUser();
      await client.createAccount({ userId: created.userId }, 'project-1');

      // Act
      const byEmail = await client.getUser({ email: created.email });
      const byId = await client.getUser({ userId: created.userId });

      // Assess
      expect(byEmail).toEqual(byId);
      expect(byId.userId).toBe(created.userId);
      expect(byId.state).toBe('enabled');
      expect(byId.flags).toEqual([]);
      expect(byId.accessKeys).toEqual(created.accessKeys);
      expect(byId.accountCount).toBe(1);
      expect(byId.accounts.map((a) => a.name)).toEqual(['project-1']);
      expect(byId.accounts[0]?.accessKeys).toHaveLength(1);
    });

    it('reads the system user flag', async () => {
      const user = await client.getUser({ userId: h.system.userId });
      expect(user.flags).toEqual(['system']);
    });

    it('answers GatewayNotFoundError for an unknown user, and findUser answers undefined', async () => {
      // Act
      const error = await caught(() => client.getUser({ email: uniqueEmail('ghost') }));
      const found = await client.findUser({ userId: '0123456789abcdef' });

      // Assess
      expect(error).toBeInstanceOf(GatewayNotFoundError);
      expect(error).toMatchObject({ code: 'not_found', status: 404, operation: 'users.get' });
      expect((error as GatewayNotFoundError).gatewayMessage).toMatch(/does not exist/);
      expect(found).toBeUndefined();
    });

    it('refuses a reference that names both an email and an id', async () => {
      const both = { email: 'a@example.com', userId: '0123456789abcdef' } as unknown as UserRef;
      await expectRefusedLocally(() => client.getUser(both), 'user');
    });

    it('refuses a malformed user id', async () => {
      await expectRefusedLocally(() => client.getUser({ userId: 'ABC' }), 'userId');
    });

    it('disables and enables a user', async () => {
      // Prepare
      const created = await newUser();
      const ref = { email: created.email };

      // Act
      await client.disableUser(ref);
      const disabled = await client.getUser(ref);
      await client.enableUser(ref);
      const enabled = await client.getUser(ref);

      // Assess
      expect(disabled.state).toBe('disabled');
      expect(enabled.state).toBe('enabled');
    });

    it('answers 404 when disabling or enabling an unknown user', async () => {
      expect(await caught(() => client.disableUser({ userId: 'fedcba9876543210' }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
      expect(await caught(() => client.enableUser({ email: uniqueEmail('ghost') }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
    });

    it('deletes a user', async () => {
      // Prepare
      const created = await newUser();

      // Act
      await client.deleteUser({ userId: created.userId });

      // Assess
      expect(h.emulator.state.users.has(created.userId)).toBe(false);
      expect(await client.findUser({ userId: created.userId })).toBeUndefined();
    });

    it('refuses to delete a user who owns buckets (409 user_owns_buckets)', async () => {
      // Prepare
      const created = await newUser();
      h.emulator.state.createBucket(created.userId, uniqueBucket());

      // Act
      const error = await caught(() => client.deleteUser({ userId: created.userId }));

      // Assess
      expect(error).toBeInstanceOf(GatewayConflictError);
      expect(error).toMatchObject({ code: 'conflict', reason: 'user_owns_buckets', status: 409 });
      expect(h.emulator.state.users.has(created.userId)).toBe(true);
    });

    it('answers 404 when deleting an unknown user', async () => {
      const error = await caught(() => client.deleteUser({ email: uniqueEmail('ghost') }));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
    });
  });

  describe('keys', () => {
    it('generates a second key pair, then refuses a third (409 too_many_keys)', async () => {
      // Prepare
      const created = await newUser();
      const ref = { email: created.email };
      const mark = h.emulator.requests.length;

      // Act
      const fresh = await client.generateKey(ref);
      const third = await caught(() => client.generateKey(ref));

      // Assess
      const user = await client.getUser(ref);
      expect(user.accessKeys.map((k) => k.accessKeyId)).toEqual([
        created.accessKeys[0]?.accessKeyId,
        fresh.accessKeyId,
      ]);
      expect(user.accessKeys[1]?.secretAccessKey).toBe(fresh.secretAccessKey);
      expect(third).toBeInstanceOf(GatewayConflictError);
      expect(third).toMatchObject({ reason: 'too_many_keys', operation: 'users.generateKey' });
      const [request] = h.since(mark);
      expect(request?.method).toBe('POST');
      expect(paramsOf(request)).toEqual([
        ['ostor-users', ''],
        ['emailAddress', created.email],
        ['genKey', ''],
      ]);
    });

    it('generates and revokes an account key pair', async () => {
      // Prepare
      const created = await newUser();
      const ref = { userId: created.userId };
      await client.createAccount(ref, 'acct');

      // Act
      const fresh = await client.generateKey(ref, { accountName: 'acct' });
      const afterGenerate = await client.getUser(ref);
      await client.revokeKey(ref, fresh.accessKeyId, { accountName: 'acct' });
      const afterRevoke = await client.getUser(ref);

      // Assess
      expect(afterGenerate.accounts[0]?.accessKeys.map((k) => k.accessKeyId)).toContain(fresh.accessKeyId);
      expect(afterGenerate.accessKeys).toHaveLength(1);
      expect(afterRevoke.accounts[0]?.accessKeys.map((k) => k.accessKeyId)).not.toContain(fresh.accessKeyId);
    });

    it('answers 404 for a key operation on an unknown account', async () => {
      const created = await newUser();
      const error = await caught(() =>
        client.generateKey({ userId: created.userId }, { accountName: 'nope' }),
      );
      expect(error).toBeInstanceOf(GatewayNotFoundError);
    });

    it('revokes a user key pair', async () => {
      // Prepare
      const created = await newUser();
      const old = created.accessKeys[0]?.accessKeyId ?? '';
      const mark = h.emulator.requests.length;

      // Act
      await client.revokeKey({ email: created.email }, old);

      // Assess
      expect((await client.getUser({ email: created.email })).accessKeys).toEqual([]);
      expect(paramsOf(h.since(mark)[0])).toEqual([
        ['ostor-users', ''],
        ['emailAddress', created.email],
        ['revokeKey', old],
      ]);
      expect(h.since(mark)[0]?.method).toBe('POST');
    });

    it('answers 404 when revoking a key the user does not have', async () => {
      const created = await newUser();
      const error = await caught(() => client.revokeKey({ userId: created.userId }, 'ABCDEFGHIJKLMNOPQRST'));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
    });

    it('refuses a malformed access key id or account name before any request', async () => {
      await expectRefusedLocally(
        () => client.revokeKey({ userId: '0123456789abcdef' }, 'short&x=1'),
        'accessKeyId',
      );
      await expectRefusedLocally(
        () => client.generateKey({ userId: '0123456789abcdef' }, { accountName: 'a&genKey' }),
        'accountName',
      );
    });
  });

  describe('accounts', () => {
    it('creates an account with its key pair, and refuses a duplicate (409)', async () => {
      // Prepare
      const created = await newUser();
      const ref = { email: created.email };
      const mark = h.emulator.requests.length;

      // Act
      const account = await client.createAccount(ref, 'billing_2024-q1');
      const duplicate = await caught(() => client.createAccount(ref, 'billing_2024-q1'));

      // Assess
      expect(account.name).toBe('billing_2024-q1');
      expect(account.accessKeys).toHaveLength(1);
      expect(h.since(mark)[0]?.method).toBe('POST');
      expect(duplicate).toBeInstanceOf(GatewayConflictError);
      expect(duplicate).toMatchObject({ reason: 'already_exists' });
    });

    it('deletes an account, and answers 404 for an unknown one', async () => {
      // Prepare
      const created = await newUser();
      const ref = { userId: created.userId };
      await client.createAccount(ref, 'gone');

      // Act
      await client.deleteAccount(ref, 'gone');
      const again = await caught(() => client.deleteAccount(ref, 'never'));

      // Assess
      expect((await client.getUser(ref)).accounts).toEqual([]);
      expect(again).toBeInstanceOf(GatewayNotFoundError);
    });

    it('answers 404 when creating an account for an unknown user', async () => {
      const error = await caught(() => client.createAccount({ email: uniqueEmail('ghost') }, 'a'));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
    });

    it('refuses an invalid account name', async () => {
      await expectRefusedLocally(
        () => client.createAccount({ userId: '0123456789abcdef' }, 'bad name'),
        'name',
      );
    });
  });

  describe('buckets', () => {
    it('lists every bucket and a user’s buckets, with 64-bit sizes', async () => {
      // Prepare
      const owner = await newUser();
      const other = await newUser();
      const mine = uniqueBucket('mine');
      const theirs = uniqueBucket('theirs');
      h.emulator.state.createBucket(owner.userId, mine);
      h.emulator.state.createBucket(other.userId, theirs);
      h.emulator.state.putObject(mine, 'a', 'hello');
      const seeded = h.emulator.state.buckets.get(mine);
      if (seeded !== undefined) seeded.size.hIntegral = 2n ** 60n + 7n;

      // Act
      const all = await client.listBuckets();
      const owned = await client.listUserBuckets({ email: owner.email });

      // Assess
      expect(all.map((b) => b.name)).toEqual(expect.arrayContaining([mine, theirs]));
      expect(owned.map((b) => b.name)).toEqual([mine]);
      expect(owned[0]).toMatchObject({ ownerId: owner.userId, epoch: 0 });
      expect(owned[0]?.size.current).toBe(5n);
      expect(owned[0]?.size.hmax).toBe(5n);
      expect(owned[0]?.size.hIntegral).toBe(2n ** 60n + 7n);
      expect(Number.isInteger(owned[0]?.size.lastTs)).toBe(true);
      expect(Date.parse(owned[0]?.createdAt ?? '')).not.toBeNaN();
    });

    it('gets one bucket, and answers 404 for an unknown one', async () => {
      // Prepare
      const owner = await newUser();
      const name = uniqueBucket();
      h.emulator.state.createBucket(owner.userId, name);

      // Act
      const bucket = await client.getBucket(name);
      const missing = await caught(() => client.getBucket(uniqueBucket('missing')));

      // Assess
      expect(bucket.name).toBe(name);
      expect(bucket.ownerId).toBe(owner.userId);
      expect(missing).toBeInstanceOf(GatewayNotFoundError);
    });

    it('answers 404 for the buckets of an unknown user', async () => {
      expect(await caught(() => client.listUserBuckets({ email: uniqueEmail('ghost') }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
    });

    it('refuses an invalid bucket name', async () => {
      await expectRefusedLocally(() => client.getBucket('Bad_Bucket'), 'bucket');
    });
  });

  describe('limits', () => {
    it('reads unset limits as 0, sets ops (decimals) and bandwidth, and deletes them', async () => {
      // Prepare
      const created = await newUser();
      const ref = { userId: created.userId };

      // Act
      const initial = await client.getLimits(ref);
      await client.setLimit(ref, { type: 'ops', resource: 'get', value: 3600 });
      await client.setLimit(ref, { type: 'ops', resource: 'put', value: 0.25 });
      await client.setLimit(ref, { type: 'bandwidth', resource: 'out', value: 100 });
      const set = await client.getLimits(ref);
      await client.deleteLimits(ref);
      const cleared = await client.getLimits(ref);

      // Assess
      const zero = { ops: { default: 0, get: 0, put: 0, list: 0, delete: 0 }, bandwidth: { out: 0 } };
      expect(initial).toEqual(zero);
      expect(set).toEqual({
        ops: { default: 0, get: 3600, put: 0.25, list: 0, delete: 0 },
        bandwidth: { out: 100 },
      });
      expect(cleared).toEqual(zero);
      expect(h.emulator.state.limits.users.has(created.userId)).toBe(false);
    });

    it('sends the documented limit parameters', async () => {
      // Prepare
      const owner = await newUser();
      const bucket = uniqueBucket();
      h.emulator.state.createBucket(owner.userId, bucket);
      const mark = h.emulator.requests.length;

      // Act
      await client.setLimit({ bucket }, { type: 'ops', resource: 'list', value: 12.5 });

      // Assess
      const [request] = h.since(mark);
      expect(request?.method).toBe('PUT');
      expect(paramsOf(request)).toEqual([
        ['ostor-limits', ''],
        ['bucket', bucket],
        ['limit-type', 'ops'],
        ['limit-resource', 'list'],
        ['limit-value', '12.5'],
      ]);
      expect((await client.getLimits({ bucket })).ops.list).toBe(12.5);
    });

    it('answers 404 for limits of an unknown bucket or user', async () => {
      expect(await caught(() => client.getLimits({ bucket: uniqueBucket('missing') }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
      expect(
        await caught(() =>
          client.setLimit({ email: uniqueEmail('ghost') }, { type: 'ops', resource: 'get', value: 1 }),
        ),
      ).toBeInstanceOf(GatewayNotFoundError);
      expect(await caught(() => client.deleteLimits({ userId: 'aaaaaaaaaaaaaaaa' }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
    });

    it('refuses negative, non-finite, over-precise and fractional-bandwidth values', async () => {
      const ref = { userId: '0123456789abcdef' };
      await expectRefusedLocally(
        () => client.setLimit(ref, { type: 'ops', resource: 'get', value: -1 }),
        'value',
      );
      await expectRefusedLocally(
        () => client.setLimit(ref, { type: 'ops', resource: 'get', value: Number.NaN }),
        'value',
      );
      await expectRefusedLocally(
        () => client.setLimit(ref, { type: 'ops', resource: 'get', value: 1.234 }),
        'value',
      );
      await expectRefusedLocally(
        () => client.setLimit(ref, { type: 'bandwidth', resource: 'out', value: 1.5 }),
        'value',
      );
      await expectRefusedLocally(
        () => client.setLimit(ref, { type: 'ops', resource: 'head' as 'get', value: 1 }),
        'resource',
      );
    });
  });

  describe('quotas', () => {
    it('answers undefined when no quota is set, sets, reads and deletes a user quota', async () => {
      // Prepare
      const created = await newUser();
      const ref = { email: created.email };

      // Act
      const before = await client.getQuota(ref);
      await client.setQuota(ref, 1024);
      const set = await client.getQuota(ref);
      await client.deleteQuota(ref);
      const after = await client.getQuota(ref);

      // Assess
      expect(before).toBeUndefined();
      expect(set).toEqual({ type: 'user', sizeGb: 1024 });
      expect(after).toBeUndefined();
    });

    it('sets a bucket quota', async () => {
      // Prepare
      const owner = await newUser();
      const bucket = uniqueBucket();
      h.emulator.state.createBucket(owner.userId, bucket);

      // Act
      await client.setQuota({ bucket }, 256);

      // Assess
      expect(await client.getQuota({ bucket })).toEqual({ type: 'bucket', sizeGb: 256 });
      expect(h.emulator.state.quotas.buckets.get(bucket)).toBe(256);
    });

    it('sets and deletes the default quotas', async () => {
      // Act
      await client.setQuota({ default: 'user' }, 100);
      await client.setQuota({ default: 'bucket' }, 50);
      const user = await client.getQuota({ default: 'user' });
      const bucket = await client.getQuota({ default: 'bucket' });
      await client.deleteQuota({ default: 'user' });
      await client.deleteQuota({ default: 'bucket' });

      // Assess
      expect(user).toEqual({ type: 'user', sizeGb: 100 });
      expect(bucket).toEqual({ type: 'bucket', sizeGb: 50 });
      expect(await client.getQuota({ default: 'user' })).toBeUndefined();
      expect(h.emulator.state.quotas.defaults).toEqual({ user: null, bucket: null });
    });

    it('answers 404 for the quota of an unknown user or bucket', async () => {
      expect(await caught(() => client.getQuota({ email: uniqueEmail('ghost') }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
      expect(await caught(() => client.setQuota({ bucket: uniqueBucket('missing') }, 1))).toBeInstanceOf(
        GatewayNotFoundError,
      );
      expect(await caught(() => client.deleteQuota({ userId: 'bbbbbbbbbbbbbbbb' }))).toBeInstanceOf(
        GatewayNotFoundError,
      );
    });

    it('refuses fractional or negative sizes and unknown defaults', async () => {
      await expectRefusedLocally(() => client.setQuota({ default: 'user' }, 1.5), 'sizeGb');
      await expectRefusedLocally(() => client.setQuota({ default: 'user' }, -1), 'sizeGb');
      await expectRefusedLocally(() => client.getQuota({ default: 'account' as 'user' }), 'default');
    });
  });

  describe('usage statistics', () => {
    it('lists pages with after= and limit=, and iterates every name once', async () => {
      // Prepare
      h.emulator.state.addUsageObject({ serviceId: 1n, start: new Date(0), period: 1, items: [] });
      for (const name of [...h.emulator.state.usage.keys()]) h.emulator.state.deleteUsageObject(name);
      const names = [1, 2, 3, 4, 5].map((i) =>
        h.emulator.state.addUsageObject({
          serviceId: 8000000000000065n,
          start: new Date(Date.UTC(2017, 1, 1, 16, i)),
          period: 1800,
          items: [],
        }),
      );
      const mark = h.emulator.requests.length;

      // Act
      const first = await client.listUsage({ limit: 2 });
      const second = await client.listUsage({ after: first.names[1] ?? '', limit: 2 });
      const every: string[] = [];
      for await (const name of client.usageObjectNames({ pageSize: 2 })) every.push(name);

      // Assess
      expect(first).toEqual({ names: names.slice(0, 2), truncated: true });
      expect(second).toEqual({ names: names.slice(2, 4), truncated: true });
      expect(every).toEqual(names);
      const pages = h.since(mark).slice(2);
      expect(pages.map((r) => r.params.find(([n]) => n === 'after')?.[1])).toEqual([
        undefined,
        names[1],
        names[3],
      ]);
      for (const name of names) h.emulator.state.deleteUsageObject(name);
    });

    it('reads a statistics object without losing 64-bit values, then deletes it', async () => {
      // Prepare
      const owner = await newUser();
      const name = h.emulator.state.addUsageObject({
        serviceId: 9007199254740993n,
        start: new Date('2017-02-01T16:31:54.000Z'),
        period: 1390,
        items: [
          {
            bucket: 'client',
            userId: owner.userId,
            epoch: 98309,
            ops: { put: 1, get: 3 },
            uploaded: 41258,
            downloaded: 2n ** 53n + 1n,
          },
          { bucket: '', userId: '', ops: { list: 2 } },
        ],
      });

      // Act
      const usage = await client.getUsage(name);
      await client.deleteUsage(name);
      const gone = await caught(() => client.getUsage(name));

      // Assess
      expect(usage).toEqual({
        name,
        fmtVersion: 1,
        serviceId: '9007199254740993',
        startTs: 1485966714,
        period: 1390,
        items: [
          {
            bucket: 'client',
            epoch: 98309,
            userId: owner.userId,
            tag: '',
            ops: { put: 1, get: 3, list: 0, other: 0 },
            bytes: { uploaded: 41258n, downloaded: 9007199254740993n },
          },
          {
            bucket: '',
            epoch: 0,
            userId: '',
            tag: '',
            ops: { put: 0, get: 0, list: 2, other: 0 },
            bytes: { uploaded: 0n, downloaded: 0n },
          },
        ],
      });
      expect(h.emulator.state.usage.has(name)).toBe(false);
      expect(gone).toBeInstanceOf(GatewayNotFoundError);
    });

    it('answers 404 when deleting an unknown statistics object', async () => {
      const error = await caught(() => client.deleteUsage('s3-usage-1-2017-02-01T16:31:54.000Z-1800'));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
    });

    it('refuses an invalid name or page size before any request', async () => {
      await expectRefusedLocally(() => client.getUsage('s3-usage-&obj=x'), 'name');
      await expectRefusedLocally(() => client.listUsage({ limit: 501 }), 'limit');
      await expectRefusedLocally(() => client.listUsage({ limit: 0 }), 'limit');
      expect(() => client.usageObjectNames({ pageSize: 1000 })).toThrow(InvalidInputError);
    });
  });

  describe('plain S3', () => {
    async function bucketWith(keys: readonly string[]): Promise<string> {
      const owner = await newUser('owner');
      const name = uniqueBucket('s3');
      h.emulator.state.createBucket(owner.userId, name);
      for (const key of keys) h.emulator.state.putObject(name, key, key === 'empty' ? '' : `body of ${key}`);
      return name;
    }

    it('lists objects with awkward keys byte for byte, page by page', async () => {
      // Prepare
      const keys = ['a b', 'c+d', 'e&f=g', 'h?i#j', 'k%20l', 'dir/sub/ü.txt', ' lead', 'trail ', '0001'];
      const bucket = await bucketWith(keys);

      // Act
      const seen: string[] = [];
      let token: string | undefined;
      let pages = 0;
      do {
        const page = await client.listObjects(bucket, {
          maxKeys: 4,
          ...(token === undefined ? {} : { continuationToken: token }),
        });
        seen.push(...page.objects.map((o) => o.key));
        token = page.nextContinuationToken;
        pages += 1;
      } while (token !== undefined);

      // Assess
      expect(seen.sort()).toEqual([...keys].sort());
      expect(pages).toBe(3);
    });

    it('lists with a prefix and start-after', async () => {
      // Prepare
      const bucket = await bucketWith(['logs/1', 'logs/2', 'logs/3', 'other']);

      // Act
      const page = await client.listObjects(bucket, { prefix: 'logs/', startAfter: 'logs/1' });

      // Assess
      expect(page.objects.map((o) => o.key)).toEqual(['logs/2', 'logs/3']);
      expect(page.objects[0]?.size).toBe('body of logs/2'.length);
      expect(page.isTruncated).toBe(false);
    });

    it('tells an empty bucket from one holding a zero-byte object', async () => {
      const empty = await bucketWith([]);
      const zeroByte = await bucketWith(['empty']);
      expect(await client.isBucketEmpty(empty)).toBe(true);
      expect(await client.isBucketEmpty(zeroByte)).toBe(false);
    });

    it('answers 404 when listing an unknown bucket', async () => {
      const error = await caught(() => client.listObjects(uniqueBucket('missing')));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
      expect(error).toMatchObject({ gatewayCode: 'NoSuchBucket' });
    });

    it('deletes objects with a Content-MD5 and reports what was deleted', async () => {
      // Prepare
      const keys = ['x&y', 'a<b>"c"', "it's", 'tab\there', 'dir/ü'];
      const bucket = await bucketWith(keys);
      const mark = h.emulator.requests.length;

      // Act
      const result = await client.deleteObjects(bucket, [...keys, 'never-existed']);

      // Assess
      expect(result.errors).toEqual([]);
      expect(result.deleted.sort()).toEqual([...keys, 'never-existed'].sort());
      expect(h.emulator.state.buckets.get(bucket)?.objects.size).toBe(0);
      const [request] = h.since(mark);
      expect(request?.method).toBe('POST');
      expect(paramsOf(request)).toEqual([['delete', '']]);
      expect(request?.headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    });

    it('deletes a thousand keys in one request and refuses more', async () => {
      // Prepare
      const keys = Array.from({ length: 1000 }, (_, i) => `k/${i}`);
      const bucket = await bucketWith(keys);
      const mark = h.emulator.requests.length;

      // Act
      const result = await client.deleteObjects(bucket, keys);

      // Assess
      expect(result.deleted).toHaveLength(1000);
      expect(h.since(mark)).toHaveLength(1);
      await expectRefusedLocally(() => client.deleteObjects(bucket, [...keys, 'one-more']), 'keys');
    });

    it('refuses an invalid key and sends nothing for an empty list', async () => {
      const bucket = uniqueBucket('unused');
      await expectRefusedLocally(() => client.deleteObjects(bucket, ['ok', '']), 'keys[1]');
      await expectRefusedLocally(() => client.deleteObjects(bucket, ['bell\u0007']), 'keys[0]');
      await expectRefusedLocally(() => client.deleteObjects(bucket, ['x'.repeat(1025)]), 'keys[0]');
      const mark = h.emulator.requests.length;
      expect(await client.deleteObjects(bucket, [])).toEqual({ deleted: [], errors: [] });
      expect(h.since(mark)).toHaveLength(0);
    });

    it('deletes one object over its path, whatever its key holds, and a version of it', async () => {
      // Prepare: keys DeleteObjects cannot name (XML 1.0 cannot carry these control characters).
      const keys = ['bell\u0007', 'esc\u001b/dir/x', 'plain name'];
      const bucket = await bucketWith(keys);
      h.emulator.state.setVersioning(bucket, 'Enabled');
      const version = h.emulator.state.putObject(bucket, 'bell\u0007', 'second').versionId;
      const mark = h.emulator.requests.length;

      // Act
      for (const key of keys) await client.deleteObject(bucket, key);
      await client.deleteObject(bucket, 'bell\u0007', { versionId: version });
      await client.deleteObject(bucket, 'never-existed');

      // Assess: one DELETE per call, the key percent-encoded in the path, the version as a parameter.
      const requests = h.since(mark);
      expect(requests.map((r) => r.method)).toEqual(['DELETE', 'DELETE', 'DELETE', 'DELETE', 'DELETE']);
      expect(requests[0]?.path).toBe(`/${bucket}/bell%07`);
      expect(requests[1]?.path).toBe(`/${bucket}/esc%1B/dir/x`);
      expect(paramsOf(requests[3])).toEqual([['versionId', version]]);
      expect(h.emulator.state.buckets.get(bucket)?.objects.size).toBe(0);
      await expectRefusedLocally(() => client.deleteObject(bucket, ''), 'key');
      await expectRefusedLocally(() => client.deleteObject(bucket, 'x'.repeat(1025)), 'key');
      await expectRefusedLocally(() => client.deleteObject(bucket, '\ud800'), 'key');
    });

    it('deletes an empty bucket, refuses a non-empty one (409) and answers 404 for a missing one', async () => {
      // Prepare
      const empty = await bucketWith([]);
      const full = await bucketWith(['keep']);

      // Act
      await client.deleteBucket(empty);
      const notEmpty = await caught(() => client.deleteBucket(full));
      const missing = await caught(() => client.deleteBucket(uniqueBucket('missing')));

      // Assess
      expect(h.emulator.state.buckets.has(empty)).toBe(false);
      expect(notEmpty).toBeInstanceOf(GatewayConflictError);
      expect(notEmpty).toMatchObject({ reason: 'bucket_not_empty', gatewayCode: 'BucketNotEmpty' });
      expect(h.emulator.state.buckets.has(full)).toBe(true);
      expect(missing).toBeInstanceOf(GatewayNotFoundError);
    });
  });

  describe('plain S3: object versions and multipart uploads', () => {
    async function versionedBucket(): Promise<string> {
      const owner = await newUser('versioned');
      const name = uniqueBucket('ver');
      h.emulator.state.createBucket(owner.userId, name);
      h.emulator.state.setVersioning(name, 'Enabled');
      return name;
    }

    it('lists versions and delete markers page by page, then deletes them by version id', async () => {
      // Prepare
      const bucket = await versionedBucket();
      const keys = ['a b', 'c+d&e', 'dir/ü', 'tab\there'];
      for (const key of keys) {
        h.emulator.state.putObject(bucket, key, 'old');
        h.emulator.state.putObject(bucket, key, 'new');
        h.emulator.state.deleteObject(bucket, key);
      }

      // Act
      const listed: { key: string; versionId: string; isDeleteMarker: boolean }[] = [];
      let marker: { keyMarker: string; versionIdMarker: string } | undefined;
      let pages = 0;
      for (;;) {
        const page = await client.listObjectVersions(bucket, { maxKeys: 5, ...marker });
        listed.push(...page.versions);
        pages += 1;
        if (!page.isTruncated) break;
        if (page.nextKeyMarker === undefined || page.nextVersionIdMarker === undefined)
          throw new Error('no marker');
        marker = { keyMarker: page.nextKeyMarker, versionIdMarker: page.nextVersionIdMarker };
      }
      const objectsBefore = await client.listObjects(bucket);
      const result = await client.deleteObjects(
        bucket,
        listed.map((v) => ({ key: v.key, versionId: v.versionId })),
      );
      const after = await client.listObjectVersions(bucket);

      // Assess
      expect(objectsBefore.objects).toEqual([]);
      expect(pages).toBe(3);
      expect(listed).toHaveLength(12);
      expect(
        listed
          .filter((v) => v.isDeleteMarker)
          .map((v) => v.key)
          .sort(),
      ).toEqual([...keys].sort());
      expect(new Set(listed.map((v) => `${v.key}@${v.versionId}`)).size).toBe(12);
      expect(result.errors).toEqual([]);
      expect(after).toEqual({ versions: [], isTruncated: false });
      await client.deleteBucket(bucket);
      expect(h.emulator.state.buckets.has(bucket)).toBe(false);
    });

    it('lists and aborts multipart uploads; a repeat after a lost answer is done, a fresh abort of a gone one is 404', async () => {
      // Prepare
      const bucket = await versionedBucket();
      const first = h.emulator.state.createMultipartUpload(bucket, 'big file.bin');
      const second = h.emulator.state.createMultipartUpload(bucket, 'big file.bin');
      const third = h.emulator.state.createMultipartUpload(bucket, 'other/ü');

      // Act
      const page1 = await client.listMultipartUploads(bucket, { maxUploads: 2 });
      const page2 = await client.listMultipartUploads(bucket, {
        keyMarker: page1.nextKeyMarker ?? '',
        uploadIdMarker: page1.nextUploadIdMarker ?? '',
      });
      h.emulator.faults.inject({
        match: { method: 'DELETE', param: 'uploadId' },
        fault: { kind: 'status', status: 500, afterApply: true },
      });
      const mark = h.emulator.requests.length;
      await client.abortMultipartUpload(bucket, first.key, first.uploadId);
      const attempts = h.since(mark).length;
      await client.abortMultipartUpload(bucket, second.key, second.uploadId);
      const gone = await caught(() => client.abortMultipartUpload(bucket, second.key, second.uploadId));
      await client.abortMultipartUpload(bucket, third.key, third.uploadId);

      // Assess
      expect(page1.isTruncated).toBe(true);
      expect([...page1.uploads, ...page2.uploads].map((u) => u.uploadId).sort()).toEqual(
        [first.uploadId, second.uploadId, third.uploadId].sort(),
      );
      expect(page2.uploads.map((u) => u.key)).toEqual(['other/ü']);
      expect(page2.isTruncated).toBe(false);
      expect(attempts).toBe(2);
      expect(gone).toBeInstanceOf(GatewayNotFoundError);
      expect(gone).toMatchObject({ gatewayCode: 'NoSuchUpload' });
      expect(h.emulator.state.buckets.get(bucket)?.uploads.size).toBe(0);
    });

    it('refuses invalid markers, page sizes, version ids and upload ids before any request', async () => {
      const bucket = uniqueBucket('unused');
      await expectRefusedLocally(
        () => client.listObjectVersions(bucket, { versionIdMarker: 'v1' }),
        'versionIdMarker',
      );
      await expectRefusedLocally(() => client.listObjectVersions(bucket, { maxKeys: 0 }), 'maxKeys');
      await expectRefusedLocally(() => client.listObjectVersions(bucket, { keyMarker: '' }), 'keyMarker');
      await expectRefusedLocally(
        () => client.listMultipartUploads(bucket, { uploadIdMarker: 'u1' }),
        'uploadIdMarker',
      );
      await expectRefusedLocally(
        () => client.listMultipartUploads(bucket, { maxUploads: 1001 }),
        'maxUploads',
      );
      await expectRefusedLocally(
        () => client.deleteObjects(bucket, ['ok', { key: 'k', versionId: '' }]),
        'keys[1].versionId',
      );
      await expectRefusedLocally(
        () => client.deleteObjects(bucket, [{ key: '', versionId: 'v' }]),
        'keys[0].key',
      );
      await expectRefusedLocally(() => client.abortMultipartUpload(bucket, 'k', 'bad\nid'), 'uploadId');
      await expectRefusedLocally(() => client.abortMultipartUpload('Bad_Bucket', 'k', 'id'), 'bucket');
    });

    it('reads a gateway without versions or uploads (501, or 400 for the sub-resource) as holding none, without retrying', async () => {
      // Prepare
      const bucket = await versionedBucket();
      h.emulator.state.putObject(bucket, 'k', 'x');
      h.emulator.state.createMultipartUpload(bucket, 'k');
      h.emulator.faults.inject({
        match: { param: 'versions' },
        fault: { kind: 'status', status: 501, message: 'Not implemented' },
      });
      h.emulator.faults.inject({
        match: { param: 'uploads' },
        fault: {
          kind: 'status',
          status: 400,
          body: '<Error><Code>InvalidArgument</Code><Message>unknown sub-resource uploads</Message></Error>',
        },
      });
      const mark = h.emulator.requests.length;

      // Act
      const versions = await client.listObjectVersions(bucket);
      const uploads = await client.listMultipartUploads(bucket);
      const requests = h.since(mark).length;
      h.emulator.faults.inject({
        match: { param: 'versions' },
        fault: {
          kind: 'status',
          status: 400,
          body: '<Error><Code>AuthorizationHeaderMalformed</Code><Message>region</Message></Error>',
        },
      });
      const authProblem = await caught(() => client.listObjectVersions(bucket));
      const real = await client.listObjectVersions(bucket);

      // Assess
      expect(versions).toEqual({ versions: [], isTruncated: false, unsupported: true });
      expect(uploads).toEqual({ uploads: [], isTruncated: false, unsupported: true });
      expect(requests).toBe(2);
      expect(authProblem).toBeInstanceOf(GatewayRejectedError);
      expect(real.versions).toHaveLength(1);
      expect(real.unsupported).toBeUndefined();
    });
  });

  describe('authentication', () => {
    it('answers GatewayAuthError (access_denied) for a user that is not a system user', async () => {
      // Prepare
      const plain = await newUser('plain');
      const key = plain.accessKeys[0];
      if (key === undefined) throw new Error('a new user has a key');
      const asPlain = h.client({ signatureVersion, credentials: key });

      // Act
      const error = await caught(() => asPlain.listUsers());

      // Assess
      expect(error).toBeInstanceOf(GatewayAuthError);
      expect(error).toMatchObject({ code: 'gateway_auth', status: 403, reason: 'access_denied' });
      expect((error as GatewayAuthError).gatewayMessage).toMatch(/system users/);
    });

    it('answers GatewayAuthError (signature) for a wrong secret', async () => {
      const wrong = h.client({
        signatureVersion,
        credentials: {
          accessKeyId: h.system.accessKeyId,
          secretAccessKey: 'wrong-secret-wrong-secret-wrong-secret00',
        },
      });
      const error = await caught(() => wrong.listUsers());
      expect(error).toBeInstanceOf(GatewayAuthError);
      expect(error).toMatchObject({ reason: 'signature', gatewayCode: 'SignatureDoesNotMatch' });
    });

    it('answers GatewayAuthError (access_denied) for an unknown key', async () => {
      const unknown = h.client({
        signatureVersion,
        credentials: { accessKeyId: 'AAAAAAAAAAAAAAAAAAAA', secretAccessKey: 'whatever-whatever-whatever' },
      });
      const error = await caught(() => unknown.listBuckets());
      expect(error).toBeInstanceOf(GatewayAuthError);
      expect(error).toMatchObject({ gatewayCode: 'InvalidAccessKeyId' });
    });

    it('answers GatewayAuthError (clock_skew) when the client clock is an hour off', async () => {
      // Prepare
      let refreshes = 0;
      const skewed = h.client({
        signatureVersion,
        now: () => new Date(Date.now() - 3_600_000),
        credentials: {
          get: async () => h.system,
          refresh: async () => {
            refreshes += 1;
            return h.system;
          },
        },
      });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() => skewed.listUsers());

      // Assess
      expect(error).toBeInstanceOf(GatewayAuthError);
      expect(error).toMatchObject({ reason: 'clock_skew', gatewayCode: 'RequestTimeTooSkewed', status: 403 });
      expect(refreshes).toBe(0);
      expect(h.since(mark)).toHaveLength(1);
    });
  });

  it('maps a 400 to GatewayRejectedError', async () => {
    // Prepare
    h.emulator.faults.inject({
      match: { service: 'ostor-users', method: 'GET' },
      fault: { kind: 'status', status: 400, message: 'Bad parameter combination' },
    });

    // Act
    const error = await caught(() => client.listUsers());

    // Assess
    expect(error).toBeInstanceOf(GatewayRejectedError);
    expect(error).toMatchObject({
      code: 'gateway_rejected',
      status: 400,
      gatewayMessage: 'Bad parameter combination',
      attempts: 1,
    });
  });
});

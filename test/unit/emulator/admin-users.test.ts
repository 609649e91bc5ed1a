// ?ostor-users and ?ostor-accounts on the emulator, as the VHI 5.1 guide documents them.

import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/gateway.ts';
import { client } from './http.ts';

interface CreatedUser {
  UserEmail: string;
  UserId: string;
  AWSAccessKeys: { AWSAccessKeyId: string; AWSSecretAccessKey: string }[];
}

interface FullUser extends CreatedUser {
  State: string;
  OwnerId: string;
  Flags: string[];
  AccountCount: string;
  Accounts: { Name: string; AWSAccessKeys: { AWSAccessKeyId: string; AWSSecretAccessKey: string }[] }[];
}

let emulator: Emulator;
let admin: ReturnType<typeof client>;

beforeAll(async () => {
  emulator = await startEmulator();
  admin = client(emulator, emulator.createSystemUser('admin@example.com'));
});

afterAll(async () => {
  await emulator.close();
});

beforeEach(() => {
  emulator.behaviour.userListFormat = 'array';
});

let counter = 0;
const freshEmail = (): string => `user${++counter}@example.com`;

describe('creating users (PUT ?ostor-users)', () => {
  it('creates a user with one key pair in the gateway formats', async () => {
    // Prepare
    const email = freshEmail();

    // Act
    const created = await admin.json<CreatedUser>(
      'PUT',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );

    // Assess
    expect(Object.keys(created)).toEqual(['UserEmail', 'UserId', 'AWSAccessKeys']);
    expect(created.UserEmail).toBe(email);
    expect(created.UserId).toMatch(/^[0-9a-f]{16}$/);
    expect(created.AWSAccessKeys).toHaveLength(1);
    const key = created.AWSAccessKeys[0];
    expect(key?.AWSAccessKeyId).toMatch(new RegExp(`^${created.UserId}[A-Z0-9]{4}$`));
    expect(key?.AWSSecretAccessKey).toMatch(/^[A-Za-z0-9]{40}$/);
    expect(emulator.state.users.get(created.UserId)?.email).toBe(email);
  });

  it('creates a second user when the email already exists (the gateway keys users by id)', async () => {
    // Prepare
    const email = freshEmail();
    const first = await admin.json<CreatedUser>(
      'PUT',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );

    // Act
    const second = await admin.json<CreatedUser>(
      'PUT',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );
    const queried = await admin.json<FullUser>(
      'GET',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );

    // Assess
    expect(second.UserId).not.toBe(first.UserId);
    expect(emulator.state.usersWithEmail(email).map((u) => u.id)).toEqual([first.UserId, second.UserId]);
    expect(queried.UserId).toBe(first.UserId);
  });

  it('decodes %2B as a plus sign and a raw + as a space, as HTTP servers do', async () => {
    // Act
    const encoded = await admin.json<CreatedUser>('PUT', '/?ostor-users&emailAddress=a%2Btag%40example.com');
    const raw = await admin.json<CreatedUser>('PUT', '/?ostor-users&emailAddress=a+tag@example.com');

    // Assess
    expect(encoded.UserEmail).toBe('a+tag@example.com');
    expect(raw.UserEmail).toBe('a tag@example.com');
    const recorded = emulator.requests.slice(-2).map((r) => r.params);
    expect(recorded).toEqual([
      [
        ['ostor-users', ''],
        ['emailAddress', 'a+tag@example.com'],
      ],
      [
        ['ostor-users', ''],
        ['emailAddress', 'a tag@example.com'],
      ],
    ]);
  });

  it('refuses an unencoded & that smuggles a second parameter or a repeated parameter', async () => {
    // Act
    const smuggled = await admin.call('PUT', '/?ostor-users&emailAddress=x@example.com&disable');
    const repeated = await admin.call(
      'PUT',
      '/?ostor-users&emailAddress=x@example.com&emailAddress=y@example.com',
    );

    // Assess
    expect(smuggled.status).toBe(400);
    expect(smuggled.message).toContain("'disable'");
    expect(repeated.status).toBe(400);
    expect(repeated.message).toContain('more than once');
    expect(emulator.state.findUserByEmail('x@example.com')).toBeUndefined();
  });

  it('requires an email: none or an empty one is a 400', async () => {
    // Act
    const none = await admin.call('PUT', '/?ostor-users');
    const empty = await admin.call('PUT', '/?ostor-users&emailAddress=');

    // Assess
    expect([none.status, empty.status]).toEqual([400, 400]);
    expect(none.text).toContain('<Code>InvalidArgument</Code>');
  });
});

describe('listing and querying users (GET ?ostor-users)', () => {
  it('lists every user as a bare array, or as {"Users": [...]} when switched', async () => {
    // Prepare
    const email = freshEmail();
    const created = await admin.json<CreatedUser>(
      'PUT',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );

    // Act
    const list = await admin.json<Record<string, string>[]>('GET', '/?ostor-users');
    emulator.behaviour.userListFormat = 'wrapped';
    const wrapped = await admin.json<{ Users: Record<string, string>[] }>('GET', '/?ostor-users');

    // Assess
    expect(Array.isArray(list)).toBe(true);
    expect(list.find((u) => u.UserId === created.UserId)).toEqual({
      UserEmail: email,
      UserId: created.UserId,
      State: 'enabled',
      OwnerId: '0000000000000000',
    });
    expect(wrapped.Users).toEqual(list);
  });

  it('returns the full user by email or by id, AccountCount as a string', async () => {
    // Prepare
    const email = freshEmail();
    const created = await admin.json<CreatedUser>(
      'PUT',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );
    await admin.json('POST', `/?ostor-accounts&id=${created.UserId}&accountName=project1`);

    // Act
    const byEmail = await admin.json<FullUser>(
      'GET',
      `/?ostor-users&emailAddress=${encodeURIComponent(email)}`,
    );
    const byId = await admin.json<FullUser>('GET', `/?ostor-users&id=${created.UserId}`);

    // Assess
    expect(Object.keys(byEmail)).toEqual([
      'UserEmail',
      'UserId',
      'State',
      'OwnerId',
      'Flags',
      'AWSAccessKeys',
      'AccountCount',
      'Accounts',
    ]);
    expect(byEmail).toEqual(byId);
    expect(byEmail.Flags).toEqual([]);
    expect(byEmail.AWSAccessKeys).toEqual(created.AWSAccessKeys);
    expect(byEmail.AccountCount).toBe('1');
    expect(byEmail.Accounts[0]?.Name).toBe('project1');
    expect(byEmail.Accounts[0]?.AWSAccessKeys).toHaveLength(1);
  });

  it('shows the system flag of a system user', async () => {
    // Act
    const user = await admin.json<FullUser>('GET', '/?ostor-users&emailAddress=admin%40example.com');

    // Assess
    expect(user.Flags).toEqual(['system']);
  });

  it('answers 404 for an unknown user and 400 when both email and id are given', async () => {
    // Act
    const unknown = await admin.call('GET', '/?ostor-users&emailAddress=nobody%40example.com');
    const unknownId = await admin.call('GET', '/?ostor-users&id=0123456789abcdef');
    const both = await admin.call(
      'GET',
      '/?ostor-users&emailAddress=admin%40example.com&id=0123456789abcdef',
    );

    // Assess
    expect(unknown.status).toBe(404);
    expect(unknown.message).toBe('The user with email address nobody@example.com does not exist');
    expect(unknown.text).toContain('<Code>NoSuchUser</Code>');
    expect(unknownId.status).toBe(404);
    expect(both.status).toBe(400);
    expect(both.message).toBe('Specify either emailAddress or id, not both');
  });
});

describe('disabling, enabling and deleting users', () => {
  it('disables and enables a user (POST &disable / &enable), answering an empty 200', async () => {
    // Prepare
    const email = encodeURIComponent(freshEmail());
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${email}`);

    // Act
    const disabled = await admin.call('POST', `/?ostor-users&emailAddress=${email}&disable`);
    const stateAfterDisable = emulator.state.users.get(created.UserId)?.state;
    const enabled = await admin.call('POST', `/?ostor-users&id=${created.UserId}&enable`);

    // Assess
    expect([disabled.status, disabled.text]).toEqual([200, '']);
    expect(stateAfterDisable).toBe('disabled');
    expect([enabled.status, enabled.text]).toEqual([200, '']);
    expect(emulator.state.users.get(created.UserId)?.state).toBe('enabled');
  });

  it('refuses POST without an operation, with two operations, or without a user', async () => {
    // Act
    const none = await admin.call('POST', '/?ostor-users&emailAddress=admin%40example.com');
    const two = await admin.call('POST', '/?ostor-users&emailAddress=admin%40example.com&disable&enable');
    const noUser = await admin.call('POST', '/?ostor-users&disable');

    // Assess
    expect([none.status, two.status, noUser.status]).toEqual([400, 400, 400]);
    expect(emulator.state.findUserByEmail('admin@example.com')?.state).toBe('enabled');
  });

  it('deletes a user (204) but refuses (409) while it owns buckets', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);
    emulator.state.createBucket(created.UserId, 'owned-bucket');

    // Act
    const refused = await admin.call('DELETE', `/?ostor-users&id=${created.UserId}`);
    emulator.state.deleteBucket('owned-bucket');
    const deleted = await admin.call('DELETE', `/?ostor-users&id=${created.UserId}`);
    const again = await admin.call('DELETE', `/?ostor-users&id=${created.UserId}`);

    // Assess
    expect(refused.status).toBe(409);
    expect(refused.message).toContain('owns 1 bucket');
    expect(deleted.status).toBe(204);
    expect(deleted.text).toBe('');
    expect(emulator.state.users.has(created.UserId)).toBe(false);
    expect(again.status).toBe(404);
  });

  it('answers deletes with the configured drift status (203 as some samples print)', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);
    emulator.behaviour.deleteStatus = 203;

    // Act
    const deleted = await admin.call('DELETE', `/?ostor-users&id=${created.UserId}`);
    emulator.behaviour.deleteStatus = 204;

    // Assess
    expect(deleted.status).toBe(203);
  });
});

describe('access keys (genKey, revokeKey)', () => {
  it('generates a second key, answering only the new pair, and refuses a third with 409', async () => {
    // Prepare
    const email = encodeURIComponent(freshEmail());
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${email}`);

    // Act
    const generated = await admin.json<CreatedUser>('POST', `/?ostor-users&emailAddress=${email}&genKey`);
    const third = await admin.call('POST', `/?ostor-users&emailAddress=${email}&genKey`);

    // Assess
    expect(generated.UserId).toBe(created.UserId);
    expect(generated.AWSAccessKeys).toHaveLength(1);
    expect(generated.AWSAccessKeys[0]?.AWSAccessKeyId).not.toBe(created.AWSAccessKeys[0]?.AWSAccessKeyId);
    expect(emulator.state.users.get(created.UserId)?.keys).toHaveLength(2);
    expect(third.status).toBe(409);
    expect(third.message).toContain('already has 2 access key pairs');
  });

  it('revokes a key (empty 200) and answers 404 for a key the user does not hold', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);
    const keyId = created.AWSAccessKeys[0]?.AWSAccessKeyId ?? '';

    // Act
    const revoked = await admin.call('POST', `/?ostor-users&id=${created.UserId}&revokeKey=${keyId}`);
    const again = await admin.call('POST', `/?ostor-users&id=${created.UserId}&revokeKey=${keyId}`);

    // Assess
    expect([revoked.status, revoked.text]).toEqual([200, '']);
    expect(emulator.state.users.get(created.UserId)?.keys).toEqual([]);
    expect(emulator.state.resolveAccessKey(keyId)).toBeUndefined();
    expect(again.status).toBe(404);
  });

  it('accepts PUT for genKey and revokeKey as older product lines used', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);

    // Act
    const generated = await admin.json<CreatedUser>('PUT', `/?ostor-users&id=${created.UserId}&genKey`);
    const newKey = generated.AWSAccessKeys[0]?.AWSAccessKeyId ?? '';
    const revoked = await admin.call('PUT', `/?ostor-users&id=${created.UserId}&revokeKey=${newKey}`);

    // Assess
    expect(revoked.status).toBe(200);
    expect(emulator.state.users.get(created.UserId)?.keys.map((k) => k.accessKeyId)).toEqual([
      created.AWSAccessKeys[0]?.AWSAccessKeyId,
    ]);
  });

  it('generates and revokes keys of an account (&accountName=), two at most per account', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);
    await admin.json('POST', `/?ostor-accounts&id=${created.UserId}&accountName=acc`);

    // Act
    const generated = await admin.json<CreatedUser>(
      'POST',
      `/?ostor-users&id=${created.UserId}&accountName=acc&genKey`,
    );
    const third = await admin.call('POST', `/?ostor-users&id=${created.UserId}&accountName=acc&genKey`);
    const newKey = generated.AWSAccessKeys[0]?.AWSAccessKeyId ?? '';
    const wrongHolder = await admin.call('POST', `/?ostor-users&id=${created.UserId}&revokeKey=${newKey}`);
    const revoked = await admin.call(
      'POST',
      `/?ostor-users&id=${created.UserId}&accountName=acc&revokeKey=${newKey}`,
    );
    const unknownAccount = await admin.call(
      'POST',
      `/?ostor-users&id=${created.UserId}&accountName=nope&genKey`,
    );

    // Assess
    expect(generated.UserId).toBe(created.UserId);
    expect(third.status).toBe(409);
    expect(wrongHolder.status).toBe(404);
    expect(revoked.status).toBe(200);
    expect(emulator.state.users.get(created.UserId)?.accounts[0]?.keys).toHaveLength(1);
    expect(emulator.state.users.get(created.UserId)?.keys).toHaveLength(1);
    expect(unknownAccount.status).toBe(404);
  });

  it('refuses a flag with a value (genKey=x)', async () => {
    // Act
    const answer = await admin.call('POST', '/?ostor-users&emailAddress=admin%40example.com&genKey=1');

    // Assess
    expect(answer.status).toBe(400);
    expect(emulator.state.findUserByEmail('admin@example.com')?.keys).toHaveLength(1);
  });
});

describe('accounts (?ostor-accounts)', () => {
  it('creates an account with POST or PUT, answering {Name, AWSAccessKeys}', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);

    // Act
    const viaPost = await admin.json<{ Name: string; AWSAccessKeys: { AWSAccessKeyId: string }[] }>(
      'POST',
      `/?ostor-accounts&id=${created.UserId}&accountName=first`,
    );
    const viaPut = await admin.json<{ Name: string }>(
      'PUT',
      `/?ostor-accounts&id=${created.UserId}&accountName=second`,
    );

    // Assess
    expect(Object.keys(viaPost)).toEqual(['Name', 'AWSAccessKeys']);
    expect(viaPost.Name).toBe('first');
    expect(viaPost.AWSAccessKeys[0]?.AWSAccessKeyId).toMatch(new RegExp(`^${created.UserId}[A-Z0-9]{4}$`));
    expect(viaPut.Name).toBe('second');
    expect(emulator.state.users.get(created.UserId)?.accounts.map((a) => a.name)).toEqual([
      'first',
      'second',
    ]);
  });

  it('answers 409 for a duplicate name, 404 for an unknown account or user, 204 on delete', async () => {
    // Prepare
    const created = await admin.json<CreatedUser>('PUT', `/?ostor-users&emailAddress=${freshEmail()}`);
    await admin.json('POST', `/?ostor-accounts&id=${created.UserId}&accountName=acc`);

    // Act
    const duplicate = await admin.call('POST', `/?ostor-accounts&id=${created.UserId}&accountName=acc`);
    const unknownUser = await admin.call(
      'POST',
      '/?ostor-accounts&emailAddress=ghost%40example.com&accountName=acc',
    );
    const deleted = await admin.call('DELETE', `/?ostor-accounts&id=${created.UserId}&accountName=acc`);
    const unknownAccount = await admin.call(
      'DELETE',
      `/?ostor-accounts&id=${created.UserId}&accountName=acc`,
    );
    const noName = await admin.call('POST', `/?ostor-accounts&id=${created.UserId}`);

    // Assess
    expect(duplicate.status).toBe(409);
    expect(unknownUser.status).toBe(404);
    expect(deleted.status).toBe(204);
    expect(unknownAccount.status).toBe(404);
    expect(noName.status).toBe(400);
    expect(emulator.state.users.get(created.UserId)?.accounts).toEqual([]);
  });
});

// provision against the emulator with the real client: a duplicate made for the same email while
// we create is reconciled (our own racing deliveries are serialised by the customer lock, tested
// in customer-lock.test.ts).
import { describe, expect, it } from 'vitest';
import { provision } from '../../../shared/lifecycle/provision.ts';
import { MalformedResponseError } from '../../../shared/ostor/index.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();

describe('provision', () => {
  it('a user made for the same email while we create wins if lookups by email reach it', async () => {
    // Prepare: someone (a console, another integration) creates the same email just before us.
    const email = `elsewhere.${Date.now()}@example.com`;
    let theirs = '';
    let ours = '';
    const racing = new Proxy(peer.client, {
      get(target, property) {
        if (property === 'createUser') {
          return async (value: string) => {
            theirs = peer.emulator.state.createUser(value).id;
            const created = await target.createUser(value);
            ours = created.userId;
            return created;
          };
        }
        const member = Reflect.get(target, property) as unknown;
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    // Act
    const result = await provision(racing, { email });
    // Assess: the gateway answers the older user for the email, so that one is kept and handed
    // out, and ours — which owns nothing — is deleted.
    expect(peer.emulator.state.findUserByEmail(email)?.id).toBe(theirs);
    expect(result).toMatchObject({ userId: theirs, created: false });
    expect(peer.emulator.state.usersWithEmail(email).map((user) => user.id)).toEqual([theirs]);
    expect(peer.emulator.state.users.has(ours)).toBe(false);
  });

  it('recovers a user whose create answer was lost, instead of failing', async () => {
    // Prepare
    const email = `lost.${Date.now()}@example.com`;
    peer.emulator.faults.inject({
      match: { method: 'PUT', service: 'ostor-users' },
      fault: { kind: 'status', status: 500, afterApply: true },
    });
    // Act
    const result = await provision(peer.client, { email });
    // Assess
    const users = peer.emulator.state.usersWithEmail(email);
    expect(users).toHaveLength(1);
    expect(result).toMatchObject({ userId: users[0]?.id, created: true });
    expect(result.accessKeys.map((k) => k.accessKeyId)).toEqual(users[0]?.keys.map((k) => k.accessKeyId));
  });

  it('adopts an existing user without keys and gives it one', async () => {
    // Prepare
    const email = `keyless.${Date.now()}@example.com`;
    const user = peer.emulator.state.createUser(email);
    for (const key of [...user.keys]) peer.emulator.state.revokeKey(user.id, key.accessKeyId);
    // Act
    const result = await provision(peer.client, { email });
    // Assess
    expect(result.created).toBe(false);
    expect(result.accessKeys).toHaveLength(1);
    expect(user.keys.map((k) => k.accessKeyId)).toEqual([result.accessKeys[0]?.accessKeyId]);
  });
});

describe('provision with a user id the client would refuse to send back', () => {
  it('adopting: refuses before any change, as a malformed answer rather than a 400', async () => {
    // Prepare: a gateway that answers a user whose id is not 16 hexadecimal digits.
    const email = `odd-id.${Date.now()}@example.com`;
    const changes: string[] = [];
    const gateway = new Proxy(peer.client, {
      get(target, property) {
        if (property === 'findUser') {
          return async () => ({
            ...(await target.getUser({ email: 'system@lifecycle.test' })),
            userId: 'NOT-HEX',
          });
        }
        if (property === 'setQuota' || property === 'setLimit' || property === 'generateKey') {
          return async () => {
            changes.push(String(property));
          };
        }
        const member = Reflect.get(target, property) as unknown;
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    // Act
    const refusal = await provision(gateway, { email, plan: { quotaGb: 5 } }).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(refusal).toBeInstanceOf(MalformedResponseError);
    expect((refusal as Error).message).toMatch(
      /the user's id must be 16 lowercase hexadecimal digits; nothing was changed$/,
    );
    expect(changes).toEqual([]);
  });

  it('creating: says that the user was created', async () => {
    // Prepare: the create answer carries an id the client cannot send back.
    const email = `odd-new.${Date.now()}@example.com`;
    const gateway = new Proxy(peer.client, {
      get(target, property) {
        if (property === 'createUser') {
          return async (value: string) => ({ ...(await target.createUser(value)), userId: 'NOT-HEX' });
        }
        const member = Reflect.get(target, property) as unknown;
        return typeof member === 'function' ? member.bind(target) : member;
      },
    });
    // Act
    const refusal = await provision(gateway, { email, plan: { quotaGb: 5 } }).catch(
      (error: unknown) => error,
    );
    // Assess
    expect(refusal).toBeInstanceOf(MalformedResponseError);
    expect((refusal as Error).message).toMatch(/the user was created, without its plan$/);
    const [user] = peer.emulator.state.usersWithEmail(email);
    expect(peer.emulator.state.quotas.users.get(user?.id ?? '')).toBeUndefined();
  });
});

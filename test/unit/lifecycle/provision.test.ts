// provision against the emulator with the real client: a duplicate made for the same email while
// we create is reconciled (our own racing deliveries are serialised by the customer lock, tested
// in customer-lock.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import { provision } from '../../../shared/lifecycle/provision.ts';
import { OstorClient } from '../../../shared/ostor/index.ts';

let emulator: Emulator;
let client: OstorClient;

beforeAll(async () => {
  emulator = await startEmulator();
  const system = emulator.createSystemUser('system@lifecycle.test');
  client = new OstorClient({ endpoint: emulator.url, credentials: system });
});

afterAll(async () => {
  await client.close();
  await emulator.close();
});

describe('provision', () => {
  it('a user made for the same email while we create is reconciled by the smallest-id rule', async () => {
    // Prepare: someone (a console, another integration) creates the same email while we do.
    const email = `elsewhere.${Date.now()}@example.com`;
    let theirs = '';
    let ours = '';
    const racing = new Proxy(client, {
      get(target, property) {
        if (property === 'createUser') {
          return async (value: string) => {
            theirs = emulator.state.createUser(value).id;
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
    // Assess: every creator keeps the smallest id; a creator whose user lost deletes it and adopts
    // the survivor; nobody deletes a user it did not make.
    const survivor = [theirs, ours].sort()[0];
    const remaining = emulator.state.usersWithEmail(email).map((user) => user.id);
    expect(result.userId).toBe(survivor);
    if (survivor === theirs) {
      expect(remaining).toEqual([theirs]);
      expect(result.created).toBe(false);
    } else {
      expect(remaining.sort()).toEqual([ours, theirs].sort());
      expect(result.created).toBe(true);
    }
  });

  it('adopts an existing user without keys and gives it one', async () => {
    // Prepare
    const email = `keyless.${Date.now()}@example.com`;
    const user = emulator.state.createUser(email);
    for (const key of [...user.keys]) emulator.state.revokeKey(user.id, key.accessKeyId);
    // Act
    const result = await provision(client, { email });
    // Assess
    expect(result.created).toBe(false);
    expect(result.accessKeys).toHaveLength(1);
    expect(user.keys.map((k) => k.accessKeyId)).toEqual([result.accessKeys[0]?.accessKeyId]);
  });
});

// provision against the emulator with the real client: racing deliveries for one email converge
// on one user.
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
  it.each([2, 3, 5])(
    '%i concurrent deliveries for one new email leave one user, and all answer it',
    async (racers) => {
      // Prepare
      const email = `race${racers}.${Date.now()}@example.com`;
      // Act
      const results = await Promise.all(Array.from({ length: racers }, () => provision(client, { email })));
      // Assess
      const users = emulator.state.usersWithEmail(email);
      expect(users).toHaveLength(1);
      const survivor = users[0];
      for (const result of results) {
        expect(result.userId).toBe(survivor?.id);
        expect(result.accessKeys.map((k) => k.accessKeyId)).toEqual(survivor?.keys.map((k) => k.accessKeyId));
      }
      expect(results.filter((r) => r.created)).toHaveLength(1);
    },
  );

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

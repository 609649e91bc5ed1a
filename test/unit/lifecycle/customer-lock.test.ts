// The per-customer lock on both adapters (SQLite locally, DynamoDB via dynalite), and what it buys:
// racing provisions make one user with one create call, racing rotations both succeed in turn.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import { withCustomerLock } from '../../../shared/lifecycle/customer-lock.ts';
import type { LockStore } from '../../../shared/lifecycle/ports.ts';
import { provision } from '../../../shared/lifecycle/provision.ts';
import { rotateKey } from '../../../shared/lifecycle/rotate-key.ts';
import { dynamoLockStore } from '../../../shared/store/dynamodb.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const dir = mkdtempSync(join(tmpdir(), 'vhi-locks-'));
const sqlite = new SqliteStore(join(dir, 'state.sqlite'));
let dynamo: LocalDynamo;
let dynamoLocks: LockStore;

beforeAll(async () => {
  dynamo = await startDynalite();
  dynamoLocks = dynamoLockStore(dynamo.client, await dynamo.newTable({ prefix: 'state' }));
});

afterAll(async () => {
  sqlite.close();
  rmSync(dir, { recursive: true, force: true });
  await dynamo.close();
});

describe.each([
  ['SQLite', () => sqlite.locks],
  ['DynamoDB', () => dynamoLocks],
])('lock store on %s', (_name, locks) => {
  it('gives a lock to one owner at a time, and only its owner frees it', async () => {
    // Act
    const first = await locks().tryAcquire('a', 'one', 10_000);
    const second = await locks().tryAcquire('a', 'two', 10_000);
    await locks().release('a', 'two');
    const stillHeld = await locks().tryAcquire('a', 'three', 10_000);
    await locks().release('a', 'one');
    const afterRelease = await locks().tryAcquire('a', 'three', 10_000);
    // Assess
    expect([first, second, stillHeld, afterRelease]).toEqual([true, false, false, true]);
  });

  it('lets another owner take a lock whose holder ran out of time', async () => {
    // Prepare
    await locks().tryAcquire('b', 'crashed', 1);
    await new Promise((resolve) => setTimeout(resolve, 10));
    // Act
    const taken = await locks().tryAcquire('b', 'next', 10_000);
    // Assess
    expect(taken).toBe(true);
  });

  it('answers in_progress when the lock stays busy longer than the wait', async () => {
    // Prepare
    await locks().tryAcquire('customer#busy@example.com', 'holder', 10_000);
    // Act
    const attempt = withCustomerLock(locks(), 'busy@example.com', async () => 'ran', { waitMs: 100 });
    // Assess
    await expect(attempt).rejects.toMatchObject({ code: 'conflict', reason: 'in_progress' });
  });
});

describe.each([
  ['SQLite', () => sqlite.locks],
  ['DynamoDB', () => dynamoLocks],
])('operations under the lock on %s, against the emulator', (store, locks) => {
  const peer = useGatewayPeer();

  it('five racing provisions create the user once', async () => {
    // Prepare
    const email = `racing.${store.toLowerCase()}@example.com`;
    peer.emulator.clearRequests();
    // Act
    const results = await Promise.all(
      Array.from({ length: 5 }, () => provision(peer.client, { email }, { locks: locks() })),
    );
    // Assess
    const creates = peer.emulator.requests.filter((r) => r.method === 'PUT' && r.service === 'ostor-users');
    expect(creates).toHaveLength(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    expect(new Set(results.map((r) => r.userId)).size).toBe(1);
  });

  it('two racing rotations both succeed, one after the other, leaving one key', async () => {
    // Prepare
    const email = `rotating.${store.toLowerCase()}@example.com`;
    await provision(peer.client, { email });
    // Act
    const [a, b] = await Promise.all([
      rotateKey(peer.client, { email }, { locks: locks() }),
      rotateKey(peer.client, { email }, { locks: locks() }),
    ]);
    // Assess
    const keys = peer.emulator.state.usersWithEmail(email)[0]?.keys.map((k) => k.accessKeyId);
    expect(keys).toHaveLength(1);
    expect([a.accessKeyId, b.accessKeyId]).toContain(keys?.[0]);
  });
});

// suspend and resume against the emulator with the real client, where the gateway holds more than
// one user for a customer's email (made by hand, or by an integration that never looked first).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { LifecycleEvents } from '../../../shared/lifecycle/ports.ts';
import { resume, suspend } from '../../../shared/lifecycle/user-state.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();
const dir = mkdtempSync(join(tmpdir(), 'vhi-user-state-'));
const store = new SqliteStore(join(dir, 'state.sqlite'));

afterAll(() => {
  store.db.close();
  rmSync(dir, { recursive: true, force: true });
});

let sequence = 0;
/** Two users with one email: the one lookups by email answer, and a second made after it. */
function customerWithTwoUsers() {
  const email = `twice.${Date.now()}.${++sequence}@example.com`;
  const first = peer.emulator.state.createUser(email);
  const second = peer.emulator.state.createUser(email);
  return { email, first, second };
}

function recordingEvents(): LifecycleEvents & { warnings: [string, Record<string, unknown> | undefined][] } {
  const warnings: [string, Record<string, unknown> | undefined][] = [];
  return {
    warnings,
    info: () => {},
    warn: (message, details) => warnings.push([message, details]),
    error: () => {},
  };
}

describe('suspend and resume with several users for one email', () => {
  it('suspend disables every user holding the email, and says which others it found', async () => {
    // Prepare
    const { email, first, second } = customerWithTwoUsers();
    expect(peer.emulator.state.findUserByEmail(email)?.id).toBe(first.id);
    const events = recordingEvents();
    // Act
    const result = await suspend(
      peer.client,
      store.stateChanges,
      { email, timestamp: new Date('2026-11-26T12:00:00Z') },
      events,
    );
    // Assess: no way in is left for a customer who did not pay.
    expect(result).toEqual({ userId: first.id, email, state: 'disabled', otherUserIds: [second.id] });
    expect([first.state, second.state]).toEqual(['disabled', 'disabled']);
    expect(events.warnings).toEqual([
      [
        'several users hold this email; all changed alike',
        { userId: first.id, otherUserIds: [second.id], state: 'disabled' },
      ],
    ]);
  });

  it('resume enables them all again, and an older suspend arriving late changes none of them', async () => {
    // Prepare
    const { email, first, second } = customerWithTwoUsers();
    await suspend(peer.client, store.stateChanges, { email, timestamp: new Date('2026-11-26T12:00:00Z') });
    // Act
    const resumed = await resume(peer.client, store.stateChanges, {
      email,
      timestamp: new Date('2026-11-26T12:05:00Z'),
    });
    const late = await suspend(peer.client, store.stateChanges, {
      email,
      timestamp: new Date('2026-11-26T12:01:00Z'),
    });
    // Assess
    expect(resumed).toEqual({ userId: first.id, email, state: 'enabled', otherUserIds: [second.id] });
    expect(late).toEqual({ userId: first.id, email, state: 'enabled', skipped: true });
    expect([first.state, second.state]).toEqual(['enabled', 'enabled']);
  });

  it('a customer with one user gets the plain answer, with one call to change it', async () => {
    // Prepare
    const email = `once.${Date.now()}@example.com`;
    const user = peer.emulator.state.createUser(email);
    peer.emulator.clearRequests();
    // Act
    const result = await suspend(peer.client, store.stateChanges, {
      email,
      timestamp: new Date('2026-11-26T12:00:00Z'),
    });
    // Assess
    expect(result).toEqual({ userId: user.id, email, state: 'disabled' });
    expect(peer.emulator.requests.filter((request) => request.method === 'POST')).toHaveLength(1);
  });

  it('a failed lookup changes no user and records no order', async () => {
    // Prepare: every user lookup and listing fails (retried by the client, then given up).
    const { email, first, second } = customerWithTwoUsers();
    peer.emulator.faults.inject({
      match: { method: 'GET', service: 'ostor-users' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 500 },
    });
    // Act
    const attempt = suspend(peer.client, store.stateChanges, {
      email,
      timestamp: new Date('2026-11-26T12:00:00Z'),
    });
    // Assess
    try {
      await expect(attempt).rejects.toThrow(/^users\.(get|list): /);
    } finally {
      peer.emulator.faults.clear();
    }
    expect([first.state, second.state]).toEqual(['enabled', 'enabled']);
    expect(await store.stateChanges.latest(first.id)).toBeUndefined();
  });
});

// terminate against the emulator with the real client, where the gateway holds more than one user
// for a customer's email: all of them go, and a refusal weighs the buckets of all of them.
import { describe, expect, it } from 'vitest';
import type { LifecycleEvents } from '../../../shared/lifecycle/ports.ts';
import { terminate } from '../../../shared/lifecycle/terminate.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();

let sequence = 0;
/** Two users with one email, each owning one bucket. */
function customerWithTwoUsers() {
  const tag = `${Date.now()}-${++sequence}`;
  const email = `twice.${tag}@example.com`;
  const first = peer.emulator.state.createUser(email);
  const second = peer.emulator.state.createUser(email);
  const firstBucket = peer.emulator.state.createBucket(first.id, `first-${tag}`).name;
  const secondBucket = peer.emulator.state.createBucket(second.id, `second-${tag}`).name;
  return { email, first, second, firstBucket, secondBucket };
}

const warnings: string[] = [];
const events: LifecycleEvents = {
  info: () => {},
  warn: (message) => warnings.push(message),
  error: () => {},
};

describe('terminate with several users for one email', () => {
  it('deletes every user holding the email and their empty buckets, and says which others it found', async () => {
    // Prepare
    const { email, first, second, firstBucket, secondBucket } = customerWithTwoUsers();
    // Act
    const result = await terminate(peer.client, { email }, { events });
    // Assess
    expect(result).toEqual({
      email,
      userId: first.id,
      state: 'deleted',
      deletedBuckets: [firstBucket, secondBucket],
      otherUserIds: [second.id],
    });
    expect(peer.emulator.state.usersWithEmail(email)).toEqual([]);
    expect(peer.emulator.state.buckets.has(firstBucket)).toBe(false);
    expect(peer.emulator.state.buckets.has(secondBucket)).toBe(false);
    expect(warnings).toContain('several users held this email; all deleted');
    // Repeated: nothing is left to find.
    expect(await terminate(peer.client, { email })).toEqual({
      email,
      userId: null,
      state: 'absent',
      deletedBuckets: [],
    });
  });

  it('refuses, changing nothing, while the other user’s bucket still holds an object', async () => {
    // Prepare
    const { email, first, second, firstBucket, secondBucket } = customerWithTwoUsers();
    peer.emulator.state.putObject(secondBucket, 'invoice.pdf', 'x');
    // Act
    const attempt = terminate(peer.client, { email });
    // Assess
    await expect(attempt).rejects.toMatchObject({
      reason: 'buckets_not_empty',
      details: { buckets: [secondBucket] },
    });
    expect(peer.emulator.state.usersWithEmail(email).map((user) => user.id)).toEqual([first.id, second.id]);
    expect(peer.emulator.state.buckets.has(firstBucket)).toBe(true);
    expect(first.state).toBe('enabled');
  });

  it('with purge, empties and deletes the buckets of every user holding the email', async () => {
    // Prepare
    const { email, second, secondBucket } = customerWithTwoUsers();
    peer.emulator.state.putObject(secondBucket, 'invoice.pdf', 'x');
    // Act
    const result = await terminate(peer.client, { email, purge: true });
    // Assess
    expect(result).toMatchObject({ state: 'deleted', otherUserIds: [second.id] });
    expect(peer.emulator.state.usersWithEmail(email)).toEqual([]);
    expect(peer.emulator.state.buckets.has(secondBucket)).toBe(false);
  });
});

// terminate against the emulator with the real client: every name it will send back is checked
// before its first change (issue 10, item 5), and a purge deletes objects whose keys a DeleteObjects
// body cannot carry instead of stopping half-way at them.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConflictError } from '../../../shared/errors.ts';
import { terminate } from '../../../shared/lifecycle/terminate.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();

const unique = (name: string) => `${name}.${randomUUID().slice(0, 8)}@example.com`;

/** Requests since the log was cleared that could have changed something (anything but a read). */
const changingRequests = () =>
  peer.emulator.requests.filter((r) => r.method !== 'GET' && r.method !== 'HEAD');

describe('terminate refuses before its first change', () => {
  it.each([false, true])(
    'a bucket named under the legacy rules (purge: %s): 409 naming it, the user untouched',
    async (purge) => {
      // Prepare: S3's legacy naming allowed capitals and underscores; the client refuses to send them.
      const email = unique('legacy');
      const user = peer.emulator.state.createUser(email);
      const legacy = `Legacy_${randomUUID().slice(0, 6)}`;
      const modern = `modern-${randomUUID().slice(0, 8)}`;
      peer.emulator.state.createBucket(user.id, legacy);
      peer.emulator.state.createBucket(user.id, modern);
      peer.emulator.state.putObject(modern, 'kept.txt', 'kept');
      peer.emulator.clearRequests();
      // Act
      const refusal = await terminate(peer.client, { email, purge }).catch((error: unknown) => error);
      // Assess: a conflict naming the bucket and saying nothing changed; no request but reads.
      expect(refusal).toBeInstanceOf(ConflictError);
      expect(refusal).toMatchObject({
        code: 'conflict',
        reason: 'unaddressable_names',
        details: { buckets: [legacy], accounts: [] },
      });
      expect((refusal as Error).message).toContain(legacy);
      expect((refusal as Error).message).toContain('nothing was changed');
      expect(changingRequests()).toEqual([]);
      expect(user.state).toBe('enabled');
      expect(peer.emulator.state.buckets.get(modern)?.objects.size).toBe(1);
    },
  );

  it('an account the client cannot name: 409 before any bucket is deleted', async () => {
    // Prepare: before, its empty buckets were deleted and the run then failed at the account.
    const email = unique('account');
    const user = peer.emulator.state.createUser(email);
    const bucket = `empty-${randomUUID().slice(0, 8)}`;
    peer.emulator.state.createBucket(user.id, bucket);
    user.accounts.push({ name: 'project with spaces', keys: [] });
    peer.emulator.clearRequests();
    // Act
    const refusal = await terminate(peer.client, { email }).catch((error: unknown) => error);
    // Assess
    expect(refusal).toMatchObject({
      reason: 'unaddressable_names',
      details: { buckets: [], accounts: ['project with spaces'] },
    });
    expect(changingRequests()).toEqual([]);
    expect(peer.emulator.state.buckets.has(bucket)).toBe(true);
    expect(peer.emulator.state.users.has(user.id)).toBe(true);
  });
});

describe('terminate with purge and keys a DeleteObjects body cannot carry', () => {
  it('deletes them one by one over their path, versions, delete markers and uploads included', async () => {
    // Prepare: S3 allows any character in a key; XML 1.0 cannot express most control characters.
    const email = unique('control');
    const user = peer.emulator.state.createUser(email);
    const plain = `ctl-${randomUUID().slice(0, 8)}`;
    const versioned = `ctlv-${randomUUID().slice(0, 8)}`;
    const odd = ['bell\u0007key', 'esc\u001b/nested', 'form\u000cfeed'];
    peer.emulator.state.createBucket(user.id, plain);
    peer.emulator.state.createBucket(user.id, versioned);
    for (const key of [...odd, 'ordinary.txt']) peer.emulator.state.putObject(plain, key, 'x');
    peer.emulator.state.setVersioning(versioned, 'Enabled');
    for (const key of [...odd, 'ordinary.txt']) {
      peer.emulator.state.putObject(versioned, key, 'one');
      peer.emulator.state.putObject(versioned, key, 'two');
    }
    peer.emulator.state.createMultipartUpload(plain, 'upload\u0001here');
    // Act
    const result = await terminate(peer.client, { email, purge: true });
    // Assess: everything went, and the user with it.
    expect(result).toMatchObject({ state: 'deleted', userId: user.id });
    expect([...result.deletedBuckets].sort()).toEqual([plain, versioned].sort());
    expect(peer.emulator.state.buckets.has(plain)).toBe(false);
    expect(peer.emulator.state.buckets.has(versioned)).toBe(false);
    expect(peer.emulator.state.users.has(user.id)).toBe(false);
  });
});

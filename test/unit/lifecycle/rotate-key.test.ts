// rotate-key against the emulator with the real client: a generated key whose answer was lost is
// found and adopted, so the customer's own key is never traded for an orphan; a key id the client
// could not send back is refused before anything is generated.
import { describe, expect, it } from 'vitest';
import { rotateKey } from '../../../shared/lifecycle/rotate-key.ts';
import { MalformedResponseError } from '../../../shared/ostor/index.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();

describe('rotate-key when the genKey answer is lost', () => {
  it.each([false, true])('adopts the key the gateway made (keepPrevious: %s)', async (keepPrevious) => {
    // Prepare
    const email = `lost-key-${String(keepPrevious)}@example.com`;
    const user = peer.emulator.state.createUser(email);
    const customers = user.keys.map((k) => k.accessKeyId);
    peer.emulator.faults.inject({
      match: { param: 'genKey' },
      fault: { kind: 'status', status: 500, afterApply: true },
    });
    // Act
    const result = await rotateKey(peer.client, { email, keepPrevious });
    // Assess
    const now = user.keys.map((k) => k.accessKeyId);
    expect(now).toContain(result.accessKeyId);
    expect(user.keys.find((k) => k.accessKeyId === result.accessKeyId)?.secretAccessKey).toBe(
      result.secretAccessKey,
    );
    expect(now).toEqual(keepPrevious ? [...customers, result.accessKeyId] : [result.accessKeyId]);
    expect(result.revokedAccessKeyIds).toEqual(keepPrevious ? [] : customers);
  });
});

describe('rotate-key with a key id the client would refuse to send back', () => {
  it('refuses before generating anything when that key would be revoked', async () => {
    // Prepare: the user's only key has an id outside the client's rule (before: a new key was
    // generated, then revoking this one failed with a 400 and the new secret reached no one).
    const email = `odd-key-${Date.now()}@example.com`;
    const user = peer.emulator.state.createUser(email);
    const [own] = user.keys;
    user.keys.splice(0, 1, { ...(own as NonNullable<typeof own>), accessKeyId: 'odd-key_1' });
    peer.emulator.clearRequests();
    // Act
    const refusal = await rotateKey(peer.client, { email }).catch((error: unknown) => error);
    // Assess: a malformed-answer error (not the caller's fault), saying nothing changed, after one read.
    expect(refusal).toBeInstanceOf(MalformedResponseError);
    expect((refusal as Error).message).toMatch(
      /access key 1 of user [0-9a-f]{16}: its id .*nothing was changed$/,
    );
    expect(peer.emulator.requests.map((r) => r.method)).toEqual(['GET']);
    expect(user.keys.map((k) => k.accessKeyId)).toEqual(['odd-key_1']);
  });

  it('rotates when that key is the one keepPrevious keeps', async () => {
    // Prepare
    const email = `odd-kept-${Date.now()}@example.com`;
    const user = peer.emulator.state.createUser(email);
    const [own] = user.keys;
    user.keys.splice(0, 1, { ...(own as NonNullable<typeof own>), accessKeyId: 'odd-key_2' });
    // Act
    const result = await rotateKey(peer.client, { email, keepPrevious: true });
    // Assess
    expect(result.revokedAccessKeyIds).toEqual([]);
    expect(user.keys.map((k) => k.accessKeyId)).toEqual(['odd-key_2', result.accessKeyId]);
  });
});

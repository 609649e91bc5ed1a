// rotate-key against the emulator with the real client: a generated key whose answer was lost is
// found and adopted, so the customer's own key is never traded for an orphan.
import { describe, expect, it } from 'vitest';
import { rotateKey } from '../../../shared/lifecycle/rotate-key.ts';
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

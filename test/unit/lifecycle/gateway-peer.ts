// The lifecycle tests' peer: the emulator on 127.0.0.1 and a real client signed by its system user,
// started before the file's tests and closed after them.
import { afterAll, beforeAll } from 'vitest';
import type { Emulator } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import { OstorClient } from '../../../shared/ostor/index.ts';

export interface GatewayPeer {
  readonly emulator: Emulator;
  readonly client: OstorClient;
}

export function useGatewayPeer(): GatewayPeer {
  let emulator: Emulator | undefined;
  let client: OstorClient | undefined;
  beforeAll(async () => {
    emulator = await startEmulator();
    client = new OstorClient({
      endpoint: emulator.url,
      credentials: emulator.createSystemUser('system@lifecycle.test'),
    });
  });
  afterAll(async () => {
    await client?.close();
    await emulator?.close();
  });
  return {
    get emulator() {
      if (emulator === undefined) throw new Error('the gateway peer starts in beforeAll');
      return emulator;
    },
    get client() {
      if (client === undefined) throw new Error('the gateway peer starts in beforeAll');
      return client;
    },
  };
}

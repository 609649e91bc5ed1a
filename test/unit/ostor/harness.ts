// Shared set-up of the gateway client tests: a real emulator on 127.0.0.1, a system user, and
// clients built with its keys, short timeouts and a backoff that does not sleep.
import type { Emulator, RecordedRequest, SystemUserCredentials } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import type { OstorClientOptions } from '../../../shared/ostor/index.ts';
import { OstorClient } from '../../../shared/ostor/index.ts';

export interface Harness {
  readonly emulator: Emulator;
  readonly system: SystemUserCredentials;
  /** A client of the emulator as the system user; closed by `close()`. */
  client(options?: Partial<OstorClientOptions>): OstorClient;
  /** Requests recorded since `mark` was taken. */
  since(mark: number): readonly RecordedRequest[];
  close(): Promise<void>;
}

export async function startHarness(): Promise<Harness> {
  const emulator = await startEmulator({ host: '127.0.0.1' });
  const system = emulator.createSystemUser('system@example.com');
  const clients: OstorClient[] = [];
  return {
    emulator,
    system,
    client(options = {}) {
      const client = new OstorClient({
        endpoint: emulator.url,
        credentials: { accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey },
        timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000 },
        retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 2, sleep: async () => {} },
        ...options,
      });
      clients.push(client);
      return client;
    },
    since(mark) {
      return emulator.requests.slice(mark);
    },
    async close() {
      await Promise.all(clients.map((client) => client.close()));
      await emulator.close();
    },
  };
}

let counter = 0;

/** A fresh, valid email for one test. */
export function uniqueEmail(prefix = 'user'): string {
  counter += 1;
  return `${prefix}.${process.pid}.${counter}.${Date.now().toString(36)}@example.com`;
}

/** A fresh, valid bucket name for one test. */
export function uniqueBucket(prefix = 'bucket'): string {
  counter += 1;
  return `${prefix}-${process.pid}-${counter}-${Date.now().toString(36)}`;
}

/** The decoded parameters of a recorded request, the service first. */
export function paramsOf(request: RecordedRequest | undefined): readonly (readonly [string, string])[] {
  if (request === undefined) throw new Error('no request was recorded');
  return request.params;
}

/** Runs `action` and answers what it threw (failing when it did not throw). */
export async function caught(action: () => Promise<unknown>): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

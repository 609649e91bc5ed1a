// Real peers for the usage tests, all on 127.0.0.1: a billing receiver (node:http) that verifies
// Standard Webhooks signatures with the project's signing library, dynalite as DynamoDB, and the
// gateway emulator with a client of it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Emulator, SystemUserCredentials } from '../../../emulator/gateway.ts';
import { startEmulator } from '../../../emulator/gateway.ts';
import { OstorClient } from '../../../shared/ostor/index.ts';
import type { WebhookSecret } from '../../../shared/signing/index.ts';
import { generateWebhookSecret, parseWebhookSecrets, verifyWebhook } from '../../../shared/signing/index.ts';
import type { UsageEvents } from '../../../shared/usage/sweep.ts';

// --- the billing receiver -------------------------------------------------------------------

export interface ReceivedMessage {
  readonly id: string;
  readonly body: string;
  readonly json: { type: string; timestamp: string; data: Record<string, unknown> };
  /** What the receiver answered. */
  readonly status: number;
}

export interface Receiver {
  readonly url: URL;
  readonly secretText: string;
  /** Every request that passed signature verification, in arrival order, with the answer given. */
  readonly received: ReceivedMessage[];
  /** Requests refused for their signature. */
  readonly unauthorized: number;
  /** Decides the status of each verified request (default 204). `attempt` counts requests with that id, from 1. */
  respond: (message: {
    id: string;
    json: ReceivedMessage['json'];
    attempt: number;
  }) => number | Promise<number>;
  /** Ids answered 2xx, with how many times each. */
  acknowledged(): Map<string, number>;
  /** Bodies acknowledged, first acknowledgement of each id. */
  acknowledgedMessages(): ReceivedMessage[];
  close(): Promise<void>;
}

export async function startReceiver(secretText = generateWebhookSecret()): Promise<Receiver> {
  const secrets: readonly WebhookSecret[] = parseWebhookSecrets(secretText);
  const attempts = new Map<string, number>();
  let unauthorized = 0;
  const received: ReceivedMessage[] = [];
  const receiver: Receiver = {
    url: new URL('http://127.0.0.1/'),
    secretText,
    received,
    get unauthorized() {
      return unauthorized;
    },
    respond: () => 204,
    acknowledged() {
      const counts = new Map<string, number>();
      for (const m of received)
        if (m.status >= 200 && m.status < 300) counts.set(m.id, (counts.get(m.id) ?? 0) + 1);
      return counts;
    },
    acknowledgedMessages() {
      const seen = new Set<string>();
      return received.filter((m) => {
        if (m.status < 200 || m.status >= 300 || seen.has(m.id)) return false;
        seen.add(m.id);
        return true;
      });
    },
    close: async () => {},
  };
  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      res.writeHead(500).end();
    });
  });
  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string') headers[name] = value;
    let id: string;
    try {
      id = verifyWebhook({ headers, body, secrets }).id;
    } catch {
      unauthorized += 1;
      res.writeHead(401).end();
      return;
    }
    const json = JSON.parse(body) as ReceivedMessage['json'];
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    const status = await receiver.respond({ id, json, attempt });
    received.push({ id, body, json, status });
    res.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  }
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(receiver, {
    url: new URL(`http://127.0.0.1:${port}/billing/usage?source=vhi`),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  });
  return receiver;
}

// --- DynamoDB -------------------------------------------------------------------------------

/** The usage ledger's tests use the shared dynalite helper; its tables are the ledger's shape. */
export { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';

// --- the gateway ----------------------------------------------------------------------------

export interface Gateway {
  readonly emulator: Emulator;
  readonly system: SystemUserCredentials;
  readonly client: OstorClient;
  close(): Promise<void>;
}

export async function startGateway(options: { usagePageSize?: number } = {}): Promise<Gateway> {
  const emulator = await startEmulator({ host: '127.0.0.1', port: 0, ...options });
  const system = emulator.createSystemUser('system@example.com');
  const client = new OstorClient({
    endpoint: emulator.url,
    credentials: { accessKeyId: system.accessKeyId, secretAccessKey: system.secretAccessKey },
    timeouts: { connectMs: 2_000, headersMs: 2_000, bodyMs: 2_000 },
    retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 2, sleep: async () => {} },
  });
  return {
    emulator,
    system,
    client,
    async close() {
      await client.close();
      await emulator.close();
    },
  };
}

// --- events ---------------------------------------------------------------------------------

export interface RecordedEvents extends UsageEvents {
  readonly lines: { level: 'info' | 'warn' | 'error'; message: string; details: Record<string, unknown> }[];
  messages(level: 'info' | 'warn' | 'error'): string[];
}

export function recordEvents(): RecordedEvents {
  const lines: RecordedEvents['lines'] = [];
  return {
    lines,
    info: (message, details = {}) => lines.push({ level: 'info', message, details }),
    warn: (message, details = {}) => lines.push({ level: 'warn', message, details }),
    error: (message, details = {}) => lines.push({ level: 'error', message, details }),
    messages: (level) => lines.filter((line) => line.level === level).map((line) => line.message),
  };
}

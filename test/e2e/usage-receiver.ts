// The billing system's end of usage delivery for the end-to-end tests: a node:http server in the
// test process that checks every request's Standard Webhooks signature with the reference
// `standardwebhooks` package (never the project's own code), records what arrived, and answers as
// the test tells it to (204 by default, or a refusal).
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface UsageMessage {
  readonly type: string;
  readonly timestamp: string;
  readonly data: Record<string, unknown>;
}

export interface ReceivedDelivery {
  /** The `webhook-id` header. */
  readonly id: string;
  /** The exact body bytes, as text. */
  readonly body: string;
  readonly message: UsageMessage;
  /** How many requests with this id had arrived, this one included. */
  readonly attempt: number;
  /** What the receiver answered. */
  readonly status: number;
}

export type Answer = (delivery: { id: string; message: UsageMessage; attempt: number }) => number;

export interface UsageReceiver {
  /** USAGE_WEBHOOK_URL: a path and a query string, as a real billing endpoint may have. */
  readonly url: string;
  /** USAGE_WEBHOOK_SECRET. */
  readonly secret: string;
  /** Every request whose signature verified, in arrival order. */
  readonly deliveries: ReceivedDelivery[];
  /** Requests refused for a missing or wrong signature (or a stale timestamp). */
  readonly unauthorized: number;
  /** Requests to another path than the configured one. */
  readonly misrouted: number;
  /** Decides each verified request's status; 204 unless the test says otherwise. */
  answer: Answer;
  /** Deliveries answered 2xx. */
  acknowledged(): ReceivedDelivery[];
  close(): Promise<void>;
}

export const PATH = '/billing/vhi-usage';

/**
 * JSON.parse, except that an integer beyond 2^53 becomes a bigint with the exact digits of the
 * text (V8's JSON.parse source text access), as a careful billing system parses counters.
 */
export function parseExactly(text: string): unknown {
  const reviver = (_key: string, value: unknown, context?: { source?: string }): unknown =>
    typeof value === 'number' && !Number.isSafeInteger(value) && /^-?\d+$/.test(context?.source ?? '')
      ? BigInt(context?.source ?? '0')
      : value;
  return JSON.parse(text, reviver as (key: string, value: unknown) => unknown);
}

export async function startUsageReceiver(secret: string): Promise<UsageReceiver> {
  const verifier = new Webhook(secret);
  let unauthorized = 0;
  let misrouted = 0;
  const attempts = new Map<string, number>();
  const deliveries: ReceivedDelivery[] = [];

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    if (req.method !== 'POST' || req.url !== `${PATH}?tenant=vhi`) {
      misrouted += 1;
      res.writeHead(404).end();
      return;
    }
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers))
      if (typeof value === 'string') headers[name] = value;
    try {
      verifier.verify(body, headers);
    } catch {
      unauthorized += 1;
      res.writeHead(401).end();
      return;
    }
    const id = headers['webhook-id'] as string;
    const message = parseExactly(body) as UsageMessage;
    const attempt = (attempts.get(id) ?? 0) + 1;
    attempts.set(id, attempt);
    const status = receiver.answer({ id, message, attempt });
    deliveries.push({ id, body, message, attempt, status });
    res.writeHead(status, { 'content-type': 'application/json' }).end(status < 300 ? '' : '{"error":"no"}');
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  const receiver: UsageReceiver = {
    url: `http://127.0.0.1:${port}${PATH}?tenant=vhi`,
    secret,
    deliveries,
    get unauthorized() {
      return unauthorized;
    },
    get misrouted() {
      return misrouted;
    },
    answer: () => 204,
    acknowledged: () => deliveries.filter((d) => d.status >= 200 && d.status < 300),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return receiver;
}

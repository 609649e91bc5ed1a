// The billing receiver of bench/sweep.bench.ts, as its own process: checks each usage message's
// Standard Webhooks signature with the reference `standardwebhooks` package, waits `--delay-ms`
// (a LAN round trip, as the emulator's --latency-ms) and answers 204. It counts what it
// acknowledged so the benchmark can check that every object was delivered exactly once.
//   node bench/lib/sweep-receiver.ts --delay-ms 2      (secret in SWEEP_RECEIVER_SECRET)
// Prints one line {"url"} and serves until SIGTERM. `GET /stats` answers the counts, `POST /reset`
// clears them.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { Webhook } from 'standardwebhooks';

export interface ReceiverStats {
  /** Requests whose signature verified. */
  readonly received: number;
  /** Distinct webhook-ids among them. */
  readonly distinct: number;
  /** Requests with a webhook-id seen before. */
  readonly duplicates: number;
  /** Requests refused for their signature. */
  readonly unauthorized: number;
  /** `usage.collected` messages, and the records in them. */
  readonly collected: number;
  readonly records: number;
}

const { values } = parseArgs({ options: { 'delay-ms': { type: 'string' } }, strict: true });
const delayMs = Number(values['delay-ms'] ?? '2');
const secret = process.env.SWEEP_RECEIVER_SECRET;
if (secret === undefined || !Number.isInteger(delayMs) || delayMs < 0) {
  process.stderr.write('sweep-receiver: needs SWEEP_RECEIVER_SECRET and a whole --delay-ms\n');
  process.exit(2);
}
const verifier = new Webhook(secret);

let ids = new Set<string>();
let stats = { received: 0, duplicates: 0, unauthorized: 0, collected: 0, records: 0 };

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  if (req.url === '/stats') {
    const answer: ReceiverStats = { ...stats, distinct: ids.size };
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    return;
  }
  if (req.url === '/reset') {
    ids = new Set();
    stats = { received: 0, duplicates: 0, unauthorized: 0, collected: 0, records: 0 };
    res.writeHead(204).end();
    return;
  }
  const body = Buffer.concat(chunks).toString('utf8');
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers))
    if (typeof value === 'string') headers[name] = value;
  let message: { type?: string; data?: { records?: unknown[] } };
  try {
    message = verifier.verify(body, headers) as typeof message;
  } catch {
    stats.unauthorized += 1;
    res.writeHead(401).end();
    return;
  }
  const id = headers['webhook-id'] as string;
  stats.received += 1;
  if (ids.has(id)) stats.duplicates += 1;
  ids.add(id);
  if (message.type === 'usage.collected') {
    stats.collected += 1;
    stats.records += message.data?.records?.length ?? 0;
  }
  if (delayMs > 0) await sleep(delayMs);
  res.writeHead(204).end();
}

const server = createServer((req, res) => {
  handle(req, res).catch(() => res.writeHead(500).end());
});
server.keepAliveTimeout = 10_000;
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${port}/usage` })}\n`);
});
const stop = () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

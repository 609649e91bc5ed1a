// The webhook burst of bench/burst.bench.ts: which deliveries to send (each user's lifecycle in
// four waves, a quarter of them redelivered), how to sign and send them as a billing system would
// (the reference `standardwebhooks` package), and the gateway's request counter, read through the
// gateway's own answers.
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Webhook } from 'standardwebhooks';
import type { Pool } from 'undici';

/** The lifecycle of one user, in the order the billing system decides it. */
export const WAVES = ['provision', 'suspend', 'rotate-key', 'resume'] as const;
export type EventType = (typeof WAVES)[number];
export type Half = 'sequential' | 'concurrent';

export interface Delivery {
  readonly half: Half;
  readonly type: EventType;
  readonly email: string;
  /** `webhook-id`; a redelivery carries its original's. */
  readonly id: string;
  /** The raw body; a redelivery's is byte for byte its original's. */
  readonly body: string;
  /** Set on a redelivery: the delivery it repeats. */
  readonly original?: Delivery;
}

export interface Outcome {
  readonly delivery: Delivery;
  readonly status: number;
  readonly text: string;
  /** From the first byte sent to the last byte of the answer read. */
  readonly ms: number;
  /** Gateway requests the server made for it (sequential half only: measured one by one). */
  readonly gatewayCalls?: number;
}

export interface BurstPlan {
  /** `[half][wave]`: the deliveries of that wave, in sending order. */
  readonly waves: Readonly<Record<Half, readonly (readonly Delivery[])[]>>;
  readonly emails: Readonly<Record<Half, readonly string[]>>;
  readonly distinct: number;
  readonly duplicates: number;
}

/**
 * `total` deliveries: `users` users (half of them for each half), four distinct events each, and
 * `total - 4 × users` redeliveries spread evenly over every wave. Of the redeliveries, every other
 * one follows its original at once (in the concurrent half: while the original is still in
 * flight); the others go at the end of the wave.
 */
export function planBurst(total: number, runId: string): BurstPlan {
  const users = Math.round((total * 3) / 4 / WAVES.length);
  const distinct = users * WAVES.length;
  const duplicates = total - distinct;
  if (users < 2 || duplicates < 0) throw new RangeError(`cannot plan ${total} deliveries`);
  const emails: Record<Half, string[]> = { sequential: [], concurrent: [] };
  for (let u = 0; u < users; u++) {
    emails[u < users / 2 ? 'sequential' : 'concurrent'].push(`burst-${runId}-${u}@example.com`);
  }
  const decided = Date.now() - 3_600_000;
  let index = 0;
  let picked = 0;
  const waves: Record<Half, Delivery[][]> = { sequential: [], concurrent: [] };
  for (const half of ['sequential', 'concurrent'] as const) {
    const lifecycles = emails[half].map((email) => lifecycle(half, email, decided));
    WAVES.forEach((_, step) => {
      const now: Delivery[] = [];
      const later: Delivery[] = [];
      for (const events of lifecycles) {
        const delivery = events[step] as Delivery;
        now.push(delivery);
        // Exactly `duplicates` of the `distinct` events are picked, evenly spaced.
        if (Math.floor(((index + 1) * duplicates) / distinct) > Math.floor((index * duplicates) / distinct)) {
          const again: Delivery = { ...delivery, original: delivery };
          if (picked % 2 === 0) now.push(again);
          else later.push(again);
          picked += 1;
        }
        index += 1;
      }
      waves[half].push([...now, ...later]);
    });
  }
  return { waves, emails, distinct, duplicates };
}

/**
 * One user's four events, one per wave, as billing decided them: `decided` (epoch ms) and then a
 * minute apart, so that resume is the latest decision.
 */
export function lifecycle(half: Half, email: string, decided: number): Delivery[] {
  return WAVES.map((type, step) => {
    const data = type === 'rotate-key' ? { email, keepPrevious: true } : { email };
    const timestamp = new Date(decided + step * 60_000).toISOString();
    return {
      half,
      type,
      email,
      id: `msg_${randomUUID().replaceAll('-', '')}`,
      body: JSON.stringify({ type, timestamp, data }),
    };
  });
}

/** Signs (at send time, as each delivery attempt is signed) and posts one delivery. */
export async function deliver(
  server: Pool,
  webhook: Webhook,
  delivery: Delivery,
  timeoutMs: number,
): Promise<Omit<Outcome, 'gatewayCalls'>> {
  const signedAt = new Date();
  const headers = {
    'content-type': 'application/json',
    'webhook-id': delivery.id,
    'webhook-timestamp': String(Math.floor(signedAt.getTime() / 1000)),
    'webhook-signature': webhook.sign(delivery.id, signedAt, delivery.body),
  };
  const started = performance.now();
  const response = await server.request({
    method: 'POST',
    path: `/${delivery.type}`,
    headers,
    body: delivery.body,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const text = await response.body.text();
  return { delivery, status: response.statusCode, text, ms: performance.now() - started };
}

/** Runs `work` over `items`, `concurrency` at a time, in order of start; answers results in item order. */
export async function inParallel<T, R>(
  items: readonly T[],
  concurrency: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await work(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(concurrency, items.length)) }, worker));
  return results;
}

/**
 * How many requests the gateway emulator has answered so far: it numbers its answers, and
 * `x-amz-request-id` is 8 hex digits of this process's prefix followed by 8 of that number. One
 * unsigned `GET /` (refused with 403, changing nothing) reads it, and counts itself.
 */
export async function gatewayRequestNumber(gateway: Pool): Promise<number> {
  const response = await gateway.request({ method: 'GET', path: '/', headersTimeout: 10_000 });
  await response.body.dump();
  const id = response.headers['x-amz-request-id'];
  if (typeof id !== 'string' || !/^[0-9A-F]{16}$/.test(id)) {
    throw new Error(`the gateway's x-amz-request-id ${JSON.stringify(id)} is not <prefix><sequence number>`);
  }
  return Number.parseInt(id.slice(8), 16);
}

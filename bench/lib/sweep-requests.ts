// A reference for bench/sweep.bench.ts: the sweep's network work and nothing else. The same three
// requests per object as collect-usage — GET the object, POST its message, DELETE it — over the
// same keep-alive pools (shared/http/pool.ts, 32 connections to each peer), 32 objects in flight,
// each request signed (Signature V2, Standard Webhooks) and each message parsed, hashed, aggregated
// and built by the sweep's own functions. What it leaves out is what the sweep adds on top: the
// ledger (three writes per object), the lease, retries, deadlines, progress and per-user tallies.
// So its CPU per object is what the requests themselves cost on this machine, the part of the
// sweep's CPU no change to the sweep can remove.
import { Pool } from '../../shared/http/pool.ts';
import { buildOstorQuery } from '../../shared/ostor/index.ts';
import { readUsageObject } from '../../shared/ostor/usage-object.ts';
import type { Credentials, WebhookSecret } from '../../shared/signing/index.ts';
import { signRequestV2, webhookHeaders } from '../../shared/signing/index.ts';
import { aggregateUsage } from '../../shared/usage/aggregate.ts';
import { contentHash, usageCollectedBody } from '../../shared/usage/messages.ts';
import type { SequentialSweepOptions, SequentialSweepResult } from './sweep-sequential.ts';

const IN_FLIGHT = 32;
const PAGE = 500;

export interface RequestsOnly {
  /** Lists every name (not timed: the sweep's listing is a few requests). */
  prepare(): Promise<void>;
  /** The timed part. */
  run(): Promise<SequentialSweepResult>;
}

export function requestsOnly(options: SequentialSweepOptions): RequestsOnly {
  const gateway = new URL(options.gateway);
  const gatewayPool = new Pool(gateway.origin, { connections: IN_FLIGHT, pipelining: 1 });
  const receiverPool = new Pool(options.receiver.origin, { connections: IN_FLIGHT, pipelining: 1 });
  const credentials: Credentials = options.credentials;
  const secrets: readonly WebhookSecret[] = options.secrets;
  const names: string[] = [];
  let requests = 0;

  async function admin(method: 'GET' | 'DELETE', query: string): Promise<string> {
    requests += 1;
    const headers: Record<string, string> = { host: gateway.host };
    Object.assign(headers, signRequestV2({ method, path: '/', query, headers }, credentials));
    const response = await gatewayPool.send({ method, path: `/?${query}`, headers });
    if (response.statusCode < 200 || response.statusCode >= 300) {
      throw new Error(`${method} /?${query}: ${response.statusCode} ${response.body.slice(0, 200)}`);
    }
    return response.body;
  }

  return {
    async prepare() {
      let after: string | undefined;
      for (;;) {
        const params: [string, string][] = after === undefined ? [] : [['after', after]];
        params.push(['limit', String(PAGE)]);
        const page = JSON.parse(await admin('GET', buildOstorQuery('usage', params))) as {
          items: string[];
          truncated: boolean;
        };
        names.push(...page.items);
        after = page.items.at(-1);
        if (!page.truncated || after === undefined) break;
      }
    },
    async run() {
      const emails = new Map<string, string>();
      let next = 0;
      let records = 0;
      let delivered = 0;
      let deleted = 0;
      const worker = async () => {
        while (next < names.length) {
          const name = names[next++] as string;
          const query = buildOstorQuery('usage', [['obj', name]]);
          const object = readUsageObject(name, await admin('GET', query));
          if (object === undefined) throw new Error(`${name}: not in the ordinary form`);
          contentHash(object);
          const aggregated = aggregateUsage(object);
          records += aggregated.length;
          const body = usageCollectedBody(object, aggregated, emails, new Date());
          const headers = webhookHeaders(
            { id: name, timestamp: Math.floor(Date.now() / 1000), body },
            secrets,
          );
          requests += 1;
          const posted = await receiverPool.send({
            method: 'POST',
            path: `${options.receiver.pathname}${options.receiver.search}`,
            headers: { ...headers, 'content-type': 'application/json' },
            body,
            timeoutMs: 15_000,
            keepBytes: 64 * 1024,
          });
          if (posted.statusCode < 200 || posted.statusCode >= 300) continue;
          delivered += 1;
          await admin('DELETE', query);
          deleted += 1;
        }
      };
      await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
      return { objects: names.length, records, delivered, deleted, requests };
    },
  };
}

// The baseline of bench/sweep.bench.ts: a usage sweep the way the vendor's sample scripts collect
// statistics — one request at a time, each on a new TCP connection (a fresh undici Client, closed
// after its answer). List every page; then for each object GET it, POST its message to the
// receiver, and DELETE it after a 2xx.
//
// Kept honest by doing the same per-object work as the real sweep wherever the strategy allows:
// the same Signature V2 code, the same 64-bit-safe parse and zod schema, the same aggregation,
// message body and Standard Webhooks signature. It does less than the real sweep — no ledger, no
// storage messages, no retries, no time budget — so it is, if anything, flattered.
import { Client } from 'undici';
import type { UsageObject } from '../../shared/ostor/index.ts';
import { buildOstorQuery } from '../../shared/ostor/index.ts';
import {
  parseGatewayJson,
  toUsageObject,
  UsageListSchema,
  UsageObjectSchema,
  UserListSchema,
} from '../../shared/ostor/schemas.ts';
import type { Credentials, WebhookSecret } from '../../shared/signing/index.ts';
import { signRequestV2, webhookHeaders } from '../../shared/signing/index.ts';
import { aggregateUsage } from '../../shared/usage/aggregate.ts';
import { usageCollectedBody } from '../../shared/usage/messages.ts';

export interface SequentialSweepOptions {
  readonly gateway: string;
  readonly credentials: Credentials;
  readonly receiver: URL;
  readonly secrets: readonly WebhookSecret[];
  /** Stop after this many objects (a sample of the listing). Default: all. */
  readonly limit?: number;
}

export interface SequentialSweepResult {
  readonly objects: number;
  readonly records: number;
  readonly delivered: number;
  readonly deleted: number;
  /** Requests made, each on its own connection. */
  readonly requests: number;
}

const PAGE = 500;

export async function sequentialSweep(options: SequentialSweepOptions): Promise<SequentialSweepResult> {
  const gateway = new URL(options.gateway);
  let requests = 0;

  /** One request on a connection of its own. */
  async function once(
    origin: string,
    request: {
      method: 'GET' | 'POST' | 'DELETE';
      path: string;
      headers: Record<string, string>;
      body?: string;
    },
  ): Promise<{ status: number; text: string }> {
    requests += 1;
    const client = new Client(origin, { pipelining: 1 });
    try {
      const response = await client.request(request);
      return { status: response.statusCode, text: await response.body.text() };
    } finally {
      await client.close();
    }
  }

  async function admin(method: 'GET' | 'DELETE', query: string): Promise<string> {
    const headers: Record<string, string> = { host: gateway.host };
    Object.assign(headers, signRequestV2({ method, path: '/', query, headers }, options.credentials));
    const { status, text } = await once(gateway.origin, { method, path: `/?${query}`, headers });
    if (status < 200 || status >= 300) throw new Error(`${method} /?${query}: ${status} ${text}`);
    return text;
  }

  // The names first, page by page, as the scripts do.
  const names: string[] = [];
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  let after: string | undefined;
  for (;;) {
    const params: [string, string][] = after === undefined ? [] : [['after', after]];
    params.push(['limit', String(PAGE)]);
    const page = UsageListSchema.parse(
      parseGatewayJson(await admin('GET', buildOstorQuery('usage', params))),
    );
    names.push(...page.names);
    after = page.names[page.names.length - 1];
    if (!page.truncated || after === undefined || names.length >= limit) break;
  }
  const users = UserListSchema.parse(parseGatewayJson(await admin('GET', buildOstorQuery('users', []))));
  const emails = new Map(users.map((user) => [user.userId, user.email]));

  let objects = 0;
  let records = 0;
  let delivered = 0;
  let deleted = 0;
  for (const name of names.slice(0, limit)) {
    const query = buildOstorQuery('usage', [['obj', name]]);
    const object: UsageObject = toUsageObject(
      name,
      UsageObjectSchema.parse(parseGatewayJson(await admin('GET', query))),
    );
    objects += 1;
    const aggregated = aggregateUsage(object);
    records += aggregated.length;
    const body = usageCollectedBody(object, aggregated, emails, new Date());
    const headers = webhookHeaders(
      { id: name, timestamp: Math.floor(Date.now() / 1000), body },
      options.secrets,
    );
    const posted = await once(options.receiver.origin, {
      method: 'POST',
      path: `${options.receiver.pathname}${options.receiver.search}`,
      headers: { ...headers, 'content-type': 'application/json' },
      body,
    });
    if (posted.status < 200 || posted.status >= 300) continue;
    delivered += 1;
    await admin('DELETE', query);
    deleted += 1;
  }
  return { objects, records, delivered, deleted, requests };
}

// One measurement of bench/client.bench.ts, run in a fresh process so that each reading strategy
// has its own heap, JIT state, CPU clock and peak RSS: list every statistics object and read each
// one, then print one JSON line (ReaderResult). Configured by environment variables (READER_*).
//
// Strategies:
//   pooled          OstorClient with its defaults (undici Pool, 32 keep-alive connections), 32
//                   reads in flight as the usage sweep does (shared/usage/sweep.ts);
//   pooled-serial   the same client, one read at a time: keep-alive without concurrency;
//   per-connection  the vendor scripts' way: one request per new TCP connection, one at a time
//                   (a fresh undici Client per request, closed after it), signed with the same
//                   Signature V2 code and parsed with the same schema as the client does.
import { Client } from 'undici';
import type { UsageObject } from '../../shared/ostor/index.ts';
import { buildOstorQuery, OstorClient } from '../../shared/ostor/index.ts';
import {
  parseGatewayJson,
  toUsageObject,
  UsageListSchema,
  UsageObjectSchema,
} from '../../shared/ostor/schemas.ts';
import type { Credentials } from '../../shared/signing/index.ts';
import { signRequestV2 } from '../../shared/signing/index.ts';

export type ReaderMode = 'pooled' | 'pooled-serial' | 'per-connection';
export const READER_MODES: readonly ReaderMode[] = ['pooled', 'pooled-serial', 'per-connection'];

export interface ReaderResult {
  readonly mode: ReaderMode;
  readonly objects: number;
  readonly items: number;
  readonly requests: number;
  /** Requests of the unmeasured warm-up (they reach the gateway too). */
  readonly warmupRequests: number;
  readonly seconds: number;
  readonly cpuUserMicros: number;
  readonly cpuSystemMicros: number;
  /** Resident set size after the imports and the warm-up, just before the measured part, bytes. */
  readonly baselineRssBytes: number;
  /** Peak resident set size of the whole reading process, bytes. */
  readonly maxRssBytes: number;
}

/** What both strategies offer: the names, and one object by name. */
interface StatisticsSource {
  listPage(after: string | undefined, limit: number): Promise<{ names: string[]; truncated: boolean }>;
  read(name: string): Promise<UsageObject>;
  readonly requests: number;
  close(): Promise<void>;
}

const PAGE = 500;

function pooledSource(endpoint: string, credentials: Credentials): StatisticsSource {
  const client = new OstorClient({ endpoint, credentials, signatureVersion: 2 });
  let requests = 0;
  return {
    async listPage(after, limit) {
      requests += 1;
      return client.listUsage(after === undefined ? { limit } : { after, limit });
    },
    async read(name) {
      requests += 1;
      return client.getUsage(name);
    },
    get requests() {
      return requests;
    },
    close: () => client.close(),
  };
}

function perConnectionSource(endpoint: string, credentials: Credentials): StatisticsSource {
  const origin = new URL(endpoint);
  let requests = 0;
  async function get(query: string): Promise<unknown> {
    requests += 1;
    const headers: Record<string, string> = { host: origin.host };
    Object.assign(headers, signRequestV2({ method: 'GET', path: '/', query, headers }, credentials));
    const client = new Client(origin.origin, { pipelining: 1 });
    try {
      const response = await client.request({ method: 'GET', path: `/?${query}`, headers });
      const text = await response.body.text();
      if (response.statusCode !== 200) throw new Error(`GET /?${query}: ${response.statusCode} ${text}`);
      return parseGatewayJson(text);
    } finally {
      await client.close();
    }
  }
  return {
    async listPage(after, limit) {
      const params: [string, string][] = after === undefined ? [] : [['after', after]];
      params.push(['limit', String(limit)]);
      return UsageListSchema.parse(await get(buildOstorQuery('usage', params)));
    },
    async read(name) {
      return toUsageObject(
        name,
        UsageObjectSchema.parse(await get(buildOstorQuery('usage', [['obj', name]]))),
      );
    },
    get requests() {
      return requests;
    },
    close: async () => {},
  };
}

async function listAll(source: StatisticsSource, limit: number, deadline: number): Promise<string[]> {
  const names: string[] = [];
  let after: string | undefined;
  for (let page = 0; page < 10_000; page++) {
    if (Date.now() > deadline) throw new Error('deadline passed while listing');
    const answer = await source.listPage(after, Math.min(PAGE, limit - names.length));
    names.push(...answer.names);
    if (!answer.truncated || names.length >= limit || answer.names.length === 0) return names;
    after = answer.names[answer.names.length - 1];
  }
  throw new Error('listing did not end within 10,000 pages');
}

/** Reads every name, `concurrency` at a time; answers the number of usage items read. */
async function readAll(
  source: StatisticsSource,
  names: readonly string[],
  concurrency: number,
  deadline: number,
): Promise<number> {
  let next = 0;
  let items = 0;
  const worker = async () => {
    while (next < names.length) {
      if (Date.now() > deadline) throw new Error('deadline passed while reading');
      const name = names[next++] as string;
      const object = await source.read(name);
      if (object.name !== name) throw new Error(`asked for ${name}, got ${object.name}`);
      items += object.items.length;
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  return items;
}

function env(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === '') throw new Error(`${name} is not set`);
  return value;
}

async function main(): Promise<void> {
  const mode = env('READER_MODE') as ReaderMode;
  if (!READER_MODES.includes(mode)) throw new Error(`READER_MODE: must be one of ${READER_MODES.join(', ')}`);
  const endpoint = env('READER_GATEWAY_URL');
  const credentials = {
    accessKeyId: env('READER_ACCESS_KEY_ID'),
    secretAccessKey: env('READER_SECRET_ACCESS_KEY'),
  };
  const objects = Number(env('READER_OBJECTS'));
  const warmup = Number(env('READER_WARMUP'));
  const deadline = Date.now() + Number(env('READER_TIMEOUT_MS'));
  const concurrency = mode === 'pooled' ? 32 : 1;
  const source =
    mode === 'per-connection'
      ? perConnectionSource(endpoint, credentials)
      : pooledSource(endpoint, credentials);

  // Warm-up, not measured: the same path on a few objects, so both strategies are timed with
  // their code compiled (and the pool's connections open, as in a running sweep).
  const first = await listAll(source, warmup, deadline);
  await readAll(source, first, concurrency, deadline);
  const warmupRequests = source.requests;

  globalThis.gc?.();
  const baselineRssBytes = process.memoryUsage.rss();
  const cpu = process.cpuUsage();
  const started = process.hrtime.bigint();
  const names = await listAll(source, objects, deadline);
  const items = await readAll(source, names, concurrency, deadline);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const used = process.cpuUsage(cpu);
  await source.close();
  if (names.length !== objects)
    throw new Error(`listed ${names.length} statistics objects, expected ${objects}`);

  const result: ReaderResult = {
    mode,
    objects: names.length,
    items,
    requests: source.requests - warmupRequests,
    warmupRequests,
    seconds,
    cpuUserMicros: used.user,
    cpuSystemMicros: used.system,
    baselineRssBytes,
    maxRssBytes: process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(
    `statistics-reader: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});

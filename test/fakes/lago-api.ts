// A local stand-in for Lago's events API (`POST /api/v1/events/batch`), porting lago-api's rules
// (getlago/lago-api @1b1c24a): Api::V1::EventsController#batch (permitted fields), Events::
// CreateBatchService (`no_events`, `too_many_events` over LAGO_EVENTS_BATCH_MAX_LENGTH = 100,
// per-event errors keyed by index, one all-or-nothing insert), the Event model (`code` and
// `transaction_id` required: `value_is_mandatory`), ApiErrors (401 and the 422 body) and both event
// stores: Postgres refuses a repeated (external_subscription_id, transaction_id) with
// `value_already_exist` and rolls the whole batch back; ClickHouse accepts it and keeps one row per
// (code, external_subscription_id, timestamp, transaction_id), so a repeat with another timestamp
// is a second event. The real server needs Ruby 4, Postgres and Redis, none of which is here.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LagoEventStore = 'postgres' | 'clickhouse';

export interface StoredEvent {
  readonly transactionId: string;
  readonly externalSubscriptionId: string;
  readonly code: string;
  /** Unix milliseconds, as lago-api keeps `timestamp` (precision 3). */
  readonly timestampMs: number;
  readonly properties: Record<string, unknown>;
  /** The `properties` text of each value, exactly as sent (numbers included). */
  readonly rawProperties: Record<string, string>;
}

/** What the fake does with one request before (or instead of) answering it normally. */
export type LagoFault =
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  /** Stores the batch as usual, then drops the connection: the answer is lost. */
  | { readonly kind: 'store-then-reset' }
  | { readonly kind: 'reset' };

export interface LagoFakeOptions {
  readonly apiKey: string;
  readonly store?: LagoEventStore;
  readonly maxBatchLength?: number;
}

export interface LagoFake {
  /** LAGO_API_URL: the API's base URL without /api/v1. */
  readonly url: string;
  readonly store: LagoEventStore;
  /** Every event stored, in order (Postgres: unique; ClickHouse: replaced rows removed). */
  readonly events: readonly StoredEvent[];
  /** Every batch request that reached the events route with a valid key, with the status answered. */
  readonly requests: readonly { readonly events: number; readonly status: number }[];
  /** Faults to apply to the next requests, one per request, in order. */
  readonly faults: LagoFault[];
  /**
   * Subscriptions by `external_customer_id`, for `GET /api/v1/subscriptions` (Api::V1::
   * SubscriptionsController#index: active ones by default, `page`/`per_page`, `meta.next_page`).
   */
  readonly subscriptions: Map<string, { external_id: string; plan_code: string; status: string }[]>;
  /** Decides a fault for each request (after `faults` is empty); undefined answers normally. */
  chaos: ((request: number) => LagoFault | undefined) | undefined;
  /** Sum of `properties[field]` per `${external_subscription_id} ${code}`, exactly, in units of 10^-scale. */
  totals(field: string, scale?: number): Map<string, bigint>;
  close(): Promise<void>;
}

const PERMITTED = [
  'transaction_id',
  'code',
  'timestamp',
  'external_subscription_id',
  'precise_total_amount_cents',
];
// postgres_store.rb numeric_condition: what lago counts as a number when it aggregates.
const NUMERIC = /^-?\d+(\.\d+)?$/;

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify(body));
}

function validationErrors(res: ServerResponse, details: unknown): number {
  json(res, 422, {
    status: 422,
    error: 'Unprocessable Entity',
    code: 'validation_errors',
    error_details: details,
  });
  return 422;
}

/** JSON.parse keeping each number's source text (V8's JSON.parse source text access). */
function parseWithSources(text: string): {
  value: unknown;
  sources: WeakMap<object, Record<string, string>>;
} {
  const sources = new WeakMap<object, Record<string, string>>();
  const reviver = function (
    this: unknown,
    key: string,
    value: unknown,
    context?: { source?: string },
  ): unknown {
    if (typeof this === 'object' && this !== null && context?.source !== undefined) {
      const known = sources.get(this) ?? {};
      known[key] = context.source;
      sources.set(this, known);
    }
    return value;
  };
  return { value: JSON.parse(text, reviver as (key: string, value: unknown) => unknown), sources };
}

/** `Time.zone.at(BigDecimal(timestamp.to_s))`, to milliseconds; undefined when Ruby would raise. */
function timestampMs(value: unknown): number | undefined {
  const text = typeof value === 'number' || typeof value === 'string' ? String(value).trim() : undefined;
  if (text === undefined || !/^-?\d+(\.\d+)?(e[-+]?\d+)?$/i.test(text)) return undefined;
  return Math.floor(Number(text) * 1000);
}

/** A decimal string (`"12.5"`) as an integer count of 10^-scale units; undefined unless NUMERIC. */
function scaled(text: string, scale: number): bigint | undefined {
  if (!NUMERIC.test(text)) return undefined;
  const negative = text.startsWith('-');
  const [whole = '0', fraction = ''] = text.replace('-', '').split('.');
  if (fraction.length > scale && /[1-9]/.test(fraction.slice(scale))) {
    throw new Error(`value ${text} has more than ${scale} decimals`);
  }
  const units =
    BigInt(whole) * 10n ** BigInt(scale) + BigInt((fraction.slice(0, scale) || '0').padEnd(scale, '0'));
  return negative ? -units : units;
}

export async function startLagoFake(options: LagoFakeOptions): Promise<LagoFake> {
  const store = options.store ?? 'postgres';
  const maxBatchLength = options.maxBatchLength ?? 100;
  const events: StoredEvent[] = [];
  const requests: { events: number; status: number }[] = [];
  const faults: LagoFault[] = [];
  const subscriptions = new Map<string, { external_id: string; plan_code: string; status: string }[]>();
  let requestCount = 0;

  const fake: LagoFake = {
    url: '',
    store,
    events,
    requests,
    faults,
    subscriptions,
    chaos: undefined,
    totals(field, scale = 0) {
      const sums = new Map<string, bigint>();
      for (const event of events) {
        const raw = event.rawProperties[field];
        const value = raw === undefined ? undefined : scaled(raw.replace(/^"|"$/g, ''), scale);
        if (value === undefined) continue;
        const key = `${event.externalSubscriptionId} ${event.code}`;
        sums.set(key, (sums.get(key) ?? 0n) + value);
      }
      return sums;
    },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };

  /** Validates and stores one batch, all or nothing; answers as lago-api does. Returns the status. */
  function batch(
    body: unknown,
    sources: WeakMap<object, Record<string, string>>,
    res: ServerResponse,
  ): number {
    const list =
      typeof body === 'object' && body !== null && 'events' in body && Array.isArray(body.events)
        ? body.events
        : [];
    if (list.length === 0) return validationErrors(res, { events: ['no_events'] });
    if (list.length > maxBatchLength) return validationErrors(res, { events: ['too_many_events'] });
    const now = Date.now();
    const errors: Record<number, unknown> = {};
    const candidates: StoredEvent[] = [];
    list.forEach((item: unknown, index: number) => {
      const params: Record<string, unknown> = {};
      if (typeof item === 'object' && item !== null) {
        for (const name of PERMITTED)
          if (name in item) params[name] = (item as Record<string, unknown>)[name];
        const properties = (item as Record<string, unknown>).properties;
        if (typeof properties === 'object' && properties !== null && !Array.isArray(properties)) {
          params.properties = properties;
        }
      }
      const problems: Record<string, string[]> = {};
      const text = (name: string) =>
        typeof params[name] === 'string' || typeof params[name] === 'number' ? String(params[name]) : '';
      if (text('code').trim() === '') problems.code = ['value_is_mandatory'];
      if (text('transaction_id').trim() === '') problems.transaction_id = ['value_is_mandatory'];
      const at =
        params.timestamp === undefined || params.timestamp === null ? now : timestampMs(params.timestamp);
      if (at === undefined) {
        errors[index] = { timestamp: ['invalid_format'] };
        return;
      }
      if (Object.keys(problems).length > 0) errors[index] = problems;
      const properties = (params.properties ?? {}) as Record<string, unknown>;
      const rawProperties: Record<string, string> = {};
      const source = sources.get(properties) ?? {};
      for (const [name, value] of Object.entries(properties)) {
        rawProperties[name] = source[name] ?? JSON.stringify(value);
      }
      candidates.push({
        transactionId: text('transaction_id'),
        externalSubscriptionId: text('external_subscription_id'),
        code: text('code'),
        timestampMs: at,
        properties,
        rawProperties,
      });
    });
    if (Object.keys(errors).length > 0) return validationErrors(res, errors);

    if (store === 'postgres') {
      // insert_all(unique_by: index_unique_transaction_id) then, per event, the returned row looked
      // up by transaction_id and deleted: an event whose id was not inserted, or was already
      // claimed earlier in the batch, is `value_already_exist`; any such error rolls back all.
      const existing = new Set(events.map((e) => `${e.externalSubscriptionId}\u0000${e.transactionId}`));
      const inserted = new Set<string>();
      const returned = new Set<string>();
      for (const event of candidates) {
        const key = `${event.externalSubscriptionId}\u0000${event.transactionId}`;
        if (!existing.has(key) && !inserted.has(key)) {
          inserted.add(key);
          returned.add(event.transactionId);
        }
      }
      candidates.forEach((event, index) => {
        if (returned.has(event.transactionId)) returned.delete(event.transactionId);
        else errors[index] = { transaction_id: ['value_already_exist'] };
      });
      if (Object.keys(errors).length > 0) return validationErrors(res, errors);
      events.push(...candidates);
    } else {
      for (const event of candidates) {
        const same = events.findIndex(
          (e) =>
            e.code === event.code &&
            e.externalSubscriptionId === event.externalSubscriptionId &&
            e.timestampMs === event.timestampMs &&
            e.transactionId === event.transactionId,
        );
        if (same >= 0) events.splice(same, 1);
        events.push(event);
      }
    }
    json(res, 200, {
      events: candidates.map((event) => ({
        lago_id: crypto.randomUUID(),
        transaction_id: event.transactionId,
        lago_customer_id: null,
        code: event.code,
        timestamp: new Date(event.timestampMs).toISOString(),
        precise_total_amount_cents: null,
        properties: event.properties,
        lago_subscription_id: null,
        external_subscription_id: event.externalSubscriptionId,
        created_at: new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      })),
    });
    return 200;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const token = req.headers.authorization?.split(' ')[1];
    if (token !== options.apiKey) return json(res, 401, { status: 401, error: 'Unauthorized' });
    const url = new URL(req.url ?? '/', 'http://lago.invalid');
    if (req.method === 'GET' && url.pathname === '/api/v1/subscriptions') {
      const fault = faults.shift();
      if (fault?.kind === 'status') {
        if (fault.retryAfterSeconds !== undefined)
          res.setHeader('retry-after', String(fault.retryAfterSeconds));
        return json(res, fault.status, { status: fault.status, error: 'injected' });
      }
      const customer = url.searchParams.get('external_customer_id') ?? '';
      const page = Number(url.searchParams.get('page') ?? '1');
      const perPage = Number(url.searchParams.get('per_page') ?? '20');
      const active = (subscriptions.get(customer) ?? []).filter((s) => s.status === 'active');
      const pages = Math.max(1, Math.ceil(active.length / perPage));
      return json(res, 200, {
        subscriptions: active.slice((page - 1) * perPage, page * perPage).map((s) => ({
          ...s,
          external_customer_id: customer,
        })),
        meta: {
          current_page: page,
          next_page: page < pages ? page + 1 : null,
          prev_page: page > 1 ? page - 1 : null,
          total_pages: pages,
          total_count: active.length,
        },
      });
    }
    if (req.method !== 'POST' || req.url !== '/api/v1/events/batch') {
      return json(res, 404, { status: 404, error: 'Not Found', code: 'route_not_found' });
    }
    requestCount += 1;
    const fault = faults.shift() ?? fake.chaos?.(requestCount);
    if (fault?.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === 'status') {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
      res.writeHead(fault.status, headers).end(JSON.stringify({ status: fault.status, error: 'injected' }));
      requests.push({ events: -1, status: fault.status });
      return;
    }
    let parsed: ReturnType<typeof parseWithSources>;
    try {
      parsed = parseWithSources(text);
    } catch {
      json(res, 400, { status: 400, error: 'BadRequest: the body is not JSON' });
      return;
    }
    const count =
      typeof parsed.value === 'object' &&
      parsed.value !== null &&
      'events' in parsed.value &&
      Array.isArray(parsed.value.events)
        ? parsed.value.events.length
        : 0;
    if (fault?.kind === 'store-then-reset') {
      const discard = { writeHead: () => discard, end: () => discard } as unknown as ServerResponse;
      requests.push({ events: count, status: batch(parsed.value, parsed.sources, discard) });
      req.socket.destroy();
      return;
    }
    requests.push({ events: count, status: batch(parsed.value, parsed.sources, res) });
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      if (!res.headersSent) json(res, 500, { status: 500, error: String(error) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  Object.assign(fake, { url: `http://127.0.0.1:${port}` });
  return fake;
}

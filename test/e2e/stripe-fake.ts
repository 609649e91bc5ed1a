// A local fake of the three Stripe API calls this project makes, for tests (a real Stripe cannot be
// had offline: stripe-mock is a Go binary out of reach, and stateless). It ports the rules of
// docs/reference: `GET /v1/customers/{id}` (404 "No such customer", `deleted: true`, `email:
// null`), and `POST /v1/billing/meter_events`, form-encoded with `Authorization: Bearer`: the
// fields Stripe requires, an `identifier` of at most 100 characters remembered for 24 hours — a
// second event with it is refused with Stripe's duplicate answer (400 invalid_request_error "An
// event already exists with identifier …", `Stripe-Should-Retry: false`) — a `timestamp` within
// the past 35 days or 5 minutes ahead, a value of at most 15 significant digits; and `GET
// /v2/core/events/{id}` answering the events a test puts in `events` (404 otherwise). Faults are
// injected per request: 429, 5xx, a reset connection, or an event accepted whose answer is lost.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeCustomer {
  readonly email: string | null;
  readonly deleted?: boolean;
}

export interface AcceptedMeterEvent {
  readonly eventName: string;
  readonly customer: string;
  readonly value: bigint;
  readonly identifier: string;
  readonly timestamp: number;
}

/**
 * What to do with one request: answer normally, answer a status without acting, drop the
 * connection, or act and then answer 500 (the answer of a change that was made is lost).
 */
export type Fault = 'none' | 429 | 500 | 502 | 503 | 'reset' | 'accept-then-500';

export interface StripeFake {
  /** STRIPE_API_BASE. */
  readonly url: string;
  /** STRIPE_API_KEY. */
  readonly apiKey: string;
  readonly customers: Map<string, FakeCustomer>;
  /** Meter events Stripe counts (each identifier once), in arrival order. */
  readonly accepted: AcceptedMeterEvent[];
  /** Every request, as `METHOD path`. */
  readonly requests: string[];
  /** The `Stripe-Version` of every request, in order ('' when it named none). */
  readonly versions: string[];
  /** The headers of every request, in order. */
  readonly headers: IncomingHttpHeaders[];
  /** v2 events by id, served by `GET /v2/core/events/{id}`. */
  readonly events: Map<string, unknown>;
  /** Duplicate answers given. */
  duplicates: number;
  /** Decides each request's fault; 'none' unless a test says otherwise. */
  fault: (request: { method: string; path: string; attempt: number }) => Fault;
  /** The fake's clock, in milliseconds (for the 24-hour memory and the 35-day window). */
  now: () => number;
  /** Σ value per customer and event name: `${customer} ${eventName}` → total. */
  totals(): Map<string, bigint>;
  /** Forgets every event, identifier and request (a fresh Stripe account). */
  reset(): void;
  close(): Promise<void>;
}

const DAY_MS = 24 * 3600_000;

export interface StripeFakeOptions {
  readonly apiKey?: string;
  /** Milliseconds each answer waits (a network round trip, for benchmarks). Default 0. */
  readonly delayMs?: number;
}

export async function startStripeFake(options: StripeFakeOptions = {}): Promise<StripeFake> {
  const apiKey = options.apiKey ?? 'sk_test_fake0123456789abcdef';
  const delayMs = options.delayMs ?? 0;
  const seen = new Map<string, number>();
  let attempt = 0;
  const fake: StripeFake = {
    url: '',
    apiKey,
    customers: new Map(),
    accepted: [],
    requests: [],
    versions: [],
    headers: [],
    events: new Map(),
    duplicates: 0,
    fault: () => 'none',
    now: () => Date.now(),
    totals() {
      const sums = new Map<string, bigint>();
      for (const event of fake.accepted) {
        const key = `${event.customer} ${event.eventName}`;
        sums.set(key, (sums.get(key) ?? 0n) + event.value);
      }
      return sums;
    },
    reset() {
      fake.accepted.splice(0);
      fake.requests.splice(0);
      fake.versions.splice(0);
      fake.headers.splice(0);
      fake.events.clear();
      fake.duplicates = 0;
      seen.clear();
    },
    close: async () => {},
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) stripeError(res, 500, 'api_error', 'the fake failed');
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const url = new URL(req.url ?? '/', 'http://fake');
    const method = req.method ?? 'GET';
    if (url.pathname === '/__fake/stats') {
      // For a benchmark's peer process: what this fake holds, totals as decimal text.
      const totals = Object.fromEntries([...fake.totals()].map(([key, value]) => [key, value.toString()]));
      json(res, 200, {
        accepted: fake.accepted.length,
        duplicates: fake.duplicates,
        requests: fake.requests.length,
        totals,
      });
      return;
    }
    if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
    fake.requests.push(`${method} ${url.pathname}`);
    fake.versions.push(String(req.headers['stripe-version'] ?? ''));
    fake.headers.push(req.headers);
    attempt += 1;
    const fault = fake.fault({ method, path: url.pathname, attempt });
    if (fault === 'reset') {
      req.socket.destroy();
      return;
    }
    if (typeof fault === 'number') {
      stripeError(res, fault, fault === 429 ? 'rate_limit_error' : 'api_error', 'injected');
      return;
    }
    if (req.headers.authorization !== `Bearer ${apiKey}`) {
      stripeError(res, 401, 'invalid_request_error', 'Invalid API Key provided');
      return;
    }
    const customer = /^\/v1\/customers\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && customer !== null) {
      const id = decodeURIComponent(customer[1] ?? '');
      const found = fake.customers.get(id);
      if (found === undefined) {
        stripeError(res, 404, 'invalid_request_error', `No such customer: '${id}'`, 'resource_missing');
        return;
      }
      json(
        res,
        200,
        found.deleted === true
          ? { id, object: 'customer', deleted: true }
          : { id, object: 'customer', email: found.email, metadata: {} },
      );
      return;
    }
    const v2Event = /^\/v2\/core\/events\/([^/]+)$/.exec(url.pathname);
    if (method === 'GET' && v2Event !== null) {
      const id = decodeURIComponent(v2Event[1] ?? '');
      const found = fake.events.get(id);
      if (found === undefined) {
        // v2 errors carry the same envelope, with `resource_missing`.
        stripeError(res, 404, 'invalid_request_error', `No such event: '${id}'`, 'resource_missing');
        return;
      }
      json(res, 200, found);
      return;
    }
    if (method === 'POST' && url.pathname === '/v1/billing/meter_events') {
      meterEvent(new URLSearchParams(body), res, fault === 'accept-then-500');
      return;
    }
    stripeError(res, 404, 'invalid_request_error', `Unrecognized request URL (${method}: ${url.pathname})`);
  }

  function meterEvent(form: URLSearchParams, res: ServerResponse, loseAnswer: boolean): void {
    if (req400(form, res)) return;
    const identifier = form.get('identifier') ?? '';
    const now = fake.now();
    const first = seen.get(identifier);
    if (first !== undefined && now - first < DAY_MS) {
      fake.duplicates += 1;
      res.setHeader('stripe-should-retry', 'false');
      stripeError(
        res,
        400,
        'invalid_request_error',
        `An event already exists with identifier ${identifier}.`,
      );
      return;
    }
    seen.set(identifier, now);
    const event: AcceptedMeterEvent = {
      eventName: form.get('event_name') ?? '',
      customer: form.get('payload[stripe_customer_id]') ?? '',
      value: BigInt(form.get('payload[value]') ?? '0'),
      identifier,
      timestamp: Number(form.get('timestamp')),
    };
    fake.accepted.push(event);
    if (loseAnswer) {
      stripeError(res, 500, 'api_error', 'injected after the event was recorded');
      return;
    }
    json(res, 200, {
      object: 'billing.meter_event',
      created: Math.floor(now / 1000),
      event_name: event.eventName,
      identifier,
      livemode: false,
      payload: { stripe_customer_id: event.customer, value: event.value.toString() },
      timestamp: event.timestamp,
    });
  }

  /** Stripe's synchronous checks of a meter event; answers the 400 and true when one fails. */
  function req400(form: URLSearchParams, res: ServerResponse): boolean {
    for (const field of [
      'event_name',
      'payload[stripe_customer_id]',
      'payload[value]',
      'identifier',
      'timestamp',
    ]) {
      if (!form.has(field) || form.get(field) === '') {
        stripeError(
          res,
          400,
          'invalid_request_error',
          `Missing required param: ${field}.`,
          'parameter_missing',
        );
        return true;
      }
    }
    const identifier = form.get('identifier') ?? '';
    if (identifier.length > 100) {
      stripeError(
        res,
        400,
        'invalid_request_error',
        'identifier: at most 100 characters',
        'parameter_invalid_string',
      );
      return true;
    }
    const value = form.get('payload[value]') ?? '';
    if (!/^\d+$/.test(value) || value.replace(/^0+/, '').length > 15) {
      stripeError(
        res,
        400,
        'invalid_request_error',
        'The value in the event payload can have at most 15 digits.',
      );
      return true;
    }
    const timestamp = Number(form.get('timestamp'));
    const nowSeconds = fake.now() / 1000;
    if (
      !Number.isInteger(timestamp) ||
      timestamp < nowSeconds - 35 * 86_400 ||
      timestamp > nowSeconds + 300
    ) {
      stripeError(
        res,
        400,
        'invalid_request_error',
        'Timestamp must be within the past 35 calendar days or up to 5 minutes in the future.',
        'timestamp_out_of_range',
      );
      return true;
    }
    return false;
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const port = (server.address() as AddressInfo).port;
  return Object.assign(fake, {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  });
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, {
    'content-type': 'application/json',
    'request-id': `req_${Math.random().toString(36).slice(2)}`,
  });
  res.end(JSON.stringify(body));
}

function stripeError(
  res: ServerResponse,
  status: number,
  type: string,
  message: string,
  code?: string,
): void {
  json(res, status, { error: { type, message, ...(code === undefined ? {} : { code }) } });
}

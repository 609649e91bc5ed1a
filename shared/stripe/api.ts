// The Stripe API over plain HTTP: the three calls this project makes, `GET /v1/customers/{id}` (a
// subscription's e-mail), `POST /v1/billing/meter_events` (usage) and `GET /v2/core/events/{id}`
// (a meter error report's details), form-encoded with
// `Authorization: Bearer`, over the keep-alive undici Pool the gateway client and the usage webhook
// use. Not the `stripe` SDK: it adds ~240 KB and ~60 ms of cold import to a bundle that must stay
// under 800 KB, for two requests (measured, see the README). Retried with backoff on 429, 5xx,
// `Stripe-Should-Retry: true` and network errors, within a deadline; the key is never logged and
// never part of an error.
import { timeLeft } from '../deadline.ts';
import { AppError, ConfigurationError, systemCode } from '../errors.ts';
import { apiPool, type Pool } from '../http/pool.ts';
import type { Answer, RetryPolicy, RetryPolicyOptions } from '../http/retry.ts';
import { DELIVERY_RETRY, retryPolicy, succeeded, transient, withRetries } from '../http/retry.ts';

/**
 * The Stripe API version every call names (`Stripe-Version`), so that what these two calls send and
 * get back does not change when the account's default version does. It is the version of the
 * `stripe` package the tests build Stripe's objects with (a test checks the two agree); the README
 * asks for the webhook endpoint to be created with it too, since an event's shape follows its
 * endpoint's version.
 */
export const STRIPE_API_VERSION = '2026-10-28.endive';

/** Where the API key comes from (the environment, or Secrets Manager with a cache). */
export interface ApiKeySource {
  get(): Promise<string>;
  /** Fetches again, bypassing the cache: called once when Stripe answers 401. */
  refresh(): Promise<string>;
}

/** Retries: 15 s per attempt, 4 retries, backoff from 250 ms up to 8 s. */
export interface StripeApiOptions extends RetryPolicyOptions {
  /** STRIPE_API_BASE: `https://api.stripe.com`, or a local fake. */
  readonly base: URL;
  readonly apiKey: ApiKeySource;
  /** Concurrent connections to Stripe. Default 16. */
  readonly connections?: number;
}

/** One Billing Meter event (docs/contract.md §8). */
export interface MeterEvent {
  readonly eventName: string;
  /** `payload[stripe_customer_id]`: the user's billingId. */
  readonly customer: string;
  /** `payload[value]`: a whole number, at most 15 digits (Stripe's limit). */
  readonly value: bigint;
  /** At most 100 characters; Stripe refuses a second event with it (for at least 24 hours). */
  readonly identifier: string;
  /** Unix seconds. */
  readonly timestamp: number;
}

export type StripeCallOutcome =
  | { readonly ok: true; readonly attempts: number; readonly status: number; readonly body: unknown }
  | {
      readonly ok: false;
      readonly attempts: number;
      /** Stripe's last status; undefined when no answer came (refused, reset, timed out). */
      readonly status: number | undefined;
      readonly body: unknown;
      readonly reason: string;
    };

export type MeterEventOutcome =
  | { readonly ok: true; readonly duplicate: boolean; readonly attempts: number }
  | {
      readonly ok: false;
      readonly attempts: number;
      readonly status: number | undefined;
      readonly reason: string;
    };

interface Attempt extends Answer {
  readonly body: unknown;
  /** `Stripe-Should-Retry`, when Stripe sends it. */
  readonly shouldRetry: boolean | undefined;
}

export class StripeApi {
  /** For log lines: Stripe's origin. Never the key. */
  readonly target: string;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #apiKey: ApiKeySource;
  readonly #retry: RetryPolicy;

  constructor(options: StripeApiOptions) {
    this.target = options.base.origin;
    this.#prefix = options.base.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#retry = retryPolicy(options, DELIVERY_RETRY);
    const { timeoutMs } = this.#retry;
    this.#pool = apiPool(options.base.origin, options.connections ?? 16, timeoutMs);
  }

  /**
   * One call, retried while Stripe says it may be (429, 5xx, Stripe-Should-Retry, no answer).
   * `headers` are added to every attempt (a v2 call's Stripe-Context, say).
   */
  async call(
    method: 'GET' | 'POST',
    path: string,
    form: URLSearchParams | undefined,
    deadline: number,
    headers: Readonly<Record<string, string>> = {},
  ): Promise<StripeCallOutcome> {
    const outcome = await withRetries(this.#retry, {
      deadline,
      credentials: this.#apiKey,
      attempt: (key, timeoutMs) => this.#attempt(method, path, form, headers, key, timeoutMs),
      refused: ({ status }) => status === 401,
      // Stripe-Should-Retry, when sent, overrides the status either way, as in Stripe's own
      // libraries. No Retry-After is read: Stripe sends none (stripe-node dropped its unused
      // support for it in v23, CHANGELOG #2781), so the backoff alone paces retries.
      judge: ({ status, shouldRetry }) =>
        succeeded(status) ? 'done' : (shouldRetry ?? transient(status)) ? 'retry' : 'final',
    });
    const { attempts } = outcome;
    const { status, body, reason } = outcome.answer ?? {
      status: undefined,
      body: undefined,
      reason: 'out of time before Stripe answered',
    };
    if (outcome.ok && status !== undefined) return { ok: true, attempts, status, body };
    return { ok: false, attempts, status, body, reason };
  }

  async close(): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    await this.#pool.close();
  }

  async #attempt(
    method: 'GET' | 'POST',
    path: string,
    form: URLSearchParams | undefined,
    headers: Readonly<Record<string, string>>,
    key: string,
    timeoutMs: number,
  ): Promise<Attempt> {
    try {
      const response = await this.#pool.send({
        method,
        path: `${this.#prefix}${path}`,
        headers: {
          ...headers,
          authorization: `Bearer ${key}`,
          accept: 'application/json',
          'stripe-version': STRIPE_API_VERSION,
          ...(form === undefined ? {} : { 'content-type': 'application/x-www-form-urlencoded' }),
        },
        ...(form === undefined ? {} : { body: form.toString() }),
        timeoutMs,
      });
      const text = response.body;
      const status = response.statusCode;
      let body: unknown;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        body = undefined;
      }
      if (succeeded(status)) return { status, body, shouldRetry: undefined, reason: 'ok' };
      const advice = response.headers['stripe-should-retry'];
      const shouldRetry = advice === 'true' ? true : advice === 'false' ? false : undefined;
      return { status, body, shouldRetry, reason: `Stripe answered ${status}${errorSummary(body)}` };
    } catch (error) {
      return {
        status: undefined,
        body: undefined,
        shouldRetry: undefined,
        reason: `no answer from Stripe (${systemCode(error) ?? (error instanceof Error ? error.name : 'error')})`,
      };
    }
  }
}

/**
 * The customer's e-mail; undefined when the customer has none, is deleted or does not exist.
 * Throws ConfigurationError when Stripe refuses the key, AppError `gateway_unavailable` when it
 * cannot be reached (the event is then answered 5xx and Stripe delivers it again). A function, not
 * a method, so a bundle that never reads customers (collect-usage) leaves it out.
 */
export async function customerEmail(api: StripeApi, customerId: string): Promise<string | undefined> {
  const deadline = Date.now() + Math.max(0, timeLeft() ?? 20_000);
  const outcome = await api.call(
    'GET',
    `/v1/customers/${encodeURIComponent(customerId)}`,
    undefined,
    deadline,
  );
  if (outcome.ok) {
    const customer = outcome.body as { email?: unknown; deleted?: unknown } | null;
    if (customer?.deleted === true) return undefined;
    return typeof customer?.email === 'string' && customer.email !== '' ? customer.email : undefined;
  }
  if (outcome.status === 404) return undefined;
  if (outcome.status === 401 || outcome.status === 403) {
    throw new ConfigurationError(
      'STRIPE_API_KEY',
      `Stripe refused the key (${outcome.status}) reading a customer; a restricted key needs Customers: Read`,
    );
  }
  throw new AppError(
    'gateway_unavailable',
    `the Stripe API could not be read (customers): ${outcome.reason}`,
  );
}

/**
 * A v2 event, whole (`GET /v2/core/events/{id}`: a thin event notification carries no `data`), as
 * Stripe's own library fetches it: the same Stripe-Version as every call, `Stripe-Context` when the
 * notification names one, `Stripe-Request-Trigger: event=<id>`, and the JSON content type of v2.
 * Throws ConfigurationError when Stripe refuses the key, AppError `gateway_unavailable` for any
 * other failure (the notification is then answered 5xx and Stripe delivers it again). A function,
 * not a method, so a bundle that never reads events (collect-usage) leaves it out.
 */
export async function fetchEvent(
  api: StripeApi,
  eventId: string,
  context: string | undefined,
): Promise<unknown> {
  const deadline = Date.now() + Math.max(0, timeLeft() ?? 20_000);
  const outcome = await api.call(
    'GET',
    `/v2/core/events/${encodeURIComponent(eventId)}`,
    undefined,
    deadline,
    {
      'content-type': 'application/json',
      'stripe-request-trigger': `event=${eventId}`,
      ...(context === undefined ? {} : { 'stripe-context': context }),
    },
  );
  if (outcome.ok) return outcome.body;
  if (outcome.status === 401 || outcome.status === 403) {
    throw new ConfigurationError(
      'STRIPE_API_KEY',
      `Stripe refused the key (${outcome.status}) reading event ${eventId}; a restricted key needs read access to events`,
    );
  }
  throw new AppError(
    'gateway_unavailable',
    `the Stripe API could not be read (event ${eventId}): ${outcome.reason}`,
  );
}

/** Sends one meter event; a duplicate identifier counts as delivered (Stripe already has it). */
export async function createMeterEvent(
  api: StripeApi,
  event: MeterEvent,
  deadline: number,
): Promise<MeterEventOutcome> {
  const form = new URLSearchParams({
    event_name: event.eventName,
    'payload[stripe_customer_id]': event.customer,
    'payload[value]': event.value.toString(),
    identifier: event.identifier,
    timestamp: String(event.timestamp),
  });
  const outcome = await api.call('POST', '/v1/billing/meter_events', form, deadline);
  if (outcome.ok) return { ok: true, duplicate: false, attempts: outcome.attempts };
  if (outcome.status === 400 && isDuplicateIdentifier(outcome.body)) {
    return { ok: true, duplicate: true, attempts: outcome.attempts };
  }
  return { ok: false, attempts: outcome.attempts, status: outcome.status, reason: outcome.reason };
}

/** The sink's view of the API (shared/usage/stripe-sink.ts `MeterEventApi`). */
export function meterEventApi(api: StripeApi): {
  readonly target: string;
  createMeterEvent(event: MeterEvent, deadline: number): Promise<MeterEventOutcome>;
  close(): Promise<void>;
} {
  return {
    target: api.target,
    createMeterEvent: (event, deadline) => createMeterEvent(api, event, deadline),
    close: () => api.close(),
  };
}

/**
 * Stripe's answer to a meter event whose identifier it already holds: a 400
 * `invalid_request_error` "An event already exists with identifier …" (with Stripe-Should-Retry:
 * false). Matched on the message, the only part observed in the wild, or on a code naming it.
 */
export function isDuplicateIdentifier(body: unknown): boolean {
  const error = (body as { error?: { message?: unknown; code?: unknown } } | undefined)?.error;
  if (error === undefined) return false;
  if (
    typeof error.code === 'string' &&
    /duplicate.*(meter|identifier)|identifier.*exists/i.test(error.code)
  ) {
    return true;
  }
  return typeof error.message === 'string' && /already exists with identifier/i.test(error.message);
}

/** `: <type> <code>` from Stripe's error body (its message may repeat input, so it is left out). */
function errorSummary(body: unknown): string {
  const error = (body as { error?: { type?: unknown; code?: unknown } } | undefined)?.error;
  if (error === undefined) return '';
  const parts = [error.type, error.code].filter((part): part is string => typeof part === 'string');
  return parts.length === 0 ? '' : ` (${parts.join(' ')})`;
}

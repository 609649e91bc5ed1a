// USAGE_SINK=lago (docs/contract.md §6, §9): each usage message becomes Lago events — per user with
// a billingId and per configured metric, `external_subscription_id` = billingId — POSTed to
// `{LAGO_API_URL}/api/v1/events/batch`, at most 100 to a request. Deliveries in flight together share
// requests (group commit), so a sweep of thousands of objects makes a few hundred calls, not one per
// object. Identifiers and timestamps come from the statistics object, never from the clock or
// chance: Lago's Postgres store refuses a repeated transaction_id (422 `value_already_exist`, which
// rolls the whole batch back: the duplicates count as delivered and the rest is sent again), and
// its ClickHouse store keeps one event per transaction_id and timestamp.
import { systemCode } from '../errors.ts';
import { apiPool, type Pool } from '../http/pool.ts';
import type { Answer, RetryPolicy, RetryPolicyOptions, Verdict } from '../http/retry.ts';
import {
  DELIVERY_RETRY,
  lagoRetryAfter,
  retryPolicy,
  succeeded,
  transient,
  withRetries,
} from '../http/retry.ts';
import type { LagoEvent, LagoMetricCodes } from './lago-batch.ts';
import { duplicateIndexes, errorSummary, lagoEventsOf, tooManyEvents } from './lago-batch.ts';
import type { OutboundMessage } from './messages.ts';
import type { BillingIdLookup } from './native-usage.ts';
import { cachedBillingIds, nativeUsage } from './native-usage.ts';
import type { DeliveryOptions, DeliveryOutcome, UsageSink } from './sink.ts';

export type { LagoEvent, LagoMetricCodes } from './lago-batch.ts';
export { duplicateIndexes, gigabytes, lagoEventsOf } from './lago-batch.ts';

/** Where the API key comes from (the environment, or Secrets Manager with a cache). */
export interface LagoApiKeySource {
  get(): Promise<string>;
  /** Fetches again, bypassing the cache: called once when Lago answers 401. */
  refresh(): Promise<string>;
}

/** Retries, of one request: 15 s per attempt, 4 retries, backoff from 250 ms up to 8 s. */
export interface LagoSinkOptions extends RetryPolicyOptions {
  /** LAGO_API_URL: the API's base URL without /api/v1 (Lago's own setting of that name). */
  readonly apiUrl: URL;
  readonly apiKey: LagoApiKeySource;
  readonly billingIds: BillingIdLookup;
  readonly codes: LagoMetricCodes;
  /** LAGO_FIELD_NAME: the property each billable metric aggregates. Default `value`. */
  readonly fieldName?: string;
  /** Events per request: Lago's LAGO_EVENTS_BATCH_MAX_LENGTH, 100 unless the server says otherwise. */
  readonly batchSize?: number;
  /** Requests in flight at once. Default 8. */
  readonly connections?: number;
  /** How long a looked-up billing id is reused. Default 60 s. */
  readonly billingIdTtlMs?: number;
}

// --- the sink ----------------------------------------------------------------------------------

/** How one event ended; `attempts` counts the requests that carried it. */
type Settled =
  | { readonly ok: true; readonly attempts: number }
  | {
      readonly ok: false;
      readonly attempts: number;
      readonly status: number | undefined;
      readonly reason: string;
    };

interface Pending {
  readonly event: LagoEvent;
  readonly deadline: number;
  readonly settle: (outcome: Settled) => void;
}

interface Attempt extends Answer {
  readonly body: unknown;
}

const BATCH_PATH = '/api/v1/events/batch';

export class LagoSink implements UsageSink {
  readonly kind = 'lago' as const;
  /** For log lines: Lago's origin. Never the key. */
  readonly target: string;
  readonly #path: string;
  readonly #pool: Pool;
  readonly #apiKey: LagoApiKeySource;
  readonly #lookup: BillingIdLookup;
  readonly #codes: LagoMetricCodes;
  readonly #field: string;
  /** Lowered when Lago answers `too_many_events` (a self-hosted LAGO_EVENTS_BATCH_MAX_LENGTH under 100). */
  #batchSize: number;
  readonly #retry: RetryPolicy;
  #queue: Pending[] = [];
  #flushScheduled = false;
  #inFlight = 0;
  readonly #connections: number;

  constructor(options: LagoSinkOptions) {
    this.target = options.apiUrl.origin;
    this.#path = `${options.apiUrl.pathname.replace(/\/+$/, '')}${BATCH_PATH}`;
    this.#apiKey = options.apiKey;
    this.#lookup = cachedBillingIds(options.billingIds, options.billingIdTtlMs ?? 60_000, options.clock);
    this.#codes = options.codes;
    this.#field = options.fieldName ?? 'value';
    this.#batchSize = options.batchSize ?? 100;
    this.#retry = retryPolicy(options, DELIVERY_RETRY);
    const { timeoutMs } = this.#retry;
    this.#connections = options.connections ?? 8;
    this.#pool = apiPool(options.apiUrl.origin, this.#connections, timeoutMs);
  }

  /**
   * Sends every event of `message`; `ok` once Lago holds each of them (accepted now or before).
   * A message with nothing billable (no billing id, zero totals, no metric configured) is `ok`
   * at once: there is nothing to wait for.
   */
  async deliver(message: OutboundMessage, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    const usage = await nativeUsage(message, this.#lookup);
    const { unbilled, unbilledUsers } = usage;
    const events = lagoEventsOf(usage, this.#codes, this.#field);
    if (events.length === 0) return { ok: true, attempts: 0, status: 200, unbilled, unbilledUsers };
    const settled = events.map(
      (event) =>
        new Promise<Settled>((settle) => {
          this.#queue.push({ event, deadline, settle });
        }),
    );
    this.#schedule();
    const outcomes = await Promise.all(settled);
    // The events may have gone in several requests, each retried on its own: the most any took.
    const attempts = Math.max(...outcomes.map((outcome) => outcome.attempts));
    for (const outcome of outcomes) {
      if (!outcome.ok) return { ok: false, attempts, status: outcome.status, reason: outcome.reason };
    }
    return { ok: true, attempts, status: 200, unbilled, unbilledUsers };
  }

  async close(): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    await this.#pool.close();
  }

  /** Flushes after the current turn, so the deliveries started together share requests. */
  #schedule(): void {
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    setImmediate(() => {
      this.#flushScheduled = false;
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#queue.length > 0 && this.#inFlight < this.#connections) {
      const batch = this.#queue.splice(0, this.#batchSize);
      this.#inFlight += 1;
      this.#send(batch)
        .catch((error: unknown) => {
          const reason = `the batch could not be sent (${systemCode(error) ?? (error instanceof Error ? error.name : 'error')})`;
          for (const pending of batch) pending.settle({ ok: false, attempts: 1, status: undefined, reason });
        })
        .finally(() => {
          this.#inFlight -= 1;
          this.#pump();
        });
    }
  }

  /** One batch until every event in it is acknowledged or the batch gives up. */
  async #send(initial: Pending[]): Promise<void> {
    let batch = initial;
    let attempts = 0;
    const judge = (attempt: Attempt): Verdict => {
      const { status, body } = attempt;
      if (succeeded(status)) return 'done';
      if (status !== 422) return transient(status) ? 'retry' : 'final';
      if (tooManyEvents(body) && batch.length > 1) {
        // Lago takes fewer events a request than this sink sent: halve, and keep the half that is
        // left over for the next request.
        this.#batchSize = Math.max(1, Math.floor(batch.length / 2));
        this.#queue.unshift(...batch.slice(this.#batchSize));
        batch = batch.slice(0, this.#batchSize);
        return 'again';
      }
      // Postgres store: the batch was rolled back; the events it already holds are delivered,
      // the others go again, alone.
      const duplicates = duplicateIndexes(body, batch.length);
      if (duplicates === undefined) return 'final';
      batch.forEach((pending, index) => {
        if (duplicates.has(index)) pending.settle({ ok: true, attempts });
      });
      batch = batch.filter((_, index) => !duplicates.has(index));
      return batch.length === 0 ? 'done' : 'again';
    };
    const outcome = await withRetries(this.#retry, {
      deadline: Math.min(...batch.map((pending) => pending.deadline)),
      credentials: this.#apiKey,
      attempt: (key, timeoutMs) => {
        attempts += 1;
        return this.#attempt(batch, key, timeoutMs);
      },
      refused: ({ status }) => status === 401,
      judge,
    });
    if (outcome.ok) {
      for (const pending of batch) pending.settle({ ok: true, attempts });
      return;
    }
    const { status, reason } = outcome.answer ?? {
      status: undefined,
      reason: 'the sweep ran out of time before Lago answered',
    };
    for (const pending of batch) pending.settle({ ok: false, attempts, status, reason });
  }

  async #attempt(batch: readonly Pending[], key: string, timeoutMs: number): Promise<Attempt> {
    try {
      const response = await this.#pool.send({
        method: 'POST',
        path: this.#path,
        headers: {
          authorization: `Bearer ${key}`,
          'content-type': 'application/json',
          accept: 'application/json',
        },
        body: JSON.stringify({ events: batch.map((pending) => pending.event) }),
        timeoutMs,
        // Lago echoes every event back; on a 2xx only the status matters, and an error fits in 1 MiB.
        keepBytes: 1 << 20,
      });
      const status = response.statusCode;
      if (succeeded(status)) return { status, body: undefined, reason: 'acknowledged' };
      const text = response.body;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const retryAfterMs = lagoRetryAfter(response.headers, this.#retry.clock());
      return {
        status,
        body,
        reason: `Lago answered ${status}${errorSummary(body)}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (error) {
      const code = systemCode(error) ?? (error instanceof Error ? error.name : 'error');
      return { status: undefined, body: undefined, reason: `no answer from Lago (${code})` };
    }
  }
}

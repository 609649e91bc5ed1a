// Lago's API as the webhook adapter reads it: a customer's active subscriptions
// (`GET /api/v1/subscriptions?external_customer_id=`, page by page), so an overdue invoice also
// reaches subscriptions that started before `POST /lago` was set up. Plain HTTP over the keep-alive
// undici Pool, `Authorization: Bearer`, retried with backoff on 429, 5xx and network errors
// within the invocation's time; the key is never logged and never part of an error.
import * as z from 'zod';
import { timeLeft } from '../deadline.ts';
import { AppError, ConfigurationError, systemCode } from '../errors.ts';
import { apiPool, type Pool } from '../http/pool.ts';
import type { Answer, RetryPolicy, RetryPolicyOptions } from '../http/retry.ts';
import { lagoRetryAfter, retryPolicy, succeeded, transient, withRetries } from '../http/retry.ts';
import type { LagoListedSubscription, LagoSubscriptionDirectory } from '../lifecycle/lago.ts';

/** Retries: 10 s per attempt, 3 retries, backoff from 250 ms up to 4 s (a webhook waits on them). */
export interface LagoApiOptions extends RetryPolicyOptions {
  /** LAGO_API_URL: the API's base URL without /api/v1. */
  readonly apiUrl: URL;
  readonly apiKey: { get(): Promise<string>; refresh(): Promise<string> };
}

interface Attempt extends Answer {
  readonly body: unknown;
}

const Page = z.object({
  subscriptions: z.array(z.looseObject({ external_id: z.string(), plan_code: z.string() })),
  meta: z.looseObject({ next_page: z.number().int().positive().nullish() }).optional(),
});

/** Pages of 100 (Lago's largest), at most 50 of them: a customer with 5,000 subscriptions is not one of ours. */
const PER_PAGE = 100;
const MAX_PAGES = 50;

export class LagoApi implements LagoSubscriptionDirectory {
  /** For log lines: Lago's origin. Never the key. */
  readonly target: string;
  readonly #prefix: string;
  readonly #pool: Pool;
  readonly #apiKey: LagoApiOptions['apiKey'];
  readonly #retry: RetryPolicy;

  constructor(options: LagoApiOptions) {
    this.target = options.apiUrl.origin;
    this.#prefix = options.apiUrl.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#retry = retryPolicy(options, {
      timeoutMs: 10_000,
      retries: 3,
      baseDelayMs: 250,
      maxDelayMs: 4_000,
    });
    const { timeoutMs } = this.#retry;
    this.#pool = apiPool(options.apiUrl.origin, 4, timeoutMs);
  }

  /**
   * The customer's active subscriptions. Throws ConfigurationError when Lago refuses the key, AppError
   * `gateway_unavailable` when it cannot be read (the webhook is then answered 503 and Lago sends it
   * again).
   */
  async activeSubscriptions(customerId: string): Promise<readonly LagoListedSubscription[]> {
    const { clock } = this.#retry;
    const deadline = clock() + Math.max(0, timeLeft(clock()) ?? 20_000);
    const found: LagoListedSubscription[] = [];
    for (let page = 1; page <= MAX_PAGES; page += 1) {
      const query = new URLSearchParams({
        external_customer_id: customerId,
        page: String(page),
        per_page: String(PER_PAGE),
      });
      const body = await this.#get(`/api/v1/subscriptions?${query}`, deadline);
      const parsed = Page.safeParse(body);
      if (!parsed.success) {
        throw new AppError(
          'malformed_response',
          'Lago answered the subscriptions listing with an unexpected body',
        );
      }
      for (const subscription of parsed.data.subscriptions) {
        found.push({ billingId: subscription.external_id, planCode: subscription.plan_code });
      }
      if (parsed.data.meta?.next_page === undefined || parsed.data.meta.next_page === null) return found;
    }
    return found;
  }

  async close(): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    await this.#pool.close();
  }

  async #get(path: string, deadline: number): Promise<unknown> {
    const outcome = await withRetries(this.#retry, {
      deadline,
      credentials: this.#apiKey,
      attempt: (key, timeoutMs) => this.#attempt(path, key, timeoutMs),
      // Once refreshed, a 401 (or any 403) is the setting to fix, below.
      refused: ({ status }) => status === 401,
      judge: ({ status }) => (succeeded(status) ? 'done' : transient(status) ? 'retry' : 'final'),
    });
    const { answer } = outcome;
    if (answer === undefined) {
      throw new AppError('gateway_timeout', 'out of time before Lago answered (subscriptions)');
    }
    if (outcome.ok) return answer.body;
    if (answer.status === 401 || answer.status === 403) {
      throw new ConfigurationError(
        'LAGO_API_KEY',
        `Lago refused the key (${answer.status}) listing subscriptions`,
      );
    }
    throw new AppError('gateway_unavailable', `Lago could not be read (subscriptions): ${answer.reason}`);
  }

  async #attempt(path: string, key: string, timeoutMs: number): Promise<Attempt> {
    try {
      const response = await this.#pool.send({
        method: 'GET',
        path: `${this.#prefix}${path}`,
        headers: { authorization: `Bearer ${key}`, accept: 'application/json' },
        timeoutMs,
      });
      const text = response.body;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
      const status = response.statusCode;
      // After a 429 (or a 5xx a proxy paces), wait as long as Lago asks, as the Lago sink does.
      const retryAfterMs = succeeded(status)
        ? undefined
        : lagoRetryAfter(response.headers, this.#retry.clock());
      return {
        status,
        body,
        reason: `Lago answered ${status}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (error) {
      const code = systemCode(error) ?? (error instanceof Error ? error.name : 'error');
      return { status: undefined, body: undefined, reason: `no answer from Lago (${code})` };
    }
  }
}

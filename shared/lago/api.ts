// Lago's API as the webhook adapter reads it: a customer's active subscriptions
// (`GET /api/v1/subscriptions?external_customer_id=`, page by page), so an overdue invoice also
// reaches subscriptions that started before `POST /lago` was set up. Plain HTTP over the keep-alive
// undici Pool, `Authorization: Bearer`, retried with backoff on 429, 5xx and network errors
// within the invocation's time; the key is never logged and never part of an error.
import { setTimeout as delay } from 'node:timers/promises';
import * as z from 'zod';
import { backoffDelay } from '../backoff.ts';
import { timeLeft } from '../deadline.ts';
import { AppError, ConfigurationError, systemCode } from '../errors.ts';
import { Pool } from '../http/pool.ts';
import type { LagoListedSubscription, LagoSubscriptionDirectory } from '../lifecycle/lago.ts';

export interface LagoApiOptions {
  /** LAGO_API_URL: the API's base URL without /api/v1. */
  readonly apiUrl: URL;
  readonly apiKey: { get(): Promise<string>; refresh(): Promise<string> };
  readonly timeoutMs?: number;
  readonly retries?: number;
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly clock?: () => number;
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
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #clock: () => number;

  constructor(options: LagoApiOptions) {
    this.target = options.apiUrl.origin;
    this.#prefix = options.apiUrl.pathname.replace(/\/+$/, '');
    this.#apiKey = options.apiKey;
    this.#timeoutMs = options.timeoutMs ?? 10_000;
    this.#retries = options.retries ?? 3;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 4_000;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? Date.now;
    this.#pool = new Pool(options.apiUrl.origin, {
      connections: 4,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(5_000, this.#timeoutMs) },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  /**
   * The customer's active subscriptions. Throws ConfigurationError when Lago refuses the key, AppError
   * `gateway_unavailable` when it cannot be read (the webhook is then answered 503 and Lago sends it
   * again).
   */
  async activeSubscriptions(customerId: string): Promise<readonly LagoListedSubscription[]> {
    const deadline = this.#clock() + Math.max(0, timeLeft(this.#clock()) ?? 20_000);
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
    let key = await this.#apiKey.get();
    let refreshed = false;
    let failures = 0;
    for (;;) {
      const left = deadline - this.#clock();
      if (left <= 0)
        throw new AppError('gateway_timeout', 'out of time before Lago answered (subscriptions)');
      const attempt = await this.#attempt(path, key, Math.ceil(Math.min(this.#timeoutMs, left)));
      if (attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300) return attempt.body;
      if (attempt.status === 401 && !refreshed) {
        refreshed = true;
        key = await this.#apiKey.refresh();
        continue;
      }
      if (attempt.status === 401 || attempt.status === 403) {
        throw new ConfigurationError(
          'LAGO_API_KEY',
          `Lago refused the key (${attempt.status}) listing subscriptions`,
        );
      }
      const retryable = attempt.status === undefined || attempt.status === 429 || attempt.status >= 500;
      failures += 1;
      const reason = `Lago could not be read (subscriptions): ${attempt.reason}`;
      if (!retryable || failures > this.#retries) throw new AppError('gateway_unavailable', reason);
      const wait = backoffDelay(failures, {
        baseMs: this.#baseDelayMs,
        maxMs: this.#maxDelayMs,
        random: this.#random,
      });
      if (this.#clock() + wait >= deadline) throw new AppError('gateway_unavailable', reason);
      await this.#sleep(wait);
    }
  }

  async #attempt(
    path: string,
    key: string,
    timeoutMs: number,
  ): Promise<{ status: number | undefined; body: unknown; reason: string }> {
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
      return { status: response.statusCode, body, reason: `Lago answered ${response.statusCode}` };
    } catch (error) {
      const code = systemCode(error) ?? (error instanceof Error ? error.name : 'error');
      return { status: undefined, body: undefined, reason: `no answer from Lago (${code})` };
    }
  }
}

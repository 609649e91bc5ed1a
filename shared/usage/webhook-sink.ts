// Delivers usage messages to USAGE_WEBHOOK_URL: one Standard-Webhooks-signed POST per message over
// a keep-alive pool, 15 s per attempt, retried with exponential backoff and full jitter on 5xx,
// 429 and network errors (Retry-After honoured up to the cap), within the sweep's deadline. Any
// other answer is an honest failure: the message stays unacknowledged and is sent again next run.
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';
import { systemCode } from '../errors.ts';
import { Pool } from '../http/pool.ts';
import type { WebhookSecretsProvider } from '../signing/index.ts';
import { webhookHeaders } from '../signing/index.ts';
import type { OutboundMessage } from './messages.ts';
import type { DeliveryOptions, DeliveryOutcome, UsageSink } from './sink.ts';

export interface WebhookSinkOptions {
  readonly url: URL;
  readonly secrets: WebhookSecretsProvider;
  /** Per attempt, connection to last body byte. Default 15,000 ms. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. Default 4. */
  readonly retries?: number;
  /** First backoff ceiling; doubles each retry. Default 250 ms. */
  readonly baseDelayMs?: number;
  /** Largest wait between attempts (also caps Retry-After). Default 8,000 ms. */
  readonly maxDelayMs?: number;
  /** Concurrent connections to the receiver. Default 32. */
  readonly connections?: number;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  readonly random?: () => number;
  readonly clock?: () => number;
}

const DEFAULT_TIMEOUT_MS = 15_000;

export class WebhookSink implements UsageSink {
  readonly kind = 'webhook';
  readonly target: string;
  /** Path and query of the receiver's URL. */
  readonly #path: string;
  readonly #pool: Pool;
  readonly #secrets: WebhookSecretsProvider;
  readonly #timeoutMs: number;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #clock: () => number;

  constructor(options: WebhookSinkOptions) {
    this.#path = `${options.url.pathname}${options.url.search}`;
    this.target = options.url.origin;
    this.#secrets = options.secrets;
    this.#timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.#retries = options.retries ?? 4;
    this.#baseDelayMs = options.baseDelayMs ?? 250;
    this.#maxDelayMs = options.maxDelayMs ?? 8_000;
    this.#sleep = options.sleep ?? ((ms) => delay(ms));
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? Date.now;
    this.#pool = new Pool(options.url.origin, {
      connections: options.connections ?? 32,
      pipelining: 1,
      keepAliveTimeout: 4_000,
      connect: { timeout: Math.min(5_000, this.#timeoutMs) },
      headersTimeout: this.#timeoutMs,
      bodyTimeout: this.#timeoutMs,
    });
  }

  async deliver(message: OutboundMessage, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
    const deadline = options.deadline ?? Number.POSITIVE_INFINITY;
    let secrets = await this.#secrets.get();
    let refreshed = false;
    let attempts = 0;
    let failures = 0;
    for (;;) {
      const left = deadline - this.#clock();
      if (left <= 0)
        return this.#failed(attempts, undefined, 'the sweep ran out of time before the delivery completed');
      attempts += 1;
      const attempt = await this.#attempt(message, secrets, Math.ceil(Math.min(this.#timeoutMs, left)));
      if (attempt.status !== undefined && attempt.status >= 200 && attempt.status < 300) {
        return { ok: true, attempts, status: attempt.status };
      }
      if ((attempt.status === 401 || attempt.status === 403) && !refreshed) {
        // The receiver may already know a secret rotated in Secrets Manager since it was cached.
        refreshed = true;
        secrets = await this.#secrets.refresh();
        continue;
      }
      if (!attempt.retryable) return this.#failed(attempts, attempt.status, attempt.reason);
      failures += 1;
      if (failures > this.#retries) return this.#failed(attempts, attempt.status, attempt.reason);
      const wait = Math.max(
        backoffDelay(failures, { baseMs: this.#baseDelayMs, maxMs: this.#maxDelayMs, random: this.#random }),
        Math.min(attempt.retryAfterMs ?? 0, this.#maxDelayMs),
      );
      if (this.#clock() + wait >= deadline) return this.#failed(attempts, attempt.status, attempt.reason);
      await this.#sleep(wait);
    }
  }

  async close(): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    await this.#pool.close();
  }

  async #attempt(
    message: OutboundMessage,
    secrets: Awaited<ReturnType<WebhookSecretsProvider['get']>>,
    timeoutMs: number,
  ): Promise<{ status: number | undefined; retryable: boolean; reason: string; retryAfterMs?: number }> {
    const headers = webhookHeaders(
      { id: message.id, timestamp: Math.floor(this.#clock() / 1000), body: message.body },
      secrets,
    );
    try {
      // The timer is cleared as soon as the answer is in (AbortSignal.timeout() would keep every
      // delivery's timer alive for the full timeout: at sweep rates, tens of thousands of them).
      const response = await this.#pool.send({
        method: 'POST',
        path: this.#path,
        headers: { ...headers, 'content-type': 'application/json' },
        body: message.body,
        timeoutMs,
        // Only the status matters; a longer answer closes its connection instead of being read.
        keepBytes: 64 * 1024,
      });
      const status = response.statusCode;
      if (status >= 200 && status < 300) return { status, retryable: false, reason: 'acknowledged' };
      const retryable = status === 429 || status >= 500;
      const retryAfterMs = retryAfter(response.headers['retry-after'], this.#clock());
      return {
        status,
        retryable,
        reason: `the receiver answered ${status}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (error) {
      const code = systemCode(error) ?? (error instanceof Error ? error.name : undefined);
      return {
        status: undefined,
        retryable: true,
        reason: `no answer from the receiver (${String(code ?? 'error')})`,
      };
    }
  }

  #failed(attempts: number, status: number | undefined, reason: string): DeliveryOutcome {
    return { ok: false, attempts, status, reason };
  }
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
function retryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

// Delivers usage messages to USAGE_WEBHOOK_URL: one Standard-Webhooks-signed POST per message over
// a keep-alive pool, 15 s per attempt, retried with exponential backoff and full jitter on 5xx,
// 429 and network errors (Retry-After honoured up to the cap), within the sweep's deadline. Any
// other answer is an honest failure: the message stays unacknowledged and is sent again next run.
import { systemCode } from '../errors.ts';
import { apiPool, type Pool } from '../http/pool.ts';
import type { Answer, RetryPolicy, RetryPolicyOptions } from '../http/retry.ts';
import { DELIVERY_RETRY, retryAfter, retryPolicy, succeeded, transient, withRetries } from '../http/retry.ts';
import type { WebhookSecretsProvider } from '../signing/index.ts';
import { webhookHeaders } from '../signing/index.ts';
import type { OutboundMessage } from './messages.ts';
import type { DeliveryOptions, DeliveryOutcome, UsageSink } from './sink.ts';

/** Retries: 15 s per attempt, 4 retries, backoff from 250 ms up to 8 s (Retry-After capped there too). */
export interface WebhookSinkOptions extends RetryPolicyOptions {
  readonly url: URL;
  readonly secrets: WebhookSecretsProvider;
  /** Concurrent connections to the receiver. Default 32. */
  readonly connections?: number;
}

export class WebhookSink implements UsageSink {
  readonly kind = 'webhook';
  readonly target: string;
  /** Path and query of the receiver's URL. */
  readonly #path: string;
  readonly #pool: Pool;
  readonly #secrets: WebhookSecretsProvider;
  readonly #retry: RetryPolicy;

  constructor(options: WebhookSinkOptions) {
    this.#path = `${options.url.pathname}${options.url.search}`;
    this.target = options.url.origin;
    this.#secrets = options.secrets;
    this.#retry = retryPolicy(options, DELIVERY_RETRY);
    const { timeoutMs } = this.#retry;
    this.#pool = apiPool(options.url.origin, options.connections ?? 32, timeoutMs);
  }

  async deliver(message: OutboundMessage, options: DeliveryOptions = {}): Promise<DeliveryOutcome> {
    const outcome = await withRetries(this.#retry, {
      deadline: options.deadline ?? Number.POSITIVE_INFINITY,
      credentials: this.#secrets,
      attempt: (secrets, timeoutMs) => this.#attempt(message, secrets, timeoutMs),
      // A refused signature: 401 or 403 here, where the Stripe and Lago clients refresh on 401 only.
      // The receiver is the customer's own server and may answer either; those APIs answer 401 for
      // a key they do not know and 403 for one that lacks a permission.
      refused: ({ status }) => status === 401 || status === 403,
      judge: ({ status }) => (succeeded(status) ? 'done' : transient(status) ? 'retry' : 'final'),
    });
    const { attempts } = outcome;
    const { status, reason } = outcome.answer ?? {
      status: undefined,
      reason: 'the sweep ran out of time before the delivery completed',
    };
    if (outcome.ok && status !== undefined) return { ok: true, attempts, status };
    return { ok: false, attempts, status, reason };
  }

  async close(): Promise<void> {
    if (this.#pool.closed || this.#pool.destroyed) return;
    await this.#pool.close();
  }

  async #attempt(
    message: OutboundMessage,
    secrets: Awaited<ReturnType<WebhookSecretsProvider['get']>>,
    timeoutMs: number,
  ): Promise<Answer> {
    const headers = webhookHeaders(
      { id: message.id, timestamp: Math.floor(this.#retry.clock() / 1000), body: message.body },
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
      if (succeeded(status)) return { status, reason: 'acknowledged' };
      const retryAfterMs = retryAfter(response.headers['retry-after'], this.#retry.clock());
      return {
        status,
        reason: `the receiver answered ${status}`,
        ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
      };
    } catch (error) {
      const code = systemCode(error) ?? (error instanceof Error ? error.name : undefined);
      return { status: undefined, reason: `no answer from the receiver (${String(code ?? 'error')})` };
    }
  }
}

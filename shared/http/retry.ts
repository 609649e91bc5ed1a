// One HTTP call retried within a deadline: attempts counted, full-jitter backoff (shared/backoff.ts)
// that a Retry-After may lengthen up to the cap, credentials fetched again once when refused. The
// clients over `Pool.send` (the usage webhook and Lago sinks, the Stripe and Lago APIs) bring one
// attempt and what its answer means; the loop, its waits and its accounting are here.
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';

/** A client's retry settings as its caller may give them; each client has its own defaults. */
export interface RetryPolicyOptions {
  /** Per attempt, connection to last body byte, in milliseconds; an attempt never runs past the deadline. */
  readonly timeoutMs?: number;
  /** Retries after the first attempt. */
  readonly retries?: number;
  /** First backoff ceiling; doubles each retry. */
  readonly baseDelayMs?: number;
  /** Largest wait between attempts (also caps a Retry-After). */
  readonly maxDelayMs?: number;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1): the jitter. */
  readonly random?: () => number;
  /** Milliseconds since the epoch. */
  readonly clock?: () => number;
}

export type RetryPolicy = Required<RetryPolicyOptions>;

/** The defaults of the usage sinks and the Stripe API: 15 s an attempt, 4 retries, backoff from 250 ms up to 8 s. */
export const DELIVERY_RETRY = { timeoutMs: 15_000, retries: 4, baseDelayMs: 250, maxDelayMs: 8_000 } as const;

/** The settings given, the client's defaults for the rest, real time and chance unless injected. */
export function retryPolicy(
  options: RetryPolicyOptions,
  defaults: Pick<RetryPolicy, 'timeoutMs' | 'retries' | 'baseDelayMs' | 'maxDelayMs'>,
): RetryPolicy {
  return {
    timeoutMs: options.timeoutMs ?? defaults.timeoutMs,
    retries: options.retries ?? defaults.retries,
    baseDelayMs: options.baseDelayMs ?? defaults.baseDelayMs,
    maxDelayMs: options.maxDelayMs ?? defaults.maxDelayMs,
    sleep: options.sleep ?? ((ms) => delay(ms)),
    random: options.random ?? Math.random,
    clock: options.clock ?? Date.now,
  };
}

/** What one attempt came to. */
export interface Answer {
  /** The HTTP status; undefined when no answer came (refused, reset, timed out). */
  readonly status: number | undefined;
  /** What happened, for the outcome and the logs; never a secret. */
  readonly reason: string;
  /** How long the server asked to be left alone (Retry-After), in milliseconds. */
  readonly retryAfterMs?: number;
}

/**
 * What an answer means. `done`: the call succeeded. `again`: try again at once, with no wait and
 * no failure counted (the request was changed to suit the answer). `retry`: a failure worth
 * another attempt after a wait. `final`: a failure no retry would mend.
 */
export type Verdict = 'done' | 'again' | 'retry' | 'final';

/** Where a client's key or secrets come from: a cached copy, and a fresh one on demand. */
export interface CredentialSource<C> {
  get(): Promise<C>;
  /** Fetches again, bypassing the cache. */
  refresh(): Promise<C>;
}

export interface RetriedCall<A extends Answer, C> {
  /** Milliseconds since the epoch by which the call must be over, waits included. */
  readonly deadline: number;
  /** Fetched once before the first attempt; again, once, after the first refusal. */
  readonly credentials: CredentialSource<C>;
  /** A refusal of the credentials: the first one refreshes them and tries again at once; later ones go to `judge`. */
  readonly refused: (answer: A) => boolean;
  /** One attempt, given at most `timeoutMs`; a failed exchange is an answer with no status, not a throw. */
  readonly attempt: (credentials: C, timeoutMs: number) => Promise<A>;
  readonly judge: (answer: A) => Verdict;
}

/**
 * How the call ended. `attempts` counts every request sent. A failure names why the loop stopped:
 * `final` (the judge said so), `retries` (all spent), `deadline` (the next wait would pass it,
 * `answer` is the last one), `out-of-time` (no time was left for an attempt: no answer to report).
 */
export type RetryOutcome<A extends Answer> =
  | { readonly ok: true; readonly attempts: number; readonly answer: A }
  | {
      readonly ok: false;
      readonly attempts: number;
      readonly stop: 'final' | 'retries' | 'deadline';
      readonly answer: A;
    }
  | {
      readonly ok: false;
      readonly attempts: number;
      readonly stop: 'out-of-time';
      readonly answer: undefined;
    };

/** Runs `call` until its judge is satisfied, it fails for good, the retries are spent or time runs out. */
export async function withRetries<A extends Answer, C>(
  policy: RetryPolicy,
  call: RetriedCall<A, C>,
): Promise<RetryOutcome<A>> {
  const { clock } = policy;
  const { deadline } = call;
  let credentials = await call.credentials.get();
  let refreshed = false;
  let attempts = 0;
  let failures = 0;
  for (;;) {
    const left = deadline - clock();
    if (left <= 0) return { ok: false, attempts, stop: 'out-of-time', answer: undefined };
    attempts += 1;
    const answer = await call.attempt(credentials, Math.ceil(Math.min(policy.timeoutMs, left)));
    if (!refreshed && call.refused(answer)) {
      // A key or secret rotated since it was cached: the service may already know only the new one.
      refreshed = true;
      credentials = await call.credentials.refresh();
      continue;
    }
    const verdict = call.judge(answer);
    if (verdict === 'done') return { ok: true, attempts, answer };
    if (verdict === 'again') continue;
    if (verdict === 'final') return { ok: false, attempts, stop: 'final', answer };
    failures += 1;
    if (failures > policy.retries) return { ok: false, attempts, stop: 'retries', answer };
    const wait = Math.max(
      backoffDelay(failures, { baseMs: policy.baseDelayMs, maxMs: policy.maxDelayMs, random: policy.random }),
      Math.min(answer.retryAfterMs ?? 0, policy.maxDelayMs),
    );
    if (clock() + wait >= deadline) return { ok: false, attempts, stop: 'deadline', answer };
    await policy.sleep(wait);
  }
}

/** A 2xx. */
export function succeeded(status: number | undefined): boolean {
  return status !== undefined && status >= 200 && status < 300;
}

/** No answer, 429 or 5xx: what may well go through if tried again later. */
export function transient(status: number | undefined): boolean {
  return status === undefined || status === 429 || status >= 500;
}

/**
 * Lago's wait after a 429: `Retry-After` when a proxy sends one, else `x-ratelimit-reset`, the
 * seconds Lago's own client waits. In milliseconds from now.
 */
export function lagoRetryAfter(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  now: number,
): number | undefined {
  return retryAfter(headers['retry-after'], now) ?? retryAfter(headers['x-ratelimit-reset'], now);
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds from now. */
export function retryAfter(value: string | string[] | undefined, now: number): number | undefined {
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined) return undefined;
  if (/^\d+$/.test(text.trim())) return Number(text.trim()) * 1000;
  const at = Date.parse(text);
  return Number.isFinite(at) ? Math.max(0, at - now) : undefined;
}

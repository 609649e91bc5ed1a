// shared/http/retry.ts: the retry loop the sinks and billing clients share, on a fake clock: how
// many requests go out, how long it waits between them (Retry-After included, never past the cap),
// that the deadline ends it with the last answer or an honest "no time", and that a refusal, a
// refreshed key or a changed request are each treated as the clients rely on.
import { describe, expect, it } from 'vitest';
import type { Answer, RetriedCall, RetryPolicyOptions, Verdict } from '../../../shared/http/retry.ts';
import { retryAfter, retryPolicy, succeeded, transient, withRetries } from '../../../shared/http/retry.ts';

const NOW = Date.parse('2026-11-26T12:00:00Z');

const judge = ({ status }: Answer): Verdict =>
  succeeded(status) ? 'done' : transient(status) ? 'retry' : 'final';
const answer = (status: number | undefined, retryAfterMs?: number): Answer => ({
  status,
  reason: status === undefined ? 'no answer' : `answered ${status}`,
  ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
});

/**
 * A server answering `answers` in turn (the last one again when they run out), each taking `took`
 * ms, and a key source whose refresh hands out the next key.
 */
function world(answers: Answer[], took = 100) {
  let now = NOW;
  const sleeps: number[] = [];
  const timeouts: number[] = [];
  const keysUsed: string[] = [];
  let key = 1;
  const policy = (options: RetryPolicyOptions = {}) =>
    retryPolicy(
      {
        sleep: async (ms) => {
          sleeps.push(ms);
          now += ms;
        },
        random: () => 0.5,
        clock: () => now,
        ...options,
      },
      { timeoutMs: 15_000, retries: 4, baseDelayMs: 200, maxDelayMs: 2_000 },
    );
  const call = (
    deadline: number,
    overrides: Partial<RetriedCall<Answer, string>> = {},
  ): RetriedCall<Answer, string> => ({
    deadline,
    credentials: { get: async () => `key-${key}`, refresh: async () => `key-${++key}` },
    attempt: async (credentials, timeoutMs) => {
      keysUsed.push(credentials);
      timeouts.push(timeoutMs);
      const answer = answers[Math.min(timeouts.length, answers.length) - 1];
      if (answer === undefined) throw new Error('no answers scripted');
      now += took;
      return answer;
    },
    refused: () => false,
    judge,
    ...overrides,
  });
  return { policy, call, sleeps, timeouts, keysUsed, now: () => now };
}

describe('withRetries', () => {
  it('sends the first attempt and its retries, no more, waiting a jittered doubling backoff between them', async () => {
    // Prepare
    const { policy, call, sleeps } = world([answer(503)]);

    // Act
    const outcome = await withRetries(policy({ retries: 3 }), call(Infinity));

    // Assess: half (random 0.5) of 200, 400, 800 ms
    expect(outcome).toEqual({ ok: false, attempts: 4, stop: 'retries', answer: answer(503) });
    expect(sleeps).toEqual([100, 200, 400]);
  });

  it('answers the success and how many attempts it took', async () => {
    // Prepare
    const { policy, call, sleeps } = world([answer(undefined), answer(429), answer(202)]);

    // Act
    const outcome = await withRetries(policy(), call(Infinity));

    // Assess
    expect(outcome).toEqual({ ok: true, attempts: 3, answer: answer(202) });
    expect(sleeps).toEqual([100, 200]);
  });

  it('waits as long as Retry-After asks when that is longer than the backoff, but never past the cap', async () => {
    // Prepare: 3 s asked for, 2 s the cap; then 700 ms, longer than the 200 ms backoff; then 50 ms, shorter than its 400 ms
    const { policy, call, sleeps } = world([
      answer(429, 3_000),
      answer(429, 700),
      answer(503, 50),
      answer(200),
    ]);

    // Act
    const outcome = await withRetries(policy(), call(Infinity));

    // Assess
    expect(outcome.ok).toBe(true);
    expect(sleeps).toEqual([2_000, 700, 400]);
  });

  it('stops when the next wait would pass the deadline, with the last answer as the reason', async () => {
    // Prepare: waits of 1 s, then 2 s (random 0.5 of 2 s, 4 s); each attempt takes 100 ms
    const { policy, call, sleeps, now } = world([answer(500)]);
    const deadline = NOW + 2_500;

    // Act
    const outcome = await withRetries(policy({ baseDelayMs: 2_000, maxDelayMs: 8_000 }), call(deadline));

    // Assess: attempt, wait 1 s, attempt (at 1.2 s), and a 2 s wait would end past 2.5 s
    expect(outcome).toEqual({ ok: false, attempts: 2, stop: 'deadline', answer: answer(500) });
    expect(sleeps).toEqual([1_000]);
    expect(now()).toBe(NOW + 1_200);
  });

  it('sends nothing once the deadline has passed, and gives each attempt no more than the time left', async () => {
    // Prepare
    const late = world([answer(200)]);
    const tight = world([answer(200)]);

    // Act
    const none = await withRetries(late.policy(), late.call(NOW));
    await withRetries(tight.policy(), tight.call(NOW + 1_234.5));

    // Assess
    expect(none).toEqual({ ok: false, attempts: 0, stop: 'out-of-time', answer: undefined });
    expect(late.timeouts).toEqual([]);
    expect(tight.timeouts).toEqual([1_235]);
  });

  it('stops at once on an answer no retry would mend', async () => {
    // Prepare
    const { policy, call, sleeps, timeouts } = world([answer(422), answer(200)]);

    // Act
    const outcome = await withRetries(policy(), call(Infinity));

    // Assess
    expect(outcome).toEqual({ ok: false, attempts: 1, stop: 'final', answer: answer(422) });
    expect(timeouts).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it('fetches the key again once on a refusal and retries with it at once; a second refusal is judged', async () => {
    // Prepare
    const { policy, call, sleeps, keysUsed } = world([answer(401)]);

    // Act
    const outcome = await withRetries(policy(), call(Infinity, { refused: ({ status }) => status === 401 }));

    // Assess
    expect(outcome).toEqual({ ok: false, attempts: 2, stop: 'final', answer: answer(401) });
    expect(keysUsed).toEqual(['key-1', 'key-2']);
    expect(sleeps).toEqual([]);
  });

  it('tries a changed request again at once, without counting it against the retries', async () => {
    // Prepare: two answers the client mends by changing its request, then failures
    const { policy, call, sleeps } = world([answer(422), answer(422), answer(503)]);
    const mended = (a: Answer): Verdict => (a.status === 422 ? 'again' : judge(a));

    // Act
    const outcome = await withRetries(policy({ retries: 1 }), call(Infinity, { judge: mended }));

    // Assess
    expect(outcome).toEqual({ ok: false, attempts: 4, stop: 'retries', answer: answer(503) });
    expect(sleeps).toEqual([100]);
  });
});

describe('retryAfter', () => {
  it('reads seconds or an HTTP date, from now, and nothing else', () => {
    expect(retryAfter('2', NOW)).toBe(2_000);
    expect(retryAfter([' 3 ', '9'], NOW)).toBe(3_000);
    expect(retryAfter(new Date(NOW + 5_000).toUTCString(), NOW)).toBe(5_000);
    expect(retryAfter(new Date(NOW - 5_000).toUTCString(), NOW)).toBe(0);
    expect(retryAfter('soon', NOW)).toBeUndefined();
    expect(retryAfter(undefined, NOW)).toBeUndefined();
  });
});

// The time an invocation has left, carried implicitly (AsyncLocalStorage) from the handler down
// to the gateway transport, so a hung gateway is given up on — with an honest 504 — before Lambda
// kills the function mid-change and the caller gets no answer at all.
import { AsyncLocalStorage } from 'node:async_hooks';

const store = new AsyncLocalStorage<number>();

/** Runs `work` with a deadline (epoch milliseconds) visible to everything it awaits. */
export function runWithDeadline<T>(deadlineMs: number, work: () => Promise<T>): Promise<T> {
  return store.run(deadlineMs, work);
}

/** Milliseconds left before the current deadline, or undefined outside one. */
export function timeLeft(now: number = Date.now()): number | undefined {
  const deadline = store.getStore();
  return deadline === undefined ? undefined : deadline - now;
}

/** Time kept back from an invocation's remaining time to log, record and send the answer. */
export const ANSWER_MARGIN_MS = 2_000;

/** The deadline for an invocation with `remainingMs` left (Lambda's getRemainingTimeInMillis()). */
export function deadlineFor(remainingMs: number, now: number = Date.now()): number {
  return now + Math.max(0, remainingMs - ANSWER_MARGIN_MS);
}

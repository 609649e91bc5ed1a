// How long to wait before the next attempt: a ceiling that doubles with each failure up to a cap,
// and, given a random source, a wait drawn uniformly below it ("full jitter", so callers that
// failed together do not come back together). The one backoff of the house: the gateway client,
// the usage webhook, the DynamoDB ledger's batch writes, the per-customer lock. Imports nothing.

export interface BackoffPolicy {
  /** The first ceiling, in milliseconds. */
  readonly baseMs: number;
  /** The largest ceiling. */
  readonly maxMs: number;
  /** In [0, 1): with it the wait is `random() × ceiling`; without it, the ceiling itself. */
  readonly random?: () => number;
}

/** The wait after the `failures`-th failure in a row (1 for the first), in whole milliseconds. */
export function backoffDelay(failures: number, policy: BackoffPolicy): number {
  const ceiling = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.max(0, failures - 1));
  return policy.random === undefined ? ceiling : Math.floor(policy.random() * ceiling);
}

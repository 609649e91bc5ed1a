// One delivery at a time per customer for the operations that must not interleave: two provisions
// racing would both find no user and both create one; two rotations would both see one key and
// the second would hit the two-key limit. A short lock on the email serialises them; a delivery
// that cannot get it in time is refused as `in_progress` (409) and the billing system retries.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';
import { ConflictError } from '../errors.ts';
import type { LockStore } from './ports.ts';

export interface CustomerLockOptions {
  /** How long a holder may keep the lock before others may take it (a crashed holder's lapses). */
  readonly ttlMs?: number;
  /** How long to wait for a busy lock before answering in_progress. */
  readonly waitMs?: number;
}

export async function withCustomerLock<T>(
  locks: LockStore | undefined,
  email: string,
  work: () => Promise<T>,
  options: CustomerLockOptions = {},
): Promise<T> {
  if (locks === undefined) return work();
  const name = `customer#${email}`;
  const owner = randomUUID();
  const ttlMs = options.ttlMs ?? 30_000;
  const deadline = Date.now() + (options.waitMs ?? 10_000);
  let tries = 0;
  while (!(await locks.tryAcquire(name, owner, ttlMs))) {
    // 25 ms, doubling up to 500 ms: a short lock is usually free again within a few tries.
    const pause = backoffDelay(++tries, { baseMs: 25, maxMs: 500 });
    if (Date.now() + pause > deadline) {
      throw new ConflictError(
        'in_progress',
        'data.email: another delivery for this customer is still being processed; retry later',
      );
    }
    await sleep(pause);
  }
  try {
    return await work();
  } finally {
    // A release that fails must not turn a finished change into an error (the billing system
    // would then repeat it); the lock's own time limit frees it.
    await locks.release(name, owner).catch(() => undefined);
  }
}

// The usage sweep: under a lease, deliver this hour's storage messages, then list every statistics
// object page by page and take each closed one through read → record → deliver → mark → delete
// with bounded concurrency, until the listing ends or the time budget runs low. This module wires
// the parts: lease.ts, storage-phase.ts, object-pipeline.ts, progress.ts (counts and the stop
// policy) and summary.ts (the per-user tally).
import { randomUUID } from 'node:crypto';
import { loadUserDirectory, type UserDirectory } from './directory.ts';
import { DEFAULT_LEASE_MARGIN_MS, takeLease } from './lease.ts';
import type { UsageLedger } from './ledger.ts';
import { sweepObjects } from './object-pipeline.ts';
import type { UsageEvents, UsageGateway } from './ports.ts';
import type { SweepContext } from './progress.ts';
import { SweepProgress } from './progress.ts';
import type { UsageSink } from './sink.ts';
import { sweepStorage } from './storage-phase.ts';
import type { UsageSweepReport } from './summary.ts';
import { UsageTally } from './summary.ts';
import { batchedWrites } from './write-batches.ts';

export { DEFAULT_LEASE_MARGIN_MS } from './lease.ts';
export { listNames } from './listing.ts';
export type { UsageEvents, UsageGateway } from './ports.ts';
export type { UsageSweepResult } from './progress.ts';
export type { UsageSweepReport, UserStorage, UserUsage } from './summary.ts';

export interface SweepDependencies {
  readonly gateway: UsageGateway;
  readonly ledger: UsageLedger;
  readonly sink: UsageSink;
  readonly events: UsageEvents;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
}

export interface SweepOptions {
  /** Seconds after a period's end before its object is taken (USAGE_GRACE_SECONDS). */
  readonly graceSeconds: number;
  /** Milliseconds left before the invocation is cut off (Lambda's getRemainingTimeInMillis). Default: 15 minutes. */
  readonly remainingMs?: () => number;
  /**
   * No new object is taken once less than this is left (capped at a fifth of the budget, so a
   * short budget still gets work done). Default 20,000 ms.
   */
  readonly marginMs?: number;
  /** Objects in flight at once (read → deliver → delete). Default 32, the client's pool size. */
  readonly concurrency?: number;
  /** Names per listing page, 1 to 500. Default 500. */
  readonly pageSize?: number;
  /** Deliver this hour's `usage.storage` messages. Default true. */
  readonly storage?: boolean;
  /** A progress line every this many objects... Default 1,000. */
  readonly progressEvery?: number;
  /** ...or after this long since the last one. Default 10,000 ms. */
  readonly progressIntervalMs?: number;
  /** Failed deliveries in a row after which the receiver is taken to be down and the sweep stops. Default 8. */
  readonly maxConsecutiveFailures?: number;
  /** Lease owner id: the invocation's request id, so an operator can find the holder's logs. Default: a random UUID. */
  readonly owner?: string;
  /**
   * How long after this sweep's deadline (the end of its budget) its lease still keeps other sweeps
   * out, should it never release it. Default 2,000 ms. Deployed on the schedule the budget is the
   * invocation's remaining time, and Lambda ends an invocation at its timeout, so nothing of a
   * holder runs after its deadline: 2 s only cover the clock difference between two Lambda hosts.
   * A sweep that is not cut off at its deadline (one asked for over HTTP, whose budget is shorter
   * than its invocation; a local one) and is still running then renews its lease every second
   * until it ends, so a live holder never loses it and a dead one loses it `leaseMarginMs` after
   * its deadline. Locally the composition root gives more (the SQLite ledger sees at once when the
   * holding process is gone).
   */
  readonly leaseMarginMs?: number;
}

const DEFAULT_BUDGET_MS = 15 * 60_000;
/**
 * Objects in flight. Each costs three round trips (read, deliver, delete), so throughput is
 * roughly concurrency / (3 × RTT) until CPU binds: measured 16 → ~1,270/s, 32 → ~1,550/s at 2 ms
 * (BENCHMARKS.md), with the gateway pool sized to match.
 */
const DEFAULT_CONCURRENCY = 32;

/** Runs one sweep. Throws only when the sweep cannot go on (listing, users, ledger); the lease is released either way. */
export async function sweepUsage(deps: SweepDependencies, options: SweepOptions): Promise<UsageSweepReport> {
  const clock = deps.clock ?? Date.now;
  const { events } = deps;
  const progress = new SweepProgress(clock, events, {
    budgetMs: options.remainingMs?.() ?? DEFAULT_BUDGET_MS,
    marginMs: options.marginMs ?? 20_000,
    maxFailuresInRow: options.maxConsecutiveFailures ?? 8,
    progressEvery: options.progressEvery ?? 1_000,
    progressIntervalMs: options.progressIntervalMs ?? 10_000,
    native: deps.sink.kind === 'stripe' || deps.sink.kind === 'lago',
  });
  const tally = new UsageTally();
  const lease = await takeLease({
    ledger: deps.ledger,
    events,
    clock,
    owner: options.owner ?? randomUUID(),
    deadline: progress.deadline,
    marginMs: options.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS,
    onLost: () => progress.stop('lease'),
  });
  if ('heldBy' in lease) {
    events.warn('another usage sweep holds the lease; nothing done', { lease: lease.heldBy });
    return { result: { ...progress.result(false, true, 0), lease: lease.heldBy }, users: [], storage: [] };
  }

  // Read once, awaited where first needed; a failure still surfaces there, not as an unhandled rejection.
  const directory: Promise<UserDirectory> = loadUserDirectory(deps.gateway, events);
  directory.catch(() => {});
  const writes = batchedWrites(deps.ledger, clock);
  const ctx: SweepContext = {
    gateway: deps.gateway,
    ledger: writes,
    sink: deps.sink,
    events,
    clock,
    progress,
    tally,
    emails: async () => (await directory).emails,
    concurrency: Math.max(1, Math.floor(options.concurrency ?? DEFAULT_CONCURRENCY)),
    graceSeconds: options.graceSeconds,
    pageSize: options.pageSize ?? 500,
  };
  let complete = false;
  try {
    if (options.storage ?? true) await sweepStorage(ctx);
    complete = await sweepObjects(ctx);
    await writes.settle();
  } catch (error) {
    // Whatever deletions were noted are still worth writing; the error that stopped the sweep is the one to report.
    await writes.settle().catch(() => {});
    // What was done stays done (the ledger has it); the counts would otherwise be lost with the error.
    events.error('usage sweep stopped by an error; the rest is left for the next run', {
      ...progress.counts,
      error,
    });
    throw error;
  } finally {
    await lease.release();
  }
  const duplicateEmails = await directory.then(
    (d) => d.duplicateEmails,
    () => 0,
  );
  const result = progress.result(complete, false, duplicateEmails);
  events.info('usage sweep finished', { ...result });
  return tally.report(result);
}

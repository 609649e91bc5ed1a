// The storage phase: the bytes each user stores, measured from one bucket listing, delivered as
// one `usage.storage` message per user and UTC hour (the ledger remembers which went out).
import { forEachConcurrently } from '../concurrency.ts';
import type { BucketInfo } from '../ostor/schemas.ts';
import type { EmailDirectory, StorageTotals } from './messages.ts';
import { bodyHash, hourOf, storageBody, storageMessageId, storageTotals } from './messages.ts';
import type { SweepContext } from './progress.ts';

export async function sweepStorage(ctx: SweepContext): Promise<void> {
  const measuredAt = ctx.clock();
  let buckets: readonly BucketInfo[];
  try {
    buckets = await ctx.gateway.listBuckets();
  } catch (error) {
    // Stored bytes can be measured again next run (within the hour, or h_integral covers the gap).
    ctx.events.error('could not list buckets; no storage messages this run', { error });
    return;
  }
  const emails = await ctx.emails();
  const hour = hourOf(measuredAt);
  const totals = storageTotals(buckets);
  ctx.tally.storage = totals.map((t) => ({
    userId: t.userId,
    email: emails.get(t.userId) ?? null,
    bytes: t.bytes,
    buckets: t.buckets,
  }));
  let failuresInRow = 0;
  await forEachConcurrently(
    totals,
    ctx.concurrency,
    async (userTotals) => {
      const delivered = await deliverStorage(ctx, userTotals, hour, measuredAt, emails);
      if (delivered !== undefined) failuresInRow = delivered ? 0 : failuresInRow + 1;
    },
    // A receiver that keeps refusing storage messages ends this phase only: usage objects still get their turn.
    { stop: () => ctx.progress.outOfTime() || failuresInRow >= ctx.progress.maxFailuresInRow },
  );
}

/** Whether the message was acknowledged; undefined when it had gone out earlier this hour. */
async function deliverStorage(
  ctx: SweepContext,
  totals: StorageTotals,
  hour: Date,
  measuredAt: number,
  emails: EmailDirectory,
): Promise<boolean | undefined> {
  const counts = ctx.progress.counts;
  const id = storageMessageId(totals.userId, hour);
  const body = storageBody(totals, emails.get(totals.userId) ?? null, hour, new Date(measuredAt));
  const entry = await ctx.ledger.record({ name: id, hash: bodyHash(body), body, at: ctx.clock() });
  // Delivered earlier this hour: once per user and hour.
  if (entry.state !== 'read') return undefined;
  // A retry within the hour re-sends the first attempt's bytes (same webhook-id, same body).
  const outcome = await ctx.sink.deliver(
    { id, body: entry.body ?? body },
    { deadline: ctx.progress.deliverBy },
  );
  if (!outcome.ok) {
    counts.storageFailed += 1;
    ctx.events.warn('storage message not delivered; retried by a later run this hour', {
      id,
      status: outcome.status,
      reason: outcome.reason,
      attempts: outcome.attempts,
    });
    return false;
  }
  counts.storageDelivered += 1;
  if (outcome.unbilled !== undefined)
    ctx.progress.unbilled(id, outcome.unbilled, outcome.unbilledUsers ?? []);
  await ctx.ledger.markDelivered(entry);
  return true;
}

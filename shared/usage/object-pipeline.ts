// The statistics objects phase: every name of the listing, `concurrency` at a time, each taken
// through read → record → deliver → mark delivered → delete → mark deleted. The ledger makes every
// step safe to interrupt: an object is deleted only after a 2xx, and never delivered again once
// the ledger knows of that 2xx.
import { forEachConcurrently } from '../concurrency.ts';
import { hasCode } from '../errors.ts';
import type { UsageObject } from '../ostor/schemas.ts';
import type { UsageRecord } from './aggregate.ts';
import { aggregateUsage } from './aggregate.ts';
import type { LedgerEntry } from './ledger.ts';
import { listNames } from './listing.ts';
import type { EmailDirectory } from './messages.ts';
import { contentHash, exceedsSafeInteger, usageCollectedBody } from './messages.ts';
import type { SweepContext } from './progress.ts';
import { isPeriodClosed, parseObjectName } from './statistics-object.ts';

/** Answers whether the listing was swept to its end. */
export async function sweepObjects(ctx: SweepContext): Promise<boolean> {
  const exhausted = await forEachConcurrently(
    listNames(ctx.gateway, ctx.pageSize),
    ctx.concurrency,
    async (name) => {
      await takeObject(ctx, name);
      ctx.progress.listed();
    },
    { stop: () => ctx.progress.shouldStop() },
  );
  return exhausted && ctx.progress.stopped === undefined;
}

async function takeObject(ctx: SweepContext, name: string): Promise<void> {
  const { counts } = ctx.progress;
  const parsed = parseObjectName(name);
  if (parsed === undefined) {
    counts.failed += 1;
    ctx.events.error('not a statistics object name; left in place', { name });
    return;
  }
  if (!isPeriodClosed(parsed, ctx.clock(), ctx.graceSeconds)) {
    counts.skipped += 1;
    return;
  }

  let object: UsageObject;
  try {
    object = await ctx.gateway.getUsage(name);
  } catch (error) {
    if (hasCode(error, 'not_found')) {
      ctx.events.warn('statistics object vanished between listing and reading', { name });
      return;
    }
    counts.failed += 1;
    ctx.events.error('statistics object cannot be read; left in place', { name, error });
    return;
  }
  counts.objects += 1;

  const hash = contentHash(object);
  const records = aggregateUsage(object);
  const emails = await ctx.emails();
  const readAt = ctx.clock();
  const body = usageCollectedBody(object, records, emails, new Date(readAt));
  const entry = await ctx.ledger.record({ name, hash, body, at: readAt });
  if (entry.hash !== hash) {
    counts.failed += 1;
    counts.conflicts += 1;
    ctx.events.error('statistics object changed under a known name; not delivered, left in place', {
      name,
      state: entry.state,
      recordedHash: entry.hash,
      readHash: hash,
      recordedAt: new Date(entry.readAt).toISOString(),
    });
    return;
  }

  let acknowledged = entry;
  if (entry.state === 'read') {
    const delivered = await deliver(ctx, entry, object, records, emails);
    if (delivered === undefined) return;
    acknowledged = delivered;
  }
  // Acknowledged, now or by an earlier run: the object may go.
  try {
    await ctx.gateway.deleteUsage(name);
  } catch (error) {
    if (!hasCode(error, 'not_found')) {
      counts.deleteFailed += 1;
      ctx.events.warn('acknowledged statistics object not deleted; deleted next run without redelivery', {
        name,
        error,
      });
      return;
    }
  }
  counts.deleted += 1;
  ctx.ledger.markDeleted(acknowledged);
}

/** Sends the object's message; answers the entry once acknowledged and recorded as delivered. */
async function deliver(
  ctx: SweepContext,
  entry: LedgerEntry,
  object: UsageObject,
  records: readonly UsageRecord[],
  emails: EmailDirectory,
): Promise<LedgerEntry | undefined> {
  const progress = ctx.progress;
  const counts = progress.counts;
  const name = entry.name;
  // Every attempt carries the first attempt's bytes; rebuilt (same timestamp) only if the store could not keep them.
  const body = entry.body ?? usageCollectedBody(object, records, emails, new Date(entry.readAt));
  counts.records += records.length;
  const outcome = await ctx.sink.deliver({ id: name, body }, { deadline: progress.deliverBy });
  if (!outcome.ok) {
    counts.failed += 1;
    ctx.events.warn('usage not delivered; the statistics object is kept for the next run', {
      name,
      status: outcome.status,
      reason: outcome.reason,
      attempts: outcome.attempts,
    });
    progress.deliveryFailed();
    return undefined;
  }
  progress.deliverySucceeded();
  counts.delivered += 1;
  if (outcome.unbilled !== undefined) progress.unbilled(name, outcome.unbilled, outcome.unbilledUsers ?? []);
  ctx.tally.add(records, emails);
  if (records.some(exceedsSafeInteger)) {
    ctx.events.warn(
      'a counter exceeds 2^53 - 1: sent as an exact JSON integer a JavaScript receiver would round',
      { name },
    );
  }
  try {
    return await ctx.ledger.markDelivered(entry);
  } catch (error) {
    // The 2xx happened but is not recorded: deleting now still prevents a redelivery.
    await ctx.gateway.deleteUsage(name).catch(() => {});
    throw error;
  }
}

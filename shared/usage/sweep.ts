// The usage sweep: under a lease, deliver this hour's storage messages, then list every statistics
// object page by page and take each closed one through read → record → deliver → mark → delete
// with bounded concurrency, until the listing ends or the time budget runs low. The ledger makes
// every step safe to interrupt: an object is deleted only after a 2xx, and never delivered again
// once the ledger knows of that 2xx.
import { randomUUID } from 'node:crypto';
import { MalformedResponseError } from '../ostor/errors.ts';
import type { BucketInfo, UsageObject } from '../ostor/schemas.ts';
import { continuationTokenProblem } from '../ostor/validate.ts';
import type { UsageCounters, UsageRecord } from './aggregate.ts';
import { addCounters, aggregateUsage, zeroCounters } from './aggregate.ts';
import type { LedgerEntry, UsageLedger } from './ledger.ts';
import type { EmailDirectory, StorageTotals } from './messages.ts';
import {
  bodyHash,
  contentHash,
  exceedsSafeInteger,
  hourOf,
  storageBody,
  storageMessageId,
  storageTotals,
  usageCollectedBody,
} from './messages.ts';
import type { UsageSink } from './sink.ts';
import { isPeriodClosed, parseObjectName } from './statistics-object.ts';

/** What the sweep needs of the gateway client (OstorClient has all of it). */
export interface UsageGateway {
  listUsage(options: { readonly after?: string; readonly limit?: number }): Promise<{
    readonly names: readonly string[];
    readonly truncated: boolean;
  }>;
  getUsage(name: string): Promise<UsageObject>;
  deleteUsage(name: string): Promise<void>;
  listUsers(): Promise<readonly { readonly userId: string; readonly email: string }[]>;
  listBuckets(): Promise<readonly BucketInfo[]>;
}

/** Progress and decisions worth a log line. `error` is for what needs an operator (a changed object). */
export interface UsageEvents {
  info(message: string, details?: Record<string, unknown>): void;
  warn(message: string, details?: Record<string, unknown>): void;
  error(message: string, details?: Record<string, unknown>): void;
}

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
   * its deadline. Locally collect.ts gives more (the SQLite ledger sees at once when the holding
   * process is gone).
   */
  readonly leaseMarginMs?: number;
}

/** The `collect-usage` result (docs/contract.md §3), with a few extra fields. */
export interface UsageSweepResult {
  /** Statistics objects read this run. */
  readonly objects: number;
  /** Records in the `usage.collected` messages sent this run. */
  readonly records: number;
  /** `usage.collected` messages acknowledged (2xx, or appended to usage.ndjson). */
  readonly delivered: number;
  /** Statistics objects deleted from the gateway. */
  readonly deleted: number;
  /** Objects left for a later run because their period (plus grace) has not ended. */
  readonly skipped: number;
  /**
   * Objects left in place because something failed: a delivery (retried next run), a read, a name
   * that is not a statistics object name, or content that differs from what the ledger recorded.
   */
  readonly failed: number;
  readonly storage: { readonly delivered: number; readonly failed: number };
  /** Of `failed`: known names whose content changed (never delivered; an operator must look). */
  readonly conflicts: number;
  /** Acknowledged objects whose deletion failed (deleted next run, without redelivery). */
  readonly deleteFailed: number;
  /**
   * False when the sweep did not sweep the listing to its end: it stopped early (time budget,
   * failing receiver) or did not run because another sweep holds the lease.
   */
  readonly complete: boolean;
  /** True when another sweep held the lease: this one did nothing. */
  readonly leaseHeld: boolean;
  /** With `leaseHeld`: who holds the lease (its owner id, and its process where known) and until when. */
  readonly lease?: { readonly holder: string; readonly expiresAt: string };
  /**
   * Emails the gateway holds more than one user for (seen in the user listing the sweep reads
   * anyway). suspend, resume, rotate-key and terminate act on the one user the gateway answers
   * for an email, so the others of such a customer are untouched: an operator should merge them.
   */
  readonly duplicateEmails: number;
  readonly durationMs: number;
}

/** One user's usage delivered this run, for the local summary table. */
export interface UserUsage extends UsageCounters {
  readonly userId: string;
  readonly email: string | null;
  /** Statistics objects with at least one record of the user. */
  readonly objects: number;
}

export interface UserStorage {
  readonly userId: string;
  readonly email: string | null;
  readonly bytes: bigint;
  readonly buckets: number;
}

export interface UsageSweepReport {
  readonly result: UsageSweepResult;
  /** Per user, sorted by user id: what this run delivered. */
  readonly users: readonly UserUsage[];
  /** Storage measured this run (whether or not a message was due). */
  readonly storage: readonly UserStorage[];
}

const DEFAULT_BUDGET_MS = 15 * 60_000;
/** Groups of user ids sharing an email named in the warning (the count covers all of them). */
const DUPLICATE_GROUPS_LOGGED = 20;
/**
 * Objects in flight. Each costs three round trips (read, deliver, delete), so throughput is
 * roughly concurrency / (3 × RTT) until CPU binds: measured 16 → ~1,270/s, 32 → ~1,550/s at 2 ms
 * (BENCHMARKS.md), with the gateway pool sized to match.
 */
const DEFAULT_CONCURRENCY = 32;
/** See SweepOptions.leaseMarginMs. */
export const DEFAULT_LEASE_MARGIN_MS = 2_000;
/** How often a sweep still running past its deadline extends its lease. */
const LEASE_RENEWAL_MS = 1_000;

interface Counts {
  objects: number;
  records: number;
  delivered: number;
  deleted: number;
  skipped: number;
  failed: number;
  conflicts: number;
  deleteFailed: number;
  storageDelivered: number;
  storageFailed: number;
}

type MutableUserUsage = { -readonly [K in keyof UserUsage]: UserUsage[K] };

/** Runs one sweep. Throws only when the sweep cannot go on (listing, users, ledger); the lease is released either way. */
export async function sweepUsage(deps: SweepDependencies, options: SweepOptions): Promise<UsageSweepReport> {
  return new Sweep(deps, options).run();
}

class Sweep {
  readonly #gateway: UsageGateway;
  readonly #ledger: UsageLedger;
  readonly #sink: UsageSink;
  readonly #events: UsageEvents;
  readonly #clock: () => number;
  readonly #options: SweepOptions;
  readonly #startedAt: number;
  /** Stop taking new objects from here on. */
  readonly #stopTakingAt: number;
  /** Deliveries must be over by then (retries and per-attempt timeouts are cut to fit). */
  readonly #deliverBy: number;
  readonly #budgetEnd: number;
  readonly #counts: Counts = {
    objects: 0,
    records: 0,
    delivered: 0,
    deleted: 0,
    skipped: 0,
    failed: 0,
    conflicts: 0,
    deleteFailed: 0,
    storageDelivered: 0,
    storageFailed: 0,
  };
  readonly #users = new Map<string, MutableUserUsage>();
  #storage: UserStorage[] = [];
  #emails: Promise<EmailDirectory> | undefined;
  #duplicateEmails = 0;
  #stopped: 'time' | 'receiver' | 'lease' | undefined;
  #consecutiveFailures = 0;
  #storageFailuresInRow = 0;
  #processed = 0;
  #lastProgressAt: number;

  constructor(deps: SweepDependencies, options: SweepOptions) {
    this.#gateway = deps.gateway;
    this.#ledger = deps.ledger;
    this.#sink = deps.sink;
    this.#events = deps.events;
    this.#clock = deps.clock ?? Date.now;
    this.#options = options;
    this.#startedAt = this.#clock();
    const budget = Math.max(0, options.remainingMs?.() ?? DEFAULT_BUDGET_MS);
    const margin = Math.min(options.marginMs ?? 20_000, budget / 5);
    this.#budgetEnd = this.#startedAt + budget;
    this.#stopTakingAt = this.#budgetEnd - margin;
    this.#deliverBy = this.#budgetEnd - margin / 2;
    this.#lastProgressAt = this.#startedAt;
  }

  async run(): Promise<UsageSweepReport> {
    const owner = this.#options.owner ?? randomUUID();
    const margin = Math.max(0, this.#options.leaseMarginMs ?? DEFAULT_LEASE_MARGIN_MS);
    const lease = await this.#ledger.acquireLease(owner, this.#startedAt, this.#budgetEnd + margin);
    if (!lease.acquired) {
      const held = {
        holder: lease.pid === undefined ? lease.holder : `${lease.holder} (process ${lease.pid})`,
        expiresAt: new Date(lease.expiresAt).toISOString(),
      };
      this.#events.warn('another usage sweep holds the lease; nothing done', { lease: held });
      return { result: { ...this.#result(false, true), lease: held }, users: [], storage: [] };
    }
    if (lease.tookOverFrom !== undefined) {
      this.#events.warn('took over the usage sweep lease of a sweep whose process is gone', {
        previousHolder: lease.tookOverFrom,
      });
    }
    const stopRenewing = this.#renewLeaseWhileOverrunning(owner, margin);
    let complete = false;
    try {
      this.#emails = this.#loadEmails();
      // Awaited where first needed; a failure still surfaces there, not as an unhandled rejection.
      this.#emails.catch(() => {});
      if (this.#options.storage ?? true) await this.#sweepStorage();
      complete = await this.#sweepObjects();
    } catch (error) {
      // What was done stays done (the ledger has it); the counts would otherwise be lost with the error.
      this.#events.error('usage sweep stopped by an error; the rest is left for the next run', {
        ...this.#counts,
        error,
      });
      throw error;
    } finally {
      stopRenewing();
      await this.#ledger.releaseLease(owner).catch((error: unknown) => {
        this.#events.warn('could not release the usage sweep lease; it lapses by itself', { error });
      });
    }
    const result = this.#result(complete, false);
    this.#events.info('usage sweep finished', { ...result });
    return {
      result,
      users: [...this.#users.values()].sort((a, b) => compare(a.userId, b.userId)),
      storage: this.#storage,
    };
  }

  /**
   * From this sweep's deadline on, while it still runs, extends its lease every second (see
   * SweepOptions.leaseMarginMs). Should the lease be gone all the same (the process stalled past
   * its expiry and another sweep took it), the sweep takes no new object. Answers the stopper.
   */
  #renewLeaseWhileOverrunning(owner: string, margin: number): () => void {
    let stopped = false;
    let timer: NodeJS.Timeout | undefined;
    const renew = async (): Promise<void> => {
      const held = await this.#ledger
        .renewLease(owner, this.#clock() + LEASE_RENEWAL_MS + margin)
        .catch((error: unknown) => {
          this.#events.warn('could not renew the usage sweep lease; trying again', { error });
          return true;
        });
      if (stopped) return;
      if (!held) {
        this.#events.error('the usage sweep lost its lease to another sweep; taking no more objects', {
          owner,
        });
        this.#stop('lease');
        return;
      }
      timer = setTimeout(() => void renew(), LEASE_RENEWAL_MS).unref();
    };
    timer = setTimeout(() => void renew(), Math.max(0, this.#budgetEnd - this.#clock())).unref();
    return () => {
      stopped = true;
      clearTimeout(timer);
    };
  }

  #result(complete: boolean, leaseHeld: boolean): UsageSweepResult {
    const c = this.#counts;
    return {
      objects: c.objects,
      records: c.records,
      delivered: c.delivered,
      deleted: c.deleted,
      skipped: c.skipped,
      failed: c.failed,
      storage: { delivered: c.storageDelivered, failed: c.storageFailed },
      conflicts: c.conflicts,
      deleteFailed: c.deleteFailed,
      complete,
      leaseHeld,
      duplicateEmails: this.#duplicateEmails,
      durationMs: this.#clock() - this.#startedAt,
    };
  }

  async #loadEmails(): Promise<EmailDirectory> {
    const users = await this.#gateway.listUsers();
    const emails = new Map<string, string>();
    const usersByEmail = new Map<string, string[]>();
    for (const user of users) {
      emails.set(user.userId, user.email);
      const sameEmail = usersByEmail.get(user.email);
      if (sameEmail === undefined) usersByEmail.set(user.email, [user.userId]);
      else sameEmail.push(user.userId);
    }
    const shared = [...usersByEmail.values()].filter((userIds) => userIds.length > 1);
    this.#duplicateEmails = shared.length;
    if (shared.length > 0) {
      // User ids only (no emails in the logs); the first few groups are enough to act on.
      this.#events.warn('several gateway users share an email; lifecycle events reach only one of each', {
        emails: shared.length,
        userIds: shared.slice(0, DUPLICATE_GROUPS_LOGGED),
      });
    }
    return emails;
  }

  #outOfTime(): boolean {
    return this.#clock() >= this.#stopTakingAt;
  }

  // --- storage ----------------------------------------------------------------------------

  async #sweepStorage(): Promise<void> {
    const measuredAt = this.#clock();
    let buckets: readonly BucketInfo[];
    try {
      buckets = await this.#gateway.listBuckets();
    } catch (error) {
      // Stored bytes can be measured again next run (within the hour, or h_integral covers the gap).
      this.#events.error('could not list buckets; no storage messages this run', { error });
      return;
    }
    const emails = await this.#requireEmails();
    const hour = hourOf(measuredAt);
    const totals = storageTotals(buckets);
    this.#storage = totals.map((t) => ({
      userId: t.userId,
      email: emails.get(t.userId) ?? null,
      bytes: t.bytes,
      buckets: t.buckets,
    }));
    let next = 0;
    await inPool<StorageTotals>(
      this.#concurrency(),
      () => {
        const value = totals[next++];
        return value === undefined ? { done: true, value: undefined } : { done: false, value };
      },
      // A receiver that keeps refusing storage messages ends this phase only: usage objects still get their turn.
      () => this.#outOfTime() || this.#storageFailuresInRow >= this.#maxFailuresInRow(),
      (userTotals) => this.#deliverStorage(userTotals, hour, measuredAt, emails),
    );
  }

  async #deliverStorage(
    totals: StorageTotals,
    hour: Date,
    measuredAt: number,
    emails: EmailDirectory,
  ): Promise<void> {
    const id = storageMessageId(totals.userId, hour);
    const body = storageBody(totals, emails.get(totals.userId) ?? null, hour, new Date(measuredAt));
    const entry = await this.#ledger.record({ name: id, hash: bodyHash(body), body, at: this.#clock() });
    // Delivered earlier this hour: once per user and hour.
    if (entry.state !== 'read') return;
    // A retry within the hour re-sends the first attempt's bytes (same webhook-id, same body).
    const outcome = await this.#sink.deliver({ id, body: entry.body ?? body }, { deadline: this.#deliverBy });
    if (!outcome.ok) {
      this.#counts.storageFailed += 1;
      this.#storageFailuresInRow += 1;
      this.#events.warn('storage message not delivered; retried by a later run this hour', {
        id,
        status: outcome.status,
        reason: outcome.reason,
        attempts: outcome.attempts,
      });
      return;
    }
    this.#counts.storageDelivered += 1;
    this.#storageFailuresInRow = 0;
    await this.#ledger.markDelivered(id, this.#clock());
  }

  async #requireEmails(): Promise<EmailDirectory> {
    if (this.#emails === undefined) throw new Error('emails are loaded at the start of the sweep');
    return this.#emails;
  }

  #maxFailuresInRow(): number {
    return this.#options.maxConsecutiveFailures ?? 8;
  }

  #concurrency(): number {
    return Math.max(1, Math.floor(this.#options.concurrency ?? DEFAULT_CONCURRENCY));
  }

  // --- statistics objects -----------------------------------------------------------------

  /** Answers whether the listing was swept to its end. */
  async #sweepObjects(): Promise<boolean> {
    const names = listNames(this.#gateway, this.#options.pageSize ?? 500);
    try {
      const exhausted = await inPool(
        this.#concurrency(),
        () => names.next(),
        () => {
          if (this.#stopped !== undefined) return true;
          if (!this.#outOfTime()) return false;
          this.#stop('time');
          return true;
        },
        async (name) => {
          await this.#processObject(name);
          this.#progress();
        },
      );
      return exhausted && this.#stopped === undefined;
    } finally {
      await names.return(undefined).catch(() => {});
    }
  }

  #stop(reason: 'time' | 'receiver' | 'lease'): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    if (reason === 'lease') return;
    this.#events.warn(
      reason === 'time'
        ? 'usage sweep stopping: the time budget is running out; the rest is left for the next run'
        : 'usage sweep stopping: the receiver keeps failing; the rest is left for the next run',
      { ...this.#counts },
    );
  }

  #progress(): void {
    this.#processed += 1;
    const now = this.#clock();
    const every = this.#options.progressEvery ?? 1_000;
    if (
      this.#processed % every === 0 ||
      now - this.#lastProgressAt >= (this.#options.progressIntervalMs ?? 10_000)
    ) {
      this.#lastProgressAt = now;
      this.#events.info('usage sweep progress', {
        listed: this.#processed,
        ...this.#counts,
        elapsedMs: now - this.#startedAt,
      });
    }
  }

  async #processObject(name: string): Promise<void> {
    const c = this.#counts;
    const parsed = parseObjectName(name);
    if (parsed === undefined) {
      c.failed += 1;
      this.#events.error('not a statistics object name; left in place', { name });
      return;
    }
    if (!isPeriodClosed(parsed, this.#clock(), this.#options.graceSeconds)) {
      c.skipped += 1;
      return;
    }

    let object: UsageObject;
    try {
      object = await this.#gateway.getUsage(name);
    } catch (error) {
      if (isNotFound(error)) {
        this.#events.warn('statistics object vanished between listing and reading', { name });
        return;
      }
      c.failed += 1;
      this.#events.error('statistics object cannot be read; left in place', { name, error });
      return;
    }
    c.objects += 1;

    const hash = contentHash(object);
    const records = aggregateUsage(object);
    const emails = await this.#requireEmails();
    const readAt = this.#clock();
    const body = usageCollectedBody(object, records, emails, new Date(readAt));
    const entry = await this.#ledger.record({ name, hash, body, at: readAt });
    if (entry.hash !== hash) {
      c.failed += 1;
      c.conflicts += 1;
      this.#events.error('statistics object changed under a known name; not delivered, left in place', {
        name,
        state: entry.state,
        recordedHash: entry.hash,
        readHash: hash,
        recordedAt: new Date(entry.readAt).toISOString(),
      });
      return;
    }

    if (entry.state === 'read') {
      if (!(await this.#deliver(entry, object, records, emails))) return;
    }
    // Acknowledged, now or by an earlier run: the object may go.
    try {
      await this.#gateway.deleteUsage(name);
    } catch (error) {
      if (!isNotFound(error)) {
        c.deleteFailed += 1;
        this.#events.warn('acknowledged statistics object not deleted; deleted next run without redelivery', {
          name,
          error,
        });
        return;
      }
    }
    c.deleted += 1;
    await this.#ledger.markDeleted(name, this.#clock());
  }

  /** Sends the object's message; true once acknowledged and recorded as delivered. */
  async #deliver(
    entry: LedgerEntry,
    object: UsageObject,
    records: readonly UsageRecord[],
    emails: EmailDirectory,
  ): Promise<boolean> {
    const c = this.#counts;
    const name = entry.name;
    // Every attempt carries the first attempt's bytes; rebuilt (same timestamp) only if the store could not keep them.
    const body = entry.body ?? usageCollectedBody(object, records, emails, new Date(entry.readAt));
    c.records += records.length;
    const outcome = await this.#sink.deliver({ id: name, body }, { deadline: this.#deliverBy });
    if (!outcome.ok) {
      c.failed += 1;
      this.#consecutiveFailures += 1;
      this.#events.warn('usage not delivered; the statistics object is kept for the next run', {
        name,
        status: outcome.status,
        reason: outcome.reason,
        attempts: outcome.attempts,
      });
      if (this.#consecutiveFailures >= this.#maxFailuresInRow()) this.#stop('receiver');
      return false;
    }
    this.#consecutiveFailures = 0;
    c.delivered += 1;
    this.#addToUsers(records, emails);
    if (records.some(exceedsSafeInteger)) {
      this.#events.warn(
        'a counter exceeds 2^53 - 1: sent as an exact JSON integer a JavaScript receiver would round',
        {
          name,
        },
      );
    }
    try {
      await this.#ledger.markDelivered(name, this.#clock());
    } catch (error) {
      // The 2xx happened but is not recorded: deleting now still prevents a redelivery.
      await this.#gateway.deleteUsage(name).catch(() => {});
      throw error;
    }
    return true;
  }

  #addToUsers(records: readonly UsageRecord[], emails: EmailDirectory): void {
    let previous: string | undefined;
    for (const record of records) {
      let user = this.#users.get(record.userId);
      if (user === undefined) {
        user = {
          userId: record.userId,
          email: emails.get(record.userId) ?? null,
          objects: 0,
          ...zeroCounters(),
        };
        this.#users.set(record.userId, user);
      }
      // Records are sorted by user: count each object once per user.
      if (record.userId !== previous) user.objects += 1;
      previous = record.userId;
      addCounters(user, record);
    }
  }
}

/**
 * Every statistics object name, page by page (`after=` the last name of the previous page), the
 * next page fetched while the current one is worked on. A page that brings nothing new while
 * claiming more is an error rather than a loop. A last name the client could not send back as
 * `after=` is found when its page arrives: that page is still handed out whole (each object is
 * safe to take by itself), then the listing ends with a MalformedResponseError — a fault of the
 * gateway's answer, not a 400 blaming the caller as the client's own refusal would have been.
 */
export async function* listNames(
  gateway: UsageGateway,
  pageSize: number,
): AsyncGenerator<string, void, undefined> {
  const limit = Math.min(500, Math.max(1, Math.floor(pageSize)));
  const list = (after: string | undefined) =>
    gateway.listUsage(after === undefined ? { limit } : { after, limit });
  let after: string | undefined;
  let page = list(undefined);
  for (;;) {
    const current = await page;
    const last = current.names[current.names.length - 1];
    const more = current.truncated && last !== undefined && last !== after;
    if (current.truncated && !more) {
      throw new MalformedResponseError(
        `a truncated page brought no new statistics object names (after ${after ?? 'the start'})`,
        { operation: 'usage.list' },
      );
    }
    const unusable = more ? continuationTokenProblem(last) : undefined;
    if (more && unusable === undefined) {
      page = list(last);
      // Handled when awaited; this only keeps an abandoned prefetch from being an unhandled rejection.
      page.catch(() => {});
    }
    for (const name of current.names) if (name !== after) yield name;
    if (unusable !== undefined) {
      throw new MalformedResponseError(
        `the listing cannot go on: the last name of a truncated page (${String(last?.length)} characters) ${unusable} as after=`,
        { operation: 'usage.list' },
      );
    }
    if (!more) return;
    after = last;
  }
}

function isNotFound(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'not_found';
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Runs `work` over the items `next` hands out, `concurrency` at a time, until the source ends or
 * `stop()` says so. The first error stops the taking of new items; the items in flight finish,
 * then it is thrown. Answers whether the source was exhausted.
 */
async function inPool<T>(
  concurrency: number,
  next: () => Promise<IteratorResult<T, unknown>> | IteratorResult<T, unknown>,
  stop: () => boolean,
  work: (item: T) => Promise<void>,
): Promise<boolean> {
  let exhausted = false;
  let failure: { error: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failure === undefined && !exhausted && !stop()) {
      try {
        const item = await next();
        if (item.done === true) {
          exhausted = true;
          return;
        }
        await work(item.value);
      } catch (error) {
        failure ??= { error };
        return;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (failure !== undefined) throw failure.error;
  return exhausted;
}

// Where one sweep stands: what it has done (the counts of its result), its time budget, when it
// stops taking objects and why (time, a failing receiver, a lost lease), and its progress lines.
import type { EmailDirectory } from './messages.ts';
import type { UsageEvents, UsageGateway } from './ports.ts';
import type { UsageSink } from './sink.ts';
import type { UsageTally } from './summary.ts';
import type { LedgerWrites } from './write-batches.ts';

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
  /**
   * With a native sink (USAGE_SINK=stripe, lago) only: records not sent because their user has no
   * billingId (a storage message counts as one). They do not hold back their object.
   */
  readonly unbilled?: number;
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

export interface Counts {
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
  unbilled: number;
}

export type StopReason = 'time' | 'receiver' | 'lease';

export interface ProgressOptions {
  readonly budgetMs: number;
  /** See SweepOptions.marginMs. */
  readonly marginMs: number;
  readonly maxFailuresInRow: number;
  readonly progressEvery: number;
  readonly progressIntervalMs: number;
  /** The sink is a billing system's own API: the result says how much was `unbilled`. */
  readonly native?: boolean;
}

/** Everything a phase of the sweep works with. */
export interface SweepContext {
  readonly gateway: UsageGateway;
  readonly ledger: LedgerWrites;
  readonly sink: UsageSink;
  readonly events: UsageEvents;
  readonly clock: () => number;
  readonly progress: SweepProgress;
  readonly tally: UsageTally;
  /** The user listing, read once per sweep (awaited where first needed). */
  readonly emails: () => Promise<EmailDirectory>;
  readonly concurrency: number;
  readonly graceSeconds: number;
  readonly pageSize: number;
}

export class SweepProgress {
  readonly counts: Counts = {
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
    unbilled: 0,
  };
  readonly startedAt: number;
  /** The end of the budget: the lease is taken until then plus its margin. */
  readonly deadline: number;
  /** Deliveries must be over by then (retries and per-attempt timeouts are cut to fit). */
  readonly deliverBy: number;
  /** Stop taking new objects from here on. */
  readonly #stopTakingAt: number;
  readonly #clock: () => number;
  readonly #events: UsageEvents;
  readonly #options: ProgressOptions;
  #stopped: StopReason | undefined;
  #failuresInRow = 0;
  #listed = 0;
  #lastLineAt: number;

  constructor(clock: () => number, events: UsageEvents, options: ProgressOptions) {
    this.#clock = clock;
    this.#events = events;
    this.#options = options;
    this.startedAt = clock();
    const budget = Math.max(0, options.budgetMs);
    // Capped at a fifth of the budget, so a short budget still gets work done.
    const margin = Math.min(options.marginMs, budget / 5);
    this.deadline = this.startedAt + budget;
    this.#stopTakingAt = this.deadline - margin;
    this.deliverBy = this.deadline - margin / 2;
    this.#lastLineAt = this.startedAt;
  }

  get stopped(): StopReason | undefined {
    return this.#stopped;
  }

  outOfTime(): boolean {
    return this.#clock() >= this.#stopTakingAt;
  }

  /** Whether to take no more statistics objects (out of time counts as a stop). */
  shouldStop(): boolean {
    if (this.#stopped !== undefined) return true;
    if (!this.outOfTime()) return false;
    this.stop('time');
    return true;
  }

  stop(reason: StopReason): void {
    if (this.#stopped !== undefined) return;
    this.#stopped = reason;
    if (reason === 'lease') return;
    this.#events.warn(
      reason === 'time'
        ? 'usage sweep stopping: the time budget is running out; the rest is left for the next run'
        : 'usage sweep stopping: the receiver keeps failing; the rest is left for the next run',
      { ...this.counts },
    );
  }

  /** A delivery was refused: after too many in a row the receiver is taken to be down. */
  deliveryFailed(): void {
    this.#failuresInRow += 1;
    if (this.#failuresInRow >= this.#options.maxFailuresInRow) this.stop('receiver');
  }

  deliverySucceeded(): void {
    this.#failuresInRow = 0;
  }

  /** Records a native sink left out of an acknowledged message: counted, and logged with the users. */
  unbilled(id: string, records: number, users: readonly string[]): void {
    if (records === 0) return;
    this.counts.unbilled += records;
    this.#events.warn('usage of users without a billingId not sent to the billing system (unbilled)', {
      id,
      records,
      users,
    });
  }

  get maxFailuresInRow(): number {
    return this.#options.maxFailuresInRow;
  }

  /** One more name taken from the listing: a progress line every so many, or every so often. */
  listed(): void {
    this.#listed += 1;
    const now = this.#clock();
    if (
      this.#listed % this.#options.progressEvery === 0 ||
      now - this.#lastLineAt >= this.#options.progressIntervalMs
    ) {
      this.#lastLineAt = now;
      this.#events.info('usage sweep progress', {
        listed: this.#listed,
        ...this.counts,
        elapsedMs: now - this.startedAt,
      });
    }
  }

  result(complete: boolean, leaseHeld: boolean, duplicateEmails: number): UsageSweepResult {
    const c = this.counts;
    return {
      objects: c.objects,
      records: c.records,
      delivered: c.delivered,
      deleted: c.deleted,
      skipped: c.skipped,
      failed: c.failed,
      storage: { delivered: c.storageDelivered, failed: c.storageFailed },
      conflicts: c.conflicts,
      ...(this.#options.native === true ? { unbilled: c.unbilled } : {}),
      deleteFailed: c.deleteFailed,
      complete,
      leaseHeld,
      duplicateEmails,
      durationMs: this.#clock() - this.startedAt,
    };
  }
}

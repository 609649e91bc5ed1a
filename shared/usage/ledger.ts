// The usage ledger: what the sweep knows about each statistics object (and each hourly storage
// message) across runs, so that a crash at any step neither loses an object nor delivers it again
// once the receiver has said 2xx. SQLite in DATA_DIR locally, DynamoDB when deployed; both behind
// this port. Also holds the lease that keeps two sweeps from running at once.
import { AppError } from '../errors.ts';

/**
 * `read`: read and hashed, its message prepared, not yet acknowledged. `delivered`: the receiver
 * answered 2xx (never sent again). `deleted`: the statistics object is gone from the gateway.
 * An entry only moves forward: read → delivered → deleted.
 */
export type LedgerState = 'read' | 'delivered' | 'deleted';

export interface LedgerEntry {
  /** The statistics object's name, or a storage message's webhook-id. */
  readonly name: string;
  readonly state: LedgerState;
  /** `sha256:<hex>` of the content's canonical form (statistics objects) or of the body (storage). */
  readonly hash: string;
  /**
   * The message exactly as first prepared, so every redelivery carries the same bytes (a receiver
   * may refuse the same webhook-id with a different body). Dropped once delivered; may be absent
   * when too large for the store, and then the message is rebuilt with `readAt` as its timestamp.
   */
  readonly body: string | undefined;
  /** Milliseconds since the epoch. */
  readonly readAt: number;
  readonly deliveredAt: number | undefined;
  readonly deletedAt: number | undefined;
}

export interface NewLedgerEntry {
  readonly name: string;
  readonly hash: string;
  readonly body: string;
  /** Now, in milliseconds since the epoch. */
  readonly at: number;
}

/** The sweep's ledger writes of one turn of the event loop, by step; a name is in one list at most. */
export interface LedgerTurn {
  readonly records: readonly NewLedgerEntry[];
  /** As the caller last had them (`record`'s answers). */
  readonly delivered: readonly LedgerEntry[];
  /** As the caller last had them (delivered, with `deliveredAt`). */
  readonly deleted: readonly LedgerEntry[];
}

/** Per list of the turn, per entry: what recordAll, markAllDelivered and markAllDeleted answer. */
export interface LedgerTurnResult {
  readonly records: readonly LedgerEntry[];
  readonly delivered: readonly (LedgerStateError | undefined)[];
  readonly deleted: readonly (LedgerStateError | undefined)[];
}

export type LeaseResult =
  | {
      readonly acquired: true;
      readonly expiresAt: number;
      /** Set when the lease was taken from a holder known to be gone before it lapsed (local: its process died). */
      readonly tookOverFrom?: string;
    }
  | {
      readonly acquired: false;
      /** The holding sweep's owner id (its invocation's request id). */
      readonly holder: string;
      readonly expiresAt: number;
      /** The holder's process id, where the ledger records it (SQLite). */
      readonly pid?: number;
    };

export interface UsageLedger {
  /**
   * Records a first read in one atomic step and answers the entry stored under the name: the new
   * one, or the one already there, untouched (the caller compares hashes). Expired entries count
   * as absent.
   */
  record(entry: NewLedgerEntry): Promise<LedgerEntry>;
  get(name: string, now: number): Promise<LedgerEntry | undefined>;
  /** read → delivered (drops the body). Already delivered or deleted: nothing changes. Absent: LedgerStateError. */
  markDelivered(name: string, at: number): Promise<void>;
  /** delivered → deleted. Already deleted: nothing changes. Absent or only read: LedgerStateError. */
  markDeleted(name: string, at: number): Promise<void>;

  // The same three writes for several objects at once (the sweep groups the writes of the objects
  // in flight at the same step). Each entry's outcome is what the single call would have made of
  // it; answered only once every entry's write is durable, so each object's next step (delivery,
  // deletion) still waits for its own write. Names in one call are distinct.

  /** `record` for each entry, in order: SQLite in one transaction; DynamoDB one conditional write each. */
  recordAll(entries: readonly NewLedgerEntry[]): Promise<LedgerEntry[]>;
  /**
   * `markDelivered` for each entry, as the caller last had it from this ledger (`record`'s answer):
   * an adapter may go by that state instead of reading it again. Answers, per entry, the refusal
   * or undefined.
   */
  markAllDelivered(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]>;
  /** `markDeleted` for each entry, as the caller last had it (delivered, with `deliveredAt`). */
  markAllDeleted(
    entries: readonly LedgerEntry[],
    at: number,
  ): Promise<readonly (LedgerStateError | undefined)[]>;
  /**
   * recordAll, markAllDelivered (at `at`) and markAllDeleted (at `at`) of one turn together,
   * answered once all of it is durable: SQLite in one transaction (one commit where there were up
   * to three), DynamoDB the three sent at once (`writeTurnApart`).
   */
  writeTurn(turn: LedgerTurn, at: number): Promise<LedgerTurnResult>;
  /**
   * Takes the sweep lease when it is free, expired, already `owner`'s, or held by a holder the
   * ledger knows to be over (SQLite: a process on this machine that is gone). `expiresAt` is the
   * holder's deadline plus a margin: until then, a live holder keeps others out.
   */
  acquireLease(owner: string, now: number, expiresAt: number): Promise<LeaseResult>;
  /** Moves the lease's expiry to `expiresAt` if `owner` still holds it; false when it does not. */
  renewLease(owner: string, expiresAt: number): Promise<boolean>;
  /** Gives the lease up if `owner` still holds it. */
  releaseLease(owner: string): Promise<void>;
  close(): Promise<void>;
}

/** Ledger entries outlive any plausible redelivery by far; DynamoDB drops them by TTL. */
export const LEDGER_TTL_SECONDS = 90 * 24 * 3600;
/** The one lease of the usage sweep. */
export const SWEEP_LEASE = 'lease#collect-usage';

export function expiresAtMs(at: number): number {
  return at + LEDGER_TTL_SECONDS * 1000;
}

/** `writeTurn` for a ledger without transactions across items: the three batch calls, sent together. */
export async function writeTurnApart(
  ledger: Pick<UsageLedger, 'recordAll' | 'markAllDelivered' | 'markAllDeleted'>,
  turn: LedgerTurn,
  at: number,
): Promise<LedgerTurnResult> {
  const [records, delivered, deleted] = await Promise.all([
    turn.records.length === 0 ? [] : ledger.recordAll(turn.records),
    turn.delivered.length === 0 ? [] : ledger.markAllDelivered(turn.delivered, at),
    turn.deleted.length === 0 ? [] : ledger.markAllDeleted(turn.deleted, at),
  ]);
  return { records, delivered, deleted };
}

/** A transition the ledger refuses: it would skip a state (delete before delivery) or the entry is missing. */
export class LedgerStateError extends AppError {
  readonly entry: string;
  constructor(entry: string, problem: string) {
    super('internal', `usage ledger: ${entry}: ${problem}`);
    this.entry = entry;
  }
}

// The sweep's ledger writes, grouped: every write the objects in flight ask for during one turn of
// the event loop — records, marks delivered, and the deletions noted so far — goes to the ledger
// as one turn (`writeTurn`: SQLite commits once per turn instead of once per object and step).
// Each object still waits for its own write to be durable before the step it guards: recorded
// before it is delivered, its 2xx recorded before it is deleted. The last write, deleted, guards
// nothing (an entry left delivered only makes a later sweep find the object gone), so deletions
// are not waited for: they ride along with the next turn, and are written at the latest when
// `settle` is called before the sweep ends. A turn never holds two steps of one object: the next
// step starts only after the write of the previous one has been answered.
import type { LedgerEntry, LedgerStateError, LedgerTurn, NewLedgerEntry, UsageLedger } from './ledger.ts';

/** The three writes of an object's way through the sweep, each over before the step it guards. */
export interface LedgerWrites {
  /** As UsageLedger.record: the new entry, or the one already stored under the name. */
  record(entry: NewLedgerEntry): Promise<LedgerEntry>;
  /** read → delivered, once the receiver said 2xx; answers the entry as it now stands. */
  markDelivered(entry: LedgerEntry): Promise<LedgerEntry>;
  /** delivered → deleted, once the gateway deleted the object: noted now, written with a later turn. */
  markDeleted(entry: LedgerEntry): void;
  /** Writes every deletion noted so far; throws the first failure of any write that carried deletions. */
  settle(): Promise<void>;
}

/** Deletions noted while no other write comes along are written once this many are waiting. */
const DELETIONS_PER_WRITE = 256;

interface Waiting<In, Out> {
  readonly item: In;
  readonly resolve: (value: Out) => void;
  readonly reject: (error: unknown) => void;
}

/** Writes gathered during one event-loop turn (setImmediate runs after the I/O of the turn). */
export function batchedWrites(ledger: UsageLedger, clock: () => number): LedgerWrites {
  let records: Waiting<NewLedgerEntry, LedgerEntry>[] = [];
  let deliveries: Waiting<LedgerEntry, LedgerEntry>[] = [];
  let deletions: LedgerEntry[] = [];
  let scheduled = false;
  /** Writes that carried deletions, awaited by settle(). */
  const written: Promise<void>[] = [];

  const flush = (): void => {
    scheduled = false;
    const turn = { records, deliveries, deleted: deletions };
    records = [];
    deliveries = [];
    deletions = [];
    const write = commit(turn);
    // A failure reaches every object waiting on the turn; the turn's own promise is awaited in
    // settle() only when it carried deletions, and must never count as unhandled.
    write.catch(() => {});
    if (turn.deleted.length > 0) written.push(write);
  };

  /** Writes the turn; settles every waiting object; rejects with the first refused deletion. */
  const commit = async (turn: {
    records: Waiting<NewLedgerEntry, LedgerEntry>[];
    deliveries: Waiting<LedgerEntry, LedgerEntry>[];
    deleted: LedgerEntry[];
  }): Promise<void> => {
    const at = clock();
    const request: LedgerTurn = {
      records: turn.records.map((waiting) => waiting.item),
      delivered: turn.deliveries.map((waiting) => waiting.item),
      deleted: turn.deleted,
    };
    let result: Awaited<ReturnType<UsageLedger['writeTurn']>>;
    try {
      result = await ledger.writeTurn(request, at);
    } catch (error) {
      for (const waiting of turn.records) waiting.reject(error);
      for (const waiting of turn.deliveries) waiting.reject(error);
      throw error;
    }
    turn.records.forEach((waiting, i) => {
      settleOne(waiting, result.records[i]);
    });
    turn.deliveries.forEach((waiting, i) => {
      const entry = waiting.item;
      settleOne(
        waiting,
        result.delivered[i] ??
          (entry.state === 'read'
            ? { ...entry, state: 'delivered', body: undefined, deliveredAt: at }
            : entry),
      );
    });
    const refused = result.deleted.find((refusal) => refusal !== undefined);
    if (refused !== undefined) throw refused;
  };

  const schedule = (): void => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(flush);
  };

  return {
    record: (entry) =>
      new Promise<LedgerEntry>((resolve, reject) => {
        records.push({ item: entry, resolve, reject });
        schedule();
      }),
    markDelivered: (entry) =>
      new Promise<LedgerEntry>((resolve, reject) => {
        deliveries.push({ item: entry, resolve, reject });
        schedule();
      }),
    markDeleted: (entry) => {
      deletions.push(entry);
      if (deletions.length >= DELETIONS_PER_WRITE) schedule();
    },
    settle: async () => {
      if (deletions.length > 0) schedule();
      // A turn already scheduled (now or by an object) runs before this resolves.
      await new Promise<void>((resolve) => setImmediate(resolve));
      await Promise.all(written.splice(0));
    },
  };
}

/** Resolves with the entry, or rejects with the ledger's refusal of this one write. */
function settleOne<Out>(waiting: Waiting<unknown, Out>, outcome: Out | LedgerStateError | undefined): void {
  if (outcome instanceof Error) waiting.reject(outcome);
  else if (outcome === undefined) waiting.reject(new Error('the ledger answered no outcome for a write'));
  else waiting.resolve(outcome);
}

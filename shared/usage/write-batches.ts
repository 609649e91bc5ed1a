// The sweep's ledger writes, grouped: the objects in flight that reach the same step (record,
// mark delivered) in one turn of the event loop share one ledger call, so SQLite commits once per
// batch instead of once per object and step. Each object still waits for its own write to be
// durable before the step it guards: recorded before it is delivered, its 2xx recorded before it
// is deleted. The last write, deleted, guards nothing (an entry left delivered only makes a later
// sweep find the object gone), so deletions are noted and written in larger batches, all of them
// before the sweep ends. Only writes of the same step are grouped, never one object's two steps.
import type { LedgerEntry, LedgerStateError, NewLedgerEntry, UsageLedger } from './ledger.ts';

/** The three writes of an object's way through the sweep, each over before the step it guards. */
export interface LedgerWrites {
  /** As UsageLedger.record: the new entry, or the one already stored under the name. */
  record(entry: NewLedgerEntry): Promise<LedgerEntry>;
  /** read → delivered, once the receiver said 2xx; answers the entry as it now stands. */
  markDelivered(entry: LedgerEntry): Promise<LedgerEntry>;
  /** delivered → deleted, once the gateway deleted the object: noted now, written by a later batch. */
  markDeleted(entry: LedgerEntry): void;
  /** Writes every deletion noted so far; throws the first failure of any deletion batch. */
  settle(): Promise<void>;
}

/** Deletions noted before they are written together. */
const DELETIONS_PER_WRITE = 256;

/** Writes gathered during one event-loop turn (setImmediate runs after the I/O of the turn). */
export function batchedWrites(ledger: UsageLedger, clock: () => number): LedgerWrites {
  const records = new WriteBatch<NewLedgerEntry, LedgerEntry>((entries) => ledger.recordAll(entries));
  const deliveries = new WriteBatch<LedgerEntry, LedgerEntry>(async (entries) => {
    const at = clock();
    const refusals = await ledger.markAllDelivered(entries, at);
    return entries.map(
      (entry, i): LedgerEntry | LedgerStateError =>
        refusals[i] ??
        (entry.state === 'read' ? { ...entry, state: 'delivered', body: undefined, deliveredAt: at } : entry),
    );
  });
  let deletions: LedgerEntry[] = [];
  const written: Promise<void>[] = [];
  const writeDeletions = () => {
    const batch = deletions;
    deletions = [];
    if (batch.length === 0) return;
    const write = ledger.markAllDeleted(batch, clock()).then((refusals) => {
      const refused = refusals.find((refusal) => refusal !== undefined);
      if (refused !== undefined) throw refused;
    });
    // Awaited in settle(); until then a failure must not count as unhandled.
    write.catch(() => {});
    written.push(write);
  };
  return {
    record: (entry) => records.add(entry),
    markDelivered: (entry) => deliveries.add(entry),
    markDeleted: (entry) => {
      deletions.push(entry);
      if (deletions.length >= DELETIONS_PER_WRITE) writeDeletions();
    },
    settle: async () => {
      writeDeletions();
      await Promise.all(written.splice(0));
    },
  };
}

interface Waiting<In, Out> {
  readonly item: In;
  readonly resolve: (value: Out) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * Items added in one turn go to `commit` together, once the turn's I/O has been handled. `commit`
 * answers one outcome per item: its value, or an Error for that item alone; if it throws, every
 * item of the batch fails with that error.
 */
class WriteBatch<In, Out> {
  readonly #commit: (items: readonly In[]) => Promise<readonly (Out | LedgerStateError)[]>;
  #waiting: Waiting<In, Out>[] = [];

  constructor(commit: (items: readonly In[]) => Promise<readonly (Out | LedgerStateError)[]>) {
    this.#commit = commit;
  }

  add(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      if (this.#waiting.length === 0) setImmediate(() => void this.#flush());
      this.#waiting.push({ item, resolve, reject });
    });
  }

  async #flush(): Promise<void> {
    const batch = this.#waiting;
    this.#waiting = [];
    try {
      const outcomes = await this.#commit(batch.map((waiting) => waiting.item));
      batch.forEach((waiting, i) => {
        const outcome = outcomes[i];
        if (outcome instanceof Error) waiting.reject(outcome);
        else waiting.resolve(outcome as Out);
      });
    } catch (error) {
      for (const waiting of batch) waiting.reject(error);
    }
  }
}

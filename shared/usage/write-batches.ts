// The sweep's ledger writes, grouped: the objects in flight that reach the same step (record,
// mark delivered, mark deleted) in one turn of the event loop share one ledger call, so SQLite
// commits once per batch instead of three times per object. Each object still waits for its own
// write to be durable before its next step: recorded before it is delivered, its 2xx recorded
// before it is deleted. Only writes of the same step are grouped, never one object's two steps.
import type { LedgerEntry, LedgerStateError, NewLedgerEntry, UsageLedger } from './ledger.ts';

/** The three writes of an object's way through the sweep, each over before the step it guards. */
export interface LedgerWrites {
  /** As UsageLedger.record: the new entry, or the one already stored under the name. */
  record(entry: NewLedgerEntry): Promise<LedgerEntry>;
  /** read → delivered, once the receiver said 2xx; answers the entry as it now stands. */
  markDelivered(entry: LedgerEntry): Promise<LedgerEntry>;
  /** delivered → deleted, once the gateway deleted the object. */
  markDeleted(entry: LedgerEntry): Promise<void>;
}

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
  const deletions = new WriteBatch<LedgerEntry, undefined>(async (entries) => {
    const refusals = await ledger.markAllDeleted(entries, clock());
    return entries.map((_, i) => refusals[i]);
  });
  return {
    record: (entry) => records.add(entry),
    markDelivered: (entry) => deliveries.add(entry),
    markDeleted: async (entry) => {
      await deletions.add(entry);
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

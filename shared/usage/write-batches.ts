// The ledger writes of the sweep's pipelines, one object at a time as the pipelines see them.
import type { LedgerEntry, NewLedgerEntry, UsageLedger } from './ledger.ts';

/** The three writes of an object's way through the sweep, each over before the step it guards. */
export interface LedgerWrites {
  /** As UsageLedger.record: the new entry, or the one already stored under the name. */
  record(entry: NewLedgerEntry): Promise<LedgerEntry>;
  /** read → delivered, once the receiver said 2xx. */
  markDelivered(entry: LedgerEntry): Promise<void>;
  /** delivered → deleted, once the gateway deleted the object. */
  markDeleted(entry: LedgerEntry): Promise<void>;
}

/** Each write as its own ledger call. */
export function directWrites(ledger: UsageLedger, clock: () => number): LedgerWrites {
  return {
    record: (entry) => ledger.record(entry),
    markDelivered: (entry) => ledger.markDelivered(entry.name, clock()),
    markDeleted: (entry) => ledger.markDeleted(entry.name, clock()),
  };
}

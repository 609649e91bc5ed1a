// The sweep's lease: taken before anything else, renewed while a sweep runs past its deadline,
// given back at the end. Two sweeps never work at once, and a dead holder's lease lapses by itself.
import type { LeaseResult, UsageLedger } from './ledger.ts';
import type { UsageEvents } from './ports.ts';

/** See SweepOptions.leaseMarginMs. */
export const DEFAULT_LEASE_MARGIN_MS = 2_000;
/** How often a sweep still running past its deadline extends its lease. */
const LEASE_RENEWAL_MS = 1_000;

export interface LeaseTerms {
  readonly ledger: UsageLedger;
  readonly events: UsageEvents;
  readonly clock: () => number;
  /** The invocation's request id (or a random one): an operator finds the holder's logs by it. */
  readonly owner: string;
  /** The sweep's deadline, milliseconds since the epoch. */
  readonly deadline: number;
  /** How long after the deadline the lease still keeps others out. */
  readonly marginMs: number;
  /** Called once should the lease turn out to be lost while the sweep still runs. */
  readonly onLost: () => void;
}

/** A lease this sweep holds: `release` stops the renewals and gives it back (never throws). */
export interface HeldLease {
  release(): Promise<void>;
}

/** Who holds the lease instead, as the sweep result reports it. */
export interface LeaseHolder {
  readonly holder: string;
  readonly expiresAt: string;
}

/** Takes the lease, or answers who holds it. */
export async function takeLease(terms: LeaseTerms): Promise<HeldLease | { readonly heldBy: LeaseHolder }> {
  const { ledger, events, owner } = terms;
  const margin = Math.max(0, terms.marginMs);
  const lease: LeaseResult = await ledger.acquireLease(owner, terms.clock(), terms.deadline + margin);
  if (!lease.acquired) {
    return {
      heldBy: {
        holder: lease.pid === undefined ? lease.holder : `${lease.holder} (process ${lease.pid})`,
        expiresAt: new Date(lease.expiresAt).toISOString(),
      },
    };
  }
  if (lease.tookOverFrom !== undefined) {
    events.warn('took over the usage sweep lease of a sweep whose process is gone', {
      previousHolder: lease.tookOverFrom,
    });
  }
  const stopRenewing = renewWhileOverrunning(terms, margin);
  return {
    async release() {
      stopRenewing();
      await ledger.releaseLease(owner).catch((error: unknown) => {
        events.warn('could not release the usage sweep lease; it lapses by itself', { error });
      });
    },
  };
}

/**
 * From the sweep's deadline on, while it still runs, extends its lease every second (see
 * SweepOptions.leaseMarginMs). Should the lease be gone all the same (the process stalled past
 * its expiry and another sweep took it), `onLost` is called. Answers the stopper.
 */
function renewWhileOverrunning(terms: LeaseTerms, margin: number): () => void {
  const { ledger, events, clock, owner } = terms;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const renew = async (): Promise<void> => {
    const held = await ledger
      .renewLease(owner, clock() + LEASE_RENEWAL_MS + margin)
      .catch((error: unknown) => {
        events.warn('could not renew the usage sweep lease; trying again', { error });
        return true;
      });
    if (stopped) return;
    if (!held) {
      events.error('the usage sweep lost its lease to another sweep; taking no more objects', { owner });
      terms.onLost();
      return;
    }
    timer = setTimeout(() => void renew(), LEASE_RENEWAL_MS).unref();
  };
  timer = setTimeout(() => void renew(), Math.max(0, terms.deadline - clock())).unref();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// The world of the crash-injection property tests (crash, stripe-crash, lago-crash): a process that
// dies at a chosen step of a usage sweep (before the step takes effect, or after it did and before
// the sweep learned it), an in-memory gateway of statistics objects and a real ledger behind that
// fate, and the run of dying sweeps followed by a last one nobody kills. Each test brings its own
// sink (an in-memory receiver, the real StripeSink, the real LagoSink), its scenarios and its checks.
import fc from 'fast-check';
import { GatewayNotFoundError } from '../../../shared/ostor/errors.ts';
import type { BucketInfo, UsageItem, UsageObject } from '../../../shared/ostor/schemas.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import type { LeaseResult, LedgerTurn, NewLedgerEntry, UsageLedger } from '../../../shared/usage/ledger.ts';
import { writeTurnApart } from '../../../shared/usage/ledger.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import type { DeliveryOutcome, UsageSink } from '../../../shared/usage/sink.ts';
import type {
  SweepOptions,
  UsageEvents,
  UsageGateway,
  UsageSweepReport,
} from '../../../shared/usage/sweep.ts';

// --- the process's fate ---------------------------------------------------------------------

export const STEPS = ['list', 'read', 'record', 'deliver', 'mark', 'delete', 'markDeleted'] as const;
export type Step = (typeof STEPS)[number];

export interface CrashPlan {
  readonly step: Step;
  /** The n-th time the step comes up in that sweep. */
  readonly occurrence: number;
  /** Die before the step takes effect, or after it took effect but before the sweep learns it did. */
  readonly when: 'before' | 'after';
}

/** Any step up to its `maxOccurrence`-th time in a sweep, before or after it takes effect. */
export function crashPlanArb(maxOccurrence: number): fc.Arbitrary<CrashPlan> {
  return fc.record({
    step: fc.constantFrom(...STEPS),
    occurrence: fc.integer({ min: 1, max: maxOccurrence }),
    when: fc.constantFrom('before' as const, 'after' as const),
  });
}

export class Crash extends Error {
  constructor() {
    super('the process died');
  }
}

/** Decides when the process dies; once dead, nothing takes effect any more. */
export class Fate {
  dead = false;
  plan: CrashPlan | undefined;
  readonly #counts = new Map<Step, number>();

  arm(plan: CrashPlan | undefined): void {
    this.dead = false;
    this.plan = plan;
    this.#counts.clear();
  }

  alive(): void {
    if (this.dead) throw new Crash();
  }

  /** One step; or several taking effect at once (one transaction), each counted, any of them may die. */
  async step<T>(steps: Step | readonly Step[], effect: () => T | Promise<T>): Promise<T> {
    // Yield so that concurrent workers interleave as they would over a network.
    await Promise.resolve();
    this.alive();
    let hit = false;
    for (const step of typeof steps === 'string' ? [steps] : steps) {
      const n = (this.#counts.get(step) ?? 0) + 1;
      this.#counts.set(step, n);
      hit ||= this.plan?.step === step && this.plan.occurrence === n;
    }
    if (hit && this.plan?.when === 'before') {
      this.dead = true;
      throw new Crash();
    }
    const result = await effect();
    await Promise.resolve();
    // The effect happened; an answer that comes back to a dead process is lost.
    this.alive();
    if (hit) {
      this.dead = true;
      throw new Crash();
    }
    return result;
  }
}

// --- the world ------------------------------------------------------------------------------

/** The gateway's statistics objects, the test's clock, the process's fate, and what went wrong. */
export class CrashWorld {
  now = Date.parse('2026-11-26T12:00:00Z');
  readonly clock = (): number => this.now;
  readonly fate = new Fate();
  readonly objects = new Map<string, UsageObject>();
  /** Broken promises the fakes saw as they happened (a deletion too early, a resend); a run expects none. */
  readonly violations: string[] = [];
}

/** Puts one half-hour object of `serviceId` per group of items, the first at `firstStart`; returns their names. */
export function addStatisticsObjects(
  world: CrashWorld,
  serviceId: string,
  firstStart: number,
  groups: readonly (readonly UsageItem[])[],
): string[] {
  return groups.map((items, i) => {
    const start = firstStart + i * 1_800_000;
    const name = `s3-usage-${serviceId}-${new Date(start).toISOString()}-1800`;
    world.objects.set(name, { name, fmtVersion: 1, serviceId, startTs: start / 1000, period: 1800, items });
    return name;
  });
}

export interface GatewayPeople {
  readonly users: readonly { readonly userId: string; readonly email: string }[];
  readonly buckets?: readonly BucketInfo[];
  /** Called as an object is deleted, before it is gone: pushes a violation if that is too early. */
  readonly checkDeletion: (name: string) => void;
}

/** The gateway over the world's objects: listing, reading and deleting are steps that may die. */
export function crashingGateway(world: CrashWorld, people: GatewayPeople): UsageGateway {
  const sorted = () => [...world.objects.keys()].sort();
  return {
    listUsage: (options) =>
      world.fate.step('list', () => {
        const names = sorted().filter((name) => options.after === undefined || name > options.after);
        const limit = options.limit ?? 1000;
        return { names: names.slice(0, limit), truncated: names.length > limit };
      }),
    getUsage: (name) =>
      world.fate.step('read', () => {
        const object = world.objects.get(name);
        if (object === undefined) throw new GatewayNotFoundError({ operation: 'usage.get' });
        return object;
      }),
    deleteUsage: (name) =>
      world.fate.step('delete', () => {
        people.checkDeletion(name);
        if (!world.objects.delete(name)) throw new GatewayNotFoundError({ operation: 'usage.delete' });
      }),
    listUsers: async () => {
      world.fate.alive();
      return people.users;
    },
    listBuckets: async () => {
      world.fate.alive();
      return people.buckets ?? [];
    },
  };
}

/**
 * The real ledger behind the process's fate: each write is a step that may die. A turn of the
 * sweep's writes is one transaction in SQLite (its steps die together) and three writes sent
 * together in DynamoDB (each may die on its own).
 */
export function crashingLedger(inner: UsageLedger, fate: Fate): UsageLedger {
  const ledger: UsageLedger = {
    record: (entry: NewLedgerEntry) => fate.step('record', () => inner.record(entry)),
    get: (name, now) => inner.get(name, now),
    markDelivered: (name, at) => fate.step('mark', () => inner.markDelivered(name, at)),
    markDeleted: (name, at) => fate.step('markDeleted', () => inner.markDeleted(name, at)),
    // The sweep groups the writes of the objects in flight: a crash takes a whole batch's write or none of it.
    recordAll: (entries) => fate.step('record', () => inner.recordAll(entries)),
    markAllDelivered: (entries, at) => fate.step('mark', () => inner.markAllDelivered(entries, at)),
    markAllDeleted: (entries, at) => fate.step('markDeleted', () => inner.markAllDeleted(entries, at)),
    writeTurn: (turn, at) =>
      inner instanceof SqliteUsageLedger
        ? fate.step(turnSteps(turn), () => inner.writeTurn(turn, at))
        : writeTurnApart(ledger, turn, at),
    acquireLease: async (owner, now, expiresAt): Promise<LeaseResult> => {
      fate.alive();
      return inner.acquireLease(owner, now, expiresAt);
    },
    renewLease: async (owner, expiresAt) => {
      fate.alive();
      return inner.renewLease(owner, expiresAt);
    },
    releaseLease: async (owner) => {
      fate.alive();
      await inner.releaseLease(owner);
    },
    close: () => inner.close(),
  };
  return ledger;
}

/** The steps a turn of writes holds. */
function turnSteps(turn: LedgerTurn): Step[] {
  return [
    ...(turn.records.length > 0 ? (['record'] as const) : []),
    ...(turn.delivered.length > 0 ? (['mark'] as const) : []),
    ...(turn.deleted.length > 0 ? (['markDeleted'] as const) : []),
  ];
}

/**
 * A real billing sink behind the process's fate: the delivery may die before the sink sends, or
 * after the billing system took it. Each message the sink says was taken whole goes into `acknowledged`.
 */
export function crashingSink(
  inner: UsageSink,
  fate: Fate,
  acknowledged: Set<string>,
  kind: UsageSink['kind'],
): UsageSink {
  return {
    kind,
    target: inner.target,
    deliver: (message: OutboundMessage, options): Promise<DeliveryOutcome> =>
      fate.step('deliver', async () => {
        const outcome = await inner.deliver(message, options);
        if (outcome.ok) acknowledged.add(message.id);
        return outcome;
      }),
    close: () => inner.close(),
  };
}

export const silentEvents: UsageEvents = { info() {}, warn() {}, error() {} };

/** Every crash test's sweep: five minutes' grace, two minutes' budget, the scenario's concurrency and page size. */
export function sweepOptions(
  scenario: { readonly concurrency: number; readonly pageSize: number },
  storage: boolean,
): SweepOptions {
  return {
    graceSeconds: 300,
    concurrency: scenario.concurrency,
    pageSize: scenario.pageSize,
    storage,
    remainingMs: () => 120_000,
  };
}

// --- the run --------------------------------------------------------------------------------

export const TEN_MINUTES_MS = 600_000;

export interface DyingSweep {
  readonly plan: CrashPlan;
  /** How long after the previous sweep this one starts. */
  readonly afterMs: number;
}

/**
 * Runs each dying sweep on the world's clock, armed with its plan (a Crash ends it; any other
 * error fails the run), then `afterDeath` if the process did die; then, ten minutes on (the dead
 * sweeps' leases have lapsed), `heal` and a last sweep that nobody kills. Returns that sweep's report.
 */
export async function sweepThroughCrashes(
  world: CrashWorld,
  sweep: () => Promise<UsageSweepReport>,
  crashes: Iterable<DyingSweep>,
  hooks: { readonly afterDeath?: () => Promise<void>; readonly heal: () => void },
): Promise<UsageSweepReport> {
  for (const { plan, afterMs } of crashes) {
    world.now += afterMs;
    world.fate.arm(plan);
    await sweep().catch((error: unknown) => {
      if (!(error instanceof Crash)) throw error;
    });
    if (world.fate.dead) await hooks.afterDeath?.();
  }
  world.now += TEN_MINUTES_MS;
  world.fate.arm(undefined);
  hooks.heal();
  return sweep();
}

// --- the billing systems' worlds (Stripe, Lago) ---------------------------------------------

/** The third user has no billing id: its usage is unbilled and must never reach the billing system. */
export const USERS = ['a14040e0b2ef8b28', 'b25151f1c3f09c39', 'c36262a2d4a1ad4a'] as const;
/** The gateway's list of users in those worlds. */
export const USER_DIRECTORY = USERS.map((userId, i) => ({ userId, email: `user${i}@example.com` }));

export interface BilledItem {
  /** Index into USERS. */
  readonly user: number;
  readonly bucket: string;
  readonly epoch: number;
  readonly put: number;
  readonly get: number;
  readonly uploaded: bigint;
  readonly downloaded: bigint;
}

/** An item of one of USERS with the counters a billing system bills: requests, bytes in and out. */
export function billedItemArb(maxDownloaded: bigint): fc.Arbitrary<BilledItem> {
  return fc.record({
    user: fc.integer({ min: 0, max: USERS.length - 1 }),
    bucket: fc.constantFrom('photos', 'backup'),
    epoch: fc.nat(2),
    put: fc.nat(1000),
    get: fc.nat(1000),
    uploaded: fc.bigInt({ min: 0n, max: 2n ** 40n }),
    downloaded: fc.bigInt({ min: 0n, max: maxDownloaded }),
  });
}

/** The statistics object's item for a generated one. */
export function billedItem(it: BilledItem): UsageItem {
  return {
    bucket: it.bucket,
    epoch: it.epoch,
    userId: USERS[it.user] ?? '',
    tag: '',
    ops: { put: it.put, get: it.get, list: 0, other: 0 },
    bytes: { uploaded: it.uploaded, downloaded: it.downloaded },
  };
}

/** What the billing system should hold: per `${billing id} ${code}`, the objects' counters summed. */
export function expectedTotals(
  objects: Iterable<UsageObject>,
  billingIds: ReadonlyMap<string, string>,
  codes: { readonly downloaded_bytes: string; readonly uploaded_bytes: string; readonly requests: string },
): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  const add = (key: string, value: bigint) => {
    if (value !== 0n) sums.set(key, (sums.get(key) ?? 0n) + value);
  };
  for (const object of objects) {
    for (const item of object.items) {
      const billingId = billingIds.get(item.userId);
      if (billingId === undefined) continue;
      add(`${billingId} ${codes.downloaded_bytes}`, item.bytes.downloaded);
      add(`${billingId} ${codes.uploaded_bytes}`, item.bytes.uploaded);
      add(
        `${billingId} ${codes.requests}`,
        BigInt(item.ops.put + item.ops.get + item.ops.list + item.ops.other),
      );
    }
  }
  return sums;
}

// Crash injection through the Stripe sink: the real sweep, the real StripeSink and Stripe API
// client, the real SQLite ledger and meter receipts, against the Stripe fake (HTTP on 127.0.0.1,
// its 24-hour identifier memory on the test's clock). The process dies at a random step (before a
// step takes effect, or after it did and before the sweep learned it), Stripe answers 429, 5xx,
// resets or loses the answer of an event it took, and sweeps come 10 minutes or 25 hours apart
// (when Stripe has forgotten every identifier; see scenarioArb). Whatever happens, once a last
// sweep has run: the
// sum per customer and meter at Stripe equals the statistics objects' counters exactly, no event
// is counted twice (storage hours included), no object is deleted before Stripe holds all its
// events, and a user without a billingId is never sent.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayNotFoundError } from '../../../shared/ostor/errors.ts';
import type { BucketInfo, UsageObject } from '../../../shared/ostor/schemas.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { meterEventApi, StripeApi } from '../../../shared/stripe/api.ts';
import type { LeaseResult, NewLedgerEntry, UsageLedger } from '../../../shared/usage/ledger.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import type { DeliveryOutcome, UsageSink } from '../../../shared/usage/sink.ts';
import { StripeSink } from '../../../shared/usage/stripe-sink.ts';
import type { UsageEvents, UsageGateway } from '../../../shared/usage/sweep.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import type { Fault, StripeFake } from '../../e2e/stripe-fake.ts';
import { startStripeFake } from '../../e2e/stripe-fake.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const METERS = { downloaded_bytes: 'dl', uploaded_bytes: 'ul', requests: 'req', storage: 'st' } as const;
const USERS = ['a14040e0b2ef8b28', 'b25151f1c3f09c39', 'c36262a2d4a1ad4a'] as const;
/** The third user has no billing id: its usage is unbilled and must never reach Stripe. */
const BILLING = new Map<string, string>([
  [USERS[0], 'cus_Alice'],
  [USERS[1], 'cus_Bob'],
]);
const STORED = 5_000_000_000n;

const STEPS = ['list', 'read', 'record', 'deliver', 'mark', 'delete', 'markDeleted'] as const;
type Step = (typeof STEPS)[number];

interface CrashPlan {
  readonly step: Step;
  readonly occurrence: number;
  readonly when: 'before' | 'after';
}

class Crash extends Error {
  constructor() {
    super('the process died');
  }
}

/** Decides when the process dies; once dead, nothing takes effect any more. */
class Fate {
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

  async step<T>(step: Step, effect: () => T | Promise<T>): Promise<T> {
    await Promise.resolve();
    this.alive();
    const n = (this.#counts.get(step) ?? 0) + 1;
    this.#counts.set(step, n);
    const hit = this.plan?.step === step && this.plan.occurrence === n;
    if (hit && this.plan?.when === 'before') {
      this.dead = true;
      throw new Crash();
    }
    const result = await effect();
    await Promise.resolve();
    this.alive();
    if (hit) {
      this.dead = true;
      throw new Crash();
    }
    return result;
  }
}

interface World {
  readonly fate: Fate;
  readonly objects: Map<string, UsageObject>;
  /** Messages whose every event Stripe acknowledged, per the sink. */
  readonly acknowledged: Set<string>;
  readonly violations: string[];
}

function fakeGateway(world: World): UsageGateway {
  const sorted = () => [...world.objects.keys()].sort();
  const bucket = (name: string, ownerId: string): BucketInfo => ({
    name,
    ownerId,
    epoch: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    size: { current: STORED, hIntegral: 0n, hmax: STORED, lastTs: 0 },
  });
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
        if (!world.acknowledged.has(name))
          world.violations.push(`deleted before Stripe held its events: ${name}`);
        if (!world.objects.delete(name)) throw new GatewayNotFoundError({ operation: 'usage.delete' });
      }),
    listUsers: async () => {
      world.fate.alive();
      return USERS.map((userId, i) => ({ userId, email: `user${i}@example.com` }));
    },
    listBuckets: async () => {
      world.fate.alive();
      return [bucket('alice-photos', USERS[0]), bucket('carol-data', USERS[2])];
    },
  };
}

/** The real Stripe sink behind the process's fate: the delivery may die before or after Stripe took it. */
function crashingSink(inner: StripeSink, world: World): UsageSink {
  return {
    kind: 'stripe',
    target: inner.target,
    deliver: (message: OutboundMessage, options): Promise<DeliveryOutcome> =>
      world.fate.step('deliver', async () => {
        const outcome = await inner.deliver(message, options);
        if (outcome.ok) world.acknowledged.add(message.id);
        return outcome;
      }),
    close: () => inner.close(),
  };
}

function crashingLedger(inner: UsageLedger, fate: Fate): UsageLedger {
  return {
    record: (entry: NewLedgerEntry) => fate.step('record', () => inner.record(entry)),
    get: (name, now) => inner.get(name, now),
    markDelivered: (name, at) => fate.step('mark', () => inner.markDelivered(name, at)),
    markDeleted: (name, at) => fate.step('markDeleted', () => inner.markDeleted(name, at)),
    recordAll: (entries) => fate.step('record', () => inner.recordAll(entries)),
    markAllDelivered: (entries, at) => fate.step('mark', () => inner.markAllDelivered(entries, at)),
    markAllDeleted: (entries, at) => fate.step('markDeleted', () => inner.markAllDeleted(entries, at)),
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
}

const silent: UsageEvents = { info() {}, warn() {}, error() {} };

const itemArb = fc.record({
  user: fc.integer({ min: 0, max: USERS.length - 1 }),
  bucket: fc.constantFrom('photos', 'backup'),
  epoch: fc.nat(2),
  put: fc.nat(1000),
  get: fc.nat(1000),
  uploaded: fc.bigInt({ min: 0n, max: 2n ** 40n }),
  // Up to 2^52: a total may pass Stripe's 15 digits and go as several events.
  downloaded: fc.bigInt({ min: 0n, max: 2n ** 52n }),
});

const planArb: fc.Arbitrary<CrashPlan> = fc.record({
  step: fc.constantFrom(...STEPS),
  occurrence: fc.integer({ min: 1, max: 4 }),
  when: fc.constantFrom('before' as const, 'after' as const),
});

/** Faults Stripe answers before acting on the request. */
const refusalArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 8, arbitrary: fc.constant<Fault>('none') },
  { weight: 1, arbitrary: fc.constant<Fault>(503) },
  { weight: 1, arbitrary: fc.constant<Fault>(429) },
  { weight: 1, arbitrary: fc.constant<Fault>('reset') },
);
/** ...and an event Stripe took whose answer was lost. */
const faultArb: fc.Arbitrary<Fault> = fc.oneof(
  { weight: 11, arbitrary: refusalArb },
  { weight: 1, arbitrary: fc.constant<Fault>('accept-then-500') },
);

const common = {
  closed: fc.array(fc.array(itemArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 6 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  pageSize: fc.integer({ min: 1, max: 4 }),
};

/**
 * Two worlds. Sweeps 10 minutes apart, Stripe faulting in every way: its 24-hour identifier memory
 * recognises every resend. Sweeps 25 hours apart (Stripe has forgotten every identifier), Stripe
 * refusing before it acts: the sink's receipts recognise what Stripe acknowledged. (Not covered,
 * because no client can be: an event Stripe took whose every answer was lost, resent after Stripe
 * forgot it — Stripe's API cannot be asked whether it holds an identifier.)
 */
const scenarioArb = fc.oneof(
  fc.record({
    ...common,
    crashes: fc.array(fc.record({ plan: planArb, gapHours: fc.constant(0.2) }), {
      minLength: 1,
      maxLength: 3,
    }),
    faults: fc.array(faultArb, { minLength: 1, maxLength: 12 }),
  }),
  fc.record({
    ...common,
    crashes: fc.array(fc.record({ plan: planArb, gapHours: fc.constantFrom(0.2, 25) }), {
      minLength: 1,
      maxLength: 3,
    }),
    faults: fc.array(refusalArb, { minLength: 1, maxLength: 12 }),
  }),
);

/** What Stripe should hold: per `${customer} ${meter}`, the objects' counters summed. */
function expectedTotals(objects: Iterable<UsageObject>): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  const add = (key: string, value: bigint) => {
    if (value !== 0n) sums.set(key, (sums.get(key) ?? 0n) + value);
  };
  for (const object of objects) {
    for (const item of object.items) {
      const customer = BILLING.get(item.userId);
      if (customer === undefined) continue;
      add(`${customer} dl`, item.bytes.downloaded);
      add(`${customer} ul`, item.bytes.uploaded);
      add(`${customer} req`, BigInt(item.ops.put + item.ops.get + item.ops.list + item.ops.other));
    }
  }
  return sums;
}

describe('crash injection through the Stripe sink', () => {
  let fake: StripeFake;

  beforeAll(async () => {
    fake = await startStripeFake();
  });

  afterAll(async () => {
    await fake.close();
  });

  it(
    `Stripe's totals per customer and meter equal the counters exactly, each event once (${RUNS} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          // Prepare: a fresh Stripe account, objects with items of three users (one without a billing id)
          fake.reset();
          let now = Date.parse('2026-11-26T12:00:00Z');
          fake.now = () => now;
          let request = 0;
          fake.fault = ({ path }) =>
            path.endsWith('meter_events')
              ? (scenario.faults[request++ % scenario.faults.length] ?? 'none')
              : 'none';
          const objects = new Map<string, UsageObject>();
          scenario.closed.forEach((items, i) => {
            const start = now - 2 * 86_400_000 + i * 1_800_000;
            const name = `s3-usage-8000000000000065-${new Date(start).toISOString()}-1800`;
            objects.set(name, {
              name,
              fmtVersion: 1,
              serviceId: '8000000000000065',
              startTs: start / 1000,
              period: 1800,
              items: items.map((it) => ({
                bucket: it.bucket,
                epoch: it.epoch,
                userId: USERS[it.user] ?? '',
                tag: '',
                ops: { put: it.put, get: it.get, list: 0, other: 0 },
                bytes: { uploaded: it.uploaded, downloaded: it.downloaded },
              })),
            });
          });
          const source = [...objects.values()];
          const fate = new Fate();
          const world: World = { fate, objects, acknowledged: new Set(), violations: [] };
          const ledger = new SqliteUsageLedger(':memory:');
          const stores = new SqliteStore(':memory:');
          const stripe = new StripeSink({
            api: meterEventApi(
              new StripeApi({
                base: new URL(fake.url),
                apiKey: { get: async () => fake.apiKey, refresh: async () => fake.apiKey },
                retries: 2,
                sleep: async () => {},
                // The sweep's deadlines are on its clock.
                clock: () => now,
              }),
            ),
            meters: METERS,
            billingIds: async (userId) => BILLING.get(userId),
            receipts: stores.meterReceipts,
            clock: () => now,
          });
          const deps = {
            gateway: fakeGateway(world),
            ledger: crashingLedger(ledger, fate),
            sink: crashingSink(stripe, world),
            events: silent,
          };
          const options = {
            graceSeconds: 300,
            concurrency: scenario.concurrency,
            pageSize: scenario.pageSize,
            remainingMs: () => 120_000,
          };

          // Act: sweeps that die, then one with Stripe well again
          for (const { plan, gapHours } of scenario.crashes) {
            now += gapHours * 3_600_000;
            fate.arm(plan);
            await sweepUsage({ ...deps, clock: () => now }, options).catch((error: unknown) => {
              if (!(error instanceof Crash)) throw error;
            });
          }
          now += 600_000;
          fate.arm(undefined);
          fake.fault = () => 'none';
          const final = await sweepUsage({ ...deps, clock: () => now }, options);
          await stripe.close();
          await ledger.close();
          stores.close();

          // Assess
          expect(world.violations).toEqual([]);
          expect(final.result.failed).toBe(0);
          expect(objects.size).toBe(0);
          const totals = fake.totals();
          const storage = fake.accepted.filter((event) => event.eventName === 'st');
          for (const key of [...totals.keys()]) if (key.endsWith(' st')) totals.delete(key);
          expect(totals).toEqual(expectedTotals(source));
          expect(new Set(fake.accepted.map((event) => event.identifier)).size).toBe(fake.accepted.length);
          expect(storage.every((event) => event.customer === 'cus_Alice' && event.value === STORED)).toBe(
            true,
          );
          expect(fake.accepted.some((event) => !['cus_Alice', 'cus_Bob'].includes(event.customer))).toBe(
            false,
          );
        }),
        { numRuns: RUNS },
      );
    },
    Math.max(60_000, RUNS * 300),
  );
});

// Crash injection through the Lago sink: the real sweep and the real LagoSink against the Lago fake
// (HTTP on 127.0.0.1), with the process dying at a random step (before a step takes effect, or after
// it did and before the answer came back: Lago stored the batch, nobody learned it) and Lago itself
// answering 429, 5xx, resetting or losing answers at random. Whatever happens, once a last sweep has
// run: the sum per subscription and billable metric at Lago equals the statistics objects' counters
// exactly, in both of Lago's event stores, no object is deleted before Lago holds all its events, and
// a user without a billing id is never sent.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GatewayNotFoundError } from '../../../shared/ostor/errors.ts';
import type { BucketInfo, UsageObject } from '../../../shared/ostor/schemas.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import { LagoSink } from '../../../shared/usage/lago-sink.ts';
import type { LeaseResult, NewLedgerEntry, UsageLedger } from '../../../shared/usage/ledger.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import type { DeliveryOutcome, UsageSink } from '../../../shared/usage/sink.ts';
import type { UsageEvents, UsageGateway } from '../../../shared/usage/sweep.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import type { LagoEventStore, LagoFake, LagoFault, StoredEvent } from '../../fakes/lago-api.ts';
import { startLagoFake } from '../../fakes/lago-api.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const API_KEY = 'lago-crash-key';
const CODES = { downloaded_bytes: 'dl', uploaded_bytes: 'ul', requests: 'req' } as const;
const USERS = ['a14040e0b2ef8b28', 'b25151f1c3f09c39', 'c36262a2d4a1ad4a'] as const;
/** The third user has no billing id: its usage is unbilled and must never reach Lago. */
const BILLING = new Map<string, string>([
  [USERS[0], 'sub-alice'],
  [USERS[1], 'sub-bob'],
]);

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
  /** Objects whose every event Lago acknowledged, per the sink. */
  readonly acknowledged: Set<string>;
  readonly violations: string[];
}

function fakeGateway(world: World): UsageGateway {
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
        if (!world.acknowledged.has(name))
          world.violations.push(`deleted before Lago held its events: ${name}`);
        if (!world.objects.delete(name)) throw new GatewayNotFoundError({ operation: 'usage.delete' });
      }),
    listUsers: async () => {
      world.fate.alive();
      return USERS.map((userId, i) => ({ userId, email: `user${i}@example.com` }));
    },
    listBuckets: async (): Promise<BucketInfo[]> => [],
  };
}

/** The real Lago sink behind the process's fate: the delivery may die before or after Lago stored it. */
function crashingSink(inner: LagoSink, world: World): UsageSink {
  return {
    kind: 'webhook',
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
  downloaded: fc.bigInt({ min: 0n, max: 2n ** 62n }),
});

const planArb: fc.Arbitrary<CrashPlan> = fc.record({
  step: fc.constantFrom(...STEPS),
  occurrence: fc.integer({ min: 1, max: 4 }),
  when: fc.constantFrom('before' as const, 'after' as const),
});

const faultArb: fc.Arbitrary<LagoFault | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.constant<LagoFault>({ kind: 'status', status: 503 }) },
  { weight: 1, arbitrary: fc.constant<LagoFault>({ kind: 'status', status: 429 }) },
  { weight: 1, arbitrary: fc.constant<LagoFault>({ kind: 'reset' }) },
  { weight: 1, arbitrary: fc.constant<LagoFault>({ kind: 'store-then-reset' }) },
);

const scenarioArb = fc.record({
  closed: fc.array(fc.array(itemArb, { minLength: 1, maxLength: 5 }), { minLength: 1, maxLength: 8 }),
  crashes: fc.array(planArb, { minLength: 1, maxLength: 3 }),
  faults: fc.array(faultArb, { minLength: 1, maxLength: 8 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  pageSize: fc.integer({ min: 1, max: 4 }),
});

/** What Lago should hold: per `${subscription} ${code}`, the objects' counters summed. */
function expectedTotals(objects: Iterable<UsageObject>): Map<string, bigint> {
  const sums = new Map<string, bigint>();
  const add = (key: string, value: bigint) => {
    if (value !== 0n) sums.set(key, (sums.get(key) ?? 0n) + value);
  };
  for (const object of objects) {
    for (const item of object.items) {
      const subscription = BILLING.get(item.userId);
      if (subscription === undefined) continue;
      add(`${subscription} dl`, item.bytes.downloaded);
      add(`${subscription} ul`, item.bytes.uploaded);
      add(`${subscription} req`, BigInt(item.ops.put + item.ops.get + item.ops.list + item.ops.other));
    }
  }
  return sums;
}

describe.each<LagoEventStore>(['postgres', 'clickhouse'])(
  'crash injection through the Lago sink (%s store)',
  (store) => {
    let fake: LagoFake;

    beforeAll(async () => {
      fake = await startLagoFake({ apiKey: API_KEY, store });
    });

    afterAll(async () => {
      await fake.close();
    });

    it(
      `Lago's totals per subscription and metric equal the counters exactly (${RUNS} runs)`,
      async () => {
        await fc.assert(
          fc.asyncProperty(scenarioArb, async (scenario) => {
            // Prepare: a fresh Lago, objects with items of three users (one without a billing id)
            (fake.events as StoredEvent[]).splice(0);
            fake.faults.splice(0, fake.faults.length, ...scenario.faults.filter((f) => f !== undefined));
            let now = Date.parse('2026-11-26T12:00:00Z');
            const objects = new Map<string, UsageObject>();
            scenario.closed.forEach((items, i) => {
              const start = now - 30 * 86_400_000 + i * 1_800_000;
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
            const real = new SqliteUsageLedger(':memory:');
            const lago = new LagoSink({
              apiUrl: new URL(fake.url),
              apiKey: { get: async () => API_KEY, refresh: async () => API_KEY },
              billingIds: async (userId) => BILLING.get(userId),
              codes: CODES,
              retries: 2,
              sleep: async () => {},
              // The sweep's deadlines are on its clock.
              clock: () => now,
            });
            const deps = {
              gateway: fakeGateway(world),
              ledger: crashingLedger(real, fate),
              sink: crashingSink(lago, world),
              events: silent,
            };
            const options = {
              graceSeconds: 300,
              concurrency: scenario.concurrency,
              pageSize: scenario.pageSize,
              storage: false,
              remainingMs: () => 120_000,
            };

            // Act: sweeps that die, then one after the dead one's lease lapsed, with Lago well again
            for (const plan of scenario.crashes) {
              now += 600_000;
              fate.arm(plan);
              await sweepUsage({ ...deps, clock: () => now }, options).catch((error: unknown) => {
                if (!(error instanceof Crash)) throw error;
              });
            }
            now += 600_000;
            fate.arm(undefined);
            fake.faults.splice(0);
            const final = await sweepUsage({ ...deps, clock: () => now }, options);
            await lago.close();
            await real.close();

            // Assess
            expect(world.violations).toEqual([]);
            expect(final.result.failed).toBe(0);
            expect(objects.size).toBe(0);
            expect(fake.totals('value')).toEqual(expectedTotals(source));
            expect(fake.events.some((event) => event.externalSubscriptionId === '')).toBe(false);
          }),
          { numRuns: RUNS },
        );
      },
      Math.max(60_000, RUNS * 200),
    );
  },
);

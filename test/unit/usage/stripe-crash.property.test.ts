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
import type { BucketInfo } from '../../../shared/ostor/schemas.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { meterEventApi, StripeApi } from '../../../shared/stripe/api.ts';
import { StripeSink } from '../../../shared/usage/stripe-sink.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import type { Fault, StripeFake } from '../../e2e/stripe-fake.ts';
import { startStripeFake } from '../../e2e/stripe-fake.ts';
import {
  addStatisticsObjects,
  billedItem,
  billedItemArb,
  CrashWorld,
  crashingGateway,
  crashingLedger,
  crashingSink,
  crashPlanArb,
  expectedTotals,
  silentEvents,
  sweepOptions,
  sweepThroughCrashes,
  USER_DIRECTORY,
  USERS,
} from './crash-world.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 150);
const METERS = { downloaded_bytes: 'dl', uploaded_bytes: 'ul', requests: 'req', storage: 'st' } as const;
/** The third user has no billing id: its usage is unbilled and must never reach Stripe. */
const BILLING = new Map<string, string>([
  [USERS[0], 'cus_Alice'],
  [USERS[1], 'cus_Bob'],
]);
const STORED = 5_000_000_000n;

/** Buckets of the first and the third user (no billing id), each holding STORED bytes. */
const BUCKETS = [bucket('alice-photos', USERS[0]), bucket('carol-data', USERS[2])];

function bucket(name: string, ownerId: string): BucketInfo {
  return {
    name,
    ownerId,
    epoch: 0,
    createdAt: '2026-01-01T00:00:00.000Z',
    size: { current: STORED, hIntegral: 0n, hmax: STORED, lastTs: 0 },
  };
}

// Up to 2^52: a total may pass Stripe's 15 digits and go as several events.
const itemArb = billedItemArb(2n ** 52n);
const planArb = crashPlanArb(4);

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
          const world = new CrashWorld();
          fake.now = world.clock;
          let request = 0;
          fake.fault = ({ path }) =>
            path.endsWith('meter_events')
              ? (scenario.faults[request++ % scenario.faults.length] ?? 'none')
              : 'none';
          addStatisticsObjects(
            world,
            '8000000000000065',
            world.now - 2 * 86_400_000,
            scenario.closed.map((items) => items.map(billedItem)),
          );
          const source = [...world.objects.values()];
          const acknowledged = new Set<string>();
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
                clock: world.clock,
              }),
            ),
            meters: METERS,
            billingIds: async (userId) => BILLING.get(userId),
            receipts: stores.meterReceipts,
            clock: world.clock,
          });
          const deps = {
            gateway: crashingGateway(world, {
              users: USER_DIRECTORY,
              buckets: BUCKETS,
              checkDeletion: (name) => {
                if (!acknowledged.has(name))
                  world.violations.push(`deleted before Stripe held its events: ${name}`);
              },
            }),
            ledger: crashingLedger(ledger, world.fate),
            sink: crashingSink(stripe, world.fate, acknowledged, 'stripe'),
            events: silentEvents,
            clock: world.clock,
          };
          const options = sweepOptions(scenario, true);

          // Act: sweeps that die, then one with Stripe well again
          const final = await sweepThroughCrashes(
            world,
            () => sweepUsage(deps, options),
            scenario.crashes.map(({ plan, gapHours }) => ({ plan, afterMs: gapHours * 3_600_000 })),
            {
              heal: () => {
                fake.fault = () => 'none';
              },
            },
          );
          await stripe.close();
          await ledger.close();
          stores.close();

          // Assess
          expect(world.violations).toEqual([]);
          expect(final.result.failed).toBe(0);
          expect(world.objects.size).toBe(0);
          const totals = fake.totals();
          const storage = fake.accepted.filter((event) => event.eventName === 'st');
          for (const key of [...totals.keys()]) if (key.endsWith(' st')) totals.delete(key);
          expect(totals).toEqual(expectedTotals(source, BILLING, METERS));
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

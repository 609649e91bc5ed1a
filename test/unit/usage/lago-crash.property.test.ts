// Crash injection through the Lago sink: the real sweep and the real LagoSink against the Lago fake
// (HTTP on 127.0.0.1), with the process dying at a random step (before a step takes effect, or after
// it did and before the answer came back: Lago stored the batch, nobody learned it) and Lago itself
// answering 429, 5xx, resetting or losing answers at random. Whatever happens, once a last sweep has
// run: the sum per subscription and billable metric at Lago equals the statistics objects' counters
// exactly, in both of Lago's event stores, no object is deleted before Lago holds all its events, and
// a user without a billing id is never sent.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import { LagoSink } from '../../../shared/usage/lago-sink.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import type { LagoEventStore, LagoFake, LagoFault, StoredEvent } from '../../fakes/lago-api.ts';
import { startLagoFake } from '../../fakes/lago-api.ts';
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
  TEN_MINUTES_MS,
  USER_DIRECTORY,
  USERS,
} from './crash-world.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const API_KEY = 'lago-crash-key';
const CODES = { downloaded_bytes: 'dl', uploaded_bytes: 'ul', requests: 'req' } as const;
/** The third user has no billing id: its usage is unbilled and must never reach Lago. */
const BILLING = new Map<string, string>([
  [USERS[0], 'sub-alice'],
  [USERS[1], 'sub-bob'],
]);

const itemArb = billedItemArb(2n ** 62n);
const planArb = crashPlanArb(4);

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
            const world = new CrashWorld();
            addStatisticsObjects(
              world,
              '8000000000000065',
              world.now - 30 * 86_400_000,
              scenario.closed.map((items) => items.map(billedItem)),
            );
            const source = [...world.objects.values()];
            const acknowledged = new Set<string>();
            const real = new SqliteUsageLedger(':memory:');
            const lago = new LagoSink({
              apiUrl: new URL(fake.url),
              apiKey: { get: async () => API_KEY, refresh: async () => API_KEY },
              billingIds: async (userId) => BILLING.get(userId),
              codes: CODES,
              retries: 2,
              sleep: async () => {},
              // The sweep's deadlines are on its clock.
              clock: world.clock,
            });
            const deps = {
              gateway: crashingGateway(world, {
                users: USER_DIRECTORY,
                checkDeletion: (name) => {
                  if (!acknowledged.has(name))
                    world.violations.push(`deleted before Lago held its events: ${name}`);
                },
              }),
              ledger: crashingLedger(real, world.fate),
              sink: crashingSink(lago, world.fate, acknowledged, 'lago'),
              events: silentEvents,
              clock: world.clock,
            };
            const options = sweepOptions(scenario, false);

            // Act: sweeps that die, then one after the dead one's lease lapsed, with Lago well again
            const final = await sweepThroughCrashes(
              world,
              () => sweepUsage(deps, options),
              scenario.crashes.map((plan) => ({ plan, afterMs: TEN_MINUTES_MS })),
              {
                heal: () => {
                  fake.faults.splice(0);
                },
              },
            );
            await lago.close();
            await real.close();

            // Assess
            expect(world.violations).toEqual([]);
            expect(final.result.failed).toBe(0);
            expect(world.objects.size).toBe(0);
            expect(fake.totals('value')).toEqual(expectedTotals(source, BILLING, CODES));
            expect(fake.events.some((event) => event.externalSubscriptionId === '')).toBe(false);
          }),
          { numRuns: RUNS },
        );
      },
      Math.max(60_000, RUNS * 200),
    );
  },
);

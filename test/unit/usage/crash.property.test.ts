// Crash injection: the process dies at a random step of a sweep (list, read, ledger write,
// deliver, mark delivered, delete, mark deleted; before or after the step takes effect), maybe
// more than once, then fresh sweeps resume. Whatever happens: no object is lost, none is deleted
// before the receiver said 2xx, none is sent again once the ledger holds its 2xx, and every
// redelivery carries the same bytes. The gateway and the receiver are in-memory fakes here (the
// property is about the ledger's state machine; the world they share with the Stripe and Lago crash
// tests is crash-world.ts); the ledger is each real adapter in turn: SQLite (local) and DynamoDB
// over dynalite (deployed), a fresh table per run.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import { DynamoUsageLedger } from '../../../shared/store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import type { UsageLedger } from '../../../shared/usage/ledger.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import type { DeliveryOutcome, UsageSink } from '../../../shared/usage/sink.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';
import {
  addStatisticsObjects,
  CrashWorld,
  crashingGateway,
  crashingLedger,
  crashPlanArb,
  silentEvents,
  sweepOptions,
  sweepThroughCrashes,
  TEN_MINUTES_MS,
} from './crash-world.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1_000);
/** Each DynamoDB run makes a table and talks HTTP: fewer runs in the suite, all of them with PROPERTY_RUNS. */
const DYNAMO_RUNS = Number(process.env.PROPERTY_RUNS ?? 300);
const DAY_MS = 86_400_000;

/** The crash world with an in-memory webhook receiver: what it took, and how it answers. */
class ReceiverWorld extends CrashWorld {
  /** Objects of periods not yet over: never to be sent or deleted. */
  readonly open = new Set<string>();
  /** 2xx answers per message id. */
  readonly acks = new Map<string, number>();
  /** Every body received per message id. */
  readonly bodies = new Map<string, Set<string>>();
  /** Receiver answers for successive attempts, cycled; true is 2xx. */
  answers: readonly boolean[];
  attempt = 0;

  constructor(answers: readonly boolean[]) {
    super();
    this.answers = answers;
  }
}

function fakeReceiver(world: ReceiverWorld, ledger: UsageLedger): UsageSink {
  return {
    kind: 'webhook',
    target: 'memory',
    deliver: async (message: OutboundMessage): Promise<DeliveryOutcome> => {
      // Checked against the ledger's own truth, not through the crashing wrapper.
      const known = (await ledger.get(message.id, world.now))?.state;
      if (known === 'delivered' || known === 'deleted') {
        world.violations.push(`sent again after the ledger recorded its 2xx: ${message.id}`);
      }
      return world.fate.step('deliver', (): DeliveryOutcome => {
        const bodies = world.bodies.get(message.id) ?? new Set<string>();
        bodies.add(message.body);
        world.bodies.set(message.id, bodies);
        const ok = world.answers[world.attempt++ % world.answers.length] ?? true;
        if (!ok) return { ok: false, attempts: 1, status: 503, reason: 'the receiver answered 503' };
        world.acks.set(message.id, (world.acks.get(message.id) ?? 0) + 1);
        return { ok: true, attempts: 1, status: 204 };
      });
    },
    close: async () => {},
  };
}

const itemArb = fc.record({
  bucket: fc.constantFrom('photos', 'backup', 'logs'),
  epoch: fc.nat(3),
  put: fc.nat(1000),
  uploaded: fc.bigInt({ min: 0n, max: 2n ** 40n }),
});

const scenarioArb = fc.record({
  closed: fc.array(fc.array(itemArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 10 }),
  open: fc.nat(2),
  crashes: fc.array(crashPlanArb(6), { minLength: 1, maxLength: 3 }),
  answers: fc.array(fc.boolean(), { minLength: 1, maxLength: 6 }),
  concurrency: fc.integer({ min: 1, max: 4 }),
  pageSize: fc.integer({ min: 1, max: 4 }),
});

let dynamo: LocalDynamo;

beforeAll(async () => {
  dynamo = await startDynalite();
});

afterAll(async () => {
  await dynamo.close();
});

describe.each([
  { name: 'SQLite', runs: RUNS, make: async (): Promise<UsageLedger> => new SqliteUsageLedger(':memory:') },
  {
    name: 'DynamoDB (dynalite)',
    runs: DYNAMO_RUNS,
    make: async (): Promise<UsageLedger> =>
      new DynamoUsageLedger({ client: dynamo.client, tableName: await dynamo.newTable({ prefix: 'crash' }) }),
  },
])('crash injection (property) on the $name ledger', ({ runs, make }) => {
  it(
    `never loses an object, never deletes before a 2xx, never resends after a recorded 2xx (${runs} runs)`,
    async () => {
      await fc.assert(
        fc.asyncProperty(scenarioArb, async (scenario) => {
          // Prepare
          const world = new ReceiverWorld(scenario.answers);
          const closedNames = addStatisticsObjects(
            world,
            '8000000000000065',
            world.now - 30 * DAY_MS,
            scenario.closed.map((items) =>
              items.map((it) => ({
                bucket: it.bucket,
                epoch: it.epoch,
                userId: 'a14040e0b2ef8b28',
                tag: '',
                ops: { put: it.put, get: 0, list: 0, other: 0 },
                bytes: { uploaded: it.uploaded, downloaded: 0n },
              })),
            ),
          );
          const openNames = addStatisticsObjects(
            world,
            '8000000000000066',
            world.now + DAY_MS,
            Array.from({ length: scenario.open }, () => []),
          );
          for (const name of openNames) world.open.add(name);
          const source = new Map(world.objects);
          const real = await make();
          const deps = {
            gateway: crashingGateway(world, {
              users: [{ userId: 'a14040e0b2ef8b28', email: 'alice@example.com' }],
              checkDeletion: (name) => {
                if (!world.acks.has(name)) world.violations.push(`deleted before a 2xx: ${name}`);
                if (world.open.has(name)) world.violations.push(`deleted an open object: ${name}`);
              },
            }),
            ledger: crashingLedger(real, world.fate),
            sink: fakeReceiver(world, real),
            events: silentEvents,
            clock: world.clock,
          };
          const options = sweepOptions(scenario, false);
          const sweep = () => sweepUsage(deps, options);
          const windows = new Map<string, number>();

          // Act: sweeps that die, each followed by a look at what the crash left behind, then a fresh
          // sweep after the dead one's lease has lapsed, with a receiver that says yes
          const final = await sweepThroughCrashes(
            world,
            sweep,
            scenario.crashes.map((plan) => ({ plan, afterMs: TEN_MINUTES_MS })),
            {
              afterDeath: async () => {
                // Acknowledged but not yet recorded as delivered: the one window no sweep can close.
                for (const name of world.acks.keys()) {
                  if ((await real.get(name, world.now))?.state === 'read')
                    windows.set(name, (windows.get(name) ?? 0) + 1);
                }
                world.fate.arm(undefined);
                const blocked = await sweep();
                expect(blocked.result.leaseHeld).toBe(true);
              },
              heal: () => {
                world.answers = [true];
              },
            },
          );
          const states = new Map<string, string | undefined>();
          for (const name of closedNames) states.set(name, (await real.get(name, world.now))?.state);
          await real.close();

          // Assess
          expect(world.violations).toEqual([]);
          expect(final.result.failed).toBe(0);
          expect([...world.objects.keys()].sort()).toEqual([...world.open].sort());
          for (const name of closedNames) {
            const acks = world.acks.get(name) ?? 0;
            expect(acks).toBeGreaterThanOrEqual(1);
            expect(acks).toBeLessThanOrEqual(1 + (windows.get(name) ?? 0));
            expect(world.bodies.get(name)?.size).toBe(1);
            // 'delivered' when the process died between the gateway's delete and the ledger's note of it
            expect(['delivered', 'deleted']).toContain(states.get(name));
            const [body] = world.bodies.get(name) ?? [];
            const sent = JSON.parse(body ?? '{}') as { data: { records: { ops: { put: number } }[] } };
            const expected = source.get(name)?.items.reduce((sum, item) => sum + item.ops.put, 0);
            expect(sent.data.records.reduce((sum, r) => sum + r.ops.put, 0)).toBe(expected);
          }
          for (const name of world.open) expect(world.bodies.has(name)).toBe(false);
        }),
        { numRuns: runs },
      );
    },
    Math.max(60_000, runs * 50),
  );
});

// Crash injection: the process dies at a random step of a sweep (list, read, ledger write,
// deliver, mark delivered, delete, mark deleted; before or after the step takes effect), maybe
// more than once, then fresh sweeps resume. Whatever happens: no object is lost, none is deleted
// before the receiver said 2xx, none is sent again once the ledger holds its 2xx, and every
// redelivery carries the same bytes. The gateway and the receiver are in-memory fakes here (the
// property is about the ledger's state machine); the ledger is each real adapter in turn: SQLite
// (local) and DynamoDB over dynalite (deployed), a fresh table per run.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LocalDynamo, startDynalite } from '../../../bench/lib/dynalite.ts';
import { GatewayNotFoundError } from '../../../shared/ostor/errors.ts';
import type { BucketInfo, UsageObject } from '../../../shared/ostor/schemas.ts';
import { DynamoUsageLedger } from '../../../shared/store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../../../shared/store/ledger-sqlite.ts';
import type { LeaseResult, NewLedgerEntry, UsageLedger } from '../../../shared/usage/ledger.ts';
import type { OutboundMessage } from '../../../shared/usage/messages.ts';
import type { DeliveryOutcome, UsageSink } from '../../../shared/usage/sink.ts';
import type { UsageEvents, UsageGateway } from '../../../shared/usage/sweep.ts';
import { sweepUsage } from '../../../shared/usage/sweep.ts';

const RUNS = Number(process.env.PROPERTY_RUNS ?? 1_000);
/** Each DynamoDB run makes a table and talks HTTP: fewer runs in the suite, all of them with PROPERTY_RUNS. */
const DYNAMO_RUNS = Number(process.env.PROPERTY_RUNS ?? 300);

const STEPS = ['list', 'read', 'record', 'deliver', 'mark', 'delete', 'markDeleted'] as const;
type Step = (typeof STEPS)[number];

interface CrashPlan {
  readonly step: Step;
  /** The n-th time the step comes up in that sweep. */
  readonly occurrence: number;
  /** Die before the step takes effect, or after it took effect but before the sweep learns it did. */
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
    // Yield so that concurrent workers interleave as they would over a network.
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
    // The effect happened; an answer that comes back to a dead process is lost.
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
  readonly open: ReadonlySet<string>;
  readonly acks: Map<string, number>;
  readonly bodies: Map<string, Set<string>>;
  readonly violations: string[];
  /** Receiver answers for successive attempts, cycled; true is 2xx. */
  answers: readonly boolean[];
  attempt: number;
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
        if (!world.acks.has(name)) world.violations.push(`deleted before a 2xx: ${name}`);
        if (world.open.has(name)) world.violations.push(`deleted an open object: ${name}`);
        if (!world.objects.delete(name)) throw new GatewayNotFoundError({ operation: 'usage.delete' });
      }),
    listUsers: async () => {
      world.fate.alive();
      return [{ userId: 'a14040e0b2ef8b28', email: 'alice@example.com' }];
    },
    listBuckets: async (): Promise<BucketInfo[]> => [],
  };
}

function fakeReceiver(world: World, ledger: UsageLedger, now: () => number): UsageSink {
  return {
    kind: 'webhook',
    target: 'memory',
    deliver: async (message: OutboundMessage): Promise<DeliveryOutcome> => {
      // Checked against the ledger's own truth, not through the crashing wrapper.
      const known = (await ledger.get(message.id, now()))?.state;
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

/** The real ledger behind the process's fate: each write is a step that may die. */
function crashingLedger(inner: UsageLedger, fate: Fate): UsageLedger {
  return {
    record: (entry: NewLedgerEntry) => fate.step('record', () => inner.record(entry)),
    get: (name, now) => inner.get(name, now),
    markDelivered: (name, at) => fate.step('mark', () => inner.markDelivered(name, at)),
    markDeleted: (name, at) => fate.step('markDeleted', () => inner.markDeleted(name, at)),
    // The sweep groups the writes of the objects in flight: a crash takes a whole batch's write or none of it.
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
  bucket: fc.constantFrom('photos', 'backup', 'logs'),
  epoch: fc.nat(3),
  put: fc.nat(1000),
  uploaded: fc.bigInt({ min: 0n, max: 2n ** 40n }),
});

const planArb: fc.Arbitrary<CrashPlan> = fc.record({
  step: fc.constantFrom(...STEPS),
  occurrence: fc.integer({ min: 1, max: 6 }),
  when: fc.constantFrom('before' as const, 'after' as const),
});

const scenarioArb = fc.record({
  closed: fc.array(fc.array(itemArb, { minLength: 1, maxLength: 4 }), { minLength: 1, maxLength: 10 }),
  open: fc.nat(2),
  crashes: fc.array(planArb, { minLength: 1, maxLength: 3 }),
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
          let now = Date.parse('2026-11-26T12:00:00Z');
          const objects = new Map<string, UsageObject>();
          const closedNames: string[] = [];
          scenario.closed.forEach((items, i) => {
            const start = now - 30 * 86_400_000 + i * 1_800_000;
            const name = `s3-usage-8000000000000065-${new Date(start).toISOString()}-1800`;
            closedNames.push(name);
            objects.set(name, {
              name,
              fmtVersion: 1,
              serviceId: '8000000000000065',
              startTs: start / 1000,
              period: 1800,
              items: items.map((it) => ({
                bucket: it.bucket,
                epoch: it.epoch,
                userId: 'a14040e0b2ef8b28',
                tag: '',
                ops: { put: it.put, get: 0, list: 0, other: 0 },
                bytes: { uploaded: it.uploaded, downloaded: 0n },
              })),
            });
          });
          const open = new Set<string>();
          for (let i = 0; i < scenario.open; i++) {
            const start = now + 86_400_000 + i * 1_800_000;
            const name = `s3-usage-8000000000000066-${new Date(start).toISOString()}-1800`;
            open.add(name);
            objects.set(name, {
              name,
              fmtVersion: 1,
              serviceId: '8000000000000066',
              startTs: start / 1000,
              period: 1800,
              items: [],
            });
          }
          const source = new Map(objects);
          const fate = new Fate();
          const world: World = {
            fate,
            objects,
            open,
            acks: new Map(),
            bodies: new Map(),
            violations: [],
            answers: scenario.answers,
            attempt: 0,
          };
          const real = await make();
          const ledger = crashingLedger(real, fate);
          const deps = {
            gateway: fakeGateway(world),
            ledger,
            sink: fakeReceiver(world, real, () => now),
            events: silent,
          };
          const options = {
            graceSeconds: 300,
            concurrency: scenario.concurrency,
            pageSize: scenario.pageSize,
            storage: false,
            remainingMs: () => 120_000,
          };
          const windows = new Map<string, number>();
          const run = () =>
            sweepUsage({ ...deps, clock: () => now }, options).catch((error: unknown) => {
              if (!(error instanceof Crash)) throw error;
              return undefined;
            });

          // Act: sweeps that die, each followed by a look at what the crash left behind
          for (const plan of scenario.crashes) {
            now += 600_000;
            fate.arm(plan);
            await run();
            if (!fate.dead) continue;
            // Acknowledged but not yet recorded as delivered: the one window no sweep can close.
            for (const name of world.acks.keys()) {
              if ((await real.get(name, now))?.state === 'read')
                windows.set(name, (windows.get(name) ?? 0) + 1);
            }
            fate.arm(undefined);
            const blocked = await sweepUsage({ ...deps, clock: () => now }, options);
            expect(blocked.result.leaseHeld).toBe(true);
          }
          // ...then a fresh sweep after the dead one's lease has lapsed, with a receiver that says yes
          now += 600_000;
          fate.arm(undefined);
          world.answers = [true];
          const final = await sweepUsage({ ...deps, clock: () => now }, options);
          const states = new Map<string, string | undefined>();
          for (const name of closedNames) states.set(name, (await real.get(name, now))?.state);
          await real.close();

          // Assess
          expect(world.violations).toEqual([]);
          expect(final.result.failed).toBe(0);
          expect([...objects.keys()].sort()).toEqual([...open].sort());
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
          for (const name of open) expect(world.bodies.has(name)).toBe(false);
        }),
        { numRuns: runs },
      );
    },
    Math.max(60_000, runs * 50),
  );
});

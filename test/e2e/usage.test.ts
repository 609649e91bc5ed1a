// The usage sweep end to end: `npm start` runs as a child process against the gateway emulator in
// this process (seeded here, so what the sweep must deliver is known exactly), usage goes to a
// billing receiver in this process that checks every signature with the reference
// `standardwebhooks` package, and sweeps are started by a signed `POST /collect-usage`, by the local
// schedule, and — without USAGE_WEBHOOK_URL — write usage.ndjson and print a summary table.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator, UsageItemSeed, UsageObjectContent } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import type { ReceivedDelivery, UsageReceiver } from './usage-receiver.ts';
import { parseExactly, startUsageReceiver } from './usage-receiver.ts';
import type { DeliveredRecord } from './usage-totals.ts';
import {
  comparable,
  contentsOf,
  deliveredTotals,
  expectedRecords,
  recordsOf,
  sourceTotals,
} from './usage-totals.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** The sweep asks for pages of 500 names. */
const PAGE = 500;
/** docs/contract.md §3, the `collect-usage` success body. */
const CONTRACT_FIELDS = [
  'objects',
  'records',
  'delivered',
  'deleted',
  'skipped',
  'failed',
  'storage',
] as const;
/** What the sweep adds to them (UsageSweepResult; the contract allows additions). */
const EXTRA_FIELDS = [
  'conflicts',
  'deleteFailed',
  'complete',
  'leaseHeld',
  'duplicateEmails',
  'durationMs',
] as const;

interface SweepResult {
  [field: string]: unknown;
  objects: number;
  records: number;
  delivered: number;
  deleted: number;
  skipped: number;
  failed: number;
  storage: { delivered: number; failed: number };
}

interface Population {
  readonly alice: { id: string; email: string };
  readonly bob: { id: string; email: string };
  /** Buckets with their owners, as usage items refer to them. */
  readonly buckets: readonly { userId: string; bucket: string }[];
}

/** Three users: alice with two buckets, bob with one, carol with none (no storage message). */
function populate(emulator: Emulator): Population {
  const { state } = emulator;
  const alice = state.createUser(`alice.${randomUUID().slice(0, 6)}@example.com`);
  const bob = state.createUser(`bob.${randomUUID().slice(0, 6)}@example.com`);
  state.createUser(`carol.${randomUUID().slice(0, 6)}@example.com`);
  state.createBucket(alice.id, 'alice-photos');
  state.createBucket(alice.id, 'alice-docs');
  state.createBucket(bob.id, 'bob-backup');
  state.putObject('alice-photos', 'cat.jpg', 'x'.repeat(2048));
  state.putObject('alice-photos', 'dog.jpg', 'y'.repeat(1000));
  state.putObject('alice-docs', 'cv.pdf', 'z'.repeat(500));
  state.putObject('bob-backup', 'db.dump', 'w'.repeat(4096));
  return {
    alice: { id: alice.id, email: alice.email },
    bob: { id: bob.id, email: bob.email },
    buckets: [
      { userId: alice.id, bucket: 'alice-photos' },
      { userId: alice.id, bucket: 'alice-docs' },
      { userId: bob.id, bucket: 'bob-backup' },
      // Anonymous requests to a public bucket, and a user the gateway no longer lists.
      { userId: '', bucket: 'alice-photos' },
      { userId: 'f00dfeedf00dfeed', bucket: 'gone-bucket' },
    ],
  };
}

/** A signed `POST /collect-usage`, as the billing system (or an operator) starts a sweep. */
async function sweep(server: RunningServer, secret: string): Promise<{ status: number; json: SweepResult }> {
  const id = `msg_${randomUUID()}`;
  const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });
  const now = new Date();
  const response = await fetch(`${server.url}/collect-usage`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(secret).sign(id, now, body),
    },
    body,
  });
  return { status: response.status, json: (await response.json()) as SweepResult };
}

/**
 * The contract's part of a result, after checking that the body holds exactly the contract's fields
 * and the documented additions, and that the additions say "a complete, ordinary run".
 */
function contractPart(json: SweepResult): Pick<SweepResult, (typeof CONTRACT_FIELDS)[number]> {
  expect(Object.keys(json).sort()).toEqual([...CONTRACT_FIELDS, ...EXTRA_FIELDS].sort());
  expect(json).toMatchObject({ conflicts: 0, deleteFailed: 0, complete: true, leaseHeld: false });
  expect(typeof json.durationMs).toBe('number');
  const { objects, records, delivered, deleted, skipped, failed, storage } = json;
  return { objects, records, delivered, deleted, skipped, failed, storage };
}

/** Start of the UTC hour, as ISO 8601. */
const hourOf = (ms: number) => new Date(Math.floor(ms / HOUR_MS) * HOUR_MS).toISOString();

const usageCollected = (deliveries: readonly ReceivedDelivery[]) =>
  deliveries.filter((d) => d.message.type === 'usage.collected');
const usageStorage = (deliveries: readonly ReceivedDelivery[]) =>
  deliveries.filter((d) => d.message.type === 'usage.storage');
/** The `storage` counts a sweep should report: the storage messages the receiver acknowledged during it. */
const storageCounts = (deliveries: readonly ReceivedDelivery[]) => ({
  delivered: usageStorage(deliveries).filter((d) => d.status < 300).length,
  failed: 0,
});

/** Requests the emulator saw for statistics objects: listings, reads and deletes by name. */
function usageRequests(emulator: Emulator) {
  const usage = emulator.requests.filter((r) => r.service === 'ostor-usage');
  const param = (r: (typeof usage)[number], name: string) => r.params.find(([k]) => k === name)?.[1];
  return {
    listings: usage
      .filter((r) => r.method === 'GET' && param(r, 'obj') === undefined)
      .map((r) => param(r, 'after')),
    reads: usage
      .filter((r) => r.method === 'GET' && param(r, 'obj') !== undefined)
      .map((r) => param(r, 'obj')),
    deletes: usage.filter((r) => r.method === 'DELETE').map((r) => param(r, 'obj')),
  };
}

function clearUsageObjects(emulator: Emulator): void {
  for (const name of [...emulator.state.usage.keys()]) emulator.state.deleteUsageObject(name);
}

/** Whole seconds: the name carries the start as ISO 8601. */
const secondsAgo = (seconds: number) => new Date(Math.floor(Date.now() / 1000 - seconds) * 1000);

function expectNoSecret(output: string, secrets: readonly string[]): void {
  for (const secret of secrets) {
    // The whsec_ form and its key alone.
    for (const form of [secret, secret.replace(/^whsec_/, '')]) {
      expect(output.includes(form), 'a secret appeared in the server output').toBe(false);
    }
  }
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('collect-usage over npm start, delivered to a billing webhook', () => {
  let emulator: Emulator;
  let receiver: UsageReceiver;
  let server: RunningServer;
  let people: Population;
  let system: { accessKeyId: string; secretAccessKey: string };
  const webhookSecret = generateWebhookSecret();
  const usageSecret = generateWebhookSecret();

  beforeAll(async () => {
    emulator = await startEmulator();
    system = emulator.createSystemUser('system@billing.example');
    people = populate(emulator);
    receiver = await startUsageReceiver(usageSecret);
    server = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      WEBHOOK_SECRET: webhookSecret,
      USAGE_WEBHOOK_URL: receiver.url,
      USAGE_WEBHOOK_SECRET: usageSecret,
      USAGE_SWEEP_INTERVAL_SECONDS: '0',
    });
  });

  afterAll(async () => {
    const output = server.output();
    await server.stop();
    await receiver.close();
    await emulator.close();
    // Assess (whole suite): every request the receiver got was signed and sent where configured;
    // no secret reached the output.
    expect(receiver.unauthorized).toBe(0);
    expect(receiver.misrouted).toBe(0);
    expectNoSecret(output, [webhookSecret, usageSecret, system.secretAccessKey]);
  });

  beforeEach(() => {
    clearUsageObjects(emulator);
    emulator.clearRequests();
    receiver.answer = () => 204;
  });

  it('sends usage.storage once per user and hour, with the webhook-id storage-<userId>-<hour>', async () => {
    // Prepare: the suite's first sweep, so no storage message has gone out yet.
    const before = Date.now();
    // Act
    const first = await sweep(server, webhookSecret);
    const sentFirst = usageStorage(receiver.deliveries);
    const second = await sweep(server, webhookSecret);
    const after = Date.now();
    const sentSecond = usageStorage(receiver.deliveries).slice(sentFirst.length);
    // Assess: exactly the contract's fields (nothing to collect yet), one message per bucket owner.
    expect(first.status).toBe(200);
    expect(contractPart(first.json)).toEqual({
      objects: 0,
      records: 0,
      delivered: 0,
      deleted: 0,
      skipped: 0,
      failed: 0,
      storage: { delivered: 2, failed: 0 },
    });
    const measured = sentFirst.map((d) => d.message.data);
    expect(measured.map((m) => m.userId).sort()).toEqual([people.alice.id, people.bob.id].sort());
    for (const delivery of sentFirst) {
      const { data } = delivery.message;
      expect([hourOf(before), hourOf(after)]).toContain(data.hour);
      expect(data.hour).toBe(hourOf(Date.parse(delivery.message.timestamp)));
      expect(delivery.id).toBe(`storage-${String(data.userId)}-${String(data.hour)}`);
      expect(delivery.status).toBe(204);
    }
    expect(measured.find((m) => m.userId === people.alice.id)).toMatchObject({
      email: people.alice.email,
      bytes: 2048 + 1000 + 500,
      buckets: 2,
    });
    expect(measured.find((m) => m.userId === people.bob.id)).toMatchObject({
      email: people.bob.email,
      bytes: 4096,
      buckets: 1,
    });
    // The second sweep in the same hour sends none (across an hour boundary: only the new hour's).
    expect(second.status).toBe(200);
    if (hourOf(before) === hourOf(after)) {
      expect(second.json.storage).toEqual({ delivered: 0, failed: 0 });
      expect(sentSecond).toHaveLength(0);
    } else {
      expect(sentSecond.map((d) => d.message.data.hour)).toEqual(sentSecond.map(() => hourOf(after)));
    }
  });

  it('sweeps every listing page and delivers, per user, exactly the usage in the statistics objects', async () => {
    // Prepare: 1,200 closed objects (three pages of at most 500), 8 items each over 5 (user, bucket)
    // pairs, so every object also holds some pair under two epochs.
    const names = emulator.state.seedUsageObjects({
      objects: 1200,
      itemsPerObject: 8,
      start: new Date(Date.now() - 40 * DAY_MS),
      population: people.buckets,
      seed: 7,
    });
    const contents = contentsOf(emulator.state, names);
    const listed = emulator.state.listUsageObjects(undefined, 10_000).items;
    const acknowledgedBefore = receiver.acknowledged().length;
    // Act
    const { status, json } = await sweep(server, webhookSecret);
    // Assess: the result counts what happened.
    const acks = receiver.acknowledged().slice(acknowledgedBefore);
    const collected = usageCollected(acks);
    expect(status).toBe(200);
    expect(contractPart(json)).toEqual({
      objects: 1200,
      records: expectedRecords(contents.values()),
      delivered: 1200,
      deleted: 1200,
      skipped: 0,
      failed: 0,
      storage: { delivered: usageStorage(acks).length, failed: 0 },
    });
    // Three pages, each after the last name of the one before; every object read once and deleted once.
    const requests = usageRequests(emulator);
    expect(requests.listings).toEqual([undefined, listed[PAGE - 1], listed[2 * PAGE - 1]]);
    expect(requests.reads.sort()).toEqual([...names].sort());
    expect(requests.deletes.sort()).toEqual([...names].sort());
    expect(emulator.state.usage.size).toBe(0);
    // One acknowledged message per object, on the first attempt, named by the object.
    expect(collected.map((d) => d.id).sort()).toEqual([...names].sort());
    expect(collected.every((d) => d.attempt === 1)).toBe(true);
    for (const delivery of collected) {
      const content = contents.get(delivery.id) as UsageObjectContent;
      expect(delivery.message.data).toMatchObject({
        source: delivery.id,
        periodStart: new Date(content.start_ts * 1000).toISOString(),
        periodSeconds: content.period,
      });
    }
    // Emails from the gateway's user list; null for anonymous requests and for a departed user.
    const emails = new Map<string, string | null>();
    for (const delivery of collected) for (const r of recordsOf(delivery)) emails.set(r.userId, r.email);
    expect(Object.fromEntries(emails)).toEqual({
      [people.alice.id]: people.alice.email,
      [people.bob.id]: people.bob.email,
      '': null,
      f00dfeedf00dfeed: null,
    });
    // Reconciliation: per user, every counter delivered equals the sum in the source.
    expect(comparable(deliveredTotals(collected))).toEqual(comparable(sourceTotals(contents.values())));
  });

  it('keeps objects whose delivery the receiver refused, and the next sweep delivers them, then deletes them', async () => {
    // Prepare: 24 closed objects; the receiver refuses five of them and answers 503 once to a sixth.
    const names = emulator.state.seedUsageObjects({
      objects: 24,
      start: new Date(Date.now() - 20 * DAY_MS),
      population: people.buckets,
      seed: 11,
    });
    const contents = contentsOf(emulator.state, names);
    const refused = new Set([2, 7, 11, 16, 21].map((i) => names[i] as string));
    const flaky = names[4] as string;
    receiver.answer = ({ id, attempt }) =>
      refused.has(id) ? 422 : id === flaky && attempt === 1 ? 503 : 204;
    const start = receiver.deliveries.length;
    // Act
    const first = await sweep(server, webhookSecret);
    // Assess: the refused objects stay in the gateway, never deleted, and are counted as failed.
    const firstDeliveries = usageCollected(receiver.deliveries.slice(start));
    const firstRequests = usageRequests(emulator);
    expect(first.status).toBe(200);
    expect(contractPart(first.json)).toEqual({
      objects: 24,
      records: expectedRecords(contents.values()),
      delivered: 19,
      deleted: 19,
      skipped: 0,
      failed: 5,
      storage: storageCounts(receiver.deliveries.slice(start)),
    });
    expect(new Set(emulator.state.usage.keys())).toEqual(refused);
    expect(firstRequests.deletes.filter((name) => refused.has(name as string))).toEqual([]);
    // A 503 is retried within the sweep with the same id and the same bytes.
    const flakyAttempts = firstDeliveries.filter((d) => d.id === flaky);
    expect(flakyAttempts.map((d) => d.status)).toEqual([503, 204]);
    expect(flakyAttempts[1]?.body).toBe(flakyAttempts[0]?.body);
    const refusedBodies = new Map(
      firstDeliveries.filter((d) => refused.has(d.id)).map((d) => [d.id, d.body] as const),
    );
    expect(refusedBodies.size).toBe(5);

    // Act: the receiver is back.
    receiver.answer = () => 204;
    emulator.clearRequests();
    const middle = receiver.deliveries.length;
    const second = await sweep(server, webhookSecret);
    // Assess: exactly the five, each with the webhook-id and the body bytes of its first attempt.
    const secondDeliveries = usageCollected(receiver.deliveries.slice(middle));
    expect(contractPart(second.json)).toEqual({
      objects: 5,
      records: expectedRecords([...refused].map((name) => contents.get(name) as UsageObjectContent)),
      delivered: 5,
      deleted: 5,
      skipped: 0,
      failed: 0,
      storage: storageCounts(receiver.deliveries.slice(middle)),
    });
    expect(secondDeliveries.map((d) => d.id).sort()).toEqual([...refused].sort());
    for (const delivery of secondDeliveries) expect(delivery.body).toBe(refusedBodies.get(delivery.id));
    expect(usageRequests(emulator).deletes.sort()).toEqual([...refused].sort());
    expect(emulator.state.usage.size).toBe(0);
    // Each object acknowledged exactly once, and the sum delivered is the sum in the source.
    const acks = usageCollected(receiver.acknowledged()).filter((d) => contents.has(d.id));
    expect(acks.map((d) => d.id).sort()).toEqual([...names].sort());
    expect(comparable(deliveredTotals(acks))).toEqual(comparable(sourceTotals(contents.values())));
  });

  it('leaves objects whose period (plus the grace) has not ended alone, and counts them as skipped', async () => {
    // Prepare: one object still being written, one ended 60 s ago (inside the 300 s grace), one
    // ended 400 s ago.
    const item = (n: number): UsageItemSeed => ({
      userId: people.alice.id,
      bucket: 'alice-photos',
      ops: { put: n, get: 2 * n },
      uploaded: 10 * n,
      downloaded: 20 * n,
    });
    const serviceId = 8_000_000_000_000_300n;
    const open = emulator.state.addUsageObject({
      serviceId,
      start: secondsAgo(600),
      period: 1800,
      items: [item(1)],
    });
    const inGrace = emulator.state.addUsageObject({
      serviceId: serviceId + 1n,
      start: secondsAgo(1800 + 60),
      period: 1800,
      items: [item(2)],
    });
    const closed = emulator.state.addUsageObject({
      serviceId: serviceId + 2n,
      start: secondsAgo(1800 + 400),
      period: 1800,
      items: [item(3)],
    });
    const start = receiver.deliveries.length;
    // Act
    const { status, json } = await sweep(server, webhookSecret);
    // Assess: the two open ones are neither read nor delivered nor deleted.
    expect(status).toBe(200);
    expect(contractPart(json)).toEqual({
      objects: 1,
      records: 1,
      delivered: 1,
      deleted: 1,
      skipped: 2,
      failed: 0,
      storage: storageCounts(receiver.deliveries.slice(start)),
    });
    expect(new Set(emulator.state.usage.keys())).toEqual(new Set([open, inGrace]));
    const requests = usageRequests(emulator);
    expect(requests.reads).toEqual([closed]);
    expect(requests.deletes).toEqual([closed]);
    const delivered = usageCollected(receiver.deliveries.slice(start));
    expect(delivered.map((d) => d.id)).toEqual([closed]);
    expect(recordsOf(delivered[0] as ReceivedDelivery)).toEqual([
      {
        userId: people.alice.id,
        email: people.alice.email,
        bucket: 'alice-photos',
        ops: { put: 3, get: 6, list: 0, other: 0 },
        bytes: { uploaded: 30, downloaded: 60 },
      },
    ]);

    // Act: a second sweep still leaves them.
    const middle = receiver.deliveries.length;
    const again = await sweep(server, webhookSecret);
    // Assess
    expect(contractPart(again.json)).toEqual({
      objects: 0,
      records: 0,
      delivered: 0,
      deleted: 0,
      skipped: 2,
      failed: 0,
      storage: storageCounts(receiver.deliveries.slice(middle)),
    });
    expect(emulator.state.usage.size).toBe(2);
  });

  it('sums the epochs of a (user, bucket) into one record, exactly, past 2^32 and 2^53', async () => {
    // Prepare: alice-photos under three epochs (the bucket deleted and recreated), bytes that pass
    // 2^32 once summed; bob-backup under two epochs whose downloads sum to 2^53 + 1.
    const { alice, bob } = people;
    const name = emulator.state.addUsageObject({
      serviceId: 8_000_000_000_000_400n,
      start: new Date(Date.now() - 3 * DAY_MS),
      period: 1800,
      namePeriod: 1800,
      items: [
        {
          userId: alice.id,
          bucket: 'alice-photos',
          epoch: 1,
          ops: { put: 1, get: 2, list: 3, other: 4 },
          uploaded: 3_000_000_000,
          downloaded: 4_000_000_000,
        },
        {
          userId: bob.id,
          bucket: 'bob-backup',
          epoch: 7,
          ops: { get: 1 },
          downloaded: 4_503_599_627_370_496n,
        },
        {
          userId: alice.id,
          bucket: 'alice-photos',
          epoch: 2,
          ops: { put: 10, get: 20, list: 30, other: 40 },
          uploaded: 3_000_000_000,
          downloaded: 4_000_000_000,
        },
        { userId: alice.id, bucket: 'alice-docs', epoch: 1, ops: { put: 5 }, uploaded: 500 },
        {
          userId: alice.id,
          bucket: 'alice-photos',
          epoch: 3,
          ops: { put: 100, get: 200, list: 300, other: 400 },
          uploaded: 3_000_000_000,
          downloaded: 4_000_000_000,
        },
        {
          userId: bob.id,
          bucket: 'bob-backup',
          epoch: 8,
          ops: { get: 2 },
          downloaded: 4_503_599_627_370_497n,
        },
      ],
    });
    const contents = contentsOf(emulator.state, [name]);
    const start = receiver.deliveries.length;
    // Act
    const { json } = await sweep(server, webhookSecret);
    // Assess: one record per (user, bucket), sorted by user then bucket.
    expect(contractPart(json)).toEqual({
      objects: 1,
      records: 3,
      delivered: 1,
      deleted: 1,
      skipped: 0,
      failed: 0,
      storage: storageCounts(receiver.deliveries.slice(start)),
    });
    const [delivery] = usageCollected(receiver.deliveries.slice(start));
    expect(delivery?.id).toBe(name);
    const alicePhotos: DeliveredRecord = {
      userId: alice.id,
      email: alice.email,
      bucket: 'alice-photos',
      ops: { put: 111, get: 222, list: 333, other: 444 },
      bytes: { uploaded: 9_000_000_000, downloaded: 12_000_000_000 },
    };
    const aliceDocs: DeliveredRecord = {
      userId: alice.id,
      email: alice.email,
      bucket: 'alice-docs',
      ops: { put: 5, get: 0, list: 0, other: 0 },
      bytes: { uploaded: 500, downloaded: 0 },
    };
    const bobBackup: DeliveredRecord = {
      userId: bob.id,
      email: bob.email,
      bucket: 'bob-backup',
      ops: { put: 0, get: 3, list: 0, other: 0 },
      bytes: { uploaded: 0, downloaded: 9_007_199_254_740_993n },
    };
    const expected =
      alice.id < bob.id ? [aliceDocs, alicePhotos, bobBackup] : [bobBackup, aliceDocs, alicePhotos];
    expect(recordsOf(delivery as ReceivedDelivery)).toEqual(expected);
    // The exact digits are on the wire (a JSON integer, not a rounded float or a string).
    expect(delivery?.body).toContain('"downloaded":9007199254740993}');
    expect(comparable(deliveredTotals([delivery as ReceivedDelivery]))).toEqual(
      comparable(sourceTotals(contents.values())),
    );
    expect(emulator.state.usage.size).toBe(0);
  });
});

describe('collect-usage on the local schedule of npm start', () => {
  let emulator: Emulator;
  let receiver: UsageReceiver;
  let server: RunningServer;
  const webhookSecret = generateWebhookSecret();
  const usageSecret = generateWebhookSecret();
  let systemSecret: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    const system = emulator.createSystemUser('system@billing.example');
    systemSecret = system.secretAccessKey;
    receiver = await startUsageReceiver(usageSecret);
    server = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      WEBHOOK_SECRET: webhookSecret,
      USAGE_WEBHOOK_URL: receiver.url,
      USAGE_WEBHOOK_SECRET: usageSecret,
      USAGE_SWEEP_INTERVAL_SECONDS: '1',
    });
  });

  afterAll(async () => {
    const output = server.output();
    await server.stop();
    await receiver.close();
    await emulator.close();
    expect(receiver.unauthorized).toBe(0);
    expectNoSecret(output, [webhookSecret, usageSecret, systemSecret]);
  });

  it('sweeps by itself every interval, and never delivers an object twice', { timeout: 60_000 }, async () => {
    // Prepare
    const people = populate(emulator);
    const names = emulator.state.seedUsageObjects({
      objects: 30,
      start: new Date(Date.now() - 10 * DAY_MS),
      population: people.buckets,
      seed: 3,
    });
    const contents = contentsOf(emulator.state, names);
    // Act: nothing but waiting.
    // Generous waits: on 2 shared cores under the full suite a 1 s tick can run late.
    await waitFor('the schedule to sweep every object', () => emulator.state.usage.size === 0, 25_000);
    // Counted by the handler's closing line ("event handled", written just after the sweep's own
    // "usage sweep finished"), so a sweep counts only once its line is out.
    const handledLines = () =>
      server
        .output()
        .split('\n')
        .filter((line) => line.includes('"message":"event handled"'));
    const sweepsSoFar = handledLines().length;
    await waitFor(
      'two more scheduled sweeps',
      () => handledLines().length >= Math.max(sweepsSoFar + 2, 3),
      15_000,
    );
    // Assess: announced; every sweep started by the schedule, none by a webhook; the receiver
    // always said 2xx, so no delivery may have failed on the sender's side either.
    const output = server.output();
    expect(output).toContain('sweep every 1 s');
    const handled = handledLines();
    expect(handled.length).toBeGreaterThanOrEqual(3);
    expect(handled.every((line) => line.includes('"source":"schedule"'))).toBe(true);
    expect(output).not.toContain('not delivered');
    // Each object acknowledged once.
    const collected = usageCollected(receiver.deliveries);
    expect(collected.map((d) => d.id).sort()).toEqual([...names].sort());
    expect(collected.every((d) => d.status === 204)).toBe(true);
    expect(comparable(deliveredTotals(collected))).toEqual(comparable(sourceTotals(contents.values())));
    // Storage once per user and hour, however many sweeps ran.
    const storageIds = usageStorage(receiver.deliveries).map((d) => d.id);
    expect(new Set(storageIds).size).toBe(storageIds.length);
    expect(storageIds.filter((id) => id.startsWith(`storage-${people.alice.id}-`)).length).toBeGreaterThan(0);
  });
});

describe('collect-usage over npm start without USAGE_WEBHOOK_URL', () => {
  let emulator: Emulator;
  let server: RunningServer;
  const webhookSecret = generateWebhookSecret();
  let systemSecret: string;

  beforeAll(async () => {
    emulator = await startEmulator();
    const system = emulator.createSystemUser('system@billing.example');
    systemSecret = system.secretAccessKey;
    server = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      WEBHOOK_SECRET: webhookSecret,
    });
  });

  afterAll(async () => {
    const output = server.output();
    await server.stop();
    await emulator.close();
    expectNoSecret(output, [webhookSecret, systemSecret]);
  });

  it('appends one line per message to DATA_DIR/usage.ndjson and prints a summary table', async () => {
    // Prepare: 40 closed objects and one open.
    const people = populate(emulator);
    const names = emulator.state.seedUsageObjects({
      objects: 40,
      start: new Date(Date.now() - 5 * DAY_MS),
      population: people.buckets,
      seed: 5,
    });
    emulator.state.addUsageObject({
      serviceId: 8_000_000_000_000_500n,
      start: secondsAgo(60),
      period: 1800,
      items: [{ userId: people.bob.id, bucket: 'bob-backup', ops: { put: 1 } }],
    });
    const contents = contentsOf(emulator.state, names);
    const source = sourceTotals(contents.values());
    const records = expectedRecords(contents.values());
    // Act
    const { status, json } = await sweep(server, webhookSecret);
    // Assess: the result and the file.
    expect(status).toBe(200);
    expect(contractPart(json)).toEqual({
      objects: 40,
      records,
      delivered: 40,
      deleted: 40,
      skipped: 1,
      failed: 0,
      storage: { delivered: 2, failed: 0 },
    });
    expect(emulator.state.usage.size).toBe(1);
    const file = join(server.dataDir, 'usage.ndjson');
    const text = readFileSync(file, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const lines = text
      .trimEnd()
      .split('\n')
      .map(
        (line) =>
          parseExactly(line) as {
            id: string;
            type: string;
            timestamp: string;
            data: Record<string, unknown>;
          },
      );
    const asDeliveries: ReceivedDelivery[] = lines.map((line) => ({
      id: line.id,
      body: '',
      message: { type: line.type, timestamp: line.timestamp, data: line.data },
      attempt: 1,
      status: 200,
    }));
    const collected = usageCollected(asDeliveries);
    expect(collected.map((d) => d.id).sort()).toEqual([...names].sort());
    expect(collected.every((d) => d.message.data.source === d.id)).toBe(true);
    expect(comparable(deliveredTotals(collected))).toEqual(comparable(source));
    const storage = usageStorage(asDeliveries);
    expect(storage.map((d) => d.id).sort()).toEqual(
      [people.alice.id, people.bob.id]
        .map((id) => `storage-${id}-${String(storage[0]?.message.data.hour)}`)
        .sort(),
    );
    expect(lines).toHaveLength(42);

    // Assess: the printed summary, its headline and one row per user with the same totals.
    const output = server.output();
    expect(output).toMatch(
      new RegExp(
        `usage sweep \\S+Z: 40 objects read, ${records} records, 40 delivered, 40 deleted, 1 skipped \\(period open\\), 0 failed; storage 2 delivered, 0 failed\\n`,
      ),
    );
    expect(output).toContain(`usage written to ${file}:`);
    const objectsOf = (userId: string) =>
      [...contents.values()].filter((c) => c.items.some((i) => i.key.user_id === userId)).length;
    for (const [userId, email] of [
      [people.alice.id, people.alice.email],
      [people.bob.id, people.bob.email],
      ['(anonymous)', '-'],
      ['f00dfeedf00dfeed', '-'],
    ] as const) {
      const t = source.get(userId === '(anonymous)' ? '' : userId);
      const cells = [
        userId,
        email,
        objectsOf(userId === '(anonymous)' ? '' : userId),
        t?.put,
        t?.get,
        t?.list,
        t?.other,
        t?.uploaded,
        t?.downloaded,
      ];
      expect(output).toMatch(new RegExp(`\\n {2}${cells.map((c) => escapeRegExp(String(c))).join(' +')}\\n`));
    }
    expect(output).toMatch(
      new RegExp(`\\n {2}${escapeRegExp(people.alice.id)} +${escapeRegExp(people.alice.email)} +2 +3548\\n`),
    );
    expect(output).toMatch(
      new RegExp(`\\n {2}${escapeRegExp(people.bob.id)} +${escapeRegExp(people.bob.email)} +1 +4096\\n`),
    );
  });
});

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

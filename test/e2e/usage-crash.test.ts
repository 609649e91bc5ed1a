// A crashed sweep does not block the next one (issue 10). `npm start` runs as a real child process
// in a process group of its own against the emulator in this process, with a backlog of statistics
// objects; the whole group is killed with SIGKILL in the middle of a sweep, `npm start` is started
// again on the same DATA_DIR, and its first sweep runs at once (the dead process's lease is taken
// over, not waited out) and drains the backlog — with the usual guarantees: nothing lost, nothing
// deleted before its 2xx, every resend byte-identical.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import type { ReceivedDelivery, UsageReceiver } from './usage-receiver.ts';
import { startUsageReceiver } from './usage-receiver.ts';
import { comparable, contentsOf, deliveredTotals, sourceTotals } from './usage-totals.ts';

const DAY_MS = 86_400_000;
const BACKLOG = 2_000;
/** Acknowledged deliveries after which the first sweep is killed: well inside it. */
const KILL_AFTER = 300;

interface SweepAnswer {
  status: number;
  json: Record<string, unknown>;
}

async function sweep(server: RunningServer, secret: string): Promise<SweepAnswer> {
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
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

async function waitFor(what: string, condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const collected = (deliveries: readonly ReceivedDelivery[]) =>
  deliveries.filter((d) => d.message.type === 'usage.collected');

describe('collect-usage after npm start was killed in the middle of a sweep', () => {
  let emulator: Emulator;
  let receiver: UsageReceiver;
  const servers: RunningServer[] = [];
  const dataDir = mkdtempSync(join(tmpdir(), 'vhi-crash-'));
  const webhookSecret = generateWebhookSecret();
  const usageSecret = generateWebhookSecret();
  let env: Record<string, string>;
  let systemSecret: string;
  /** When each webhook-id was first answered 2xx (this process's clock, as the emulator's log). */
  const acknowledgedAt = new Map<string, number>();

  beforeAll(async () => {
    emulator = await startEmulator();
    const system = emulator.createSystemUser('system@billing.example');
    systemSecret = system.secretAccessKey;
    receiver = await startUsageReceiver(usageSecret);
    receiver.answer = ({ id }) => {
      if (!acknowledgedAt.has(id)) acknowledgedAt.set(id, Date.now());
      return 204;
    };
    env = {
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      WEBHOOK_SECRET: webhookSecret,
      USAGE_WEBHOOK_URL: receiver.url,
      USAGE_WEBHOOK_SECRET: usageSecret,
      USAGE_SWEEP_INTERVAL_SECONDS: '0',
      DATA_DIR: dataDir,
    };
  });

  afterAll(async () => {
    for (const server of servers) await server.stop();
    await receiver.close();
    await emulator.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs the next sweep at once on restart and drains the backlog, losing and duplicating nothing', async () => {
    // Prepare: a backlog of closed statistics objects, and a gateway slow enough (10 ms a request)
    // that the first sweep is still running when it is killed.
    const { state } = emulator;
    const alice = state.createUser('alice@example.com');
    const bob = state.createUser('bob@example.com');
    state.createBucket(alice.id, 'alice-photos');
    state.createBucket(bob.id, 'bob-backup');
    const names = state.seedUsageObjects({
      objects: BACKLOG,
      itemsPerObject: 3,
      start: new Date(Date.now() - 60 * DAY_MS),
      population: [
        { userId: alice.id, bucket: 'alice-photos' },
        { userId: bob.id, bucket: 'bob-backup' },
      ],
      seed: 10,
    });
    const contents = contentsOf(state, names);
    emulator.behaviour.latencyMs = 10;
    const first = await startServer(env, 20_000, { processGroup: true });
    servers.push(first);

    // Act 1: a sweep starts, and the whole process group is killed in the middle of it.
    const interrupted = sweep(first, webhookSecret).catch((error: unknown) => error);
    await waitFor('the first sweep to be under way', () => acknowledgedAt.size >= KILL_AFTER, 60_000);
    await first.killGroup();
    await interrupted;
    const leftAtKill = state.usage.size;
    const deliveriesAtKill = receiver.deliveries.length;

    // Act 2: npm start again on the same DATA_DIR; its first sweep.
    const second = await startServer(env, 20_000, { processGroup: true });
    servers.push(second);
    const startedAt = Date.now();
    const next = await sweep(second, webhookSecret);
    const tookMs = Date.now() - startedAt;

    // Assess: killed in the middle, with work done and work left.
    expect(leftAtKill).toBeGreaterThan(0);
    expect(leftAtKill).toBeLessThan(BACKLOG);
    // The restarted server's first sweep ran (the dead process's lease did not hold it back for its
    // deadline plus 30 s), said so in its log, and swept the listing to its end.
    expect(next.status).toBe(200);
    expect(next.json).toMatchObject({ leaseHeld: false, complete: true, failed: 0, conflicts: 0 });
    expect(next.json).not.toHaveProperty('lease');
    expect(second.output()).toContain('took over the usage sweep lease of a sweep whose process is gone');
    expect(tookMs).toBeLessThan(60_000);
    // Nothing lost: the backlog is gone from the gateway, every object acknowledged, totals exact.
    expect(state.usage.size).toBe(0);
    const all = collected(receiver.deliveries);
    const acknowledged = all.filter((d) => d.status >= 200 && d.status < 300);
    expect(new Set(acknowledged.map((d) => d.id))).toEqual(new Set(names));
    expect(comparable(deliveredTotals(acknowledged))).toEqual(comparable(sourceTotals(contents.values())));
    // The second run delivered only what the first had not finished: an object delivered twice was
    // in flight at the kill (2xx sent, not yet recorded), at most one per concurrent slot.
    const afterRestart = collected(receiver.deliveries.slice(deliveriesAtKill));
    const repeated = new Set(afterRestart.filter((d) => d.attempt > 1).map((d) => d.id));
    expect(repeated.size).toBeLessThanOrEqual(32);
    // Every resend carries the bytes of the first attempt.
    const firstBody = new Map<string, string>();
    for (const delivery of all) {
      const body = firstBody.get(delivery.id);
      if (body === undefined) firstBody.set(delivery.id, delivery.body);
      else expect(delivery.body, `resend of ${delivery.id}`).toBe(body);
    }
    // Nothing deleted before its 2xx.
    const deletes = emulator.requests.filter(
      (r) => r.service === 'ostor-usage' && r.method === 'DELETE' && r.status !== null && r.status < 300,
    );
    expect(deletes.length).toBeGreaterThanOrEqual(BACKLOG);
    for (const request of deletes) {
      const name = request.params.find(([key]) => key === 'obj')?.[1] ?? '';
      const ackedAt = acknowledgedAt.get(name);
      expect(ackedAt, `${name} deleted without a 2xx`).toBeDefined();
      expect(request.receivedAt.getTime()).toBeGreaterThanOrEqual(ackedAt as number);
    }
    // No secret reached either server's output.
    for (const server of servers) {
      for (const secret of [webhookSecret, usageSecret, systemSecret]) {
        expect(server.output().includes(secret)).toBe(false);
        expect(server.output().includes(secret.replace(/^whsec_/, ''))).toBe(false);
      }
    }
  }, 120_000);
});

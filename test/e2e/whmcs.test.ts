// The WHMCS module end to end: its functions run under `php` as WHMCS would run them (a stand-in
// WHMCS database, the module copied into a WHMCS root) against `npm start`, with the gateway
// emulator in this process as the gateway; usage is swept by the project's real sender to
// usage.php served by `php -S` (the module's real verifier), and MetricProvider must report the
// emulator's counters exactly.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Emulator, UsageObjectContent } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';
import type { UsageServer } from './whmcs-stand-in.ts';
import { requireTool, WhmcsStandIn } from './whmcs-stand-in.ts';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;

interface ServiceRow {
  row: {
    id: number;
    username: string;
    password: string;
    diskusage: number;
    bwusage: number;
    disklimit: number;
  };
  customfields: Record<string, string>;
}
interface Metrics {
  metrics: { name: string; type: string }[];
  usage: Record<string, Record<string, number>>;
}
interface UsageTables {
  mod_vhis3_deliveries: { webhook_id: string; type: string }[];
  mod_vhis3_usage: unknown[];
}

/** Start of the calendar month (UTC) `ms` falls in, and the hours in that month. */
function monthOf(ms: number): { start: number; hours: number } {
  const date = new Date(ms);
  const start = Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
  const end = Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
  return { start, hours: (end - start) / HOUR_MS };
}

describe('the WHMCS module (vhis3) against npm start', () => {
  let emulator: Emulator;
  let standIn: WhmcsStandIn;
  let usage: UsageServer;
  let server: RunningServer;
  const webhookSecret = generateWebhookSecret();
  const usageSecret = generateWebhookSecret();
  const wrongSecret = generateWebhookSecret();
  /** Every secret key the gateway handed out for these services, to check none leaked. */
  const secretKeys = new Set<string>();
  const ids = {
    server: 0,
    wrongServer: 0,
    small: 0,
    large: 0,
    ada: 0,
    bob: 0,
    first: 0,
    second: 0,
    stranger: 0,
  };

  const call = async (fn: string, serviceId: number) =>
    (await standIn.run<unknown>({ op: 'call', function: fn, serviceId })).result;
  const service = async (serviceId: number) =>
    (await standIn.run<ServiceRow>({ op: 'service', serviceId })).result;
  const userOf = (email: string) => {
    const user = emulator.state.findUserByEmail(email);
    if (user === undefined) throw new Error(`no gateway user ${email}`);
    return user;
  };

  beforeAll(async () => {
    requireTool('php', ['-v']);
    emulator = await startEmulator();
    const system = emulator.createSystemUser('system@billing.example');
    secretKeys.add(system.secretAccessKey);
    standIn = await WhmcsStandIn.create();
    usage = await standIn.serveUsage();
    server = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      WEBHOOK_SECRET: webhookSecret,
      USAGE_WEBHOOK_URL: usage.url,
      USAGE_WEBHOOK_SECRET: usageSecret,
    });
    // The server records: Hostname = where npm start listens (plain http: loopback), Password =
    // its webhook secret, Access Hash = the usage secret. A second record holds a wrong secret.
    const hostname = new URL(server.url).host;
    const add = async (op: string, fields: Record<string, unknown>) =>
      (await standIn.run<number>({ op, ...fields })).result;
    ids.server = await add('addServer', {
      fields: { hostname, secure: '', password: webhookSecret, accesshash: usageSecret },
    });
    ids.wrongServer = await add('addServer', {
      fields: { hostname, secure: '', password: wrongSecret, accesshash: usageSecret },
    });
    ids.small = await add('addProduct', {
      options: { 1: '10', 3: '100', 4: '12.5', 7: '2048', 10: 'https://s3.example.com' },
    });
    ids.large = await add('addProduct', { options: { 1: '50', 2: '20' } });
    ids.ada = await add('addClient', { email: `ada.${randomUUID().slice(0, 6)}@example.com` });
    ids.bob = await add('addClient', { email: `bob.${randomUUID().slice(0, 6)}@example.com` });
    ids.first = await add('addService', { clientId: ids.ada, productId: ids.small, serverId: ids.server });
    ids.second = await add('addService', { clientId: ids.ada, productId: ids.small, serverId: ids.server });
    ids.stranger = await add('addService', {
      clientId: ids.bob,
      productId: ids.small,
      serverId: ids.wrongServer,
    });
  }, 60_000);

  afterAll(async () => {
    const output = server?.output() ?? '';
    await server?.stop();
    await usage?.stop();
    await emulator?.close();
    const log = standIn?.moduleLog() ?? '';
    standIn?.remove();
    // Assess (whole suite): no secret in what the module logged (masked, as WHMCS keeps it) or
    // in what npm start printed.
    for (const secret of [webhookSecret, usageSecret, wrongSecret, ...secretKeys]) {
      for (const form of [secret, secret.replace(/^whsec_/, '')]) {
        expect(log.includes(form), 'a secret reached the module log').toBe(false);
        expect(output.includes(form), 'a secret reached the server output').toBe(false);
      }
    }
    expect(log).toContain('webhook-signature: ********');
  });

  it('TestConnection succeeds against npm start and touches nothing', async () => {
    // Prepare
    emulator.clearRequests();
    const users = emulator.state.users.size;
    // Act
    const { result, log } = await standIn.run({
      op: 'server',
      function: 'TestConnection',
      serverId: ids.server,
    });
    // Assess: success; every route was probed and answered 400; the gateway saw nothing.
    expect(result).toEqual({ success: true, error: '' });
    expect(log.filter((e) => e.response.startsWith('HTTP 400'))).toHaveLength(5);
    expect(emulator.requests).toHaveLength(0);
    expect(emulator.state.users.size).toBe(users);
  });

  it('a wrong secret: TestConnection names the signature and CreateAccount says so, creating nothing', async () => {
    const users = emulator.state.users.size;
    const test = (
      await standIn.run<{ success: boolean; error: string }>({
        op: 'server',
        function: 'TestConnection',
        serverId: ids.wrongServer,
      })
    ).result;
    expect(test.success).toBe(false);
    expect(test.error).toContain("refused the module's signature");
    const created = await call('CreateAccount', ids.stranger);
    expect(created).toMatch(
      /^Create failed: the functions refused the module's signature .*server record's Password/,
    );
    expect(emulator.state.users.size).toBe(users);
  });

  it('CreateAccount makes the S3 user with the plan and keeps its e-mail and keys on the service', async () => {
    // Act
    const result = await call('CreateAccount', ids.first);
    // Assess
    expect(result).toBe('success');
    const { row, customfields } = await service(ids.first);
    expect(row.username).toMatch(new RegExp(`^ada\\.[0-9a-f]{6}\\+whmcs-${ids.first}@example\\.com$`));
    const user = userOf(row.username);
    expect(user.state).toBe('enabled');
    expect(user.keys.map((k) => k.accessKeyId)).toEqual([customfields['Access Key ID']]);
    expect(user.keys[0]?.secretAccessKey).toBe(row.password);
    secretKeys.add(row.password);
    expect(emulator.state.quotas.users.get(user.id)).toBe(10);
    expect(emulator.state.limitsOf({ userId: user.id })).toEqual({
      ops: { default: 0, get: 100, put: 12.5, list: 0, delete: 0 },
      bandwidth: { out: 2048 },
    });
  });

  it('two services of one client are two S3 users', async () => {
    expect(await call('CreateAccount', ids.second)).toBe('success');
    const first = (await service(ids.first)).row.username;
    const second = (await service(ids.second)).row;
    secretKeys.add(second.password);
    expect(second.username).not.toBe(first);
    expect(userOf(second.username).id).not.toBe(userOf(first).id);
  });

  it('Suspend and Unsuspend reach the gateway', async () => {
    const email = (await service(ids.first)).row.username;
    expect(await call('SuspendAccount', ids.first)).toBe('success');
    expect(userOf(email).state).toBe('disabled');
    expect(await call('UnsuspendAccount', ids.first)).toBe('success');
    expect(userOf(email).state).toBe('enabled');
  });

  it('ChangePackage applies the new product plan and keeps the keys', async () => {
    const before = await service(ids.first);
    await standIn.run({ op: 'setService', id: ids.first, fields: { packageid: ids.large } });
    expect(await call('ChangePackage', ids.first)).toBe('success');
    const user = userOf(before.row.username);
    expect(emulator.state.quotas.users.get(user.id)).toBe(50);
    expect(emulator.state.limitsOf({ userId: user.id })).toEqual({
      ops: { default: 20, get: 0, put: 0, list: 0, delete: 0 },
      bandwidth: { out: 0 },
    });
    const after = await service(ids.first);
    expect(after.customfields['Access Key ID']).toBe(before.customfields['Access Key ID']);
    expect(after.row.password).toBe(before.row.password);
  });

  it('Rotate key replaces the key pair on the gateway and in WHMCS', async () => {
    const before = await service(ids.first);
    expect(await call('rotateKey', ids.first)).toBe('success');
    const after = await service(ids.first);
    secretKeys.add(after.row.password);
    const newId = after.customfields['Access Key ID'] ?? '';
    expect(newId).not.toBe(before.customfields['Access Key ID']);
    const user = userOf(after.row.username);
    expect(user.keys.map((k) => k.accessKeyId)).toEqual([newId]);
    expect(emulator.state.resolveAccessKey(newId)?.key.secretAccessKey).toBe(after.row.password);
    expect(emulator.state.resolveAccessKey(before.customfields['Access Key ID'] ?? '')).toBeUndefined();
  });

  it('a sweep delivers usage to usage.php and MetricProvider reports the emulator counters per service', async () => {
    // Prepare: buckets with data for both services' users, statistics objects this month (and
    // one long ago, which month-to-date must leave out), an anonymous item.
    const first = userOf((await service(ids.first)).row.username);
    const second = userOf((await service(ids.second)).row.username);
    emulator.state.createBucket(first.id, `photos-${ids.first}`);
    emulator.state.createBucket(second.id, `backup-${ids.second}`);
    emulator.state.putObject(`photos-${ids.first}`, 'cat.jpg', 'c'.repeat(3000));
    emulator.state.putObject(`photos-${ids.first}`, 'dog.jpg', 'd'.repeat(1234));
    emulator.state.putObject(`backup-${ids.second}`, 'db.dump', 'b'.repeat(5000));
    const now = Date.now();
    const names = [
      emulator.state.addUsageObject({
        serviceId: 8_000_000_000_000_101n,
        start: new Date(Math.floor((now - 3 * HOUR_MS) / 1000) * 1000),
        period: 1800,
        items: [
          {
            userId: first.id,
            bucket: `photos-${ids.first}`,
            ops: { put: 3, get: 17, list: 2, other: 1 },
            uploaded: 4_000_123,
            downloaded: 987_654_321,
          },
          {
            userId: second.id,
            bucket: `backup-${ids.second}`,
            ops: { put: 9 },
            uploaded: 123_456_789_012,
            downloaded: 5,
          },
          { userId: '', bucket: `photos-${ids.first}`, ops: { get: 4 }, downloaded: 999 },
        ],
      }),
      emulator.state.addUsageObject({
        serviceId: 8_000_000_000_000_101n,
        start: new Date(Math.floor((now - 2 * HOUR_MS) / 1000) * 1000),
        period: 1800,
        items: [
          {
            userId: first.id,
            bucket: `photos-${ids.first}`,
            ops: { get: 1000 },
            downloaded: 2_000_000_000_001,
          },
          {
            userId: first.id,
            bucket: `photos-${ids.first}`,
            epoch: 2,
            ops: { get: 5, other: 4 },
            downloaded: 10,
          },
        ],
      }),
      emulator.state.addUsageObject({
        serviceId: 8_000_000_000_000_101n,
        start: new Date(Math.floor((now - 40 * DAY_MS) / 1000) * 1000),
        period: 1800,
        items: [{ userId: first.id, bucket: `photos-${ids.first}`, ops: { get: 77 }, downloaded: 77_777 }],
      }),
    ];
    const contents = names.map((name) => emulator.state.usage.get(name) as UsageObjectContent);
    // Act: a sweep, started as the billing system (or an operator) starts one.
    const id = `msg_${randomUUID()}`;
    const body = JSON.stringify({ type: 'collect-usage', timestamp: new Date().toISOString(), data: {} });
    const sent = new Date();
    const response = await fetch(`${server.url}/collect-usage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(sent.getTime() / 1000)),
        'webhook-signature': new Webhook(webhookSecret).sign(id, sent, body),
      },
      body,
    });
    const swept = (await response.json()) as Record<string, unknown>;
    const metrics = (await standIn.run<Metrics>({ op: 'metrics', serverId: ids.server })).result;
    // Assess: every object acknowledged by usage.php, storage for both users.
    expect(response.status).toBe(200);
    expect(swept).toMatchObject({
      objects: 3,
      delivered: 3,
      deleted: 3,
      failed: 0,
      storage: { delivered: 2, failed: 0 },
    });
    expect(emulator.state.usage.size).toBe(0);
    expect(metrics.metrics).toEqual([
      { name: 's3_downloaded_gb', type: 'month' },
      { name: 's3_uploaded_gb', type: 'month' },
      { name: 's3_requests', type: 'month' },
      { name: 's3_storage_gb', type: 'month' },
    ]);
    // Expected from the emulator's own content: this month's objects (periodStart), per user.
    const month = monthOf(Date.now());
    const expected = (userId: string, storedBytes: number) => {
      let downloaded = 0n;
      let uploaded = 0n;
      let requests = 0n;
      for (const content of contents) {
        if (content.start_ts * 1000 < month.start) continue;
        for (const item of content.items) {
          if (item.key.user_id !== userId) continue;
          downloaded += BigInt(item.counters.net_io.downloaded);
          uploaded += BigInt(item.counters.net_io.uploaded);
          const { put, get, list, other } = item.counters.ops;
          requests += BigInt(put + get + list + other);
        }
      }
      return {
        s3_downloaded_gb: Number(downloaded) / 1e9,
        s3_uploaded_gb: Number(uploaded) / 1e9,
        s3_requests: Number(requests),
        s3_storage_gb: storedBytes / 1e9 / month.hours,
      };
    };
    const firstEmail = (await service(ids.first)).row.username;
    const secondEmail = (await service(ids.second)).row.username;
    expect(Object.keys(metrics.usage).sort()).toEqual([firstEmail, secondEmail].sort());
    expect(metrics.usage[firstEmail]).toEqual(expected(first.id, 3000 + 1234));
    expect(metrics.usage[secondEmail]).toEqual(expected(second.id, 5000));
    // The old object was delivered and stored, but is not this month's.
    expect(metrics.usage[firstEmail]?.s3_requests).toBe(3 + 17 + 2 + 1 + 1000 + 5 + 4);

    // UsageUpdate, for classic overage billing: MB of 10^6 bytes.
    expect((await standIn.run({ op: 'server', function: 'UsageUpdate', serverId: ids.server })).result).toBe(
      'success',
    );
    const updated = (await service(ids.first)).row;
    expect(updated.diskusage).toBe(Math.round((3000 + 1234) / 1e6));
    expect(updated.bwusage).toBe(Math.round(Number(expected(first.id, 0).s3_downloaded_gb * 1e9) / 1e6));
    expect(updated.disklimit).toBe(50_000);
  });

  it('a redelivery to usage.php changes nothing; a bad signature or body is refused', async () => {
    // Prepare: what is stored, and one stored delivery's id.
    const tables = async () => (await standIn.run<UsageTables>({ op: 'usageTables' })).result;
    const metrics = async () =>
      (await standIn.run<Metrics>({ op: 'metrics', serverId: ids.server })).result.usage;
    const before = await tables();
    const metricsBefore = await metrics();
    const stored = before.mod_vhis3_deliveries.find((d) => d.type === 'usage.collected');
    expect(stored).toBeDefined();
    const first = userOf((await service(ids.first)).row.username);
    const body = JSON.stringify({
      type: 'usage.collected',
      timestamp: new Date().toISOString(),
      data: {
        source: stored?.webhook_id,
        periodStart: new Date(Date.now() - HOUR_MS).toISOString(),
        periodSeconds: 1800,
        records: [
          {
            userId: first.id,
            email: first.email,
            bucket: 'x',
            ops: { put: 1, get: 1, list: 1, other: 1 },
            bytes: { uploaded: 1, downloaded: 1 },
          },
        ],
      },
    });
    const post = (payload: string, secret: string, webhookId = stored?.webhook_id ?? '') => {
      const at = new Date();
      return fetch(usage.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': webhookId,
          'webhook-timestamp': String(Math.floor(at.getTime() / 1000)),
          'webhook-signature': new Webhook(secret).sign(webhookId, at, payload),
        },
        body: payload,
      });
    };
    // Act
    const redelivered = await post(body, usageSecret);
    const badSignature = await post(body, wrongSecret, `fresh-${randomUUID()}`);
    const malformed = await post('{"type":"usage.collected"}', usageSecret, `fresh-${randomUUID()}`);
    // A second sweep: nothing left to deliver, and storage goes once per user and hour.
    const id = `msg_${randomUUID()}`;
    const sweepBody = JSON.stringify({
      type: 'collect-usage',
      timestamp: new Date().toISOString(),
      data: {},
    });
    const sent = new Date();
    const sweep = await fetch(`${server.url}/collect-usage`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(Math.floor(sent.getTime() / 1000)),
        'webhook-signature': new Webhook(webhookSecret).sign(id, sent, sweepBody),
      },
      body: sweepBody,
    });
    // Assess
    expect(redelivered.status).toBe(200);
    expect(await redelivered.json()).toEqual({ webhookId: stored?.webhook_id, stored: false });
    expect(badSignature.status).toBe(401);
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { message: string } }).error.message).toMatch(
      /^timestamp: /,
    );
    expect(sweep.status).toBe(200);
    expect(await tables()).toEqual(before);
    expect(await metrics()).toEqual(metricsBefore);
  });

  it('Terminate refuses while a bucket holds data, then deletes everything when the product says so', async () => {
    const email = (await service(ids.second)).row.username;
    const refused = await call('TerminateAccount', ids.second);
    expect(refused).toMatch(
      new RegExp(
        `^Terminate failed: the S3 user's buckets still hold data: backup-${ids.second}\\. Nothing was deleted\\.`,
      ),
    );
    expect(emulator.state.findUserByEmail(email)).toBeDefined();
    expect((await service(ids.second)).row.password).not.toBe('');
    await standIn.run({ op: 'setProductOptions', id: ids.small, options: { 9: 'delete' } });
    expect(await call('TerminateAccount', ids.second)).toBe('success');
    expect(emulator.state.findUserByEmail(email)).toBeUndefined();
    expect(emulator.state.buckets.has(`backup-${ids.second}`)).toBe(false);
    const after = await service(ids.second);
    expect(after.row.username).toBe(email);
    expect([after.row.password, after.customfields['Access Key ID']]).toEqual(['', '']);
    // The other service of the same client is untouched.
    expect(userOf((await service(ids.first)).row.username).state).toBe('enabled');
  });
});

// The five lifecycle events end to end: `npm start` runs as a child process against an emulator
// in this process (so its state can be checked after every event), and webhooks are signed by the
// reference `standardwebhooks` package, as a billing system would sign them.
import { randomUUID } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';
import type { RunningServer } from './local-server.ts';
import { startServer } from './local-server.ts';

interface Delivery {
  readonly id?: string;
  /** The envelope's `timestamp` (when billing decided). */
  readonly decidedAt?: string;
  /** When the webhook was signed (webhook-timestamp). */
  readonly signedAt?: Date;
  readonly body?: string;
  readonly sign?: boolean;
  readonly secret?: string;
}

describe.each([2, 4] as const)('lifecycle over npm start, Signature V%i', (signatureVersion) => {
  let emulator: Emulator;
  let server: RunningServer;
  const webhookSecret = generateWebhookSecret();
  const handedOut: string[] = [];
  let system: { accessKeyId: string; secretAccessKey: string };

  beforeAll(async () => {
    emulator = await startEmulator();
    system = emulator.createSystemUser('system@billing.example');
    server = await startServer({
      OSTOR_GATEWAY_URL: emulator.url,
      OSTOR_ACCESS_KEY_ID: system.accessKeyId,
      OSTOR_SECRET_ACCESS_KEY: system.secretAccessKey,
      OSTOR_SIGNATURE_VERSION: String(signatureVersion),
      OSTOR_TIMEOUT_MS: '400',
      WEBHOOK_SECRET: webhookSecret,
    });
  });

  afterAll(async () => {
    const output = server.output();
    await server.stop();
    await emulator.close();
    // Assess (whole suite): no secret ever reached the server's output.
    for (const secret of [webhookSecret, system.secretAccessKey, ...handedOut]) {
      expect(output.includes(secret), 'a secret appeared in the server output').toBe(false);
    }
  });

  beforeEach(() => {
    emulator.faults.clear();
  });

  async function send(type: string, data: unknown, delivery: Delivery = {}) {
    const id = delivery.id ?? `msg_${randomUUID()}`;
    const body =
      delivery.body ??
      JSON.stringify({ type, timestamp: delivery.decidedAt ?? new Date().toISOString(), data });
    const signedAt = delivery.signedAt ?? new Date();
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (delivery.sign !== false) {
      headers['webhook-id'] = id;
      headers['webhook-timestamp'] = String(Math.floor(signedAt.getTime() / 1000));
      headers['webhook-signature'] = new Webhook(delivery.secret ?? webhookSecret).sign(id, signedAt, body);
    }
    const response = await fetch(`${server.url}/${type}`, { method: 'POST', headers, body });
    const json = (await response.json()) as Record<string, unknown> & {
      error?: { code: string; message: string; reason?: string };
    };
    for (const key of (json.accessKeys as { secretAccessKey: string }[] | undefined) ?? []) {
      handedOut.push(key.secretAccessKey);
    }
    if (typeof json.secretAccessKey === 'string') handedOut.push(json.secretAccessKey);
    return { status: response.status, json, id, body };
  }

  const unique = (name: string) => `${name}.${randomUUID().slice(0, 8)}@example.com`;
  const usersWith = (email: string) => emulator.state.usersWithEmail(email);

  describe('provision', () => {
    it('creates a user, answers its key pair, and applies the plan', async () => {
      // Prepare
      const email = unique('new');
      // Act
      const { status, json } = await send('provision', {
        email,
        plan: { quotaGb: 10, limits: { ops: { get: 100.5, put: 20 }, bandwidth: { out: 2048 } } },
      });
      // Assess
      expect(status).toBe(200);
      const [user] = usersWith(email);
      expect(user).toBeDefined();
      expect(json).toEqual({
        userId: user?.id,
        email,
        created: true,
        accessKeys: user?.keys.map((k) => ({
          accessKeyId: k.accessKeyId,
          secretAccessKey: k.secretAccessKey,
        })),
      });
      expect(emulator.state.quotas.users.get(user?.id ?? '')).toBe(10);
      const limits = emulator.state.limits.users.get(user?.id ?? '');
      expect(limits?.ops).toMatchObject({ get: 100.5, put: 20, default: 0 });
      expect(limits?.bandwidth.out).toBe(2048);
    });

    it('answers a redelivery from memory with one side effect, and refuses the same id with another body', async () => {
      // Prepare
      const email = unique('replay');
      emulator.clearRequests();
      const first = await send('provision', { email });
      const creates = emulator.requests.filter(
        (r) => r.method === 'PUT' && r.service === 'ostor-users',
      ).length;
      emulator.clearRequests();
      // Act
      const again = await send('provision', { email }, { id: first.id, body: first.body });
      const tampered = await send('provision', { email, plan: { quotaGb: 1 } }, { id: first.id });
      // Assess
      expect(creates).toBe(1);
      expect(again.status).toBe(200);
      expect(again.json).toEqual(first.json);
      expect(emulator.requests).toHaveLength(0);
      expect(tampered.status).toBe(409);
      expect(tampered.json.error?.code).toBe('conflict');
      expect(usersWith(email)).toHaveLength(1);
    });

    it('converges when repeated with a new id: the existing user is adopted', async () => {
      // Prepare
      const email = unique('repeat');
      const first = await send('provision', { email });
      // Act
      const second = await send('provision', { email });
      // Assess
      expect(second.status).toBe(200);
      expect(second.json.created).toBe(false);
      expect(second.json.userId).toBe(first.json.userId);
      expect(usersWith(email)).toHaveLength(1);
    });

    it('adopts a user created outside the billing system', async () => {
      // Prepare
      const email = unique('manual');
      const manual = emulator.state.createUser(email);
      // Act
      const { status, json } = await send('provision', { email, plan: { quotaGb: 3 } });
      // Assess
      expect(status).toBe(200);
      expect(json).toMatchObject({ userId: manual.id, created: false });
      expect(emulator.state.quotas.users.get(manual.id)).toBe(3);
    });

    it('changes a plan: absent keeps, null removes, a null limit becomes 0', async () => {
      // Prepare
      const email = unique('plan');
      await send('provision', {
        email,
        plan: { quotaGb: 10, limits: { ops: { get: 5, put: 7 }, bandwidth: { out: 100 } } },
      });
      const [user] = usersWith(email);
      // Act
      const changed = await send('provision', { email, plan: { limits: { ops: { get: null } } } });
      // Assess
      expect(changed.status).toBe(200);
      expect(emulator.state.quotas.users.get(user?.id ?? '')).toBe(10);
      expect(emulator.state.limits.users.get(user?.id ?? '')?.ops).toMatchObject({ get: 0, put: 7 });
      // Act
      const removed = await send('provision', { email, plan: { quotaGb: null, limits: null } });
      // Assess
      expect(removed.status).toBe(200);
      expect(emulator.state.quotas.users.has(user?.id ?? '')).toBe(false);
      const limits = emulator.state.limits.users.get(user?.id ?? '');
      expect(limits === undefined || (limits.ops.put === 0 && limits.bandwidth.out === 0)).toBe(true);
    });

    it('recovers from one gateway 5xx with a single user created', async () => {
      // Prepare
      const email = unique('flaky');
      emulator.faults.inject({
        match: { method: 'GET', service: 'ostor-users' },
        fault: { kind: 'status', status: 503 },
      });
      // Act
      const { status, json } = await send('provision', { email });
      // Assess
      expect(status).toBe(200);
      expect(json.created).toBe(true);
      expect(usersWith(email)).toHaveLength(1);
    });

    it('answers a persistent gateway failure with 502 and a code, and the retry after it succeeds', async () => {
      // Prepare
      const email = unique('down');
      emulator.faults.inject({
        match: { service: 'ostor-users' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'status', status: 500, message: 'internal error' },
      });
      // Act
      const failed = await send('provision', { email });
      emulator.faults.clear();
      const retried = await send('provision', { email }, { id: failed.id, body: failed.body });
      // Assess
      expect(failed.status).toBe(502);
      expect(failed.json.error?.code).toBe('gateway_unavailable');
      expect(retried.status).toBe(200);
      expect(usersWith(email)).toHaveLength(1);
    });

    it('answers an unreachable gateway with 503 and a hanging one with 504', async () => {
      // Prepare
      emulator.faults.inject({
        match: { service: 'ostor-users' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'reset' },
      });
      // Act
      const reset = await send('provision', { email: unique('reset') });
      emulator.faults.clear();
      emulator.faults.inject({
        match: { service: 'ostor-users' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'hang' },
      });
      const hung = await send('provision', { email: unique('hang') });
      emulator.faults.clear();
      // Assess
      expect(reset.status).toBe(503);
      expect(reset.json.error?.code).toBe('gateway_unavailable');
      expect(hung.status).toBe(504);
      expect(hung.json.error?.code).toBe('gateway_timeout');
    });

    it('never creates a second user when the create answer is lost: it finds and answers it', async () => {
      // Prepare
      const email = unique('lost');
      emulator.faults.inject({
        match: { method: 'PUT', service: 'ostor-users' },
        fault: { kind: 'status', status: 500, afterApply: true },
      });
      // Act
      const first = await send('provision', { email });
      const again = await send('provision', { email });
      // Assess
      const users = usersWith(email);
      expect(users).toHaveLength(1);
      expect(first.status).toBe(200);
      expect(first.json).toMatchObject({ userId: users[0]?.id, created: true });
      expect(again.json).toMatchObject({ userId: users[0]?.id, created: false });
    });
  });

  describe('refused deliveries change nothing', () => {
    it.each([
      ['a bad signature', { secret: generateWebhookSecret() }, 401, 'unauthorized'],
      ['a stale timestamp', { signedAt: new Date(Date.now() - 6 * 60_000) }, 401, 'unauthorized'],
      ['a timestamp from the future', { signedAt: new Date(Date.now() + 6 * 60_000) }, 401, 'unauthorized'],
      ['no signature', { sign: false }, 401, 'unauthorized'],
      ['malformed JSON', { body: '{"type":"provision",' }, 400, 'invalid_input'],
    ] as const)('%s', async (_name, delivery, status, code) => {
      // Prepare
      emulator.clearRequests();
      // Act
      const response = await send('provision', { email: unique('refused') }, delivery);
      // Assess
      expect(response.status).toBe(status);
      expect(response.json.error?.code).toBe(code);
      expect(emulator.requests).toHaveLength(0);
    });

    it.each([
      [
        'type mismatch',
        { type: 'suspend', timestamp: '2026-11-26T12:00:00Z', data: { email: 'a@b.co' } },
        'type',
      ],
      ['no timestamp', { type: 'provision', data: { email: 'a@b.co' } }, 'timestamp'],
      [
        'bad timestamp',
        { type: 'provision', timestamp: 'yesterday', data: { email: 'a@b.co' } },
        'timestamp',
      ],
      ['no email', { type: 'provision', timestamp: '2026-11-26T12:00:00Z', data: {} }, 'data.email'],
      [
        'quota not whole',
        {
          type: 'provision',
          timestamp: '2026-11-26T12:00:00Z',
          data: { email: 'a@b.co', plan: { quotaGb: 1.5 } },
        },
        'data.plan.quotaGb',
      ],
      [
        'negative limit',
        {
          type: 'provision',
          timestamp: '2026-11-26T12:00:00Z',
          data: { email: 'a@b.co', plan: { limits: { ops: { get: -1 } } } },
        },
        'data.plan.limits.ops.get',
      ],
      [
        'unknown field',
        { type: 'provision', timestamp: '2026-11-26T12:00:00Z', data: { email: 'a@b.co', quota: 5 } },
        'data.quota',
      ],
    ])('%s is a 400 naming %s', async (_name, envelope, field) => {
      // Prepare
      emulator.clearRequests();
      // Act
      const response = await send('provision', undefined, { body: JSON.stringify(envelope) });
      // Assess
      expect(response.status).toBe(400);
      expect(response.json.error?.code).toBe('invalid_input');
      expect(response.json.error?.message.startsWith(`${field}:`)).toBe(true);
      expect(emulator.requests).toHaveLength(0);
    });

    it.each([
      'x@y.com&disable',
      'a@b.com?ostor-users',
      'a=b@example.com#frag',
      'a@example.com\r\nx-amz-date: 1',
      'a b@example.com',
      'a@ex%41mple.com',
      'alice＠example.com',
      'alice@exаmple.com',
      `${'a'.repeat(10_000)}@example.com`,
    ])('injection email %j is refused before the gateway', async (email) => {
      // Prepare
      emulator.clearRequests();
      const before = emulator.state.users.size;
      // Act
      const response = await send('provision', { email });
      // Assess
      expect(response.status).toBe(400);
      expect(response.json.error?.message.startsWith('data.email:')).toBe(true);
      expect(emulator.requests).toHaveLength(0);
      expect(emulator.state.users.size).toBe(before);
    });

    it('an email with + and = arrives as exactly one parameter equal to it', async () => {
      // Prepare
      const email = `a+b=c.${randomUUID().slice(0, 6)}@example.com`;
      emulator.clearRequests();
      // Act
      const response = await send('provision', { email });
      // Assess
      expect(response.status).toBe(200);
      const lookups = emulator.requests.map((r) => r.params.filter(([name]) => name === 'emailAddress'));
      for (const params of lookups.filter((p) => p.length > 0))
        expect(params).toEqual([['emailAddress', email]]);
      expect(usersWith(email)).toHaveLength(1);
    });
  });

  describe('suspend and resume', () => {
    it('disables and enables, idempotently, and 404s an unknown user', async () => {
      // Prepare
      const email = unique('state');
      await send('provision', { email });
      const [user] = usersWith(email);
      // Act
      const suspended = await send('suspend', { email });
      const again = await send('suspend', { email });
      // Assess
      expect(suspended.json).toEqual({ userId: user?.id, email, state: 'disabled' });
      expect(again.status).toBe(200);
      expect(user?.state).toBe('disabled');
      // Act
      const resumed = await send('resume', { email });
      const unknown = await send('resume', { email: unique('ghost') });
      // Assess
      expect(resumed.json.state).toBe('enabled');
      expect(user?.state).toBe('enabled');
      expect(unknown.status).toBe(404);
      expect(unknown.json.error?.code).toBe('not_found');
    });

    it('skips an event older than the last one applied; an equal time applies', async () => {
      // Prepare
      const email = unique('order');
      await send('provision', { email });
      const [user] = usersWith(email);
      // Act: the resume decided at 12:05 arrives before the suspend decided at 12:00.
      const resume = await send('resume', { email }, { decidedAt: '2026-11-26T12:05:00Z' });
      const lateSuspend = await send('suspend', { email }, { decidedAt: '2026-11-26T12:00:00Z' });
      // Assess
      expect(resume.json.state).toBe('enabled');
      expect(lateSuspend.status).toBe(200);
      expect(lateSuspend.json).toEqual({ userId: user?.id, email, state: 'enabled', skipped: true });
      expect(user?.state).toBe('enabled');
      // Act
      const sameTime = await send('suspend', { email }, { decidedAt: '2026-11-26T12:05:00Z' });
      // Assess
      expect(sameTime.json.state).toBe('disabled');
      expect(user?.state).toBe('disabled');
    });
  });

  describe('rotate-key', () => {
    it('from one key: answers a new pair and revokes the old one', async () => {
      // Prepare
      const email = unique('rot1');
      const provisioned = await send('provision', { email });
      const old = (provisioned.json.accessKeys as { accessKeyId: string }[])[0]?.accessKeyId;
      // Act
      const { status, json } = await send('rotate-key', { email });
      // Assess
      expect(status).toBe(200);
      const [user] = usersWith(email);
      expect(user?.keys.map((k) => k.accessKeyId)).toEqual([json.accessKeyId]);
      expect(user?.keys[0]?.secretAccessKey).toBe(json.secretAccessKey);
      expect(json.revokedAccessKeyIds).toEqual([old]);
    });

    it('from two keys: revokes the older first, then the other', async () => {
      // Prepare
      const email = unique('rot2');
      await send('provision', { email });
      const [user] = usersWith(email);
      emulator.state.generateKey(user?.id ?? '');
      const [older, newer] = user?.keys.map((k) => k.accessKeyId) ?? [];
      // Act
      const { json } = await send('rotate-key', { email });
      // Assess
      expect(json.revokedAccessKeyIds).toEqual([older, newer]);
      expect(user?.keys.map((k) => k.accessKeyId)).toEqual([json.accessKeyId]);
    });

    it('keepPrevious keeps the newest previous pair', async () => {
      // Prepare
      const email = unique('keep');
      await send('provision', { email });
      const [user] = usersWith(email);
      emulator.state.generateKey(user?.id ?? '');
      const [older, newer] = user?.keys.map((k) => k.accessKeyId) ?? [];
      // Act
      const { json } = await send('rotate-key', { email, keepPrevious: true });
      // Assess
      expect(json.revokedAccessKeyIds).toEqual([older]);
      expect(user?.keys.map((k) => k.accessKeyId)).toEqual([newer, json.accessKeyId]);
    });

    it('rotates again on every new id, and a redelivery answers the same pair', async () => {
      // Prepare
      const email = unique('rotid');
      await send('provision', { email });
      const first = await send('rotate-key', { email });
      // Act
      const replay = await send('rotate-key', { email }, { id: first.id, body: first.body });
      const next = await send('rotate-key', { email });
      // Assess
      expect(replay.json).toEqual(first.json);
      expect(next.json.accessKeyId).not.toBe(first.json.accessKeyId);
      expect(usersWith(email)[0]?.keys.map((k) => k.accessKeyId)).toEqual([next.json.accessKeyId]);
    });
  });

  describe('terminate', () => {
    it('refuses while a bucket holds objects, then deletes once emptied, then answers absent', async () => {
      // Prepare
      const email = unique('term');
      await send('provision', { email });
      const [user] = usersWith(email);
      const id = user?.id ?? '';
      const full = `full-${randomUUID().slice(0, 8)}`;
      const empty = `empty-${randomUUID().slice(0, 8)}`;
      emulator.state.createBucket(id, full);
      emulator.state.createBucket(id, empty);
      emulator.state.putObject(full, 'zero-bytes', new Uint8Array());
      // Act
      const refused = await send('terminate', { email });
      // Assess: 409 naming the bucket, and nothing deleted.
      expect(refused.status).toBe(409);
      expect(refused.json.error?.message).toContain(full);
      expect(refused.json.error?.message).not.toContain(empty);
      expect(emulator.state.buckets.has(full)).toBe(true);
      expect(emulator.state.buckets.has(empty)).toBe(true);
      expect(emulator.state.users.has(id)).toBe(true);
      // Act
      emulator.state.deleteObject(full, 'zero-bytes');
      const done = await send('terminate', { email });
      const absent = await send('terminate', { email });
      // Assess
      expect(done.json).toEqual({
        email,
        userId: id,
        state: 'deleted',
        deletedBuckets: expect.arrayContaining([full, empty]),
      });
      expect(emulator.state.users.has(id)).toBe(false);
      expect(emulator.state.buckets.has(full)).toBe(false);
      expect(absent.json).toEqual({ email, userId: null, state: 'absent', deletedBuckets: [] });
    });

    it('purge empties every bucket over plain S3 (more than one DeleteObjects batch), then deletes all', async () => {
      // Prepare
      const email = unique('purge');
      await send('provision', { email });
      const [user] = usersWith(email);
      const id = user?.id ?? '';
      emulator.state.createAccount(id, 'project');
      const bucket = `purge-${randomUUID().slice(0, 8)}`;
      emulator.state.createBucket(id, bucket);
      for (let i = 0; i < 1_234; i++)
        emulator.state.putObject(bucket, `dir/obj-${i}`, new Uint8Array([i % 256]));
      // Act
      const { status, json } = await send('terminate', { email, purge: true });
      // Assess
      expect(status).toBe(200);
      expect(json).toEqual({ email, userId: id, state: 'deleted', deletedBuckets: [bucket] });
      expect(emulator.state.buckets.has(bucket)).toBe(false);
      expect(emulator.state.users.has(id)).toBe(false);
      const batches = emulator.requests.filter((r) => r.method === 'POST' && r.path === `/${bucket}`);
      expect(batches.length).toBeGreaterThanOrEqual(2);
      // The customer was locked out before the first object was deleted.
      const disabledAt = emulator.requests.findIndex((r) => r.params.some(([name]) => name === 'disable'));
      const firstBatch = emulator.requests.findIndex((r) => r.method === 'POST' && r.path === `/${bucket}`);
      expect(disabledAt).toBeGreaterThanOrEqual(0);
      expect(disabledAt).toBeLessThan(firstBatch);
    });

    it('refuses a versioned bucket holding only noncurrent versions and delete markers, and one with an unfinished upload', async () => {
      // Prepare
      const email = unique('term-versions');
      await send('provision', { email });
      const [user] = usersWith(email);
      const id = user?.id ?? '';
      const versioned = `versioned-${randomUUID().slice(0, 8)}`;
      const uploading = `uploading-${randomUUID().slice(0, 8)}`;
      const empty = `empty-${randomUUID().slice(0, 8)}`;
      for (const name of [versioned, uploading, empty]) emulator.state.createBucket(id, name);
      emulator.state.setVersioning(versioned, 'Enabled');
      emulator.state.putObject(versioned, 'report.pdf', 'v1');
      emulator.state.putObject(versioned, 'report.pdf', 'v2');
      emulator.state.deleteObject(versioned, 'report.pdf');
      emulator.state.createMultipartUpload(uploading, 'backup.tar');

      // Act
      const refused = await send('terminate', { email });

      // Assess: 409 naming both, nothing deleted (ListObjectsV2 alone finds both empty).
      expect(refused.status).toBe(409);
      expect(refused.json.error?.message).toContain(versioned);
      expect(refused.json.error?.message).toContain(uploading);
      expect(refused.json.error?.message).not.toContain(empty);
      for (const name of [versioned, uploading, empty]) expect(emulator.state.buckets.has(name)).toBe(true);
      expect(emulator.state.buckets.get(versioned)?.versions.get('report.pdf')).toHaveLength(3);
      expect(emulator.state.buckets.get(uploading)?.uploads.size).toBe(1);
      expect(emulator.state.users.get(id)?.state).toBe('enabled');
    });

    it('purge deletes every version, delete marker and unfinished upload (more than one batch), then everything', async () => {
      // Prepare
      const email = unique('purge-versions');
      await send('provision', { email });
      const [user] = usersWith(email);
      const id = user?.id ?? '';
      const versioned = `versioned-${randomUUID().slice(0, 8)}`;
      const plain = `plain-${randomUUID().slice(0, 8)}`;
      emulator.state.createBucket(id, versioned);
      emulator.state.createBucket(id, plain);
      emulator.state.setVersioning(versioned, 'Enabled');
      for (let i = 0; i < 700; i++) {
        emulator.state.putObject(versioned, `obj-${i}`, 'first');
        emulator.state.putObject(versioned, `obj-${i}`, 'second');
        if (i % 2 === 0) emulator.state.deleteObject(versioned, `obj-${i}`);
      }
      emulator.state.setVersioning(versioned, 'Suspended');
      emulator.state.putObject(versioned, 'null-version', 'n');
      emulator.state.putObject(plain, 'zero', new Uint8Array());
      for (let i = 0; i < 3; i++) emulator.state.createMultipartUpload(versioned, `upload-${i}`);
      emulator.state.createMultipartUpload(plain, 'upload');
      const mark = emulator.requests.length;

      // Act
      const { status, json } = await send('terminate', { email, purge: true });

      // Assess
      expect(status).toBe(200);
      expect(json).toEqual({
        email,
        userId: id,
        state: 'deleted',
        deletedBuckets: expect.arrayContaining([versioned, plain]),
      });
      expect(emulator.state.buckets.has(versioned)).toBe(false);
      expect(emulator.state.buckets.has(plain)).toBe(false);
      expect(emulator.state.users.has(id)).toBe(false);
      const requests = emulator.requests.slice(mark);
      const batches = requests.filter((r) => r.method === 'POST' && r.path === `/${versioned}`);
      expect(batches.length).toBeGreaterThanOrEqual(3);
      const aborts = requests.filter(
        (r) => r.method === 'DELETE' && r.params.some(([n]) => n === 'uploadId'),
      );
      expect(aborts).toHaveLength(4);
      const disabledAt = requests.findIndex((r) => r.params.some(([name]) => name === 'disable'));
      const firstBatch = requests.findIndex((r) => r.method === 'POST' && r.path === `/${versioned}`);
      expect(disabledAt).toBeGreaterThanOrEqual(0);
      expect(disabledAt).toBeLessThan(firstBatch);
    });

    it('purge resumes after a crash half-way: the next delivery finds less and finishes', async () => {
      // Prepare
      const email = unique('purge-resume');
      await send('provision', { email });
      const [user] = usersWith(email);
      const id = user?.id ?? '';
      const bucket = `resume-${randomUUID().slice(0, 8)}`;
      emulator.state.createBucket(id, bucket);
      emulator.state.setVersioning(bucket, 'Enabled');
      for (let i = 0; i < 1_200; i++) emulator.state.putObject(bucket, `k-${i}`, 'x');
      emulator.state.createMultipartUpload(bucket, 'upload');
      // The upload's abort fails for good: the first delivery stops after the objects and versions are gone.
      emulator.faults.inject({
        match: { method: 'DELETE', param: 'uploadId' },
        fault: { kind: 'status', status: 409, message: 'Injected conflict' },
      });

      // Act
      const failed = await send('terminate', { email, purge: true });
      const afterFailure = emulator.state.buckets.get(bucket);
      const left = { versions: afterFailure?.versions.size, uploads: afterFailure?.uploads.size };
      const done = await send('terminate', { email, purge: true });

      // Assess
      expect(failed.status).toBe(409);
      expect(left).toEqual({ versions: 0, uploads: 1 });
      expect(done.status).toBe(200);
      expect(done.json).toEqual({ email, userId: id, state: 'deleted', deletedBuckets: [bucket] });
      expect(emulator.state.buckets.has(bucket)).toBe(false);
      expect(emulator.state.users.has(id)).toBe(false);
    });
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WebhookSecretsProvider } from '../../../shared/runtime/secrets.ts';
import { generateWebhookSecret, parseWebhookSecrets } from '../../../shared/signing/index.ts';
import { NdjsonSink } from '../../../shared/usage/file-sink.ts';
import { WebhookSink } from '../../../shared/usage/webhook-sink.ts';
import type { Receiver } from './peers.ts';
import { startReceiver } from './peers.ts';

const BODY = JSON.stringify({
  type: 'usage.collected',
  timestamp: '2026-11-26T12:00:00.000Z',
  data: { records: [] },
});
const ID = 's3-usage-8000000000000065-2026-11-26T11:00:00.000Z-1800';

function secretsOf(...texts: string[]): WebhookSecretsProvider & { refreshed: number } {
  let current = parseWebhookSecrets(texts[0] ?? '');
  let index = 0;
  const provider = {
    refreshed: 0,
    get: async () => current,
    refresh: async () => {
      provider.refreshed += 1;
      index = Math.min(index + 1, texts.length - 1);
      current = parseWebhookSecrets(texts[index] ?? '');
      return current;
    },
  };
  return provider;
}

describe('webhook sink', () => {
  let receiver: Receiver;
  const sinks: WebhookSink[] = [];
  const sleeps: number[] = [];

  function sink(options: Partial<ConstructorParameters<typeof WebhookSink>[0]> = {}): WebhookSink {
    const made = new WebhookSink({
      url: receiver.url,
      secrets: secretsOf(receiver.secretText),
      sleep: async (ms) => {
        sleeps.push(ms);
      },
      random: () => 0.5,
      ...options,
    });
    sinks.push(made);
    return made;
  }

  beforeEach(async () => {
    receiver = await startReceiver();
    sleeps.length = 0;
  });

  afterEach(async () => {
    await Promise.all(sinks.splice(0).map((s) => s.close()));
    await receiver.close();
  });

  it('POSTs the exact body with the webhook-id, signed so that the receiver verifies it', async () => {
    // Prepare
    receiver.respond = () => 200;

    // Act
    const outcome = await sink().deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toEqual({ ok: true, attempts: 1, status: 200 });
    expect(receiver.received).toHaveLength(1);
    expect(receiver.received[0]?.id).toBe(ID);
    expect(receiver.received[0]?.body).toBe(BODY);
    expect(receiver.unauthorized).toBe(0);
  });

  it('signs for the reference library too (one v1 signature per secret during rotation)', async () => {
    // Prepare: a second receiver-side check with the standardwebhooks package, the old and new secret in use
    const old = generateWebhookSecret();
    const seen: { headers: Record<string, string>; body: string }[] = [];
    const { createServer } = await import('node:http');
    const server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({
          headers: req.headers as Record<string, string>,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    const rotating = sink({
      url: new URL(`http://127.0.0.1:${port}/`),
      secrets: secretsOf(`${old} ${receiver.secretText}`),
    });

    // Act
    await rotating.deliver({ id: ID, body: BODY });
    await rotating.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));

    // Assess
    const [request] = seen;
    if (request === undefined) throw new Error('nothing arrived');
    expect(request.headers['webhook-signature']?.split(' ')).toHaveLength(2);
    expect(request.headers['content-type']).toBe('application/json');
    for (const secret of [old, receiver.secretText]) {
      expect(new Webhook(secret).verify(request.body, request.headers)).toEqual(JSON.parse(BODY));
    }
  });

  it('retries 5xx and 429 with growing backoff, honouring Retry-After, until a 2xx', async () => {
    // Prepare
    const answers = [503, 500, 429, 202];
    receiver.respond = ({ attempt }) => answers[attempt - 1] ?? 500;

    // Act
    const outcome = await sink().deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toEqual({ ok: true, attempts: 4, status: 202 });
    expect(receiver.received.map((m) => m.status)).toEqual([503, 500, 429, 202]);
    // full jitter at 0.5 of 250, 500, 1000 ms
    expect(sleeps).toEqual([125, 250, 500]);
  });

  it('gives up after the retries and says why', async () => {
    // Prepare
    receiver.respond = () => 502;

    // Act
    const outcome = await sink({ retries: 2 }).deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toEqual({ ok: false, attempts: 3, status: 502, reason: 'the receiver answered 502' });
  });

  it('does not retry a refusal (4xx): an honest failure', async () => {
    // Prepare
    receiver.respond = () => 422;

    // Act
    const outcome = await sink().deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toMatchObject({ ok: false, attempts: 1, status: 422 });
    expect(sleeps).toEqual([]);
  });

  it('fetches the secret again once when the receiver refuses the signature (rotation)', async () => {
    // Prepare
    const stale = generateWebhookSecret();
    const secrets = secretsOf(stale, receiver.secretText);

    // Act
    const outcome = await sink({ secrets }).deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toEqual({ ok: true, attempts: 2, status: 204 });
    expect(secrets.refreshed).toBe(1);
    expect(receiver.unauthorized).toBe(1);
  });

  it('treats a receiver that does not answer in time as a network failure, and retries', async () => {
    // Prepare
    receiver.respond = async ({ attempt }) => {
      if (attempt === 1) await new Promise((resolve) => setTimeout(resolve, 600));
      return 204;
    };

    // Act
    const outcome = await sink({ timeoutMs: 150 }).deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toEqual({ ok: true, attempts: 2, status: 204 });
  });

  it('never runs past the deadline it is given', async () => {
    // Prepare
    receiver.respond = () => 503;
    const now = Date.now();

    // Act
    const outcome = await sink({
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      baseDelayMs: 400,
    }).deliver({ id: ID, body: BODY }, { deadline: now + 300 });

    // Assess
    expect(outcome.ok).toBe(false);
    expect(Date.now() - now).toBeLessThan(1_000);
  });

  it('reports a receiver that refuses connections', async () => {
    // Prepare
    const url = receiver.url;
    await receiver.close();

    // Act
    const outcome = await sink({ url, retries: 1 }).deliver({ id: ID, body: BODY });

    // Assess
    expect(outcome).toMatchObject({ ok: false, attempts: 2, status: undefined });
    if (!outcome.ok) expect(outcome.reason).toMatch(/no answer from the receiver/);
  });
});

describe('usage.ndjson sink', () => {
  const folder = mkdtempSync(join(tmpdir(), 'usage-ndjson-'));
  let n = 0;
  afterAll(() => rmSync(folder, { recursive: true, force: true }));

  it('appends one line per message and acknowledges after the write', async () => {
    // Prepare
    const file = join(folder, `a-${++n}`, 'usage.ndjson');
    const sink = new NdjsonSink(file);

    // Act
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, i) => sink.deliver({ id: `id-${i}`, body: `{"type":"t","n":${i}}` })),
    );
    await sink.close();

    // Assess
    expect(outcomes.every((o) => o.ok)).toBe(true);
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines.pop()).toBe('');
    expect(lines.map((line) => JSON.parse(line).id).sort()).toEqual(
      Array.from({ length: 50 }, (_, i) => `id-${i}`).sort(),
    );
    expect(JSON.parse(lines[0] ?? '')).toMatchObject({ type: 't' });
  });

  it('cuts off a torn last line (a crash mid-append, never acknowledged) before appending', async () => {
    // Prepare
    const file = join(folder, `torn-${++n}.ndjson`);
    writeFileSync(file, '{"id":"whole","type":"t"}\n{"id":"torn","ty');
    const sink = new NdjsonSink(file);

    // Act
    await sink.deliver({ id: 'next', body: '{"type":"t"}' });
    await sink.close();

    // Assess
    const lines = readFileSync(file, 'utf8').split('\n');
    expect(lines).toEqual(['{"id":"whole","type":"t"}', '{"id":"next","type":"t"}', '']);
    for (const line of lines.filter((l) => l !== '')) expect(() => JSON.parse(line)).not.toThrow();
  });

  it('takes back a batch whose fsync failed, so its retry leaves each line once', async () => {
    // Prepare: the disk accepts the write of the second message but fails to make it durable.
    const file = join(folder, `fsync-${++n}.ndjson`);
    const sink = new NdjsonSink(file);
    await sink.deliver({ id: 'first', body: '{"type":"t"}' });
    const probe = await open(file, 'r');
    const fileHandle = Object.getPrototypeOf(probe) as { datasync(): Promise<void> };
    await probe.close();
    const datasync = vi
      .spyOn(fileHandle, 'datasync')
      .mockRejectedValueOnce(new Error('EIO: i/o error, fsync'));

    // Act: reported as not delivered, then delivered again (as the next sweep does).
    const failed = await sink.deliver({ id: 'second', body: '{"type":"t"}' });
    datasync.mockRestore();
    const retried = await sink.deliver({ id: 'second', body: '{"type":"t"}' });
    await sink.close();

    // Assess
    expect(failed).toMatchObject({ ok: false });
    expect(failed.ok ? '' : failed.reason).toContain('EIO');
    expect(retried.ok).toBe(true);
    expect(readFileSync(file, 'utf8').split('\n')).toEqual([
      '{"id":"first","type":"t"}',
      '{"id":"second","type":"t"}',
      '',
    ]);
  });

  it('fails honestly when the file cannot be written', async () => {
    // Prepare: the path is a folder
    const sink = new NdjsonSink(folder);

    // Act
    const outcome = await sink.deliver({ id: 'x', body: '{}' });
    await sink.close();

    // Assess
    expect(outcome.ok).toBe(false);
  });
});

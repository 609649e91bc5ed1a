// `npm start` as a person first meets it: with nothing configured it starts the embedded emulator,
// generates a webhook secret, prints how to call it, and serves; a bad variable stops it with one
// line naming the variable.
import { execFile, spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readLocalSettings } from '../../local/settings.ts';
import type { RunningServer } from './local-server.ts';
import { startExpectingFailure, startServer } from './local-server.ts';

describe('npm start with nothing configured', () => {
  let server: RunningServer;

  beforeAll(async () => {
    server = await startServer({});
  });

  afterAll(async () => {
    await server.stop();
  });

  it('is healthy and prints the emulator, the generated secret and how to call it', async () => {
    // Act
    const health = await fetch(`${server.url}/healthz`);
    // Assess
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const output = server.output();
    expect(output).toMatch(/gateway\s+embedded emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/WEBHOOK_SECRET=whsec_[A-Za-z0-9+/=]+/);
    expect(output).toContain('npm run send -- provision alice@example.com');
  });

  it('provisions through the embedded emulator with the printed secret, and 404s an unknown route', async () => {
    // Prepare
    const secret = /WEBHOOK_SECRET=(whsec_[A-Za-z0-9+/=]+)/.exec(server.output())?.[1] ?? '';
    const body = JSON.stringify({
      type: 'provision',
      timestamp: new Date().toISOString(),
      data: { email: 'first@example.com' },
    });
    const now = new Date();
    // Act
    const response = await fetch(`${server.url}/provision`, {
      method: 'POST',
      headers: {
        'webhook-id': 'msg_first',
        'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
        'webhook-signature': new Webhook(secret).sign('msg_first', now, body),
      },
      body,
    });
    const missing = await fetch(`${server.url}/nope`, { method: 'POST', body: '{}' });
    // Assess
    expect(response.status).toBe(200);
    const result = (await response.json()) as { created: boolean; accessKeys: { secretAccessKey: string }[] };
    expect(result.created).toBe(true);
    expect(result.accessKeys).toHaveLength(1);
    expect(server.output()).not.toContain(result.accessKeys[0]?.secretAccessKey ?? 'unset');
    expect(missing.status).toBe(404);
  });
});

describe('npm run send and npm run invoke beside a running npm start', () => {
  let server: RunningServer;
  const root = new URL('../..', import.meta.url).pathname;
  const run = (script: string, args: string[]) =>
    spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', `local/${script}.ts`, ...args], {
      cwd: root,
      env: { PATH: process.env.PATH ?? '', DATA_DIR: server.dataDir },
      encoding: 'utf8',
      timeout: 20_000,
    });

  beforeAll(async () => {
    server = await startServer({});
  });

  afterAll(async () => {
    await server.stop();
  });

  it('send signs a webhook with the generated secret; --id of a sent one redelivers the same bytes', () => {
    // Act
    const first = run('send', ['provision', 'cli@example.com', '{"plan":{"quotaGb":4}}', '--id', 'cli-1']);
    const again = run('send', ['provision', 'cli@example.com', '{"plan":{"quotaGb":4}}', '--id', 'cli-1']);
    // Assess
    expect(first.status).toBe(0);
    expect(first.stdout).toMatch(/^200 OK {2}\(webhook-id cli-1\)/);
    expect(JSON.parse(first.stdout.slice(first.stdout.indexOf('{')))).toMatchObject({
      email: 'cli@example.com',
      created: true,
    });
    expect(again.stdout).toMatch(/^200 OK {2}\(webhook-id cli-1, redelivered\)/);
    expect(again.stdout.slice(again.stdout.indexOf('{'))).toBe(first.stdout.slice(first.stdout.indexOf('{')));
  });

  it('send --url <base URL> posts to <base URL><type>, keeping the base URL’s path, signed', async () => {
    // Prepare: a receiver standing in for a deployed BaseUrl behind a path prefix
    const seen: { path: string; headers: Record<string, string | string[] | undefined>; body: string }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => {
        seen.push({
          path: req.url ?? '',
          headers: req.headers,
          body: Buffer.concat(chunks).toString('utf8'),
        });
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"state":"disabled"}');
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/billing`;
    const secret = readLocalSettings(server.dataDir).webhookSecret ?? 'no secret saved';
    // Act
    const result = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        [
          '--disable-warning=ExperimentalWarning',
          'local/send.ts',
          'suspend',
          'far@example.com',
          '--url',
          base,
        ],
        { cwd: root, env: { PATH: process.env.PATH ?? '', DATA_DIR: server.dataDir }, timeout: 20_000 },
        (_error, stdout) => resolve({ code: child.exitCode, stdout }),
      );
    });
    await new Promise<void>((resolve) => receiver.close(() => resolve()));
    // Assess
    expect(result.code).toBe(0);
    expect(seen).toHaveLength(1);
    const [request] = seen;
    expect(request?.path).toBe('/billing/suspend');
    const verified = new Webhook(secret).verify(request?.body ?? '', {
      'webhook-id': String(request?.headers['webhook-id']),
      'webhook-timestamp': String(request?.headers['webhook-timestamp']),
      'webhook-signature': String(request?.headers['webhook-signature']),
    });
    expect(verified).toMatchObject({ type: 'suspend', data: { email: 'far@example.com' } });
  });

  it('invoke runs an unsigned envelope against the same gateway and prints the result object', () => {
    // Prepare
    run('send', ['provision', 'direct@example.com']);
    const event = join(server.dataDir, 'event.json');
    writeFileSync(
      event,
      JSON.stringify({
        type: 'suspend',
        timestamp: new Date().toISOString(),
        data: { email: 'direct@example.com' },
      }),
    );
    // Act
    const ok = run('invoke', ['suspend', event]);
    const bad = run('invoke', ['resume', event]);
    // Assess
    expect(ok.status).toBe(0);
    expect(JSON.parse(ok.stdout)).toMatchObject({ email: 'direct@example.com', state: 'disabled' });
    expect(bad.status).toBe(1);
    expect(JSON.parse(bad.stdout)).toMatchObject({
      errorType: 'InvalidInputError',
      errorCode: 'invalid_input',
    });
  });
});

describe('npm start with a bad configuration', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT'],
    [{ OSTOR_SIGNATURE_VERSION: '3' }, 'OSTOR_SIGNATURE_VERSION'],
    [{ OSTOR_GATEWAY_URL: 'http://10.0.0.1' }, 'OSTOR_GATEWAY_URL'],
    [{ OSTOR_GATEWAY_URL: 'https://s3.example.com', OSTOR_ACCESS_KEY_ID: 'AKIA' }, 'OSTOR_SECRET_ACCESS_KEY'],
    [{ WEBHOOK_SECRET: 'whsec_short' }, 'WEBHOOK_SECRET'],
    [{ USAGE_SWEEP_INTERVAL_SECONDS: '-1' }, 'USAGE_SWEEP_INTERVAL_SECONDS'],
    [{ USAGE_WEBHOOK_URL: 'https://billing.example.com/usage' }, 'USAGE_WEBHOOK_SECRET'],
  ])('%j stops start-up with one line naming %s', async (env, variable) => {
    // Act
    const { code, output } = await startExpectingFailure(env);
    // Assess
    expect(code).toBe(1);
    const lines = output.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^npm start: ${variable}: `));
  });
});

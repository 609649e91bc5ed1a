// The deployed artifact run as Lambda runs it: webhook functions bundled exactly as the stack
// bundles them (bench/lib/bundle.ts), into a folder outside the project so that no node_modules is
// in reach, each invocation in a fresh Node 24 process with a Lambda's environment and no
// NODE_OPTIONS, against the gateway emulator and DynamoDB (dynalite) running in this process.
import { spawn } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pathToFileURL } from 'node:url';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleFunction } from '../../bench/lib/bundle.ts';
import { type LocalDynamo, startDynalite } from '../../bench/lib/dynalite.ts';
import { httpApiEvent, invocationScript, lambdaEnvironment } from '../../bench/lib/lambda-process.ts';
import type { Emulator } from '../../emulator/gateway.ts';
import { startEmulator } from '../../emulator/gateway.ts';
import type { FunctionName } from '../../infra/bundling.ts';
import { generateWebhookSecret } from '../../shared/signing/index.ts';

const TABLE = 'idempotency';
const webhookSecret = generateWebhookSecret();
const email = `bundle.${randomUUID().slice(0, 8)}@example.com`;

let emulator: Emulator;
let system: { accessKeyId: string; secretAccessKey: string };
let dynamo: LocalDynamo;
let documents: DynamoDBDocumentClient;
/** Holds the bundles and serves as the functions' HOME, so no ~/.aws of this machine is read. */
let workdir: string;
const bundles = new Map<FunctionName, string>();

beforeAll(async () => {
  workdir = mkdtempSync(join(tmpdir(), 'vhi-bundle-run-'));
  const [started, provision, suspend, local] = await Promise.all([
    startEmulator({ host: '127.0.0.1' }),
    bundleFunction('provision', join(workdir, 'provision')),
    bundleFunction('suspend', join(workdir, 'suspend')),
    startDynalite(),
  ]);
  emulator = started;
  system = emulator.createSystemUser('system@bundle-run.test');
  bundles.set('provision', provision.file);
  bundles.set('suspend', suspend.file);
  dynamo = local;
  documents = DynamoDBDocumentClient.from(dynamo.client);
  await dynamo.newTable({ name: TABLE });
}, 60_000);

afterAll(async () => {
  await emulator?.close();
  await dynamo?.close();
  rmSync(workdir, { recursive: true, force: true });
});

function environmentOf(name: FunctionName, signatureVersion: 2 | 4): Record<string, string> {
  return lambdaEnvironment({
    functionName: name,
    home: workdir,
    dynamodbEndpoint: dynamo.endpoint,
    idempotencyTable: TABLE,
    gatewayUrl: emulator.url,
    gateway: system,
    signatureVersion,
    webhookSecret,
  });
}

interface Run {
  readonly code: number | null;
  /** The handler's answer, exactly as the child serialised it (fd 3, apart from the logs on stdout). */
  readonly answer: string;
  readonly stdout: string;
  readonly stderr: string;
  readonly logs: readonly Record<string, unknown>[];
}

/**
 * One cold start and one invocation in a fresh process: import the bundle by file URL, call its
 * handler with the event and a Lambda context of 30 s, write the answer to fd 3, and exit (Lambda
 * freezes the process after the answer; its keep-alive sockets would otherwise hold it open).
 */
function invoke(name: FunctionName, event: unknown, signatureVersion: 2 | 4): Promise<Run> {
  const file = bundles.get(name);
  if (file === undefined) throw new Error(`${name} was not bundled`);
  const script = invocationScript(file, name, event);
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: workdir,
    env: environmentOf(name, signatureVersion),
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
  });
  const collect = (stream: Readable | null) => {
    if (stream === null) throw new Error('the child has no such pipe');
    let text = '';
    stream.setEncoding('utf8').on('data', (chunk: string) => {
      text += chunk;
    });
    return () => text;
  };
  const stdout = collect(child.stdout);
  const stderr = collect(child.stderr);
  const answer = collect(child.stdio[3] as Readable);
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      const logs = stdout()
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line): Record<string, unknown> => {
          try {
            return JSON.parse(line) as Record<string, unknown>;
          } catch {
            return { unstructured: line };
          }
        });
      resolve({ code, answer: answer(), stdout: stdout(), stderr: stderr(), logs });
    });
  });
}

interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string>;
  body: string;
}

function parseAnswer(run: Run): HttpAnswer {
  if (run.answer === '') throw new Error(`the function gave no answer (exit ${run.code}):\n${run.stderr}`);
  return JSON.parse(run.answer) as HttpAnswer;
}

/** Every secret in play, and the raw key behind the webhook secret's `whsec_` prefix. */
const secretsBesides = (...handedOut: string[]) => [
  system.secretAccessKey,
  webhookSecret,
  webhookSecret.replace(/^whsec_/, ''),
  ...handedOut,
];

function expectCleanRun(run: Run, secrets: readonly string[]) {
  expect(run.stderr).toBe('');
  expect(run.code).toBe(0);
  // Every stdout line is a structured log or metric line, none of them a warning or an error.
  expect(run.logs.filter((line) => 'unstructured' in line)).toEqual([]);
  expect(run.logs.filter((line) => line.level === 'ERROR' || line.level === 'WARN')).toEqual([]);
  for (const secret of secrets) {
    expect(run.stdout.includes(secret), 'a secret appeared in the log lines').toBe(false);
    expect(run.stderr.includes(secret), 'a secret appeared on stderr').toBe(false);
  }
}

describe('the provision bundle, run as Lambda runs it', () => {
  const webhookId = `msg_${randomUUID()}`;
  const body = JSON.stringify({
    type: 'provision',
    timestamp: new Date().toISOString(),
    data: { email, plan: { quotaGb: 5 } },
  });
  let first: Run;

  it('provisions the user over Signature V4 and answers 200 with its key pair', async () => {
    // Prepare
    emulator.clearRequests();
    // Act
    first = await invoke('provision', httpApiEvent('provision', webhookSecret, body, webhookId), 4);
    // Assess
    expect(first.stderr).toBe('');
    const answer = parseAnswer(first);
    expect(answer.statusCode).toBe(200);
    expect(answer.headers['content-type']).toContain('application/json');
    const result = JSON.parse(answer.body) as {
      userId: string;
      email: string;
      created: boolean;
      accessKeys: { accessKeyId: string; secretAccessKey: string }[];
    };
    const users = emulator.state.usersWithEmail(email);
    expect(users).toHaveLength(1);
    const [user] = users;
    expect(result).toEqual({
      userId: user?.id,
      email,
      created: true,
      accessKeys: [{ accessKeyId: expect.any(String), secretAccessKey: expect.any(String) }],
    });
    expect(user?.keys.map((key) => [key.accessKeyId, key.secretAccessKey])).toEqual(
      result.accessKeys.map((key) => [key.accessKeyId, key.secretAccessKey]),
    );
    expect(emulator.state.quotas.users.get(user?.id ?? '')).toBe(5);
    // Every gateway call was signed with V4 and verified as the system user; none failed (the
    // first lookup of the email finds no user: 404).
    expect(emulator.requests.length).toBeGreaterThan(0);
    for (const request of emulator.requests) {
      expect(request).toMatchObject({ signatureVersion: 4, accessKeyId: system.accessKeyId });
      expect(request.status === 404 || (request.status ?? 500) < 300).toBe(true);
    }
    // The logger and metrics work from the bundle: a cold start, then the event's lines.
    expect(first.logs).toContainEqual(expect.objectContaining({ ColdStart: 1, service: 'provision' }));
    expect(first.logs).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'user created', userId: user?.id, cold_start: true }),
    );
    expect(first.logs).toContainEqual(
      expect.objectContaining({ level: 'INFO', message: 'event handled', webhookId, service: 'provision' }),
    );
    expectCleanRun(first, secretsBesides(...result.accessKeys.map((key) => key.secretAccessKey)));
  });

  it('keeps the answer in DynamoDB under the function name and the webhook-id', async () => {
    // Prepare: Powertools' key is `<AWS_LAMBDA_FUNCTION_NAME>#<md5, base64, of the JSON of the key>`.
    const key = `provision#${createHash('md5')
      .update(JSON.stringify(`provision#${webhookId}`))
      .digest('base64')}`;
    // Act
    const { Item } = await documents.send(
      new GetCommand({ TableName: TABLE, Key: { id: key }, ConsistentRead: true }),
    );
    // Assess
    expect(Item).toMatchObject({ status: 'COMPLETED', data: JSON.parse(parseAnswer(first).body) });
    // Remembered for 25 hours from the delivery (the contract asks for at least 24), not Powertools' default hour.
    const expiresIn = Number(Item?.expiration) - Date.now() / 1000;
    expect(Math.abs(expiresIn - 25 * 3600)).toBeLessThan(60);
  });

  it('answers a redelivery in a new process byte for byte from DynamoDB, without calling the gateway', async () => {
    // Prepare
    emulator.clearRequests();
    const before = emulator.state.users.size;
    // Act
    const again = await invoke('provision', httpApiEvent('provision', webhookSecret, body, webhookId), 4);
    // Assess
    expect(again.answer).toBe(first.answer);
    expect(emulator.requests).toEqual([]);
    expect(emulator.state.users.size).toBe(before);
    const result = JSON.parse(parseAnswer(again).body) as { accessKeys: { secretAccessKey: string }[] };
    expectCleanRun(again, secretsBesides(...result.accessKeys.map((key) => key.secretAccessKey)));
  });
});

describe('the suspend bundle, run as Lambda runs it', () => {
  it('disables the user over Signature V2 and records the order in DynamoDB', async () => {
    // Prepare
    const [user] = emulator.state.usersWithEmail(email);
    if (user === undefined) throw new Error('the provision tests did not create the user');
    const decidedAt = new Date();
    const body = JSON.stringify({ type: 'suspend', timestamp: decidedAt.toISOString(), data: { email } });
    emulator.clearRequests();
    // Act
    const run = await invoke(
      'suspend',
      httpApiEvent('suspend', webhookSecret, body, `msg_${randomUUID()}`),
      2,
    );
    // Assess
    const answer = parseAnswer(run);
    expect(answer.statusCode).toBe(200);
    expect(JSON.parse(answer.body)).toEqual({ userId: user.id, email, state: 'disabled' });
    expect(user.state).toBe('disabled');
    expect(emulator.requests.length).toBeGreaterThan(0);
    for (const request of emulator.requests) {
      expect(request).toMatchObject({ signatureVersion: 2, accessKeyId: system.accessKeyId });
    }
    const { Item } = await documents.send(
      new GetCommand({ TableName: TABLE, Key: { id: `user-state#${user.id}` }, ConsistentRead: true }),
    );
    expect(Item).toMatchObject({ state: 'disabled', atMs: decidedAt.getTime() });
    expectCleanRun(run, secretsBesides());
  });
});

describe('a failing console invocation of a bundle', () => {
  it('logs the fault and throws to the runtime with stacks mapped to the TypeScript sources', async () => {
    // Prepare: the gateway answers every user lookup with a 500.
    emulator.faults.inject({
      match: { service: 'ostor-users' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 500 },
    });
    const event = { type: 'suspend', timestamp: new Date().toISOString(), data: { email } };
    // Act
    let run: Run;
    try {
      run = await invoke('suspend', event, 2);
    } finally {
      emulator.faults.clear();
    }
    // Assess: the error Lambda would print and answer to the console.
    const { thrown } = JSON.parse(run.answer) as { thrown: { name: string; message: string; stack: string } };
    expect(thrown.message).toContain('500');
    const bundleUrl = pathToFileURL(bundles.get('suspend') ?? '').href;
    expect(thrown.stack).not.toContain(bundleUrl);
    expect(thrown.stack).toMatch(/^ {4}at .*\(shared\/ostor\/\S+\.ts:\d+:\d+\)$/m);
    // The ERROR line carries the same mapped stack, and no secret.
    // Powertools writes ERROR lines to stderr (console.error); on Lambda both reach the log group.
    const errors = run.stderr
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const failed = errors.find((line) => line.message === 'event failed');
    expect(failed).toMatchObject({ level: 'ERROR', status: 502, source: 'direct' });
    const cause = failed?.cause as { stack?: string } | undefined;
    expect(cause?.stack).toMatch(/^ {4}at .*\(shared\/ostor\/\S+\.ts:\d+:\d+\)$/m);
    expect(cause?.stack).not.toContain(bundleUrl);
    for (const secret of secretsBesides()) {
      expect(run.stdout.includes(secret)).toBe(false);
      expect(run.stderr.includes(secret)).toBe(false);
    }
  });
});

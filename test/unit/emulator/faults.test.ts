// Fault injection on the emulator: each kind, the matching rules, and whether the operation ran.

import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../../emulator/gateway.ts';
import { client } from './http.ts';

let emulator: Emulator;
let admin: ReturnType<typeof client>;

beforeAll(async () => {
  emulator = await startEmulator();
  admin = client(emulator, emulator.createSystemUser('admin@example.com'));
});

afterEach(() => {
  emulator.faults.clear();
});

afterAll(async () => {
  await emulator.close();
});

let counter = 0;
const freshEmail = (): string => `fault${++counter}%40example.com`;
const decoded = (email: string): string => decodeURIComponent(email);

describe('status faults', () => {
  it('answers the status and message without applying the operation, once by default', async () => {
    // Prepare
    const email = freshEmail();
    emulator.faults.inject({ fault: { kind: 'status', status: 503, message: 'Service Unavailable' } });

    // Act
    const failed = await admin.call('PUT', `/?ostor-users&emailAddress=${email}`);
    const usersAfterFault = emulator.state.usersWithEmail(decoded(email)).length;
    const retried = await admin.call('PUT', `/?ostor-users&emailAddress=${email}`);

    // Assess
    expect(failed.status).toBe(503);
    expect(failed.message).toBe('Service Unavailable');
    expect(failed.text).toContain('<Error><Code>InjectedFault</Code>');
    expect(usersAfterFault).toBe(0);
    expect(retried.status).toBe(200);
    expect(emulator.requests.at(-2)?.fault).toBe('status');
    expect(emulator.faults.pending).toBe(0);
  });

  it('applies the operation and loses the answer with afterApply', async () => {
    // Prepare
    const email = freshEmail();
    emulator.faults.inject({
      match: { param: 'genKey' },
      fault: { kind: 'status', status: 500, afterApply: true },
    });
    await admin.call('PUT', `/?ostor-users&emailAddress=${email}`);

    // Act
    const answer = await admin.call('POST', `/?ostor-users&emailAddress=${email}&genKey`);

    // Assess
    expect(answer.status).toBe(500);
    expect(answer.message).toBe('Injected fault: 500');
    expect(emulator.state.findUserByEmail(decoded(email))?.keys).toHaveLength(2);
  });

  it('serves a custom body', async () => {
    // Prepare
    emulator.faults.inject({ fault: { kind: 'status', status: 502, body: '' } });

    // Act
    const answer = await admin.call('GET', '/?ostor-users');

    // Assess
    expect([answer.status, answer.text]).toEqual([502, '']);
  });
});

describe('matching', () => {
  it('matches on method, service and parameter, and counts down `times`', async () => {
    // Prepare
    emulator.faults.inject({
      match: { method: 'get', service: 'ostor-usage', param: 'obj' },
      times: 2,
      fault: { kind: 'status', status: 500 },
    });

    // Act
    const listing = await admin.call('GET', '/?ostor-usage');
    const otherMethod = await admin.call('DELETE', '/?ostor-usage&obj=x');
    const first = await admin.call('GET', '/?ostor-usage&obj=x');
    const second = await admin.call('GET', '/?ostor-usage&obj=x');
    const third = await admin.call('GET', '/?ostor-usage&obj=x');

    // Assess
    expect([listing.status, otherMethod.status]).toEqual([200, 404]);
    expect([first.status, second.status, third.status]).toEqual([500, 500, 404]);
  });

  it('matches plain S3 requests as service "s3", Infinity times until cleared', async () => {
    // Prepare
    emulator.state.createBucket(
      emulator.state.findUserByEmail('admin@example.com')?.id ?? '',
      'fault-bucket',
    );
    emulator.faults.inject({
      match: { service: 's3' },
      times: Number.POSITIVE_INFINITY,
      fault: { kind: 'status', status: 500 },
    });

    // Act
    const statuses: number[] = [];
    for (let i = 0; i < 3; i++) statuses.push((await admin.call('GET', '/fault-bucket?list-type=2')).status);
    const admin200 = await admin.call('GET', '/?ostor-users');
    emulator.faults.clear();
    const after = await admin.call('GET', '/fault-bucket?list-type=2');

    // Assess
    expect(statuses).toEqual([500, 500, 500]);
    expect(admin200.status).toBe(200);
    expect(after.status).toBe(200);
  });

  it('refuses nonsense specifications', () => {
    // Act, Assess
    expect(() => emulator.faults.inject({ times: 0, fault: { kind: 'reset' } })).toThrow(RangeError);
    expect(() => emulator.faults.inject({ fault: { kind: 'status', status: 42 } })).toThrow(RangeError);
    expect(() => emulator.faults.inject({ fault: { kind: 'delay', ms: -1 } })).toThrow(RangeError);
  });
});

describe('connection faults', () => {
  it('resets the connection without answering or applying the operation', async () => {
    // Prepare
    const email = freshEmail();
    emulator.faults.inject({ fault: { kind: 'reset' } });

    // Act
    const failure = await admin
      .call('PUT', `/?ostor-users&emailAddress=${email}`)
      .catch((error: unknown) => error);

    // Assess
    expect(failure).toBeInstanceOf(Error);
    expect(emulator.state.usersWithEmail(decoded(email))).toEqual([]);
    expect(emulator.requests.at(-1)).toMatchObject({ fault: 'reset', status: null });
  });

  it('answers 200 with broken JSON for a malformed fault, without applying the operation', async () => {
    // Prepare
    const email = freshEmail();
    emulator.faults.inject({ fault: { kind: 'malformed' } });

    // Act
    const answer = await admin.call('PUT', `/?ostor-users&emailAddress=${email}`);

    // Assess
    expect(answer.status).toBe(200);
    expect(answer.headers['content-type']).toBe('application/json');
    expect(() => JSON.parse(answer.text)).toThrow(SyntaxError);
    expect(emulator.state.usersWithEmail(decoded(email))).toEqual([]);
  });

  it('delays and then serves normally; a client with a shorter timeout gives up', async () => {
    // Prepare
    emulator.faults.inject({ fault: { kind: 'delay', ms: 60 } });
    emulator.faults.inject({ fault: { kind: 'delay', ms: 400 } });

    // Act
    const started = Date.now();
    const served = await admin.call('GET', '/?ostor-users');
    const elapsed = Date.now() - started;
    const timedOut = await admin
      .call('GET', '/?ostor-users', { timeoutMs: 100 })
      .catch((error: unknown) => error as { name?: string });

    // Assess
    expect(served.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(55);
    expect(timedOut).toMatchObject({ name: 'TimeoutError' });
  });
});

describe('hang and latency (own emulators)', () => {
  it('never answers a hung request, and close() still finishes', async () => {
    // Prepare
    const own = await startEmulator();
    const ownAdmin = client(own, own.createSystemUser('admin@example.com'));
    own.faults.inject({ fault: { kind: 'hang' } });

    // Act
    const outcome = await ownAdmin
      .call('GET', '/?ostor-users', { timeoutMs: 150 })
      .catch((error: unknown) => error as { name?: string });
    const pending = ownAdmin.call('GET', '/?ostor-users').catch((error: unknown) => error);
    await own.close();

    // Assess
    expect(outcome).toMatchObject({ name: 'TimeoutError' });
    expect(own.requests[0]).toMatchObject({ fault: 'hang', status: null });
    await pending;
  });

  it('adds the configured latency before every response', async () => {
    // Prepare
    const own = await startEmulator({ latencyMs: 40 });
    const ownAdmin = client(own, own.createSystemUser('admin@example.com'));

    // Act
    const started = Date.now();
    const answer = await ownAdmin.call('GET', '/?ostor-users');
    const elapsed = Date.now() - started;
    await own.close();

    // Assess
    expect(answer.status).toBe(200);
    expect(elapsed).toBeGreaterThanOrEqual(35);
  });
});

// Faults between the client and the gateway: retries only where a repeat is safe, honest errors
// where it is not, timeouts, resets, broken bodies, the credentials refresh after a 403, and no
// secret in any error. Real HTTP against the emulator, for Signature V2 and V4.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  GatewayAuthError,
  GatewayNotFoundError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  MalformedResponseError,
} from '../../../shared/ostor/index.ts';
import { redact } from '../../../shared/runtime/logging.ts';
import type { Harness } from './harness.ts';
import { caught, startHarness, uniqueBucket, uniqueEmail } from './harness.ts';

let h: Harness;

beforeAll(async () => {
  h = await startHarness();
});

afterEach(() => {
  h.emulator.faults.clear();
});

afterAll(async () => {
  await h.close();
});

describe.each([2, 4] as const)('faults with Signature V%i', (signatureVersion) => {
  const client = (options: Parameters<Harness['client']>[0] = {}) =>
    h.client({ signatureVersion, ...options });

  describe('retries of calls safe to repeat', () => {
    it('retries a GET after one 503 and succeeds', async () => {
      // Prepare
      const email = uniqueEmail();
      h.emulator.state.createUser(email);
      h.emulator.faults.inject({ match: { service: 'ostor-users' }, fault: { kind: 'status', status: 503 } });
      const mark = h.emulator.requests.length;

      // Act
      const user = await client().getUser({ email });

      // Assess
      expect(user.email).toBe(email);
      expect(h.since(mark).map((r) => r.status)).toEqual([503, 200]);
    });

    it('retries a disable after one 500 and changes the user once', async () => {
      // Prepare
      const user = h.emulator.state.createUser(uniqueEmail());
      h.emulator.faults.inject({ match: { param: 'disable' }, fault: { kind: 'status', status: 500 } });
      const mark = h.emulator.requests.length;

      // Act
      await client().disableUser({ userId: user.id });

      // Assess
      expect(h.since(mark).map((r) => r.status)).toEqual([500, 200]);
      expect(user.state).toBe('disabled');
    });

    it('treats a delete whose answer was lost as done when the repeat finds nothing (one side effect)', async () => {
      // Prepare
      const user = h.emulator.state.createUser(uniqueEmail());
      h.emulator.faults.inject({
        match: { service: 'ostor-users', method: 'DELETE' },
        fault: { kind: 'status', status: 502, afterApply: true },
      });
      const mark = h.emulator.requests.length;

      // Act
      await client().deleteUser({ userId: user.id });

      // Assess
      expect(h.since(mark).map((r) => r.status)).toEqual([502, 404]);
      expect(h.emulator.state.users.has(user.id)).toBe(false);
    });

    it('still answers 404 for a delete of something that never existed', async () => {
      const error = await caught(() => client().deleteUser({ userId: 'cccccccccccccccc' }));
      expect(error).toBeInstanceOf(GatewayNotFoundError);
      expect(error).toMatchObject({ attempts: 1 });
    });

    it('gives up after 1 + retries attempts of a persistent 5xx with GatewayUnavailableError', async () => {
      // Prepare
      h.emulator.faults.inject({
        match: { service: 'ostor-buckets' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'status', status: 503, message: 'Service is busy' },
      });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() =>
        client({ retry: { retries: 2, sleep: async () => {} } }).listBuckets(),
      );

      // Assess
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(error).toMatchObject({
        code: 'gateway_unavailable',
        status: 503,
        attempts: 3,
        gatewayMessage: 'Service is busy',
        operation: 'buckets.list',
        outcomeUnknown: false,
      });
      expect(h.since(mark)).toHaveLength(3);
    });

    it('waits with exponential backoff and full jitter between attempts', async () => {
      // Prepare
      h.emulator.faults.inject({
        match: { service: 'ostor-limits' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'status', status: 500 },
      });
      const waits: number[] = [];
      const c = client({
        retry: {
          retries: 5,
          baseDelayMs: 100,
          maxDelayMs: 1_000,
          random: () => 0.5,
          sleep: async (ms) => {
            waits.push(ms);
          },
        },
      });

      // Act
      const error = await caught(() => c.getLimits({ userId: h.system.userId }));

      // Assess
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(waits).toEqual([50, 100, 200, 400, 500]);
    });

    it('retries a reset connection', async () => {
      // Prepare
      h.emulator.faults.inject({ match: { service: 'ostor-users' }, fault: { kind: 'reset' } });
      const mark = h.emulator.requests.length;

      // Act
      const users = await client().listUsers();

      // Assess
      expect(users.length).toBeGreaterThan(0);
      expect(h.since(mark).map((r) => r.fault)).toEqual(['reset', null]);
    });

    it('answers GatewayUnavailableError without a status when every attempt is reset', async () => {
      // Prepare
      h.emulator.faults.inject({
        match: { service: 'ostor-users' },
        times: Number.POSITIVE_INFINITY,
        fault: { kind: 'reset' },
      });

      // Act
      const error = await caught(() => client({ retry: { retries: 1, sleep: async () => {} } }).listUsers());

      // Assess
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(error).toMatchObject({ attempts: 2 });
      expect((error as GatewayUnavailableError).status).toBeUndefined();
    });

    it('answers MalformedResponseError for broken JSON, without retrying', async () => {
      // Prepare
      h.emulator.faults.inject({ match: { service: 'ostor-users' }, fault: { kind: 'malformed' } });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() => client().getUser({ userId: h.system.userId }));

      // Assess
      expect(error).toBeInstanceOf(MalformedResponseError);
      expect(error).toMatchObject({ code: 'malformed_response', operation: 'users.get', status: 200 });
      expect(h.since(mark)).toHaveLength(1);
    });

    it('keeps the broken body out of the error, so a logged error cannot quote a secret from it', async () => {
      // Prepare: a user whose secret key comes unquoted; V8's SyntaxError quotes the text around
      // the offending token ("Unexpected token 'w', ..."ccessKey":wJalrXUtnF"... is not valid JSON").
      const secret = 'wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY';
      h.emulator.faults.inject({
        match: { service: 'ostor-users' },
        fault: {
          kind: 'malformed',
          body: `{"UserEmail":"a@example.com","AWSAccessKeys":[{"AWSAccessKeyId":"AKIDEXAMPLE","AWSSecretAccessKey":${secret}}]}`,
        },
      });
      // Act
      const error = await caught(() => client().getUser({ userId: h.system.userId }));
      // Assess: what the logger would print (the error with its cause chain, redacted).
      expect(error).toBeInstanceOf(MalformedResponseError);
      const logged = JSON.stringify(redact({ cause: error }));
      expect(logged).toContain('the body is not JSON');
      for (let start = 0; start + 6 <= secret.length; start++) {
        expect(logged).not.toContain(secret.slice(start, start + 6));
      }
    });

    it('answers MalformedResponseError for JSON of the wrong shape', async () => {
      h.emulator.faults.inject({
        match: { service: 'ostor-buckets' },
        fault: { kind: 'malformed', body: '{"Buckets":[{"name":"x"}]}' },
      });
      const error = await caught(() => client().listBuckets());
      expect(error).toBeInstanceOf(MalformedResponseError);
      expect((error as Error).message).toMatch(/Buckets\.0\./);
    });
  });

  describe('calls never repeated', () => {
    it('does not repeat create user after a 5xx that followed the change', async () => {
      // Prepare
      const email = uniqueEmail('once');
      h.emulator.faults.inject({
        match: { service: 'ostor-users', method: 'PUT' },
        fault: { kind: 'status', status: 500, afterApply: true },
      });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() => client().createUser(email));

      // Assess
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(error).toMatchObject({ status: 500, attempts: 1, outcomeUnknown: true });
      expect((error as Error).message).toMatch(/may or may not have been applied/);
      expect(h.since(mark)).toHaveLength(1);
      expect(h.emulator.state.usersWithEmail(email)).toHaveLength(1);
    });

    it('does not repeat genKey after a reset that followed the change', async () => {
      // Prepare
      const user = h.emulator.state.createUser(uniqueEmail());
      h.emulator.faults.inject({ match: { param: 'genKey' }, fault: { kind: 'reset', afterApply: true } });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() => client().generateKey({ userId: user.id }));

      // Assess
      expect(error).toBeInstanceOf(GatewayUnavailableError);
      expect(error).toMatchObject({ outcomeUnknown: true, attempts: 1 });
      expect(h.since(mark)).toHaveLength(1);
      expect(user.keys).toHaveLength(2);
    });

    it('does not repeat genKey after a broken answer, and says the outcome is unknown', async () => {
      // Prepare
      const user = h.emulator.state.createUser(uniqueEmail());
      h.emulator.faults.inject({
        match: { param: 'genKey' },
        fault: { kind: 'malformed', afterApply: true },
      });

      // Act
      const error = await caught(() => client().generateKey({ userId: user.id }));

      // Assess
      expect(error).toBeInstanceOf(MalformedResponseError);
      expect(error).toMatchObject({ outcomeUnknown: true });
      expect(user.keys).toHaveLength(2);
    });
  });

  describe('credentials refresh', () => {
    it('refreshes the credentials once after a 403 and retries with the rotated key', async () => {
      // Prepare
      const rotated = h.emulator.createSystemUser(uniqueEmail('rotating'));
      const old = { accessKeyId: rotated.accessKeyId, secretAccessKey: rotated.secretAccessKey };
      const fresh = h.emulator.state.generateKey(rotated.userId);
      h.emulator.state.revokeKey(rotated.userId, old.accessKeyId);
      let refreshes = 0;
      const c = client({
        credentials: {
          get: async () => old,
          refresh: async () => {
            refreshes += 1;
            return { accessKeyId: fresh.accessKeyId, secretAccessKey: fresh.secretAccessKey };
          },
        },
      });
      const mark = h.emulator.requests.length;

      // Act
      const users = await c.listUsers();

      // Assess
      expect(users.some((u) => u.userId === rotated.userId)).toBe(true);
      expect(refreshes).toBe(1);
      expect(h.since(mark).map((r) => [r.status, r.accessKeyId])).toEqual([
        [403, null],
        [200, fresh.accessKeyId],
      ]);
    });

    it('refreshes at most once: a second 403 is a GatewayAuthError', async () => {
      // Prepare
      let refreshes = 0;
      const bad = { accessKeyId: 'ZZZZZZZZZZZZZZZZZZZZ', secretAccessKey: 'nope-nope-nope-nope' };
      const c = client({
        credentials: {
          get: async () => bad,
          refresh: async () => {
            refreshes += 1;
            return bad;
          },
        },
      });
      const mark = h.emulator.requests.length;

      // Act
      const error = await caught(() => c.createUser(uniqueEmail()));

      // Assess
      expect(error).toBeInstanceOf(GatewayAuthError);
      expect(error).toMatchObject({ attempts: 2, outcomeUnknown: false });
      expect(refreshes).toBe(1);
      expect(h.since(mark)).toHaveLength(2);
    });
  });

  describe('204 and 203 for deletes', () => {
    it.each([203, 204, 200])('accepts %i as success of a delete', async (status) => {
      // Prepare
      const previous = h.emulator.behaviour.deleteStatus;
      h.emulator.behaviour.deleteStatus = status;
      const user = h.emulator.state.createUser(uniqueEmail());
      h.emulator.state.createAccount(user.id, 'acct');
      const mark = h.emulator.requests.length;

      try {
        // Act
        await client().deleteAccount({ userId: user.id }, 'acct');
        await client().deleteUser({ userId: user.id });

        // Assess
        expect(h.since(mark).map((r) => r.status)).toEqual([status, status]);
        expect(h.emulator.state.users.has(user.id)).toBe(false);
      } finally {
        h.emulator.behaviour.deleteStatus = previous;
      }
    });
  });

  it('reads the user list wrapped as {"Users": [...]}', async () => {
    // Prepare
    h.emulator.behaviour.userListFormat = 'wrapped';
    try {
      // Act
      const users = await client().listUsers();

      // Assess
      expect(users.find((u) => u.userId === h.system.userId)?.state).toBe('enabled');
    } finally {
      h.emulator.behaviour.userListFormat = 'array';
    }
  });

  it('keeps secrets, signatures and Authorization values out of every error', async () => {
    // Prepare
    const secret = 'a-very-secret-key-that-must-never-leak-0001';
    const wrong = client({ credentials: { accessKeyId: h.system.accessKeyId, secretAccessKey: secret } });
    const mark = h.emulator.requests.length;

    // Act
    const errors = [
      await caught(() => wrong.listUsers()),
      await caught(() => wrong.deleteBucket(uniqueBucket())),
      await caught(() => wrong.createUser(uniqueEmail())),
    ];

    // Assess
    const authorizations = h.since(mark).map((r) => String(r.headers.authorization));
    const signatures = authorizations.map(
      (a) => /^AWS [^:]+:(.+)$/.exec(a)?.[1] ?? /Signature=(\w+)/.exec(a)?.[1],
    );
    expect(authorizations).toHaveLength(3);
    for (const error of errors) {
      expect(error).toBeInstanceOf(GatewayAuthError);
      const text = [(error as Error).message, JSON.stringify(error), String((error as Error).stack)].join(
        '\n',
      );
      expect(text).not.toContain(secret);
      for (const authorization of authorizations) expect(text).not.toContain(authorization);
      for (const signature of signatures) {
        expect(signature?.length).toBeGreaterThan(20);
        expect(text).not.toContain(signature);
      }
    }
    // What the gateway did answer (its StringToSign in the XML body) stays out as well.
    expect(JSON.stringify(errors)).not.toContain('StringToSign');
  });
});

// undici checks its headers and body timers about twice a second, so a timeout fires up to ~1 s
// after it is due: the delays below leave that margin. Timeouts do not depend on the signature
// version, so these run once.
describe('timeouts', () => {
  it('answers GatewayTimeoutError when the gateway never answers', async () => {
    // Prepare
    h.emulator.faults.inject({ match: { service: 'ostor-usage' }, fault: { kind: 'hang' } });
    const c = h.client({ timeouts: { headersMs: 100 }, retry: { retries: 0 } });
    const mark = h.emulator.requests.length;

    // Act
    const error = await caught(() => c.listUsage());

    // Assess
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    expect(error).toMatchObject({ code: 'gateway_timeout', phase: 'headers', attempts: 1 });
    expect((error as GatewayTimeoutError).status).toBeUndefined();
    expect(h.since(mark)).toHaveLength(1);
  });

  it('answers GatewayTimeoutError when a delay outlasts the headers timeout', async () => {
    // Prepare
    h.emulator.faults.inject({ match: { service: 'ostor-buckets' }, fault: { kind: 'delay', ms: 2_500 } });
    const c = h.client({ timeouts: { headersMs: 100 }, retry: { retries: 0 } });

    // Act
    const error = await caught(() => c.listBuckets());

    // Assess
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    expect(error).toMatchObject({ phase: 'headers', outcomeUnknown: false });
  });

  it('retries a call that timed out once', async () => {
    // Prepare
    h.emulator.faults.inject({ match: { service: 'ostor-usage' }, fault: { kind: 'hang' } });
    const mark = h.emulator.requests.length;

    // Act
    const page = await h.client({ timeouts: { headersMs: 100 } }).listUsage();

    // Assess
    expect(page.truncated).toBe(false);
    expect(h.since(mark).map((r) => r.fault)).toEqual(['hang', null]);
  });

  it('does not repeat create account after a timeout, and says the outcome is unknown', async () => {
    // Prepare
    const user = h.emulator.state.createUser(uniqueEmail());
    h.emulator.faults.inject({ match: { service: 'ostor-accounts' }, fault: { kind: 'hang' } });
    const mark = h.emulator.requests.length;

    // Act
    const error = await caught(() =>
      h.client({ timeouts: { headersMs: 100 } }).createAccount({ userId: user.id }, 'slow'),
    );

    // Assess
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    expect(error).toMatchObject({ outcomeUnknown: true, attempts: 1 });
    expect(h.since(mark)).toHaveLength(1);
  });
});

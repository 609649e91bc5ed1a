// Authentication and authorisation on the emulator: Signature V2 and V4, the 15-minute clock-skew
// rule, the system-user rule for ?ostor-*, disabled users and anonymous requests.

import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, type SystemUserCredentials, startEmulator } from '../../../emulator/gateway.ts';
import { presignUrlV2, signRequestV2 } from '../../../shared/signing/sigv2.ts';
import { signRequestV4 } from '../../../shared/signing/sigv4.ts';
import { client, md5Base64, send } from './http.ts';

let emulator: Emulator;
let system: SystemUserCredentials;
let admin: ReturnType<typeof client>;
let plain: { accessKeyId: string; secretAccessKey: string; userId: string };

const MINUTE = 60_000;

beforeAll(async () => {
  emulator = await startEmulator();
  system = emulator.createSystemUser('admin@example.com');
  admin = client(emulator, system);
  const user = emulator.state.createUser('client@example.com');
  const key = user.keys[0];
  if (key === undefined) throw new Error('a new user has a key');
  plain = { accessKeyId: key.accessKeyId, secretAccessKey: key.secretAccessKey, userId: user.id };
  emulator.state.createBucket(user.id, 'client-bucket');
});

afterAll(async () => {
  await emulator.close();
});

describe('the system-user rule', () => {
  it('refuses ?ostor-* to a user without the system flag (403) but serves it to a system user', async () => {
    // Act
    const refused = await send(emulator, plain, { method: 'GET', target: '/?ostor-users' });
    const served = await admin.call('GET', '/?ostor-users');

    // Assess
    expect(refused.status).toBe(403);
    expect(refused.text).toContain('<Code>AccessDenied</Code>');
    expect(refused.message).toBe('Only system users may call the ostor admin API');
    expect(served.status).toBe(200);
  });

  it('answers 400 for an unknown service, and for a service that is not the first parameter', async () => {
    // Act
    const unknown = await admin.call('GET', '/?ostor-things');
    const notFirst = await admin.call('GET', '/?emailAddress=admin%40example.com&ostor-users');

    // Assess
    expect(unknown.status).toBe(400);
    expect(unknown.message).toBe('Unknown service: ostor-things');
    expect(notFirst.status).toBe(400);
  });

  it('lets a plain user use S3 on its own bucket', async () => {
    // Act
    const answer = await send(emulator, plain, { method: 'GET', target: '/client-bucket?list-type=2' });

    // Assess
    expect(answer.status).toBe(200);
    expect(emulator.requests.at(-1)?.accessKeyId).toBe(plain.accessKeyId);
  });
});

describe('Signature V2', () => {
  it('accepts a signed request and records the key and the version', async () => {
    // Act
    const answer = await admin.call('GET', '/?ostor-users&emailAddress=admin%40example.com');

    // Assess
    expect(answer.status).toBe(200);
    const recorded = emulator.requests.at(-1);
    expect(recorded?.signatureVersion).toBe(2);
    expect(recorded?.accessKeyId).toBe(system.accessKeyId);
  });

  it('refuses a wrong signature with 403 SignatureDoesNotMatch, showing the string to sign', async () => {
    // Act
    const answer = await send(
      emulator,
      { ...system, secretAccessKey: 'x'.repeat(40) },
      {
        method: 'GET',
        target: '/?ostor-users&emailAddress=admin%40example.com',
      },
    );

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(answer.text).toMatch(/<StringToSign>GET\n\n\n[^<]+\n\/\?ostor-users<\/StringToSign>/);
    expect(emulator.requests.at(-1)?.accessKeyId).toBeNull();
  });

  it('refuses a request dated more than 15 minutes off the gateway clock (RequestTimeTooSkewed)', async () => {
    // Act
    const late = await admin.call('GET', '/?ostor-users', { now: new Date(Date.now() - 16 * MINUTE) });
    const early = await admin.call('GET', '/?ostor-users', { now: new Date(Date.now() + 16 * MINUTE) });
    const withinLimit = await admin.call('GET', '/?ostor-users', { now: new Date(Date.now() - 14 * MINUTE) });

    // Assess
    expect(late.status).toBe(403);
    expect(late.text).toContain('<Code>RequestTimeTooSkewed</Code>');
    expect(late.message).toBe('The difference between the request time and the current time is too large.');
    expect(early.status).toBe(403);
    expect(withinLimit.status).toBe(200);
  });

  it('takes x-amz-date in place of Date, and refuses a request without a valid date', async () => {
    // Act
    const amzDate = await admin.call('GET', '/?ostor-users', {
      headers: { 'x-amz-date': new Date().toUTCString() },
    });
    const numericZone = await admin.call('GET', '/?ostor-users', {
      headers: { date: new Date().toUTCString().replace('GMT', '+0000') },
    });
    const invalid = await admin.call('GET', '/?ostor-users', { headers: { 'x-amz-date': 'yesterday' } });

    // Assess
    expect(amzDate.status).toBe(200);
    expect(numericZone.status).toBe(200);
    expect(invalid.status).toBe(403);
    expect(invalid.message).toBe('AWS authentication requires a valid Date or x-amz-date header');
  });

  it('signs the content type actually sent: one added after signing breaks the signature', async () => {
    // Prepare
    const signed = signRequestV2(
      { method: 'PUT', path: '/client-bucket/untyped', query: '', headers: {} },
      system,
    );

    // Act
    const withType = await admin.call('PUT', '/client-bucket/typed', {
      body: 'x',
      headers: { 'content-type': 'text/plain' },
    });
    const typeAdded = await request(`${emulator.url}/client-bucket/untyped`, {
      method: 'PUT',
      headers: { ...signed, 'content-type': 'text/plain' },
      body: 'x',
    });
    await typeAdded.body.text();

    // Assess
    expect(withType.status).toBe(200);
    expect(emulator.state.buckets.get('client-bucket')?.objects.get('typed')?.contentType).toBe('text/plain');
    expect(typeAdded.statusCode).toBe(403);
    expect(emulator.state.buckets.get('client-bucket')?.objects.has('untyped')).toBe(false);
  });

  it('accepts query-string authentication until Expires', async () => {
    // Prepare
    const valid = presignUrlV2({ method: 'GET', path: '/', query: 'ostor-users', headers: {} }, system, {
      expires: new Date(Date.now() + MINUTE),
    });
    const expired = presignUrlV2({ method: 'GET', path: '/', query: 'ostor-users', headers: {} }, system, {
      expires: new Date(Date.now() - MINUTE),
    });

    // Act
    const ok = await request(`${emulator.url}${valid}`);
    const late = await request(`${emulator.url}${expired}`);
    await Promise.all([ok.body.text(), late.body.text()]);

    // Assess
    expect(ok.statusCode).toBe(200);
    expect(late.statusCode).toBe(403);
    expect(late.headers['x-amz-err-message']).toBe('Request has expired');
  });
});

describe('Signature V4', () => {
  it('accepts admin calls with valueless flags and S3 uploads with a body', async () => {
    // Act
    const list = await admin.call('GET', '/?ostor-users', { version: 4 });
    const created = await admin.call('PUT', '/?ostor-users&emailAddress=v4%2Buser%40example.com', {
      version: 4,
    });
    const genKey = await admin.call('POST', '/?ostor-users&emailAddress=v4%2Buser%40example.com&genKey', {
      version: 4,
    });
    const upload = await admin.call('PUT', '/client-bucket/v4%20object', { version: 4, body: 'hello v4' });

    // Assess
    expect([list.status, created.status, genKey.status, upload.status]).toEqual([200, 200, 200, 200]);
    expect(emulator.state.findUserByEmail('v4+user@example.com')?.keys).toHaveLength(2);
    expect(emulator.state.buckets.get('client-bucket')?.objects.get('v4 object')?.size).toBe(8);
    expect(emulator.requests.at(-1)?.signatureVersion).toBe(4);
  });

  it('refuses a wrong secret with 403 SignatureDoesNotMatch', async () => {
    // Act
    const answer = await send(
      emulator,
      { ...system, secretAccessKey: 'y'.repeat(40) },
      {
        method: 'GET',
        target: '/?ostor-users',
        version: 4,
      },
    );

    // Assess
    expect(answer.status).toBe(403);
    expect(answer.text).toContain('<Code>SignatureDoesNotMatch</Code>');
    expect(answer.text).toContain('<CanonicalRequest>GET\n/\nostor-users=\n');
  });

  it('refuses a request dated more than 15 minutes off (RequestTimeTooSkewed)', async () => {
    // Act
    const late = await admin.call('GET', '/?ostor-users', {
      version: 4,
      now: new Date(Date.now() - 20 * MINUTE),
    });

    // Assess
    expect(late.status).toBe(403);
    expect(late.text).toContain('<Code>RequestTimeTooSkewed</Code>');
  });

  it('refuses a body that does not match the signed payload hash', async () => {
    // Prepare
    const url = new URL(emulator.url);
    const headers = await signRequestV4(
      {
        method: 'PUT',
        hostname: url.hostname,
        port: Number(url.port),
        protocol: 'http:',
        path: '/client-bucket/tampered',
        query: {},
        headers: {},
        body: 'original',
      },
      system,
      { region: 'us-east-1' },
    );

    // Act
    const answer = await request(`${emulator.url}/client-bucket/tampered`, {
      method: 'PUT',
      headers,
      body: 'changed!',
    });
    await answer.body.text();

    // Assess
    expect(answer.statusCode).toBe(403);
    expect(emulator.state.buckets.get('client-bucket')?.objects.has('tampered')).toBe(false);
  });
});

describe('who may call at all', () => {
  it('refuses anonymous requests and unknown keys with 403', async () => {
    // Act
    const anonymous = await send(emulator, system, { method: 'GET', target: '/?ostor-users', version: null });
    const unknown = await send(
      emulator,
      { accessKeyId: '0123456789abcdefZZZZ', secretAccessKey: 'z'.repeat(40) },
      { method: 'GET', target: '/?ostor-users' },
    );

    // Assess
    expect(anonymous.status).toBe(403);
    expect(emulator.requests.at(-2)?.signatureVersion).toBeNull();
    expect(unknown.status).toBe(403);
    expect(unknown.text).toContain('<Code>InvalidAccessKeyId</Code>');
  });

  it('refuses every request of a disabled user until it is enabled again', async () => {
    // Prepare
    await admin.call('POST', `/?ostor-users&id=${plain.userId}&disable`);

    // Act
    const whileDisabled = await send(emulator, plain, {
      method: 'GET',
      target: '/client-bucket?list-type=2',
    });
    await admin.call('POST', `/?ostor-users&id=${plain.userId}&enable`);
    const afterEnable = await send(emulator, plain, { method: 'GET', target: '/client-bucket?list-type=2' });

    // Assess
    expect(whileDisabled.status).toBe(403);
    expect(whileDisabled.message).toBe('The user is disabled');
    expect(afterEnable.status).toBe(200);
  });

  it('lets an account key act for its user, and stops accepting a revoked key', async () => {
    // Prepare
    const account = emulator.state.createAccount(plain.userId, 'project');
    const accountKey = account.keys[0];
    if (accountKey === undefined) throw new Error('a new account has a key');
    const body = 'k';

    // Act
    const upload = await send(emulator, accountKey, {
      method: 'PUT',
      target: '/client-bucket/by-account',
      body,
      headers: { 'content-md5': md5Base64(body) },
    });
    emulator.state.revokeKey(plain.userId, accountKey.accessKeyId, 'project');
    const afterRevoke = await send(emulator, accountKey, {
      method: 'GET',
      target: '/client-bucket?list-type=2',
    });

    // Assess
    expect(upload.status).toBe(200);
    expect(afterRevoke.status).toBe(403);
  });
});

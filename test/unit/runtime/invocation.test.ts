// Which way a function was called, decided by schemas: an HTTP API request, a scheduled tick, a
// Secrets Manager rotation step, or else a direct invocation whose payload is the envelope.
import { describe, expect, it } from 'vitest';
import { classifyInvocation, classifyRotation } from '../../../shared/runtime/invocation.ts';
import { httpApiEvent } from '../../handlers/events.ts';

describe('classifyInvocation', () => {
  it('reads an HTTP API request: method, path, lower-case headers and the raw body bytes', () => {
    // Prepare
    const body = '{"type":"suspend","data":{"email":"é@example.com"}}';
    // Act
    const plain = classifyInvocation(
      httpApiEvent('POST', '/suspend', body, { headers: { 'Webhook-Id': 'm1' } }),
    );
    const encoded = classifyInvocation(httpApiEvent('post', '/suspend', body, { base64: true }));
    // Assess
    expect(plain).toMatchObject({
      kind: 'http',
      method: 'POST',
      path: '/suspend',
      headers: { 'webhook-id': 'm1' },
    });
    expect(encoded).toMatchObject({ kind: 'http', method: 'POST' });
    for (const invocation of [plain, encoded]) {
      expect(invocation.kind === 'http' && invocation.rawBody.equals(Buffer.from(body, 'utf8'))).toBe(true);
    }
  });

  it('reads a scheduled tick with its own time and id', () => {
    expect(
      classifyInvocation({
        source: 'aws.scheduler',
        'detail-type': 'Scheduled Event',
        id: 'exec-1',
        time: '2026-11-26T12:15:00Z',
        resources: [],
        detail: {},
      }),
    ).toEqual({ kind: 'schedule', time: new Date('2026-11-26T12:15:00Z'), id: 'exec-1' });
  });

  it('takes anything else, an envelope or a look-alike of the other shapes, as a direct invocation', () => {
    const envelope = {
      type: 'provision',
      timestamp: '2026-11-26T12:00:00Z',
      data: { email: 'a@example.com' },
    };
    const notHttp = { ...httpApiEvent('POST', '/provision', '{}'), isBase64Encoded: 'yes' };
    const notScheduled = { source: 'aws.scheduler', 'detail-type': 'Something Else' };
    for (const payload of [envelope, notHttp, notScheduled, null, 'text']) {
      expect(classifyInvocation(payload)).toEqual({ kind: 'direct', payload });
    }
  });
});

describe('classifyRotation', () => {
  it('reads Secrets Manager’s step event, RotationToken and all, and nothing else', () => {
    const step = {
      SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:g-AbCdEf',
      ClientRequestToken: 'v2',
      Step: 'testSecret',
      RotationToken: 'x',
    };
    expect(classifyRotation(step)).toEqual({
      kind: 'rotation',
      secretId: step.SecretId,
      token: 'v2',
      step: 'testSecret',
    });
    expect(classifyRotation({ ...step, Step: 'dropSecret' })).toBeUndefined();
    expect(classifyRotation({ ...step, ClientRequestToken: '' })).toBeUndefined();
    expect(classifyRotation({ type: 'rotate-key' })).toBeUndefined();
  });
});

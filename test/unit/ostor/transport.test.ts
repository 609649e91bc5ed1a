// The transport: endpoint and option checks at construction, redirects never followed, body
// timeouts, refused connections, bounded concurrency, the error text taken from the gateway and
// cleaned of anything secret, and the response size cap.
import { createServer } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ConfigurationError, InvalidInputError } from '../../../shared/errors.ts';
import {
  GatewayRejectedError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  MalformedResponseError,
  OstorClient,
  parseEndpoint,
} from '../../../shared/ostor/index.ts';
import { caught } from './harness.ts';
import type { Peer } from './peer.ts';
import { rawJson, startPeer } from './peer.ts';

const CREDENTIALS = {
  accessKeyId: 'a14040e0b2ef8b28FZZ8',
  secretAccessKey: 'dbwTnQTW602aAAdq8DQVFzB6yrTCFTNiGB8C8RFA',
};

describe('endpoint', () => {
  it.each([
    'https://s3.example.com',
    'https://s3.example.com/',
    'https://s3.example.com:8443',
    'http://127.0.0.1:9000',
    'http://127.1.2.3',
    'http://localhost:8080',
    'http://[::1]:9000',
  ])('accepts %s', (endpoint) => {
    expect(parseEndpoint(endpoint, false).pathname).toBe('/');
  });

  it.each([
    ['http://s3.example.com', /https/],
    ['ftp://s3.example.com', /https/],
    ['https://admin:hunter2-password@s3.example.com', /credentials/],
    ['https://s3.example.com/admin', /origin only/],
    ['https://s3.example.com/?ostor-users', /origin only/],
    ['https://s3.example.com/#x', /fragment/],
    ['s3.example.com', /absolute URL/],
  ])('refuses %s', (endpoint, problem) => {
    // Act
    const error = (() => {
      try {
        parseEndpoint(endpoint, false);
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ variable: 'OSTOR_GATEWAY_URL', code: 'configuration' });
    expect((error as Error).message).toMatch(problem);
    expect((error as Error).message).not.toContain('hunter2');
  });

  it('accepts plain http to another host only with allowInsecureHttp', () => {
    expect(() => new OstorClient({ endpoint: 'http://10.0.0.5', credentials: CREDENTIALS })).toThrow(
      ConfigurationError,
    );
    const client = new OstorClient({
      endpoint: 'http://10.0.0.5',
      credentials: CREDENTIALS,
      allowInsecureHttp: true,
    });
    expect(client.endpoint).toBe('http://10.0.0.5');
    return client.close();
  });

  it('refuses unusable options and credentials at construction', () => {
    const endpoint = 'https://s3.example.com';
    expect(() => new OstorClient({ endpoint, credentials: CREDENTIALS, connections: 0 })).toThrow(
      InvalidInputError,
    );
    expect(
      () => new OstorClient({ endpoint, credentials: CREDENTIALS, timeouts: { headersMs: -1 } }),
    ).toThrow(InvalidInputError);
    expect(() => new OstorClient({ endpoint, credentials: CREDENTIALS, region: 'US East' })).toThrow(
      ConfigurationError,
    );
    expect(() => new OstorClient({ endpoint, credentials: CREDENTIALS, signatureVersion: 3 as 2 })).toThrow(
      ConfigurationError,
    );
    expect(
      () => new OstorClient({ endpoint, credentials: { accessKeyId: 'a\r\nx: y', secretAccessKey: 's' } }),
    ).toThrow(ConfigurationError);
  });
});

describe('over HTTP', () => {
  let peer: Peer;
  let client: OstorClient;

  beforeAll(async () => {
    peer = await startPeer();
    client = new OstorClient({
      endpoint: peer.url,
      credentials: CREDENTIALS,
      retry: { retries: 2, baseDelayMs: 1, maxDelayMs: 1 },
      timeouts: { bodyMs: 100 },
    });
  });

  beforeEach(() => {
    peer.requests.length = 0;
  });

  afterAll(async () => {
    await client.close();
    await peer.close();
  });

  it('does not follow a redirect: a 3xx is a GatewayRejectedError', async () => {
    // Prepare
    peer.answer((_request, response) => {
      response.writeHead(301, { location: `${peer.url}/elsewhere` });
      response.end();
    });

    // Act
    const error = await caught(() => client.listUsers());

    // Assess
    expect(error).toBeInstanceOf(GatewayRejectedError);
    expect(error).toMatchObject({ status: 301, attempts: 1 });
    expect(peer.requests.map((r) => r.url)).toEqual(['/?ostor-users']);
  });

  it('answers GatewayTimeoutError (body) when the body stalls, after retrying', async () => {
    // Prepare
    peer.answer((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('[{"UserEmail":');
    });

    const once = new OstorClient({
      endpoint: peer.url,
      credentials: CREDENTIALS,
      retry: { retries: 1, sleep: async () => {} },
      timeouts: { bodyMs: 100 },
    });

    // Act
    const error = await caught(() => once.listUsers());
    await once.close();

    // Assess
    expect(error).toBeInstanceOf(GatewayTimeoutError);
    expect(error).toMatchObject({ phase: 'body', attempts: 2 });
    expect(peer.requests).toHaveLength(2);
  }, 10_000);

  it('takes the gateway message from X-Amz-Err-Message, else from the XML body, cleaned of secrets', async () => {
    // Prepare: a gateway that echoes the Authorization header and the secret key.
    let authorization = '';
    peer.answer((request, response) => {
      authorization = String(request.headers.authorization);
      response.writeHead(400, {
        'x-amz-err-message': `bad request ${authorization} with ${CREDENTIALS.secretAccessKey}\tand more`,
      });
      response.end();
    });

    // Act
    const fromHeader = await caught(() => client.listUsers());
    peer.answer(
      rawJson(
        '<?xml version="1.0"?><Error><Code>InvalidArgument</Code><Message>a &amp; b</Message><StringToSign>GET</StringToSign></Error>',
        400,
      ),
    );
    const fromBody = await caught(() => client.listUsers());

    // Assess
    expect(authorization).toMatch(/^AWS a14040e0b2ef8b28FZZ8:/);
    const text = `${(fromHeader as Error).message} ${JSON.stringify(fromHeader)}`;
    expect(text).not.toContain(CREDENTIALS.secretAccessKey);
    expect(text).not.toContain(authorization.slice('AWS a14040e0b2ef8b28FZZ8:'.length));
    expect((fromHeader as GatewayRejectedError).gatewayMessage).toBe(
      'bad request [redacted] with [redacted] and more',
    );
    expect(fromBody).toMatchObject({ gatewayMessage: 'a & b', gatewayCode: 'InvalidArgument' });
  });

  it('caps the size of an answer', async () => {
    // Prepare
    const small = new OstorClient({ endpoint: peer.url, credentials: CREDENTIALS, maxResponseBytes: 1_000 });
    peer.answer(rawJson(JSON.stringify(Array.from({ length: 100 }, () => ({ UserEmail: 'x'.repeat(50) })))));

    // Act
    const error = await caught(() => small.listUsers());
    await small.close();

    // Assess
    expect(error).toBeInstanceOf(MalformedResponseError);
  });

  it('keeps at most `connections` requests in flight', async () => {
    // Prepare
    const limited = new OstorClient({ endpoint: peer.url, credentials: CREDENTIALS, connections: 2 });
    let inFlight = 0;
    let most = 0;
    peer.answer((_request, response) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      setTimeout(() => {
        inFlight -= 1;
        response.end('[]');
      }, 20);
    });

    // Act
    await Promise.all(Array.from({ length: 8 }, () => limited.listUsers()));
    await limited.close();

    // Assess
    expect(peer.requests).toHaveLength(8);
    expect(most).toBe(2);
  });

  it('sends the V2 Date and Authorization headers, and no Authorization value in the URL', async () => {
    peer.answer(rawJson('[]'));
    await client.listUsers();
    const [request] = peer.requests;
    expect(request?.headers.authorization).toMatch(/^AWS a14040e0b2ef8b28FZZ8:[A-Za-z0-9+/]{27}=$/);
    expect(Date.parse(String(request?.headers.date))).not.toBeNaN();
    expect(request?.url).toBe('/?ostor-users');
  });

  it('sends V4 headers with the configured region', async () => {
    // Prepare
    const v4 = new OstorClient({
      endpoint: peer.url,
      credentials: CREDENTIALS,
      signatureVersion: 4,
      region: 'eu-1',
    });
    peer.answer(rawJson('[]'));

    // Act
    await v4.listUsers();
    await v4.close();

    // Assess
    const headers = peer.requests[0]?.headers;
    expect(headers?.authorization).toMatch(
      /^AWS4-HMAC-SHA256 Credential=a14040e0b2ef8b28FZZ8\/\d{8}\/eu-1\/s3\/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$/,
    );
    expect(headers?.host).toBe(new URL(peer.url).host);
  });
});

it('answers GatewayUnavailableError without a status when the connection is refused', async () => {
  // Prepare: a port that was free a moment ago.
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  const client = new OstorClient({
    endpoint: `http://127.0.0.1:${port}`,
    credentials: CREDENTIALS,
    retry: { retries: 1, sleep: async () => {} },
  });

  // Act
  const error = await caught(() => client.createUser('new@example.com'));
  await client.close();

  // Assess
  expect(error).toBeInstanceOf(GatewayUnavailableError);
  // Nothing reached the gateway, so even a create is tried again (retries: 1), and the outcome is known.
  expect(error).toMatchObject({ code: 'gateway_unavailable', attempts: 2, outcomeUnknown: false });
  expect((error as GatewayUnavailableError).status).toBeUndefined();
  expect((error as Error).message).toMatch(/could not be reached/);
});

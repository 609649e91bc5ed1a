// Lambda events as AWS sends them, for handler tests: an API Gateway HTTP API request (payload
// format 2.0, the shape Function URLs use too) for the $default stage, as documented in "Working
// with AWS Lambda proxy integrations for HTTP APIs". Every field a real event carries is present.
import { randomUUID } from 'node:crypto';

export interface HttpApiEventOptions {
  /** Base64-encode the body (isBase64Encoded: true), as the HTTP API does for non-text bodies. */
  readonly base64?: boolean;
  /** Request headers (lower-case names), added to a realistic set. */
  readonly headers?: Readonly<Record<string, string>>;
}

export function httpApiEvent(
  method: string,
  path: string,
  body: string | undefined,
  options: HttpApiEventOptions = {},
) {
  const now = new Date();
  const host = 'a1b2c3d4e5.execute-api.eu-central-1.amazonaws.com';
  const headers: Record<string, string> = {
    accept: '*/*',
    'content-length': String(Buffer.byteLength(body ?? '')),
    'content-type': 'application/json',
    host,
    'user-agent': 'billing-system/1.0',
    'x-amzn-trace-id': 'Root=1-67891233-abcdef012345678912345678',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
    ...options.headers,
  };
  return {
    version: '2.0',
    routeKey: `${method} ${path}`,
    rawPath: path,
    rawQueryString: '',
    headers,
    requestContext: {
      accountId: '123456789012',
      apiId: 'a1b2c3d4e5',
      domainName: host,
      domainPrefix: 'a1b2c3d4e5',
      http: { method, path, protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'billing-system/1.0' },
      requestId: randomUUID(),
      routeKey: `${method} ${path}`,
      stage: '$default',
      time: '06/Dec/2026:02:30:00 +0000',
      timeEpoch: now.getTime(),
    },
    ...(body === undefined
      ? { isBase64Encoded: false }
      : {
          body: options.base64 === true ? Buffer.from(body, 'utf8').toString('base64') : body,
          isBase64Encoded: options.base64 === true,
        }),
  };
}

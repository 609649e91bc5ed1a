// Request authentication as the gateway does it: Signature V2 (header or query string, with S3's
// 15-minute clock-skew rule) or Signature V4 (header), verified with the project's signing library.

import type { IncomingHttpHeaders } from 'node:http';
import {
  requestDateV2,
  type SignableRequest,
  signatureV2,
  stringToSignV2,
  verifyRequestV2,
} from '../shared/signing/sigv2.ts';
import { inspectRequestV4, type V4Request, verifyRequestV4 } from '../shared/signing/sigv4.ts';
import { accessDenied, GatewayError } from './errors.ts';
import type { QueryParam } from './query.ts';
import type { EmulatorState, KeyHolder } from './state.ts';

export type SignatureVersion = 2 | 4;

/** S3's limit on the distance between a request's date and the server's clock. */
export const MAX_SKEW_SECONDS = 900;

export interface AuthInput {
  readonly method: string;
  /** Path and query exactly as on the wire. */
  readonly rawPath: string;
  readonly rawQuery: string;
  readonly params: readonly QueryParam[];
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly now: Date;
  readonly state: EmulatorState;
}

export interface Authenticated {
  readonly version: SignatureVersion;
  readonly holder: KeyHolder;
}

function headerText(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

/** The scheme a request claims, from its Authorization header or query-string auth parameters. */
export function claimedVersion(
  headers: IncomingHttpHeaders,
  params: readonly QueryParam[],
): SignatureVersion | null {
  const authorization = headerText(headers, 'authorization');
  if (authorization !== undefined) {
    if (authorization.startsWith('AWS4-')) return 4;
    if (authorization.startsWith('AWS ')) return 2;
    return null;
  }
  if (params.some(([name]) => name === 'X-Amz-Algorithm')) return 4;
  if (params.some(([name]) => name === 'Signature')) return 2;
  return null;
}

const SIGNATURE_MISMATCH =
  'The request signature we calculated does not match the signature you provided. Check your key and signing method.';
const TOO_SKEWED = 'The difference between the request time and the current time is too large.';
const UNKNOWN_KEY = 'The AWS Access Key Id you provided does not exist in our records.';

function signatureMismatch(details: Record<string, string>): GatewayError {
  const error = new GatewayError(403, 'SignatureDoesNotMatch', SIGNATURE_MISMATCH);
  error.details = details;
  return error;
}

/** Authenticates the request or throws the gateway's 403. */
export async function authenticate(input: AuthInput): Promise<Authenticated> {
  const lookupSecret = (accessKeyId: string): string | undefined =>
    input.state.resolveAccessKey(accessKeyId)?.key.secretAccessKey;
  const version = claimedVersion(input.headers, input.params);
  const accessKeyId =
    version === 2
      ? verifyV2(input, lookupSecret)
      : version === 4
        ? await verifyV4(input, lookupSecret)
        : null;
  if (accessKeyId === null) {
    if (headerText(input.headers, 'authorization') !== undefined) {
      throw accessDenied('Unsupported authorization type', 'InvalidArgument');
    }
    throw accessDenied('Access Denied: anonymous requests are not allowed');
  }
  const holder = input.state.resolveAccessKey(accessKeyId);
  if (holder === undefined) throw accessDenied(UNKNOWN_KEY, 'InvalidAccessKeyId');
  return { version: version === 2 ? 2 : 4, holder };
}

function signable(input: AuthInput): SignableRequest {
  return { method: input.method, path: input.rawPath, query: input.rawQuery, headers: input.headers };
}

function verifyV2(input: AuthInput, lookupSecret: (id: string) => string | undefined): string {
  const request = signable(input);
  if (headerText(input.headers, 'authorization') === undefined) return verifyV2Query(input, lookupSecret);
  const result = verifyRequestV2(request, lookupSecret);
  if (!result.ok) {
    switch (result.reason) {
      case 'unknown_key':
        throw accessDenied(UNKNOWN_KEY, 'InvalidAccessKeyId');
      case 'mismatch':
        throw signatureMismatch({ StringToSign: safeStringToSign(request) });
      default:
        throw accessDenied(
          'AWS authorization header is invalid. Expected AwsAccessKeyId:signature',
          'AuthorizationHeaderMalformed',
        );
    }
  }
  const date = requestDateV2(request);
  if (date === undefined) throw accessDenied('AWS authentication requires a valid Date or x-amz-date header');
  if (Math.abs(input.now.getTime() - date.getTime()) > MAX_SKEW_SECONDS * 1000) {
    const error = accessDenied(TOO_SKEWED, 'RequestTimeTooSkewed');
    error.details = { RequestTime: date.toUTCString(), ServerTime: input.now.toISOString() };
    throw error;
  }
  return result.accessKeyId;
}

function safeStringToSign(request: SignableRequest, expires?: string): string {
  try {
    return stringToSignV2(request, expires === undefined ? {} : { expires });
  } catch {
    return '';
  }
}

/** Query-string authentication (`?AWSAccessKeyId=&Signature=&Expires=`): Expires replaces the Date check. */
function verifyV2Query(input: AuthInput, lookupSecret: (id: string) => string | undefined): string {
  const get = (name: string): string | undefined => input.params.find(([n]) => n === name)?.[1];
  const accessKeyId = get('AWSAccessKeyId');
  const signature = get('Signature');
  const expires = get('Expires');
  if (
    accessKeyId === undefined ||
    signature === undefined ||
    expires === undefined ||
    !/^\d+$/.test(expires)
  ) {
    throw accessDenied(
      'Query-string authentication requires AWSAccessKeyId, Signature and Expires',
      'AuthorizationQueryParametersError',
    );
  }
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) throw accessDenied(UNKNOWN_KEY, 'InvalidAccessKeyId');
  const request = signable(input);
  const stringToSign = safeStringToSign(request, expires);
  if (signatureV2(secret, stringToSign) !== signature)
    throw signatureMismatch({ StringToSign: stringToSign });
  if (Number(expires) * 1000 < input.now.getTime()) throw accessDenied('Request has expired');
  return accessKeyId;
}

function v4Request(input: AuthInput): V4Request {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of input.params) {
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else if (typeof existing === 'string') query[name] = [existing, value];
    else existing.push(value);
  }
  const host = headerText(input.headers, 'host') ?? '';
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(host);
  const hostname = match?.[1] ?? host;
  const port = match?.[2];
  return {
    method: input.method,
    hostname,
    ...(port === undefined ? {} : { port: Number(port) }),
    protocol: 'http:',
    path: input.rawPath,
    query,
    headers: input.headers,
    body: input.body,
  };
}

async function verifyV4(input: AuthInput, lookupSecret: (id: string) => string | undefined): Promise<string> {
  if (headerText(input.headers, 'authorization') === undefined) {
    throw accessDenied(
      'Query-string authentication (presigned URLs) with Signature V4 is not supported by this gateway emulator',
      'NotImplemented',
    );
  }
  const request = v4Request(input);
  const result = await verifyRequestV4(request, lookupSecret, {
    now: input.now,
    maxSkewSeconds: MAX_SKEW_SECONDS,
  });
  if (result.ok) return result.accessKeyId;
  switch (result.reason) {
    case 'unknown_key':
      throw accessDenied(UNKNOWN_KEY, 'InvalidAccessKeyId');
    case 'expired':
      throw accessDenied(TOO_SKEWED, 'RequestTimeTooSkewed');
    case 'mismatch': {
      const details = await inspectRequestV4(request);
      throw signatureMismatch(
        details.ok ? { StringToSign: details.stringToSign, CanonicalRequest: details.canonicalRequest } : {},
      );
    }
    default:
      throw accessDenied('The authorization header is malformed', 'AuthorizationHeaderMalformed');
  }
}

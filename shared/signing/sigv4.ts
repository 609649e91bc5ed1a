// AWS Signature Version 4 through AWS's own @smithy/signature-v4: signing for the gateway's S3 and
// admin calls, and verification (re-derivation from the request's own signed headers) for the emulator.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { Sha256 } from '@aws-crypto/sha256-js';
import { HttpRequest } from '@smithy/protocol-http';
import {
  ALGORITHM_IDENTIFIER,
  createScope,
  getCanonicalHeaders,
  getPayloadHash,
  getSigningKey,
  SHA256_HEADER,
  SignatureV4,
  UNSIGNED_PAYLOAD,
} from '@smithy/signature-v4';
import { InvalidInputError } from '../errors.ts';
import type { Credentials } from './sigv2.ts';
import { headerValues } from './sigv2.ts';

/**
 * A request to sign or verify.
 *
 * `path` is the path exactly as sent on the wire (already percent-encoded, like SignableRequest.path
 * for V2 and like smithy's own HttpRequest.path). For service `s3` it is signed verbatim: S3 neither
 * normalises nor re-encodes the path. For any other service smithy removes empty, `.` and `..`
 * segments and URI-encodes the result once more, which is the general SigV4 rule (and what the
 * official test suite, whose request lines carry raw bytes and spaces, expects).
 *
 * `query` holds DECODED names and values; the signer RFC 3986-encodes them. A valueless flag
 * (`&genKey`) is represented as `''` and canonicalises as `genKey=`. Build the wire query with
 * `encodeQueryV4` and parse a received one with `parseQueryV4` so both ends agree.
 */
export interface V4Request {
  method: string;
  hostname: string;
  port?: number;
  protocol?: 'http:' | 'https:';
  path: string;
  query: Readonly<Record<string, string | readonly string[]>>;
  /** Any case; repeated headers as arrays are joined with ',' as SigV4 requires. */
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
  body?: string | Uint8Array;
}

export interface SignOptionsV4 {
  region: string;
  /** Default 's3'. */
  service?: string;
  now?: Date;
  /** S3 only: sign `x-amz-content-sha256: UNSIGNED-PAYLOAD` instead of the body's hash. */
  unsignedPayload?: boolean;
}

export interface VerifyOptionsV4 {
  now?: Date;
  /** Largest accepted distance between x-amz-date and `now`, either way. Default 900 (S3's 15 minutes). */
  maxSkewSeconds?: number;
}

export type VerifyResultV4 =
  | { ok: true; accessKeyId: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown_key' | 'mismatch' | 'expired' };

/** What a signed request claims, and the canonical forms derived from it (no secret involved). */
export interface SignatureDetailsV4 {
  accessKeyId: string;
  /** Credential scope: YYYYMMDD, region and service. */
  date: string;
  region: string;
  service: string;
  /** The request's x-amz-date (YYYYMMDDTHHMMSSZ). */
  amzDate: string;
  signedHeaders: string[];
  /** Hex signature from the Authorization header. */
  signature: string;
  canonicalRequest: string;
  stringToSign: string;
}

export type InspectResultV4 =
  | ({ ok: true } & SignatureDetailsV4)
  | { ok: false; reason: 'missing' | 'malformed' };

const DEFAULT_MAX_SKEW_SECONDS = 900;

/** Exposes smithy's own canonical-request and string-to-sign steps, which it keeps protected. */
class SmithySignatureV4 extends SignatureV4 {
  canonicalRequest(
    request: HttpRequest,
    canonicalHeaders: Record<string, string>,
    payloadHash: string,
  ): string {
    return this.createCanonicalRequest(request, canonicalHeaders, payloadHash);
  }

  stringToSign(longDate: string, credentialScope: string, canonicalRequest: string): Promise<string> {
    return this.createStringToSign(longDate, credentialScope, canonicalRequest, ALGORITHM_IDENTIFIER);
  }
}

function createSigner(service: string, region: string, credentials: Credentials): SmithySignatureV4 {
  return new SmithySignatureV4({
    service,
    region,
    credentials: { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey },
    sha256: Sha256,
    // S3 signs the path as sent; every other service double-encodes (smithy's uriEscapePath).
    uriEscapePath: service !== 's3',
    // S3 requires x-amz-content-sha256 on every V4 request; other services do not use it.
    applyChecksum: service === 's3',
  });
}

function lowerCaseHeaders(headers: V4Request['headers']): Record<string, string> {
  const result: Record<string, string> = {};
  for (const name of Object.keys(headers)) {
    const lower = name.toLowerCase();
    if (Object.hasOwn(result, lower)) continue;
    const values = headerValues(headers, lower);
    if (values.length > 0) result[lower] = values.join(',');
  }
  return result;
}

function hostHeader(req: V4Request): string {
  const defaultPort = (req.protocol ?? 'https:') === 'https:' ? 443 : 80;
  return req.port === undefined || req.port === defaultPort ? req.hostname : `${req.hostname}:${req.port}`;
}

function toSmithyRequest(req: V4Request, headers: Record<string, string>): HttpRequest {
  // Null prototype: a parameter named `__proto__` must stay a parameter.
  const query: Record<string, string | string[]> = Object.create(null);
  for (const [name, value] of Object.entries(req.query)) {
    query[name] = typeof value === 'string' ? value : [...value];
  }
  return new HttpRequest({
    method: req.method,
    protocol: req.protocol ?? 'https:',
    hostname: req.hostname,
    ...(req.port === undefined ? {} : { port: req.port }),
    path: req.path,
    query,
    headers,
    ...(req.body === undefined ? {} : { body: req.body }),
  });
}

/**
 * Signs `req` and returns the complete header set to send (lower-case names): the request's own
 * headers plus `host` (from hostname/port, unless given), `x-amz-date`, `x-amz-content-sha256` (s3)
 * and `authorization`. A `date` header is kept but, as smithy does, not signed.
 */
export async function signRequestV4(
  req: V4Request,
  credentials: Credentials,
  options: SignOptionsV4,
): Promise<Record<string, string>> {
  const service = options.service ?? 's3';
  const headers = lowerCaseHeaders(req.headers);
  headers.host ??= hostHeader(req);
  if (options.unsignedPayload === true) headers[SHA256_HEADER] = UNSIGNED_PAYLOAD;
  const signer = createSigner(service, options.region, credentials);
  const signed = await signer.sign(toSmithyRequest(req, headers), { signingDate: options.now ?? new Date() });
  return { ...headers, ...signed.headers };
}

const SIGNED_HEADER_NAME = /^[a-z0-9!#$%&'*+.^_`|~-]+$/;
const HEX_SIGNATURE = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{8})T\d{6}Z$/;

interface AuthorizationV4 {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

function parseAuthorizationV4(value: string): AuthorizationV4 | undefined {
  const prefix = `${ALGORITHM_IDENTIFIER} `;
  if (!value.startsWith(prefix)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(prefix.length).split(',')) {
    const equals = part.indexOf('=');
    const name = part.slice(0, equals).trim();
    if (equals === -1 || fields.has(name)) return undefined;
    fields.set(name, part.slice(equals + 1).trim());
  }
  const credential = fields.get('Credential')?.split('/');
  const signedHeaders = fields.get('SignedHeaders')?.split(';');
  const signature = fields.get('Signature');
  if (
    fields.size !== 3 ||
    credential === undefined ||
    signedHeaders === undefined ||
    signature === undefined
  ) {
    return undefined;
  }
  const [accessKeyId, date, region, service, terminator] = credential;
  if (
    credential.length !== 5 ||
    accessKeyId === undefined ||
    accessKeyId === '' ||
    date === undefined ||
    !/^\d{8}$/.test(date) ||
    region === undefined ||
    region === '' ||
    service === undefined ||
    service === '' ||
    terminator !== 'aws4_request' ||
    !HEX_SIGNATURE.test(signature) ||
    !signedHeaders.every(
      (name, i) => SIGNED_HEADER_NAME.test(name) && (i === 0 || (signedHeaders[i - 1] ?? '') < name),
    )
  ) {
    return undefined;
  }
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

/**
 * Parses a signed request's Authorization header and re-derives, from the request's own signed
 * headers list, credential scope and x-amz-date, the canonical request and string to sign smithy
 * produces. Needs no secret: the emulator can show them in a SignatureDoesNotMatch answer.
 */
export async function inspectRequestV4(req: V4Request): Promise<InspectResultV4> {
  const authorization = headerValues(req.headers, 'authorization');
  if (authorization.length === 0) return { ok: false, reason: 'missing' };
  const parsed = authorization.length === 1 ? parseAuthorizationV4(authorization[0] ?? '') : undefined;
  if (parsed === undefined) return { ok: false, reason: 'malformed' };
  // SigV4 requires host, and x-amz-date whenever it carries the request time, to be signed.
  if (!parsed.signedHeaders.includes('host') || !parsed.signedHeaders.includes('x-amz-date')) {
    return { ok: false, reason: 'malformed' };
  }
  const amzDates = headerValues(req.headers, 'x-amz-date');
  const amzDate = amzDates.length === 1 ? (amzDates[0] ?? '') : '';
  if (AMZ_DATE.exec(amzDate)?.[1] !== parsed.date) return { ok: false, reason: 'malformed' };

  const headers: Record<string, string> = {};
  for (const name of parsed.signedHeaders) {
    const values = headerValues(req.headers, name);
    if (values.length === 0) return { ok: false, reason: 'malformed' };
    headers[name] = values.join(',');
  }
  let request: HttpRequest;
  try {
    request = toSmithyRequest(req, headers);
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const canonicalHeaders = getCanonicalHeaders(request, undefined, new Set(parsed.signedHeaders));
  if (Object.keys(canonicalHeaders).sort().join(';') !== parsed.signedHeaders.join(';')) {
    return { ok: false, reason: 'malformed' };
  }
  const signer = createSigner(parsed.service, parsed.region, { accessKeyId: '', secretAccessKey: '' });
  let canonicalRequest: string;
  try {
    // A lone surrogate in a query value makes URI-escaping throw.
    canonicalRequest = signer.canonicalRequest(
      request,
      canonicalHeaders,
      await getPayloadHash(request, Sha256),
    );
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const scope = createScope(parsed.date, parsed.region, parsed.service);
  const stringToSign = await signer.stringToSign(amzDate, scope, canonicalRequest);
  return { ok: true, ...parsed, amzDate, canonicalRequest, stringToSign };
}

function amzDateToTime(amzDate: string): number {
  const iso = `${amzDate.slice(0, 4)}-${amzDate.slice(4, 6)}-${amzDate.slice(6, 8)}T${amzDate.slice(9, 11)}:${amzDate.slice(11, 13)}:${amzDate.slice(13, 15)}Z`;
  return Date.parse(iso);
}

/**
 * Server side: re-derives the signature from the request's own signed headers, credential scope and
 * x-amz-date, with the secret of the claimed access key, and compares in constant time. When the
 * signed x-amz-content-sha256 is a hash and `body` is given, the body must match it too.
 * Presigned (query-string) V4 requests are not accepted: they answer 'missing'.
 */
export async function verifyRequestV4(
  req: V4Request,
  lookupSecret: (accessKeyId: string) => string | undefined,
  options: VerifyOptionsV4 = {},
): Promise<VerifyResultV4> {
  const details = await inspectRequestV4(req);
  if (!details.ok) return details;
  const secretAccessKey = lookupSecret(details.accessKeyId);
  if (secretAccessKey === undefined) return { ok: false, reason: 'unknown_key' };

  const requestTime = amzDateToTime(details.amzDate);
  if (Number.isNaN(requestTime)) return { ok: false, reason: 'malformed' };
  const maxSkewMs = (options.maxSkewSeconds ?? DEFAULT_MAX_SKEW_SECONDS) * 1000;
  if (Math.abs((options.now ?? new Date()).getTime() - requestTime) > maxSkewMs) {
    return { ok: false, reason: 'expired' };
  }

  const signingKey = await getSigningKey(
    Sha256,
    { accessKeyId: details.accessKeyId, secretAccessKey },
    details.date,
    details.region,
    details.service,
  );
  const expected = createHmac('sha256', signingKey).update(details.stringToSign, 'utf8').digest();
  if (!timingSafeEqual(expected, Buffer.from(details.signature, 'hex'))) {
    return { ok: false, reason: 'mismatch' };
  }

  const declaredHash = details.signedHeaders.includes(SHA256_HEADER)
    ? headerValues(req.headers, SHA256_HEADER)[0]
    : undefined;
  if (declaredHash !== undefined && HEX_SIGNATURE.test(declaredHash) && req.body !== undefined) {
    const actual = createHash('sha256').update(req.body).digest();
    if (!timingSafeEqual(actual, Buffer.from(declaredHash, 'hex'))) return { ok: false, reason: 'mismatch' };
  }
  return { ok: true, accessKeyId: details.accessKeyId };
}

/** RFC 3986 encoding, as SigV4 canonicalises (`+` → %2B, space → %20, `*` → %2A). */
function escapeRfc3986(value: string): string {
  return encodeURIComponent(value).replace(
    /[!'()*]/g,
    (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`,
  );
}

/**
 * The wire query for `query`, every name and value RFC 3986-encoded so raw input can never add,
 * drop or change a parameter. `''` is written as a bare flag (`genKey`), the gateway's own spelling.
 */
export function encodeQueryV4(query: V4Request['query']): string {
  const parts: string[] = [];
  for (const [name, value] of Object.entries(query)) {
    for (const item of typeof value === 'string' ? [value] : value) {
      parts.push(item === '' ? escapeRfc3986(name) : `${escapeRfc3986(name)}=${escapeRfc3986(item)}`);
    }
  }
  return parts.join('&');
}

/**
 * Parses a raw query (without '?') the way the gateway does: `+` is a space, a bare flag is `''`,
 * repeated names become arrays. Throws InvalidInputError on malformed percent-encoding.
 */
export function parseQueryV4(raw: string): Record<string, string | string[]> {
  const query: Record<string, string | string[]> = Object.create(null);
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    const name = decodeQueryComponent(equals === -1 ? part : part.slice(0, equals));
    const value = equals === -1 ? '' : decodeQueryComponent(part.slice(equals + 1));
    const existing = query[name];
    if (existing === undefined) query[name] = value;
    else if (typeof existing === 'string') query[name] = [existing, value];
    else existing.push(value);
  }
  return query;
}

function decodeQueryComponent(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, ' '));
  } catch (error) {
    throw new InvalidInputError('query', 'malformed percent-encoding', { cause: error });
  }
}

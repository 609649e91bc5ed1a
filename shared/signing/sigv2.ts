// AWS Signature Version 2 (HMAC-SHA1, base64): the scheme the VHI gateway documents for its admin
// API (`/?ostor-*`) and that plain S3 calls to the same gateway accept. Client and server side.

import { createHmac, timingSafeEqual } from 'node:crypto';
import { InvalidInputError } from '../errors.ts';

/** A request as it travels on the wire; header names in any case. */
export interface SignableRequest {
  method: string;
  /** Path exactly as sent, already percent-encoded: '/', '/bucket', '/bucket/a%20b'. */
  path: string;
  /** Raw query as sent, without the leading '?': 'ostor-users&emailAddress=a%40b.com&genKey'. */
  query: string;
  headers: Readonly<Record<string, string | readonly string[] | undefined>>;
}

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export interface CanonicalResourceOptions {
  /** Bucket addressed through the host name (virtual-host style): it is prefixed to the resource. */
  bucket?: string;
}

export interface StringToSignOptions extends CanonicalResourceOptions {
  /** Query-string authentication: the Expires value (epoch seconds) takes the Date position. */
  expires?: string;
}

export type VerifyResultV2 =
  | { ok: true; accessKeyId: string }
  | { ok: false; reason: 'missing' | 'malformed' | 'unknown_key' | 'mismatch' };

/** S3 sub-resources that belong to the canonical resource (Amazon S3 Developer Guide, RESTAuthentication). */
const S3_SUB_RESOURCES: ReadonlySet<string> = new Set([
  'acl',
  'cors',
  'delete',
  'lifecycle',
  'location',
  'logging',
  'notification',
  'partNumber',
  'policy',
  'requestPayment',
  'restore',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'response-cache-control',
  'response-content-disposition',
  'response-content-encoding',
  'response-content-language',
  'response-content-type',
  'response-expires',
]);

/** Prefix of the gateway's admin services (`ostor-users`, `ostor-limits`, ...). */
const OSTOR_SERVICE_PREFIX = 'ostor-';

interface QueryParameter {
  name: string;
  /** Raw (still percent-encoded) value; undefined for a valueless flag such as `acl`. */
  rawValue: string | undefined;
}

function splitQuery(query: string): QueryParameter[] {
  const parameters: QueryParameter[] = [];
  for (const part of query.split('&')) {
    if (part === '') continue;
    const equals = part.indexOf('=');
    parameters.push(
      equals === -1
        ? { name: part, rawValue: undefined }
        : { name: part.slice(0, equals), rawValue: part.slice(equals + 1) },
    );
  }
  return parameters;
}

function decodeValue(name: string, rawValue: string): string {
  try {
    return decodeURIComponent(rawValue);
  } catch (error) {
    throw new InvalidInputError(`query.${name}`, 'malformed percent-encoding', { cause: error });
  }
}

// S3 signs sub-resource values URL-decoded, so `response-content-type=text%2Fplain` is signed as
// `response-content-type=text/plain`.
function formatSubResource({ name, rawValue }: QueryParameter): string {
  return rawValue === undefined ? name : `${name}=${decodeValue(name, rawValue)}`;
}

/**
 * The CanonicalizedResource of Signature V2: optional `/bucket` + the path as sent + the signed
 * sub-resources. Throws InvalidInputError when a signed value has malformed percent-encoding.
 */
export function canonicalizedResourceV2(
  path: string,
  query: string,
  options: CanonicalResourceOptions = {},
): string {
  const resource = `${options.bucket === undefined ? '' : `/${options.bucket}`}${path}`;
  const parameters = splitQuery(query);
  // V2 signs only the service sub-resource on the admin API: the gateway ignores the rest, so
  // `/?ostor-users&emailAddress=x` is signed as `/?ostor-users` (the vendor's scripts cut the query
  // at the first '&'). When several are present the first one is the service.
  const service = parameters.find((parameter) => parameter.name.startsWith(OSTOR_SERVICE_PREFIX));
  if (service !== undefined) {
    return `${resource}?${formatSubResource(service)}`;
  }
  const subResources = parameters
    .filter((parameter) => S3_SUB_RESOURCES.has(parameter.name))
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  if (subResources.length === 0) {
    return resource;
  }
  return `${resource}?${subResources.map(formatSubResource).join('&')}`;
}

/** All values of a header, case-insensitively, in the order given. */
export function headerValues(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
): string[] {
  const wanted = name.toLowerCase();
  const values: string[] = [];
  for (const [key, value] of Object.entries(headers)) {
    if (key.toLowerCase() !== wanted || value === undefined) continue;
    if (typeof value === 'string') values.push(value);
    else values.push(...value);
  }
  return values;
}

// A header folded over several lines is unfolded into a single space, then trimmed.
function unfold(value: string): string {
  return value.replace(/\r?\n[ \t]+/g, ' ').trim();
}

function singleHeader(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  name: string,
): string | undefined {
  const values = headerValues(headers, name);
  return values.length === 0 ? undefined : values.map(unfold).join(',');
}

function canonicalizedAmzHeaders(
  headers: Readonly<Record<string, string | readonly string[] | undefined>>,
  excluded: ReadonlySet<string>,
): string {
  const grouped = new Map<string, string[]>();
  for (const [key, value] of Object.entries(headers)) {
    const name = key.toLowerCase();
    if (!name.startsWith('x-amz-') || excluded.has(name) || value === undefined) continue;
    const values = grouped.get(name) ?? [];
    if (typeof value === 'string') values.push(unfold(value));
    else values.push(...value.map(unfold));
    grouped.set(name, values);
  }
  return [...grouped.keys()]
    .sort()
    .map((name) => `${name}:${(grouped.get(name) ?? []).join(',')}\n`)
    .join('');
}

/**
 * VERB \n Content-MD5 \n Content-Type \n Date \n CanonicalizedAmzHeaders CanonicalizedResource.
 * `x-amz-date`, when present, takes the Date position and is not repeated among the amz headers:
 * that is what the published S3 example (DELETE with x-amz-date) signs.
 */
export function stringToSignV2(req: SignableRequest, options: StringToSignOptions = {}): string {
  const contentMd5 = singleHeader(req.headers, 'content-md5') ?? '';
  const contentType = singleHeader(req.headers, 'content-type') ?? '';
  const amzDate = singleHeader(req.headers, 'x-amz-date');
  let date: string;
  const excluded = new Set<string>();
  if (options.expires !== undefined) {
    date = options.expires;
  } else if (amzDate !== undefined) {
    date = amzDate;
    excluded.add('x-amz-date');
  } else {
    date = singleHeader(req.headers, 'date') ?? '';
  }
  const resourceOptions = options.bucket === undefined ? {} : { bucket: options.bucket };
  return (
    `${req.method}\n${contentMd5}\n${contentType}\n${date}\n` +
    canonicalizedAmzHeaders(req.headers, excluded) +
    canonicalizedResourceV2(req.path, req.query, resourceOptions)
  );
}

/** Base64(HMAC-SHA1(secret, UTF-8(stringToSign))). */
export function signatureV2(secretAccessKey: string, stringToSign: string): string {
  return createHmac('sha1', secretAccessKey).update(stringToSign, 'utf8').digest('base64');
}

/**
 * The headers to add to `req`: `Authorization: AWS id:signature`, and `Date` (RFC 1123, GMT, from
 * `now`) unless the request already carries Date or x-amz-date.
 */
export function signRequestV2(
  req: SignableRequest,
  credentials: Credentials,
  options: { now?: Date; bucket?: string } = {},
): Record<string, string> {
  const added: Record<string, string> = {};
  let headers = req.headers;
  if (
    headerValues(req.headers, 'date').length === 0 &&
    headerValues(req.headers, 'x-amz-date').length === 0
  ) {
    const date = (options.now ?? new Date()).toUTCString();
    added.Date = date;
    headers = { ...req.headers, Date: date };
  }
  const stringToSign = stringToSignV2(
    { ...req, headers },
    options.bucket === undefined ? {} : { bucket: options.bucket },
  );
  added.Authorization = `AWS ${credentials.accessKeyId}:${signatureV2(credentials.secretAccessKey, stringToSign)}`;
  return added;
}

export interface PresignOptionsV2 {
  /** When the URL stops working: a Date, or epoch seconds as on the wire. */
  expires: Date | number;
  bucket?: string;
}

/**
 * Query-string authentication: returns the request target (`path?query`) with AWSAccessKeyId,
 * Signature and Expires appended, in the order of the S3 documentation. Prefix it with the origin.
 */
export function presignUrlV2(
  req: SignableRequest,
  credentials: Credentials,
  options: PresignOptionsV2,
): string {
  const expires = String(
    typeof options.expires === 'number' ? options.expires : Math.floor(options.expires.getTime() / 1000),
  );
  const stringToSign = stringToSignV2(req, {
    expires,
    ...(options.bucket === undefined ? {} : { bucket: options.bucket }),
  });
  const signature = signatureV2(credentials.secretAccessKey, stringToSign);
  const auth =
    `AWSAccessKeyId=${encodeURIComponent(credentials.accessKeyId)}` +
    `&Signature=${encodeURIComponent(signature)}&Expires=${expires}`;
  return `${req.path}?${req.query === '' ? '' : `${req.query}&`}${auth}`;
}

const AUTHORIZATION_V2 = /^AWS ([^\s:]+):([A-Za-z0-9+/]+={0,2})$/;

/**
 * Server side of header authentication (`Authorization: AWS id:signature`): looks up the secret,
 * recomputes the signature and compares in constant time. Query-string authentication and the
 * request's age are not checked here (see `requestDateV2` for the clock-skew check).
 */
export function verifyRequestV2(
  req: SignableRequest,
  lookupSecret: (accessKeyId: string) => string | undefined,
  options: CanonicalResourceOptions = {},
): VerifyResultV2 {
  const authorization = headerValues(req.headers, 'authorization');
  if (authorization.length === 0) return { ok: false, reason: 'missing' };
  const match = authorization.length === 1 ? AUTHORIZATION_V2.exec(authorization[0]?.trim() ?? '') : null;
  const accessKeyId = match?.[1];
  const given = match?.[2];
  if (accessKeyId === undefined || given === undefined) return { ok: false, reason: 'malformed' };
  const secret = lookupSecret(accessKeyId);
  if (secret === undefined) return { ok: false, reason: 'unknown_key' };
  let stringToSign: string;
  try {
    stringToSign = stringToSignV2(req, options.bucket === undefined ? {} : { bucket: options.bucket });
  } catch {
    return { ok: false, reason: 'malformed' };
  }
  const expected = Buffer.from(signatureV2(secret, stringToSign), 'utf8');
  const received = Buffer.from(given, 'utf8');
  // A SHA-1 signature is always 28 base64 characters, so the length check leaks nothing.
  if (expected.length !== received.length || !timingSafeEqual(expected, received)) {
    return { ok: false, reason: 'mismatch' };
  }
  return { ok: true, accessKeyId };
}

/** The time a V2 request claims (x-amz-date, else Date), for the server's clock-skew check. */
export function requestDateV2(req: SignableRequest): Date | undefined {
  const value = singleHeader(req.headers, 'x-amz-date') ?? singleHeader(req.headers, 'date');
  if (value === undefined) return undefined;
  const time = Date.parse(value);
  return Number.isNaN(time) ? undefined : new Date(time);
}

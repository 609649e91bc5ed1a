// The one road to the gateway: a keep-alive undici Pool per gateway origin, a signature on every
// request (V2 by default, V4 on request), retries with backoff for calls safe to repeat, one
// credentials refresh after a 403, and every failure turned into a named error that carries the
// gateway's message but never a signature, an Authorization header or a secret.
import { setTimeout as delay } from 'node:timers/promises';
import { backoffDelay } from '../backoff.ts';
import { checkGatewayUrl } from '../config.ts';
import { timeLeft } from '../deadline.ts';
import { ConfigurationError, InvalidInputError, systemCode } from '../errors.ts';
import { Pool, type ResponseHeaders } from '../http/pool.ts';
import type { Credentials } from '../signing/sigv2.ts';
import { signRequestV2 } from '../signing/sigv2.ts';
import { signRequestV4 } from '../signing/sigv4.ts';
import type {
  AnyGatewayError,
  GatewayAuthReason,
  GatewayConflictReason,
  GatewayErrorContext,
} from './errors.ts';
import {
  GatewayAuthError,
  GatewayConflictError,
  GatewayNotFoundError,
  GatewayRejectedError,
  GatewayTimeoutError,
  GatewayUnavailableError,
  MalformedResponseError,
} from './errors.ts';
import type { QueryParam } from './query.ts';
import { encodeQuery, toV4Query } from './query.ts';

export type { Credentials };

/** Where the system user's key pair comes from; `refresh` is asked once after the gateway refuses it. */
export interface CredentialsProvider {
  get(): Promise<Credentials>;
  refresh?(): Promise<Credentials>;
}

export type CredentialsSource = Credentials | CredentialsProvider;

/**
 * undici runs its headers and body timers on a coarse clock (checked about twice a second), so
 * these two fire up to ~1 s after they are due; the connect timeout is exact.
 */
export interface TimeoutOptions {
  /** TCP/TLS connection set-up. Default 5,000 ms. */
  readonly connectMs?: number;
  /** From sending the request to receiving the response headers. Default 15,000 ms. */
  readonly headersMs?: number;
  /** Between two chunks of the response body. Default 15,000 ms. */
  readonly bodyMs?: number;
  /** How long an idle connection is kept open (the server's keep-alive hint may shorten it). Default 4,000 ms. */
  readonly keepAliveMs?: number;
}

export interface RetryOptions {
  /** Retries after the first attempt, for calls safe to repeat. Default 3. */
  readonly retries?: number;
  /** First backoff ceiling; doubles each retry. Default 100 ms. */
  readonly baseDelayMs?: number;
  /** Largest backoff ceiling. Default 2,000 ms. */
  readonly maxDelayMs?: number;
  /** Injectable for tests. */
  readonly sleep?: (ms: number) => Promise<void>;
  /** In [0, 1); injectable for tests. The delay is `random() * ceiling` (full jitter). */
  readonly random?: () => number;
}

export interface TransportOptions {
  /** The gateway's origin, e.g. `https://s3.example.com` (no path, query or credentials). */
  readonly endpoint: string | URL;
  readonly credentials: CredentialsSource;
  /** Default 2, as the guide documents. */
  readonly signatureVersion?: 2 | 4;
  /** Region in the V4 credential scope; the gateway documents none. Default `us-east-1`. */
  readonly region?: string;
  /** Concurrent connections to the gateway; further requests queue. Default 32. */
  readonly connections?: number;
  readonly timeouts?: TimeoutOptions;
  readonly retry?: RetryOptions;
  /** Allow `http:` to a host that is not loopback. Default false. */
  readonly allowInsecureHttp?: boolean;
  /** Largest response body accepted. Default 64 MiB. */
  readonly maxResponseBytes?: number;
  /** The clock used for signatures; injectable for tests. */
  readonly now?: () => Date;
}

export type HttpMethod = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** One logical call; the transport may send it more than once when `idempotent`. */
export interface GatewayRequest {
  /** Names the call in errors, e.g. `users.create`. */
  readonly operation: string;
  readonly method: HttpMethod;
  /** Already encoded (see `s3Path`); default `/`. */
  readonly path?: string;
  readonly params: readonly QueryParam[];
  readonly headers?: Readonly<Record<string, string>>;
  readonly body?: string;
  /** Safe to repeat: retried on 5xx, resets and timeouts. Never true for create or genKey. */
  readonly idempotent: boolean;
  /**
   * For deletions: a 404 after an earlier attempt of the same call may have been applied means the
   * thing is gone, which is what was asked.
   */
  readonly goneIsDone?: boolean | undefined;
  /** What a 409 means for this call. */
  readonly conflictReason?: GatewayConflictReason | undefined;
}

export interface GatewayResponse {
  readonly status: number;
  readonly body: string;
}

const DEFAULTS = {
  connections: 32,
  connectMs: 5_000,
  headersMs: 15_000,
  bodyMs: 15_000,
  keepAliveMs: 4_000,
  retries: 3,
  baseDelayMs: 100,
  maxDelayMs: 2_000,
  maxResponseBytes: 64 * 1024 * 1024,
} as const;

const GATEWAY_URL_VARIABLE = 'OSTOR_GATEWAY_URL';

/** Parses and checks the endpoint: https, or http only for loopback or with the opt-in; an origin only. */
export function parseEndpoint(endpoint: string | URL, allowInsecureHttp: boolean): URL {
  let url: URL;
  try {
    url = new URL(endpoint.toString());
  } catch {
    throw new ConfigurationError(
      GATEWAY_URL_VARIABLE,
      'must be an absolute URL such as https://s3.example.com',
    );
  }
  checkGatewayUrl(url, allowInsecureHttp, GATEWAY_URL_VARIABLE);
  if (url.hash !== '' || endpoint.toString().includes('#')) {
    throw new ConfigurationError(GATEWAY_URL_VARIABLE, 'must be the gateway origin only, without a fragment');
  }
  return url;
}

function positiveInteger(value: number | undefined, fallback: number, field: string, min = 1): number {
  const result = value ?? fallback;
  if (!Number.isInteger(result) || result < min) {
    throw new InvalidInputError(field, `must be a whole number of at least ${min}`);
  }
  return result;
}

function isProvider(source: CredentialsSource): source is CredentialsProvider {
  return typeof (source as Partial<CredentialsProvider>).get === 'function';
}

/** A key pair that can go into a header: a control character would break (or inject into) it. */
function checkCredentials(credentials: Credentials): Credentials {
  if (
    typeof credentials.accessKeyId !== 'string' ||
    !/^[\x21-\x39\x3b-\x7e]{1,256}$/.test(credentials.accessKeyId)
  ) {
    throw new ConfigurationError(
      'credentials.accessKeyId',
      'must be 1 to 256 printable ASCII characters without ":"',
    );
  }
  if (
    typeof credentials.secretAccessKey !== 'string' ||
    !/^[\x20-\x7e]{1,512}$/.test(credentials.secretAccessKey)
  ) {
    throw new ConfigurationError(
      'credentials.secretAccessKey',
      'must be 1 to 512 printable ASCII characters',
    );
  }
  return credentials;
}

interface Attempt {
  readonly response?: GatewayResponse;
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  readonly failure?: AnyGatewayError;
  /** The request may have reached the gateway (so a non-idempotent call may have been applied). */
  readonly maybeApplied: boolean;
  readonly retryable: boolean;
}

export class GatewayTransport {
  readonly endpoint: URL;
  readonly #host: string;
  readonly #pool: Pool;
  readonly #credentials: CredentialsProvider;
  readonly #signatureVersion: 2 | 4;
  readonly #region: string;
  readonly #retries: number;
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  readonly #now: () => Date;
  readonly #headersTimeoutMs: number;
  readonly #bodyTimeoutMs: number;

  constructor(options: TransportOptions) {
    this.endpoint = parseEndpoint(options.endpoint, options.allowInsecureHttp === true);
    this.#host = this.endpoint.host;
    const signatureVersion = options.signatureVersion ?? 2;
    if (signatureVersion !== 2 && signatureVersion !== 4) {
      throw new ConfigurationError('OSTOR_SIGNATURE_VERSION', 'must be 2 or 4');
    }
    this.#signatureVersion = signatureVersion;
    const region = options.region ?? 'us-east-1';
    if (!/^[a-z0-9-]{1,64}$/.test(region)) {
      throw new ConfigurationError('OSTOR_REGION', 'must be a region name such as us-east-1');
    }
    this.#region = region;
    const source = options.credentials;
    if (isProvider(source)) {
      this.#credentials = source;
    } else {
      const fixed = checkCredentials(source);
      this.#credentials = { get: async () => fixed };
    }
    const retry = options.retry ?? {};
    this.#retries = positiveInteger(retry.retries, DEFAULTS.retries, 'retry.retries', 0);
    this.#baseDelayMs = positiveInteger(retry.baseDelayMs, DEFAULTS.baseDelayMs, 'retry.baseDelayMs', 0);
    this.#maxDelayMs = positiveInteger(retry.maxDelayMs, DEFAULTS.maxDelayMs, 'retry.maxDelayMs', 0);
    this.#sleep = retry.sleep ?? ((ms) => delay(ms));
    this.#random = retry.random ?? Math.random;
    this.#now = options.now ?? (() => new Date());
    const timeouts = options.timeouts ?? {};
    this.#headersTimeoutMs = positiveInteger(timeouts.headersMs, DEFAULTS.headersMs, 'timeouts.headersMs');
    this.#bodyTimeoutMs = positiveInteger(timeouts.bodyMs, DEFAULTS.bodyMs, 'timeouts.bodyMs');
    this.#pool = new Pool(this.endpoint.origin, {
      connections: positiveInteger(options.connections, DEFAULTS.connections, 'connections'),
      pipelining: 1,
      connectTimeout: positiveInteger(timeouts.connectMs, DEFAULTS.connectMs, 'timeouts.connectMs'),
      headersTimeout: this.#headersTimeoutMs,
      bodyTimeout: this.#bodyTimeoutMs,
      keepAliveTimeout: positiveInteger(timeouts.keepAliveMs, DEFAULTS.keepAliveMs, 'timeouts.keepAliveMs'),
      maxResponseSize: positiveInteger(
        options.maxResponseBytes,
        DEFAULTS.maxResponseBytes,
        'maxResponseBytes',
      ),
    });
  }

  /**
   * Sends the call, retrying it when it is safe to, and answers its 2xx response. Anything else
   * becomes a named gateway error. Redirects are never followed (undici's Pool does not follow
   * them; a 3xx is a GatewayRejectedError).
   */
  async send(request: GatewayRequest): Promise<GatewayResponse> {
    const maxAttempts = request.idempotent ? this.#retries + 1 : 1;
    let credentials = checkCredentials(await this.#credentials.get());
    let refreshed = false;
    let mayHaveApplied = false;
    let attempts = 0;
    let failures = 0;
    for (;;) {
      attempts += 1;
      const left = timeLeft();
      if (left !== undefined && left < MIN_ATTEMPT_MS) {
        // The invocation is about to run out: answer now, honestly, rather than be cut off.
        const context = {
          operation: request.operation,
          attempts,
          ...(mayHaveApplied ? { outcomeUnknown: true } : {}),
        };
        throw new GatewayTimeoutError('deadline', context);
      }
      const attempt = await this.#attempt(request, credentials, attempts, mayHaveApplied, left);
      if (attempt.response !== undefined) return attempt.response;
      const failure = attempt.failure as AnyGatewayError;
      if (
        failure instanceof GatewayAuthError &&
        failure.reason !== 'clock_skew' &&
        !refreshed &&
        this.#credentials.refresh !== undefined
      ) {
        // A rotated key: fetch it again and repeat once. A refused request changed nothing.
        refreshed = true;
        credentials = checkCredentials(await this.#credentials.refresh());
        continue;
      }
      mayHaveApplied ||= attempt.maybeApplied;
      failures += 1;
      // A call that is not safe to repeat may still be repeated when the failed attempt provably
      // never reached the gateway (connection refused, name not resolved, connect timeout).
      const limit = request.idempotent || !mayHaveApplied ? this.#retries + 1 : maxAttempts;
      if (!attempt.retryable || failures >= limit) {
        if (!request.idempotent && mayHaveApplied && !failure.outcomeUnknown) {
          throw this.#withUnknownOutcome(failure, attempts);
        }
        throw failure;
      }
      const pause = backoffDelay(failures, {
        baseMs: this.#baseDelayMs,
        maxMs: this.#maxDelayMs,
        random: this.#random,
      });
      const remaining = timeLeft();
      if (remaining !== undefined && remaining - pause < MIN_ATTEMPT_MS) {
        if (!request.idempotent && mayHaveApplied && !failure.outcomeUnknown) {
          throw this.#withUnknownOutcome(failure, attempts);
        }
        throw failure;
      }
      await this.#sleep(pause);
    }
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }

  async #attempt(
    request: GatewayRequest,
    credentials: Credentials,
    attempts: number,
    earlierMayHaveApplied: boolean,
    timeLeftMs: number | undefined,
  ): Promise<Attempt> {
    const path = request.path ?? '/';
    const query = encodeQuery(request.params);
    const headers = await this.#sign(request, path, query, credentials);
    const base = { operation: request.operation, attempts };
    let status: number;
    let responseHeaders: ResponseHeaders;
    let body: string;
    try {
      // Within an invocation's deadline, no attempt may wait longer than the time that is left.
      const cap =
        timeLeftMs === undefined
          ? {}
          : {
              headersTimeout: Math.max(1, Math.min(this.#headersTimeoutMs, Math.floor(timeLeftMs))),
              bodyTimeout: Math.max(1, Math.min(this.#bodyTimeoutMs, Math.floor(timeLeftMs))),
            };
      const response = await this.#pool.send({
        method: request.method,
        path: query === '' ? path : `${path}?${query}`,
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
        ...cap,
      });
      status = response.statusCode;
      responseHeaders = response.headers;
      body = response.body;
    } catch (error) {
      return transportFailure(error, base);
    }

    if (status >= 200 && status < 300)
      return { response: { status, body }, maybeApplied: true, retryable: false };

    // Built only for a failure: the gateway's message may echo what was signed.
    const redact = redactor([credentials.secretAccessKey, ...secretsOfAuthorization(headers.authorization)]);

    const gatewayMessage = sanitise(
      headerText(responseHeaders['x-amz-err-message']) ?? xmlField(body, 'Message'),
      redact,
    );
    const gatewayCode = sanitise(xmlField(body, 'Code'), redact);
    const context: GatewayErrorContext = { ...base, status, gatewayMessage, gatewayCode };
    if (status === 404 && request.goneIsDone === true && earlierMayHaveApplied) {
      return { response: { status: 204, body: '' }, maybeApplied: true, retryable: false };
    }
    if (status >= 500) {
      return {
        failure: new GatewayUnavailableError(context, `the gateway failed`),
        maybeApplied: true,
        // 501 Not Implemented is the gateway's lasting answer to the call, not a passing failure.
        retryable: status !== 501,
      };
    }
    if (status === 401 || status === 403) {
      return { failure: new GatewayAuthError(authReason(gatewayCode, gatewayMessage), context), ...refused };
    }
    if (status === 404) return { failure: new GatewayNotFoundError(context), ...refused };
    if (status === 409) {
      const reason: GatewayConflictReason =
        gatewayCode === 'BucketNotEmpty'
          ? 'bucket_not_empty'
          : (request.conflictReason ?? 'gateway_conflict');
      return { failure: new GatewayConflictError(reason, context), ...refused };
    }
    return { failure: new GatewayRejectedError(context), ...refused };
  }

  async #sign(
    request: GatewayRequest,
    path: string,
    query: string,
    credentials: Credentials,
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> =
      request.headers === undefined ? { host: this.#host } : { host: this.#host, ...request.headers };
    const now = this.#now();
    if (this.#signatureVersion === 2) {
      const signed = signRequestV2({ method: request.method, path, query, headers }, credentials, { now });
      const result: Record<string, string> = { ...headers };
      for (const name in signed) result[name.toLowerCase()] = signed[name] as string;
      return result;
    }
    const port = this.endpoint.port === '' ? {} : { port: Number(this.endpoint.port) };
    return signRequestV4(
      {
        method: request.method,
        protocol: this.endpoint.protocol === 'http:' ? 'http:' : 'https:',
        hostname: this.endpoint.hostname,
        ...port,
        path,
        query: toV4Query(request.params),
        headers,
        ...(request.body === undefined ? {} : { body: request.body }),
      },
      credentials,
      { region: this.#region, service: 's3', now },
    );
  }

  #withUnknownOutcome(failure: AnyGatewayError, attempts: number): AnyGatewayError {
    const context: GatewayErrorContext = {
      operation: failure.operation,
      status: failure.status,
      gatewayMessage: failure.gatewayMessage,
      gatewayCode: failure.gatewayCode,
      attempts,
      outcomeUnknown: true,
      cause: failure.cause,
    };
    if (failure instanceof GatewayTimeoutError) return new GatewayTimeoutError(failure.phase, context);
    if (failure instanceof GatewayUnavailableError) {
      return new GatewayUnavailableError(
        context,
        failure.status === undefined ? 'the gateway is unavailable' : 'the gateway failed',
      );
    }
    return failure;
  }
}

/** Below this much time left, an attempt is not started: it could not finish and be answered. */
const MIN_ATTEMPT_MS = 250;

/** 4xx: the gateway refused, so nothing was applied and repeating would not help. */
const refused = { maybeApplied: false, retryable: false } as const;

/** Network-level failures: which ones are timeouts, and which ones cannot have sent the request. */
const NOT_SENT = new Set([
  'ECONNREFUSED',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'UND_ERR_CONNECT_TIMEOUT',
]);

function transportFailure(error: unknown, base: { operation: string; attempts: number }): Attempt {
  const code = systemCode(error);
  // Our own mistakes (a header undici refuses, a destroyed pool) are not the gateway's.
  if (code === 'UND_ERR_INVALID_ARG' || code === 'UND_ERR_DESTROYED' || code === 'UND_ERR_CLOSED')
    throw error;
  const context: GatewayErrorContext = { ...base, cause: error };
  const sent = typeof code !== 'string' || !NOT_SENT.has(code);
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return { failure: new GatewayTimeoutError('connect', context), maybeApplied: false, retryable: true };
    case 'UND_ERR_HEADERS_TIMEOUT':
      return { failure: new GatewayTimeoutError('headers', context), maybeApplied: true, retryable: true };
    case 'UND_ERR_BODY_TIMEOUT':
      return { failure: new GatewayTimeoutError('body', context), maybeApplied: true, retryable: true };
    case 'UND_ERR_RES_EXCEEDED_MAX_SIZE':
      return {
        failure: new MalformedResponseError('the answer is larger than the client accepts', context),
        maybeApplied: true,
        retryable: false,
      };
    default:
      return {
        failure: new GatewayUnavailableError(
          context,
          sent ? 'the connection to the gateway failed' : 'the gateway could not be reached',
        ),
        maybeApplied: sent,
        retryable: true,
      };
  }
}

function authReason(code: string | undefined, message: string | undefined): GatewayAuthReason {
  const text = `${code ?? ''} ${message ?? ''}`;
  if (/RequestTimeTooSkewed|RequestExpired|skew/i.test(text)) return 'clock_skew';
  if (/SignatureDoesNotMatch|signature/i.test(text)) return 'signature';
  return 'access_denied';
}

function headerText(value: string | string[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  return Array.isArray(value) ? value.join(', ') : value;
}

const XML_ENTITIES: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

/** `<Code>` or `<Message>` of an S3 XML error body. Deliberately nothing else: S3's SignatureDoesNotMatch also echoes the string to sign. */
function xmlField(body: string, name: 'Code' | 'Message'): string | undefined {
  if (!body.trimStart().startsWith('<')) return undefined;
  const match = new RegExp(`<${name}>([^<]{0,2000})</${name}>`).exec(body);
  if (match?.[1] === undefined) return undefined;
  return match[1].replace(/&(amp|lt|gt|quot|apos);/g, (_, entity: string) => XML_ENTITIES[entity] ?? '');
}

const MAX_MESSAGE_LENGTH = 300;

/** One line, bounded, with anything secret cut out. */
function sanitise(value: string | undefined, redact: (text: string) => string): string | undefined {
  if (value === undefined) return undefined;
  const line = Array.from(redact(value), (c) => (c < ' ' || c === '\x7f' ? ' ' : c))
    .join('')
    .trim();
  if (line === '') return undefined;
  return line.length > MAX_MESSAGE_LENGTH ? `${line.slice(0, MAX_MESSAGE_LENGTH)}…` : line;
}

/** The Authorization value and the signature inside it (V2 `AWS id:sig`, V4 `Signature=hex`). */
function secretsOfAuthorization(authorization: string | undefined): string[] {
  if (authorization === undefined) return [];
  const v2 = /^AWS [^:]+:(.+)$/.exec(authorization)?.[1];
  const v4 = /Signature=([0-9a-f]+)/.exec(authorization)?.[1];
  return [authorization, ...(v2 === undefined ? [] : [v2]), ...(v4 === undefined ? [] : [v4])];
}

function redactor(secrets: readonly string[]): (text: string) => string {
  const needles = secrets.filter((secret) => secret.length >= 8);
  return (text) => needles.reduce((result, needle) => result.split(needle).join('[redacted]'), text);
}

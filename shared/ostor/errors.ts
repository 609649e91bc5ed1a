// Named errors of the gateway client. Each keeps a stable `code` from the project's AppError
// family (404 and 409 extend NotFoundError and ConflictError, so the handlers map them by code)
// and says which call failed and what the gateway said. None ever carries a signature, an
// Authorization header, a secret key or a URL: only the operation name and the gateway's text.
import { AppError, ConflictError, NotFoundError } from '../errors.ts';

/** What every gateway error carries besides its message. */
export interface GatewayErrorContext {
  /** The client call, e.g. `users.create`. */
  readonly operation: string;
  /** The HTTP status, absent when no answer arrived (refused, reset, timed out). */
  readonly status?: number | undefined;
  /** The gateway's `X-Amz-Err-Message` (or the S3 error body's `Message`), sanitised. */
  readonly gatewayMessage?: string | undefined;
  /** The S3 error body's `Code` (`NoSuchBucket`, `BucketNotEmpty`, ...) when there is one. */
  readonly gatewayCode?: string | undefined;
  /** Requests made for this call, retries included. */
  readonly attempts?: number | undefined;
  /**
   * True when a call that is never repeated (create user, create account, generate key) failed
   * after the request may have reached the gateway: it may or may not have taken effect.
   */
  readonly outcomeUnknown?: boolean | undefined;
  readonly cause?: unknown;
}

interface Fields {
  readonly operation: string;
  readonly status: number | undefined;
  readonly gatewayMessage: string | undefined;
  readonly gatewayCode: string | undefined;
  readonly attempts: number;
  readonly outcomeUnknown: boolean;
}

function fields(context: GatewayErrorContext): Fields {
  return {
    operation: context.operation,
    status: context.status,
    gatewayMessage: context.gatewayMessage,
    gatewayCode: context.gatewayCode,
    attempts: context.attempts ?? 1,
    outcomeUnknown: context.outcomeUnknown ?? false,
  };
}

function describe(context: GatewayErrorContext, what: string): string {
  const said = context.gatewayMessage === undefined ? '' : `: ${context.gatewayMessage}`;
  const status = context.status === undefined ? '' : ` (HTTP ${context.status})`;
  const unknown = context.outcomeUnknown === true ? '; the change may or may not have been applied' : '';
  return `${context.operation}: ${what}${status}${said}${unknown}`;
}

function causeOf(context: GatewayErrorContext): { cause?: unknown } {
  return context.cause === undefined ? {} : { cause: context.cause };
}

/** 404: no such user, bucket, account, statistics object or key. */
export class GatewayNotFoundError extends NotFoundError implements Fields {
  readonly operation: string;
  readonly status: number | undefined;
  readonly gatewayMessage: string | undefined;
  readonly gatewayCode: string | undefined;
  readonly attempts: number;
  override readonly outcomeUnknown: boolean;
  constructor(context: GatewayErrorContext) {
    super(describe(context, 'not found'), causeOf(context));
    ({
      operation: this.operation,
      status: this.status,
      gatewayMessage: this.gatewayMessage,
      gatewayCode: this.gatewayCode,
      attempts: this.attempts,
      outcomeUnknown: this.outcomeUnknown,
    } = fields(context));
  }
}

/**
 * Why a 409 happened, as far as the call tells: a user that owns buckets cannot be deleted, a
 * user or account holds at most two key pairs, a bucket must be empty to be deleted.
 */
export type GatewayConflictReason =
  | 'user_owns_buckets'
  | 'too_many_keys'
  | 'bucket_not_empty'
  | 'already_exists'
  | 'gateway_conflict';

/** 409: the request cannot be carried out in the gateway's current state. */
export class GatewayConflictError extends ConflictError implements Fields {
  readonly operation: string;
  readonly status: number | undefined;
  readonly gatewayMessage: string | undefined;
  readonly gatewayCode: string | undefined;
  readonly attempts: number;
  override readonly outcomeUnknown: boolean;
  declare readonly reason: GatewayConflictReason;
  constructor(reason: GatewayConflictReason, context: GatewayErrorContext) {
    super(reason, describe(context, `conflict (${reason.replaceAll('_', ' ')})`), {}, causeOf(context));
    ({
      operation: this.operation,
      status: this.status,
      gatewayMessage: this.gatewayMessage,
      gatewayCode: this.gatewayCode,
      attempts: this.attempts,
      outcomeUnknown: this.outcomeUnknown,
    } = fields(context));
  }
}

/** Base of the gateway errors that are not 404 or 409. */
export abstract class GatewayError extends AppError implements Fields {
  readonly operation: string;
  readonly status: number | undefined;
  readonly gatewayMessage: string | undefined;
  readonly gatewayCode: string | undefined;
  readonly attempts: number;
  override readonly outcomeUnknown: boolean;
  protected constructor(
    code:
      | 'gateway_rejected'
      | 'gateway_auth'
      | 'gateway_unavailable'
      | 'gateway_timeout'
      | 'malformed_response',
    what: string,
    context: GatewayErrorContext,
  ) {
    super(code, describe(context, what), causeOf(context));
    ({
      operation: this.operation,
      status: this.status,
      gatewayMessage: this.gatewayMessage,
      gatewayCode: this.gatewayCode,
      attempts: this.attempts,
      outcomeUnknown: this.outcomeUnknown,
    } = fields(context));
  }
}

/** 400 and the other 4xx (and a 3xx: redirects are never followed): the gateway refused the request. */
export class GatewayRejectedError extends GatewayError {
  constructor(context: GatewayErrorContext) {
    super('gateway_rejected', 'the gateway refused the request', context);
  }
}

export type GatewayAuthReason = 'clock_skew' | 'signature' | 'access_denied';

/** 403: the signature, the key or the clock is wrong, or the key is not a system user's. */
export class GatewayAuthError extends GatewayError {
  declare readonly reason: GatewayAuthReason;
  constructor(reason: GatewayAuthReason, context: GatewayErrorContext) {
    super('gateway_auth', `the gateway refused the credentials (${reason.replaceAll('_', ' ')})`, context);
    this.reason = reason;
  }
}

/** 5xx, or no answer at all (connection refused or reset). */
export class GatewayUnavailableError extends GatewayError {
  constructor(context: GatewayErrorContext, what = 'the gateway is unavailable') {
    super('gateway_unavailable', what, context);
  }
}

/** Connecting, waiting for the headers or reading the body took too long. */
export class GatewayTimeoutError extends GatewayError {
  /** `deadline`: the invocation's own time ran out before the gateway finished. */
  readonly phase: 'connect' | 'headers' | 'body' | 'deadline';
  constructor(phase: 'connect' | 'headers' | 'body' | 'deadline', context: GatewayErrorContext) {
    super(
      'gateway_timeout',
      phase === 'deadline'
        ? 'the gateway did not finish within the time this call has'
        : `the gateway timed out (${phase})`,
      context,
    );
    this.phase = phase;
  }
}

/** A 2xx whose body does not have the documented shape. */
export class MalformedResponseError extends GatewayError {
  constructor(problem: string, context: GatewayErrorContext) {
    super('malformed_response', `unexpected answer from the gateway: ${problem}`, context);
  }
}

export type AnyGatewayError = GatewayNotFoundError | GatewayConflictError | GatewayError;

export function isGatewayError(error: unknown): error is AnyGatewayError {
  return (
    error instanceof GatewayError ||
    error instanceof GatewayNotFoundError ||
    error instanceof GatewayConflictError
  );
}

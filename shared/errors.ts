// Named errors shared by every layer. Each has a stable `code`; the HTTP status for a code is
// chosen in exactly one place (the handlers' error middleware), never here.

export type ErrorCode =
  | 'invalid_input'
  | 'unauthorized'
  | 'not_found'
  | 'conflict'
  | 'gateway_rejected'
  | 'gateway_auth'
  | 'gateway_unavailable'
  | 'gateway_timeout'
  | 'malformed_response'
  | 'configuration'
  | 'internal';

export interface AppErrorOptions {
  cause?: unknown;
}

/** Base of every error this project throws on purpose. Messages never carry secrets. */
export class AppError extends Error {
  readonly code: ErrorCode;
  /** A stable word saying which case of the code this is (`in_progress`, `no_matching_signature`). */
  readonly reason: string | undefined;
  /** What a caller may want to act on (the buckets that hold data, say). */
  readonly details: Readonly<Record<string, unknown>> | undefined;
  /**
   * True when a call failed in a way that leaves unknown whether the gateway applied it (a lost
   * answer): the caller looks before it tries again. Gateway errors set it; others never do.
   */
  readonly outcomeUnknown: boolean;
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.reason = undefined;
    this.details = undefined;
    this.outcomeUnknown = false;
  }
}

/** True for this project's errors of `code`: `hasCode(error, 'not_found')`. */
export function hasCode<C extends ErrorCode>(
  error: unknown,
  code: C,
): error is AppError & { readonly code: C } {
  return error instanceof AppError && error.code === code;
}

/** True when a failed call may or may not have been applied (see `AppError.outcomeUnknown`). */
export function outcomeUnknown(error: unknown): boolean {
  return error instanceof AppError && error.outcomeUnknown;
}

/** The `code` of a system or library error (`ECONNRESET`, `UND_ERR_SOCKET`, `ESRCH`), if it has one. */
export function systemCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** Input that fails validation; `field` is the dotted path of the offending value (`data.email`). */
export class InvalidInputError extends AppError {
  readonly field: string;
  constructor(field: string, problem: string, options: AppErrorOptions = {}) {
    super('invalid_input', `${field}: ${problem}`, options);
    this.field = field;
  }
}

/** A configuration value (environment variable, stack prop) is missing or malformed. */
export class ConfigurationError extends AppError {
  readonly variable: string;
  constructor(variable: string, problem: string, options: AppErrorOptions = {}) {
    super('configuration', `${variable}: ${problem}`, options);
    this.variable = variable;
  }
}

/** A webhook whose signature, timestamp or headers do not verify. */
export class UnauthorizedError extends AppError {
  declare readonly reason: string;
  constructor(reason: string, message: string, options: AppErrorOptions = {}) {
    super('unauthorized', message, options);
    this.reason = reason;
  }
}

export class NotFoundError extends AppError {
  constructor(message: string, options: AppErrorOptions = {}) {
    super('not_found', message, options);
  }
}

/** A request that cannot be carried out in the current state (user owns buckets, too many keys, ...). */
export class ConflictError extends AppError {
  declare readonly reason: string;
  declare readonly details: Readonly<Record<string, unknown>>;
  constructor(
    reason: string,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
    options: AppErrorOptions = {},
  ) {
    super('conflict', message, options);
    this.reason = reason;
    this.details = details;
  }
}

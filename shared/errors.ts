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
  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }
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
  readonly reason: string;
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
  readonly reason: string;
  readonly details: Readonly<Record<string, unknown>>;
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

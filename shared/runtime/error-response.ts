// The one place where errors become HTTP statuses and `{ error: { code, message } }` bodies.
import {
  IdempotencyAlreadyInProgressError,
  IdempotencyValidationError,
} from '@aws-lambda-powertools/idempotency';
import { AppError } from '../errors.ts';
import { GatewayUnavailableError } from '../ostor/errors.ts';

export interface ErrorBody {
  readonly error: {
    readonly code: string;
    readonly message: string;
    readonly reason?: string;
    readonly details?: unknown;
  };
}

export interface MappedError {
  readonly status: number;
  readonly body: ErrorBody;
  /** True for faults of ours or of the gateway: logged as errors, not as refused input. */
  readonly fault: boolean;
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_input: 400,
  unauthorized: 401,
  not_found: 404,
  conflict: 409,
  gateway_rejected: 502,
  gateway_auth: 502,
  malformed_response: 502,
  gateway_unavailable: 503,
  gateway_timeout: 504,
  configuration: 500,
  internal: 500,
};

export function mapError(error: unknown): MappedError {
  if (error instanceof AppError) {
    let status = STATUS_BY_CODE[error.code] ?? 500;
    // A gateway that answered with a 5xx failed (502); one that could not be reached is unavailable (503).
    if (error instanceof GatewayUnavailableError && error.status !== undefined) status = 502;
    const { reason, details } = error;
    return {
      status,
      fault: status >= 500,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(reason === undefined ? {} : { reason }),
          ...(details !== undefined && Object.keys(details).length > 0 ? { details } : {}),
        },
      },
    };
  }
  if (error instanceof IdempotencyValidationError) {
    return {
      status: 409,
      fault: false,
      body: {
        error: {
          code: 'conflict',
          reason: 'webhook_id_reused',
          message: 'webhook-id: this id was already delivered with a different body',
        },
      },
    };
  }
  if (error instanceof IdempotencyAlreadyInProgressError) {
    return {
      status: 409,
      fault: false,
      body: {
        error: {
          code: 'conflict',
          reason: 'in_progress',
          message: 'webhook-id: a delivery with this id is still being processed; retry later',
        },
      },
    };
  }
  return { status: 500, fault: true, body: { error: { code: 'internal', message: 'internal error' } } };
}

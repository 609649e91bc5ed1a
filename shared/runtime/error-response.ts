// The one place where errors become HTTP statuses and `{ error: { code, message } }` bodies.
import { AppError } from '../errors.ts';

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
    const gatewayStatus = (error as { status?: unknown }).status;
    if (error.code === 'gateway_unavailable' && typeof gatewayStatus === 'number') status = 502;
    const reason = (error as { reason?: unknown }).reason;
    const details = (error as { details?: unknown }).details;
    return {
      status,
      fault: status >= 500,
      body: {
        error: {
          code: error.code,
          message: error.message,
          ...(typeof reason === 'string' ? { reason } : {}),
          ...(details !== undefined && Object.keys(details as object).length > 0 ? { details } : {}),
        },
      },
    };
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'IdempotencyValidationError') {
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
  if (name === 'IdempotencyAlreadyInProgressError') {
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

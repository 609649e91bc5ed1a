// The one way a handler answers an error, shared by the lifecycle, Stripe and Lago stacks: count
// it (outcome fault or refused), log it (a fault as an error with its cause, a refusal as a
// warning), then answer it over HTTP, or rethrow it to the Lambda runtime with a mapped stack.
import type { Logger } from '@aws-lambda-powertools/logger';
import type { Metrics } from '@aws-lambda-powertools/metrics';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { mapError } from './error-response.ts';
import type { HttpResponse, Invocation } from './invocation.ts';
import { jsonResponse } from './invocation.ts';
import { withMappedStack } from './stack-map.ts';

export interface FailureContext {
  readonly invocation: Invocation;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** What failed, as the log lines name it: `event` → "event failed" / "event refused". */
  readonly subject: string;
  /** Fields that identify it in the log line (type, id), before source, status and error. */
  readonly details: Readonly<Record<string, unknown>>;
}

/** The HTTP answer for `error`; for any other invocation, throws it (mapped) to the runtime. */
export function answerFailure(error: unknown, context: FailureContext): HttpResponse {
  const { invocation, logger, metrics, subject } = context;
  const mapped = mapError(error);
  metrics.addDimension('outcome', mapped.fault ? 'fault' : 'refused');
  metrics.addMetric('events', MetricUnit.Count, 1);
  const details = {
    ...context.details,
    source: invocation.kind,
    status: mapped.status,
    error: mapped.body.error,
  };
  if (mapped.fault) logger.error(`${subject} failed`, { ...details, cause: error });
  else logger.warn(`${subject} refused`, details);
  if (invocation.kind === 'http') return jsonResponse(mapped.status, mapped.body);
  throw withMappedStack(error);
}

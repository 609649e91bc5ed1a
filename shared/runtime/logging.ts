// Structured JSON logs (Powertools Logger) and metrics (Powertools Metrics, EMF). Every log line
// passes through `redact`, so a secret that slips into an attribute is masked before printing.
import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { AppError, systemCode } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import { mapStack } from './stack-map.ts';

const SECRET_KEY = /secret|password|authorization|signature|credential|token|^key$|privatekey/i;
const SECRET_VALUE =
  /whsec_[A-Za-z0-9+/=]+|(?:sk|rk)_(?:live|test)_[A-Za-z0-9]+|AWS4-HMAC-SHA256 [^\s"]+|AWS [A-Za-z0-9]+:[A-Za-z0-9+/=]+/g;
export const REDACTED = '[redacted]';

/** Masks values under secret-looking keys, and secret-looking substrings anywhere. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return '[depth]';
  if (typeof value === 'string') return value.replace(SECRET_VALUE, REDACTED);
  if (Array.isArray(value)) return value.map((item) => redact(item, depth + 1));
  if (value instanceof Error) {
    return redact(
      {
        name: value.name,
        message: value.message,
        code: value instanceof AppError ? value.code : systemCode(value),
        // Mapped to the TypeScript sources first, so the redaction below also covers the mapped text.
        stack: typeof value.stack === 'string' ? mapStack(value.stack) : undefined,
        // The error underneath (a failed SDK call inside a Powertools error, say), redacted alike.
        ...(value.cause === undefined ? {} : { cause: value.cause }),
      },
      depth,
    );
  }
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, inner] of Object.entries(value)) {
      out[key] =
        SECRET_KEY.test(key) && inner !== null && inner !== undefined ? REDACTED : redact(inner, depth + 1);
    }
    return out;
  }
  return value;
}

class RedactingLogFormatter extends LogFormatter {
  override formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base: LogAttributes = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      cold_start: attributes.lambdaContext?.coldStart,
      function_name: attributes.lambdaContext?.functionName,
      function_request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
    };
    return new LogItem({ attributes: redact({ ...base, ...additional }) as LogAttributes });
  }
}

/** The domain's event port (progress and decisions worth a log line), written to `logger`. */
export function eventsFrom(logger: Logger): LifecycleEvents {
  return {
    info: (message, details) => logger.info(message, details ?? {}),
    warn: (message, details) => logger.warn(message, details ?? {}),
    error: (message, details) => logger.error(message, details ?? {}),
  };
}

export function createLogger(serviceName: string): Logger {
  return new Logger({ serviceName, logFormatter: new RedactingLogFormatter() });
}

export function createMetrics(serviceName: string): Metrics {
  return new Metrics({ namespace: 'VhiS3Billing', serviceName });
}

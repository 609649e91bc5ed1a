// Where usage messages go: the billing system's webhook (USAGE_WEBHOOK_URL), or without it a local
// NDJSON file, or a billing system's own usage API (USAGE_SINK=stripe, lago). An `ok` outcome is the
// acknowledgement the sweep waits for before it deletes a statistics object; anything else leaves
// the object for the next run.
import type { OutboundMessage } from './messages.ts';

export interface DeliveryOptions {
  /** Milliseconds since the epoch by which the delivery must be over, retries included. */
  readonly deadline?: number;
}

export type DeliveryOutcome =
  | {
      readonly ok: true;
      readonly attempts: number;
      readonly status: number;
      /**
       * Native sinks (docs/contract.md §6): records of the message not sent because their user has
       * no billingId, and those users (the anonymous user as ""). Absent: every record was sent.
       */
      readonly unbilled?: number;
      readonly unbilledUsers?: readonly string[];
    }
  | {
      readonly ok: false;
      readonly attempts: number;
      /** The receiver's last status; undefined when no answer came (refused, reset, timed out). */
      readonly status: number | undefined;
      readonly reason: string;
    };

export interface UsageSink {
  readonly kind: 'webhook' | 'file' | 'stripe' | 'lago';
  /** For log lines: the receiver's origin or the file's path. Never a secret. */
  readonly target: string;
  deliver(message: OutboundMessage, options?: DeliveryOptions): Promise<DeliveryOutcome>;
  close(): Promise<void>;
}

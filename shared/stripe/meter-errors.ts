// Stripe's thin event notifications (`object: "v2.core.event"`, docs/contract.md §9), as far as this
// project reads them: the two that say meter events Stripe answered 200 were dropped afterwards
// (`v1.billing.meter.error_report_triggered`, `v1.billing.meter.no_meter_found`). A notification
// carries no details; the event fetched from `GET /v2/core/events/{id}` does, and becomes one report
// an operator can act on: the meter, the error codes with their counts, the window, the samples.
import * as z from 'zod';
import { parseInput } from '../lifecycle/requests.ts';

/** The thin events that mean usage went unbilled; any other thin event is acknowledged and ignored. */
export const METER_ERROR_EVENT_TYPES: readonly string[] = [
  'v1.billing.meter.error_report_triggered',
  'v1.billing.meter.no_meter_found',
];

/** What `object` is in a thin event notification (a snapshot event says `event`). */
export const THIN_EVENT_OBJECT = 'v2.core.event';

const RelatedObject = z.looseObject({ id: z.string().min(1), type: z.string(), url: z.string() });

/** A notification as delivered: unversioned, no `data`. Stripe adds fields over time: kept. */
export const ThinEventNotification = z.looseObject({
  id: z.string({ message: 'must be a string' }).min(1, 'must not be empty').max(255, 'is too long'),
  object: z.literal(THIN_EVENT_OBJECT),
  type: z.string({ message: 'must be a string' }).min(1, 'must not be empty'),
  /** An ISO time here, not unix seconds as in snapshot events. */
  created: z.string({ message: 'must be a date-time string' }).min(1, 'must not be empty'),
  /** The account context to fetch the event in (Connect, organisations); null or absent otherwise. */
  context: z.string().min(1).nullish(),
  livemode: z.boolean().optional(),
  related_object: RelatedObject.nullish(),
});
export type ThinEventNotification = z.infer<typeof ThinEventNotification>;

const SampleError = z.looseObject({
  error_message: z.string().nullish(),
  request: z.looseObject({ identifier: z.string().nullish() }).nullish(),
});

const ErrorType = z.looseObject({
  code: z.string().min(1),
  error_count: z.number().int().nonnegative(),
  sample_errors: z.array(SampleError).nullish(),
});

/** The fetched event of either type (stripe@23.1.0 `V1BillingMeterErrorReportTriggeredEvent`). */
const MeterErrorEvent = z.looseObject({
  id: z.string().min(1),
  type: z.string().min(1),
  related_object: RelatedObject.nullish(),
  data: z.looseObject({
    developer_message_summary: z.string().nullish(),
    reason: z.looseObject({
      error_count: z.number().int().nonnegative(),
      error_types: z.array(ErrorType),
    }),
    validation_start: z.string().nullish(),
    validation_end: z.string().nullish(),
    /** Not in Stripe's schema today; read when an event carries it. */
    event_name: z.string().nullish(),
  }),
});

/** One sample Stripe lists: our identifier `<statistics object>:<user id>:<metric>` and its message. */
export interface MeterErrorSample {
  readonly identifier: string | null;
  readonly message: string | null;
}

export interface MeterErrorReport {
  readonly id: string;
  readonly type: string;
  /** `mtr_...`; null for no_meter_found (the event name matched no meter). */
  readonly meter: string | null;
  /** The meter event name, when the event names one. */
  readonly eventName: string | null;
  readonly errorCount: number;
  readonly errors: readonly { readonly code: string; readonly count: number }[];
  readonly window: { readonly start: string | null; readonly end: string | null };
  readonly samples: readonly (MeterErrorSample & { readonly code: string })[];
  /** Stripe's one-line summary ("There is 1 invalid event"). */
  readonly summary: string | null;
}

/** A thin event notification, or undefined when the body is not one (a snapshot event). */
export function parseThinEventNotification(payload: unknown): ThinEventNotification | undefined {
  const object = (payload as { object?: unknown } | null)?.object;
  if (object !== THIN_EVENT_OBJECT) return undefined;
  return parseInput(ThinEventNotification, payload, 'body');
}

/** The report of a fetched meter error event (errors name `event.<field>`). */
export function meterErrorReport(fetched: unknown): MeterErrorReport {
  const event = parseInput(MeterErrorEvent, fetched, 'event');
  const { reason } = event.data;
  return {
    id: event.id,
    type: event.type,
    meter: event.related_object?.id ?? null,
    eventName: event.data.event_name ?? null,
    errorCount: reason.error_count,
    errors: reason.error_types.map((type) => ({ code: type.code, count: type.error_count })),
    window: { start: event.data.validation_start ?? null, end: event.data.validation_end ?? null },
    samples: reason.error_types.flatMap((type) =>
      (type.sample_errors ?? []).map((sample) => ({
        code: type.code,
        identifier: sample.request?.identifier ?? null,
        message: sample.error_message ?? null,
      })),
    ),
    summary: event.data.developer_message_summary ?? null,
  };
}

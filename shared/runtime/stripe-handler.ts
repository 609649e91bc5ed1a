// `POST /stripe`: Stripe's own webhooks in (docs/contract.md §9), on the billing adapters' stack
// (adapter-handler.ts: verify the raw bytes — here `Stripe-Signature` — read, idempotent on
// Stripe's event id for 4 days (Stripe retries for 3), run, count, map errors) around a
// translator: the subscription's status becomes its S3 user's desired state, applied by
// shared/lifecycle. Thin event notifications come to the same endpoint: a meter error report is
// fetched whole, logged as one error an operator can act on and counted for the stack's alarm.
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import { UnauthorizedError } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import type { SubscriptionOutcome } from '../lifecycle/subscription.ts';
import { applySubscription } from '../lifecycle/subscription.ts';
import { verifyStripeSignature } from '../signing/index.ts';
import type { StripeEventEnvelope } from '../stripe/events.ts';
import { parseStripeDelivery, translateStripeEvent } from '../stripe/events.ts';
import type { ThinEventNotification } from '../stripe/meter-errors.ts';
import { METER_ERROR_EVENT_TYPES, meterErrorReport } from '../stripe/meter-errors.ts';
import { createAdapterHandler, type HttpInvocation } from './adapter-handler.ts';
import { type LambdaHandler, parseJson } from './lifecycle-handler.ts';
import type { Runtime } from './runtime.ts';
import { getRuntime } from './runtime.ts';
import type { StripeServices } from './stripe-services.ts';
import { stripeServicesOf } from './stripe-services.ts';

/** The function's name: its route, its log `service` and its metrics' `service` dimension. */
export const STRIPE_FUNCTION = 'stripe';
/** Stripe retries an event for up to three days; a day more covers the last retry's own delay. */
export const STRIPE_IDEMPOTENCY_TTL_SECONDS = 4 * 24 * 3600;
/** Counted (EMF, dimension `service`) each time a termination is refused; alarmed by the stack. */
export const TERMINATIONS_REFUSED_METRIC = 'terminationsRefused';
/** Counted (EMF, dimension `service`) for each meter error report Stripe sends; alarmed by the stack. */
export const METER_ERROR_REPORTS_METRIC = 'meterErrorReports';
/** The message of the one error-level line a meter error report becomes. */
export const METER_ERROR_REPORT_MESSAGE = 'stripe dropped meter events';

/** A meter error report's answer: what Stripe said was dropped, without the samples. */
export interface MeterErrorOutcome {
  readonly action: 'reported';
  readonly meter: string | null;
  readonly errorCount: number;
  readonly errors: readonly { readonly code: string; readonly count: number }[];
  readonly window: { readonly start: string | null; readonly end: string | null };
}

export type StripeEventResult = {
  readonly received: true;
  readonly id: string;
  readonly type: string;
} & (
  | ({
      /** The subscription's status the event was read from, when it was a subscription event. */
      readonly status?: string;
    } & SubscriptionOutcome)
  | MeterErrorOutcome
);

export function createStripeHandler(runtimeOf: () => Runtime = getRuntime): LambdaHandler {
  return createAdapterHandler<StripeServices, StripeEventResult>(
    {
      name: STRIPE_FUNCTION,
      system: 'Stripe',
      idempotencyTtlSeconds: STRIPE_IDEMPOTENCY_TTL_SECONDS,
      services: stripeServicesOf,
      receive: async (invocation, services) => {
        await verify(services, invocation);
        return { payload: parseJson(invocation.rawBody) };
      },
      read: (payload, { runtime, services, events }) => {
        const delivery = parseStripeDelivery(payload);
        return {
          id: delivery.event.id,
          type: delivery.event.type,
          run: () =>
            delivery.kind === 'thin'
              ? handleThinEvent(delivery.event, services, events)
              : handleStripeEvent(delivery.event, runtime, services, events),
        };
      },
      count: (result, metrics) => {
        if (result.action === 'termination_refused') {
          metrics.singleMetric().addMetric(TERMINATIONS_REFUSED_METRIC, MetricUnit.Count, 1);
        }
        if (result.action === 'reported') {
          metrics.singleMetric().addMetric(METER_ERROR_REPORTS_METRIC, MetricUnit.Count, 1);
        }
      },
    },
    runtimeOf,
  );
}

/** Translates one verified event and applies it; events not acted on change nothing. */
export async function handleStripeEvent(
  event: StripeEventEnvelope,
  runtime: Runtime,
  services: StripeServices,
  events: LifecycleEvents,
): Promise<StripeEventResult> {
  const base = { received: true as const, id: event.id, type: event.type };
  const translation = translateStripeEvent(event, services.settings);
  if (translation.kind === 'ignore') {
    events.info('stripe event not acted on', { id: event.id, type: event.type, reason: translation.reason });
    return { ...base, action: 'ignored', reason: translation.reason };
  }
  const outcome = await applySubscription(
    {
      key: `stripe:${translation.subscriptionId}`,
      billingId: translation.customerId,
      desired: translation.desired,
      at: translation.at,
      purge: translation.purge,
      email: translation.metadataEmail,
      lookupEmail: () => services.customerEmail(translation.customerId),
    },
    {
      gateway: runtime.gateway,
      subscriptions: services.subscriptions,
      stateChanges: runtime.stateChanges,
      billingIds: runtime.billingIds,
      locks: runtime.locks,
      credentials: services.credentials,
      events,
    },
  );
  return { ...base, status: translation.status, ...outcome };
}

/**
 * A thin event notification: a meter error report is fetched whole (`GET /v2/core/events/{id}`)
 * and becomes one error-level log line; any other thin event is acknowledged and changes nothing.
 * A fetch that fails throws (5xx), so Stripe delivers the notification again.
 */
export async function handleThinEvent(
  notification: ThinEventNotification,
  services: Pick<StripeServices, 'fetchEvent'>,
  events: LifecycleEvents,
): Promise<StripeEventResult> {
  const base = { received: true as const, id: notification.id, type: notification.type };
  if (!METER_ERROR_EVENT_TYPES.includes(notification.type)) {
    const reason = `${notification.type} is not acted on`;
    events.info('stripe event not acted on', { id: notification.id, type: notification.type, reason });
    return { ...base, action: 'ignored', reason };
  }
  let fetched: unknown;
  try {
    fetched = await services.fetchEvent(notification.id, notification.context ?? undefined);
  } catch (error) {
    events.warn('stripe meter error report not fetched: answered 5xx, Stripe delivers it again', {
      id: notification.id,
      type: notification.type,
      meter: notification.related_object?.id ?? null,
      reason: error instanceof Error ? error.message : String(error),
    });
    throw error;
  }
  const report = meterErrorReport(fetched);
  events.error(METER_ERROR_REPORT_MESSAGE, {
    id: notification.id,
    type: notification.type,
    // The logger leaves nulls out: say it. no_meter_found names no meter (none matched the name).
    meter: report.meter ?? 'none',
    ...(report.eventName === null ? {} : { eventName: report.eventName }),
    errorCount: report.errorCount,
    errors: report.errors,
    window: report.window,
    // Our identifiers are `<statistics object>:<user id>:<metric>` (docs/contract.md §9).
    samples: report.samples,
    summary: report.summary,
    livemode: notification.livemode,
  });
  return {
    ...base,
    action: 'reported',
    meter: report.meter,
    errorCount: report.errorCount,
    errors: report.errors,
    window: report.window,
  };
}

async function verify(services: StripeServices, invocation: HttpInvocation): Promise<void> {
  const input = { header: invocation.headers['stripe-signature'], body: invocation.rawBody };
  try {
    verifyStripeSignature({ ...input, secrets: await services.webhookSecrets.get() });
  } catch (error) {
    // A secret rotated in Secrets Manager since it was cached: look once more before refusing.
    if (!(error instanceof UnauthorizedError) || error.reason !== 'no_matching_signature') throw error;
    verifyStripeSignature({ ...input, secrets: await services.webhookSecrets.refresh() });
  }
}

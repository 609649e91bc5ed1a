// Stripe events for tests, built as the `stripe` package's own types (`Stripe.Event`,
// `Stripe.Subscription`): `tsc --noEmit` checks every fixture against Stripe's API shapes
// (stripe@23.1.0, API version 2026-10-28.endive), and each is signed with the package's own
// `webhooks.generateTestHeaderString`, as Stripe signs a delivery.
import Stripe from 'stripe';

export interface SubscriptionFixture {
  readonly id: string;
  readonly customer: string;
  readonly status: Stripe.Subscription.Status;
  readonly products?: readonly string[];
  readonly metadata?: Stripe.Metadata;
}

const PERIOD_START = 1_764_547_200; // 2025-12-01T00:00:00Z

export function subscription(fixture: SubscriptionFixture): Stripe.Subscription {
  return {
    id: fixture.id,
    object: 'subscription',
    application: null,
    application_fee_percent: null,
    automatic_tax: { disabled_reason: null, enabled: false, liability: null },
    billing_cycle_anchor: PERIOD_START,
    billing_cycle_anchor_config: null,
    billing_mode: { flexible: null, type: 'flexible', updated_at: PERIOD_START },
    billing_schedules: [],
    billing_thresholds: null,
    cancel_at: null,
    cancel_at_period_end: false,
    canceled_at: fixture.status === 'canceled' ? PERIOD_START + 86_400 : null,
    cancellation_details: null,
    collection_method: 'charge_automatically',
    created: PERIOD_START,
    currency: 'eur',
    customer: fixture.customer,
    customer_account: null,
    days_until_due: null,
    default_payment_method: null,
    default_source: null,
    description: null,
    discounts: [],
    ended_at: null,
    invoice_settings: {
      account_tax_ids: null,
      custom_fields: null,
      description: null,
      footer: null,
      issuer: { type: 'self' },
    },
    items: {
      object: 'list',
      data: (fixture.products ?? ['prod_S3Storage']).map((product, index) =>
        item(fixture.id, product, index),
      ),
      has_more: false,
      url: `/v1/subscription_items?subscription=${fixture.id}`,
    },
    latest_invoice: null,
    livemode: false,
    managed_payments: null,
    metadata: fixture.metadata ?? {},
    next_pending_invoice_item_invoice: null,
    on_behalf_of: null,
    pause_collection: null,
    payment_settings: null,
    pending_invoice_item_interval: null,
    pending_setup_intent: null,
    pending_update: null,
    schedule: null,
    start_date: PERIOD_START,
    status: fixture.status,
    test_clock: null,
    transfer_data: null,
    trial_end: null,
    trial_settings: null,
    trial_start: null,
  };
}

function item(subscriptionId: string, product: string, index: number): Stripe.SubscriptionItem {
  return {
    id: `si_${subscriptionId.slice(4)}${index}`,
    object: 'subscription_item',
    billing_thresholds: null,
    created: PERIOD_START,
    current_period_end: PERIOD_START + 31 * 86_400,
    current_period_start: PERIOD_START,
    current_trial: null,
    discounts: [],
    metadata: {},
    plan: plan(product),
    price: price(product),
    subscription: subscriptionId,
    tax_rates: [],
  };
}

function price(product: string): Stripe.Price {
  return {
    id: `price_${product.slice(5)}`,
    object: 'price',
    active: true,
    billing_scheme: 'per_unit',
    created: PERIOD_START,
    currency: 'eur',
    custom_unit_amount: null,
    livemode: false,
    lookup_key: null,
    metadata: {},
    nickname: null,
    product,
    recurring: {
      interval: 'month',
      interval_count: 1,
      meter: 'mtr_storage',
      trial_period_days: null,
      usage_type: 'metered',
    },
    tax_behavior: 'unspecified',
    tiers_mode: null,
    transform_quantity: null,
    type: 'recurring',
    unit_amount: null,
    unit_amount_decimal: null,
  };
}

function plan(product: string): Stripe.Plan {
  return {
    id: `price_${product.slice(5)}`,
    object: 'plan',
    active: true,
    amount: null,
    amount_decimal: null,
    billing_scheme: 'per_unit',
    created: PERIOD_START,
    currency: 'eur',
    interval: 'month',
    interval_count: 1,
    livemode: false,
    metadata: {},
    meter: 'mtr_storage',
    nickname: null,
    product,
    tiers_mode: null,
    transform_usage: null,
    trial_period_days: null,
    usage_type: 'metered',
  };
}

export type SubscriptionEventType =
  | 'customer.subscription.created'
  | 'customer.subscription.updated'
  | 'customer.subscription.deleted'
  | 'customer.subscription.paused'
  | 'customer.subscription.resumed';

let sequence = 0;

/** A `customer.subscription.*` event whose object is the subscription after the change. */
export function subscriptionEvent(
  type: SubscriptionEventType,
  object: Stripe.Subscription,
  created: number,
  previous?: Partial<Stripe.Subscription>,
): Stripe.Event {
  sequence += 1;
  const base = {
    id: `evt_${created.toString(36)}${sequence.toString(36).padStart(4, '0')}${Math.random().toString(36).slice(2, 8)}`,
    object: 'event' as const,
    api_version: '2026-10-28.endive',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: { id: null, idempotency_key: null },
    data: { object, ...(previous === undefined ? {} : { previous_attributes: previous }) },
  };
  switch (type) {
    case 'customer.subscription.created':
      return { ...base, type } satisfies Stripe.CustomerSubscriptionCreatedEvent;
    case 'customer.subscription.updated':
      return { ...base, type } satisfies Stripe.CustomerSubscriptionUpdatedEvent;
    case 'customer.subscription.deleted':
      return { ...base, type } satisfies Stripe.CustomerSubscriptionDeletedEvent;
    case 'customer.subscription.paused':
      return { ...base, type } satisfies Stripe.CustomerSubscriptionPausedEvent;
    case 'customer.subscription.resumed':
      return { ...base, type } satisfies Stripe.CustomerSubscriptionResumedEvent;
  }
}

/** An event this project does not act on. */
export function invoicePaidEvent(created: number): Stripe.Event {
  return {
    id: `evt_inv${created.toString(36)}${Math.random().toString(36).slice(2, 8)}`,
    object: 'event',
    api_version: '2026-10-28.endive',
    created,
    livemode: false,
    pending_webhooks: 1,
    request: null,
    type: 'customer.created',
    data: {
      object: {
        id: 'cus_Unrelated',
        object: 'customer',
        balance: 0,
        created,
        default_source: null,
        description: null,
        email: 'unrelated@example.com',
        invoice_settings: {
          custom_fields: null,
          default_payment_method: null,
          footer: null,
          rendering_options: null,
        },
        livemode: false,
        metadata: {},
        shipping: null,
      },
    },
  };
}

/** The body as Stripe sends it (pretty-printed JSON) and its `Stripe-Signature` header. */
export function signed(event: Stripe.Event, secret: string, at: number = Math.floor(Date.now() / 1000)) {
  const body = JSON.stringify(event, null, 2);
  return {
    body,
    signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: at }),
  };
}

/** A thin event as sent and fetched, without the SDK's methods (`fetchEvent`, ...). */
type Plain<T> = Omit<T, 'fetchEvent' | 'fetchRelatedObject' | 'context'> & { context: string | null };
export type MeterErrorEvent =
  | Plain<Stripe.Events.V1BillingMeterErrorReportTriggeredEvent>
  | Plain<Stripe.Events.V1BillingMeterNoMeterFoundEvent>;

/** Its notification: what Stripe delivers to the endpoint (no `data`). */
export type MeterErrorNotification =
  | Plain<Stripe.Events.V1BillingMeterErrorReportTriggeredEventNotification>
  | Plain<Stripe.Events.V1BillingMeterNoMeterFoundEventNotification>;

export interface MeterErrorFixture {
  readonly type: MeterErrorEvent['type'];
  /** `mtr_...` (error_report_triggered only). */
  readonly meter?: string;
  readonly errors: readonly {
    readonly code: Stripe.Events.V1BillingMeterErrorReportTriggeredEvent.Data.Reason.ErrorType.Code;
    readonly identifiers: readonly string[];
    readonly message: string;
  }[];
  readonly context?: string;
}

/**
 * A meter error report: the event `GET /v2/core/events/{id}` answers (`fetched`, typed as the
 * package's V1BillingMeter*Event) and the thin notification Stripe delivers for it (`notification`:
 * the same without `data`, as Stripe's docs show it).
 */
export function meterErrorEvent(fixture: MeterErrorFixture): {
  fetched: MeterErrorEvent;
  notification: MeterErrorNotification;
} {
  sequence += 1;
  const id = `evt_test_${Date.now().toString(36)}${sequence.toString(36).padStart(4, '0')}${Math.random().toString(36).slice(2, 10)}`;
  const data = {
    developer_message_summary: `There are ${fixture.errors.reduce((sum, e) => sum + e.identifiers.length, 0)} invalid events`,
    reason: {
      error_count: fixture.errors.reduce((sum, e) => sum + e.identifiers.length, 0),
      error_types: fixture.errors.map((error) => ({
        code: error.code,
        error_count: error.identifiers.length,
        sample_errors: error.identifiers.map((identifier) => ({
          error_message: error.message,
          request: { identifier },
        })),
      })),
    },
    validation_end: '2026-11-02T10:00:20.000Z',
    validation_start: '2026-11-02T10:00:10.000Z',
  };
  const base = {
    id,
    object: 'v2.core.event' as const,
    context: fixture.context ?? null,
    created: '2026-11-02T10:00:22.134Z',
    livemode: false,
  };
  if (fixture.type === 'v1.billing.meter.error_report_triggered') {
    const meter = fixture.meter ?? 'mtr_test_61RCjiqdTDC91zgip41IqPCzPnxqqSVc';
    const related_object = { id: meter, type: 'billing.meter', url: `/v1/billing/meters/${meter}` };
    const fetched: MeterErrorEvent = { ...base, type: fixture.type, related_object, data };
    return { fetched, notification: { ...base, type: fixture.type, related_object } };
  }
  const fetched: MeterErrorEvent = { ...base, type: fixture.type, data };
  return { fetched, notification: { ...base, type: fixture.type } };
}

/** A thin notification's body and `Stripe-Signature`, signed as Stripe signs every delivery. */
export function signedNotification(
  notification: object,
  secret: string,
  at: number = Math.floor(Date.now() / 1000),
) {
  const body = JSON.stringify(notification, null, 2);
  return {
    body,
    signature: Stripe.webhooks.generateTestHeaderString({ payload: body, secret, timestamp: at }),
  };
}

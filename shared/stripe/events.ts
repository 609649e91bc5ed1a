// Stripe's webhook events, as far as this project reads them (docs/contract.md §8): the event's
// id, type and time, and for `customer.subscription.*` the subscription's status, customer,
// products and `metadata.s3_email`. The subscription's status — not the event's name — says what
// its S3 user should be; events that say nothing about a listed subscription are acknowledged and
// change nothing.
import * as z from 'zod';
import type { SubscriptionState } from '../lifecycle/ports.ts';
import { parseInput } from '../lifecycle/requests.ts';
import { parseThinEventNotification, type ThinEventNotification } from './meter-errors.ts';

/** The metadata key whose value, when present, is the S3 user's e-mail. */
export const EMAIL_METADATA_KEY = 's3_email';

/** An expandable reference: the id, or the object holding it. */
const Reference = z.union([
  z.string().min(1),
  z.looseObject({ id: z.string().min(1) }).transform((object) => object.id),
]);

/** The envelope every Stripe event has. Stripe adds fields over time: unknown ones are kept. */
export const StripeEventEnvelope = z.looseObject({
  id: z.string({ message: 'must be a string' }).min(1, 'must not be empty').max(255, 'is too long'),
  type: z.string({ message: 'must be a string' }).min(1, 'must not be empty'),
  created: z.number({ message: 'must be unix seconds' }).int('must be unix seconds').nonnegative(),
  data: z.looseObject({ object: z.looseObject({}) }),
});
export type StripeEventEnvelope = z.infer<typeof StripeEventEnvelope>;

const SubscriptionItem = z.looseObject({
  price: z.looseObject({ product: Reference.nullish() }).nullish(),
  plan: z.looseObject({ product: Reference.nullish() }).nullish(),
});

const Subscription = z.looseObject({
  id: z.string().min(1),
  status: z.string().min(1),
  customer: Reference,
  metadata: z.record(z.string(), z.string()).nullish(),
  items: z.looseObject({ data: z.array(SubscriptionItem) }).nullish(),
});

export interface StripeSettings {
  /** Subscriptions holding none of these are ignored; undefined: every subscription. */
  readonly products: readonly string[] | undefined;
  readonly suspendPastDue: boolean;
  readonly purgeOnCancel: boolean;
}

export type StripeTranslation =
  | { readonly kind: 'ignore'; readonly reason: string }
  | {
      readonly kind: 'apply';
      readonly subscriptionId: string;
      readonly customerId: string;
      readonly desired: SubscriptionState;
      /** `event.created`: Stripe's time of the change (one-second resolution). */
      readonly at: Date;
      readonly purge: boolean;
      /** `metadata.s3_email` when the subscription carries one. */
      readonly metadataEmail: string | undefined;
      /** The status it was read from, for the answer and the logs. */
      readonly status: string;
    };

/** Parses the body's envelope (errors name `body.<field>`). */
export function parseStripeEvent(payload: unknown): StripeEventEnvelope {
  return parseInput(StripeEventEnvelope, payload, 'body');
}

/** What `POST /stripe` receives: a thin event notification or a snapshot event. */
export type StripeDelivery =
  | { readonly kind: 'thin'; readonly event: ThinEventNotification }
  | { readonly kind: 'snapshot'; readonly event: StripeEventEnvelope };

/** Tells the two apart by `object` (`v2.core.event` or `event`) and parses the one it is. */
export function parseStripeDelivery(payload: unknown): StripeDelivery {
  const thin = parseThinEventNotification(payload);
  return thin === undefined
    ? { kind: 'snapshot', event: parseStripeEvent(payload) }
    : { kind: 'thin', event: thin };
}

/** What the event asks of the subscription's S3 user, or why it asks nothing. */
export function translateStripeEvent(
  event: StripeEventEnvelope,
  settings: StripeSettings,
): StripeTranslation {
  if (!event.type.startsWith('customer.subscription.')) {
    return { kind: 'ignore', reason: `${event.type} is not acted on` };
  }
  const subscription = parseInput(Subscription, event.data.object, 'body.data.object');
  const products = productsOf(subscription);
  if (settings.products !== undefined && !products.some((id) => settings.products?.includes(id))) {
    return { kind: 'ignore', reason: 'the subscription holds no product listed in STRIPE_PRODUCTS' };
  }
  const desired =
    event.type === 'customer.subscription.deleted' ? 'terminated' : stateOf(subscription.status, settings);
  if (typeof desired !== 'string') return desired;
  const metadataEmail = subscription.metadata?.[EMAIL_METADATA_KEY]?.trim();
  return {
    kind: 'apply',
    subscriptionId: subscription.id,
    customerId: subscription.customer,
    desired,
    at: new Date(event.created * 1000),
    purge: settings.purgeOnCancel,
    metadataEmail: metadataEmail === '' ? undefined : metadataEmail,
    status: subscription.status,
  };
}

function stateOf(
  status: string,
  settings: StripeSettings,
): SubscriptionState | { kind: 'ignore'; reason: string } {
  switch (status) {
    case 'active':
    case 'trialing':
      return 'enabled';
    case 'unpaid':
    case 'paused':
    case 'incomplete_expired':
      return 'suspended';
    case 'past_due':
      return settings.suspendPastDue
        ? 'suspended'
        : { kind: 'ignore', reason: 'past_due is a grace period unless STRIPE_SUSPEND_PAST_DUE=true' };
    case 'canceled':
      return 'terminated';
    case 'incomplete':
      return { kind: 'ignore', reason: 'incomplete: the first payment has not been made' };
    default:
      return { kind: 'ignore', reason: `status ${status} is not acted on` };
  }
}

function productsOf(subscription: z.infer<typeof Subscription>): string[] {
  const ids = new Set<string>();
  for (const item of subscription.items?.data ?? []) {
    const product = item.price?.product ?? item.plan?.product;
    if (typeof product === 'string') ids.add(product);
  }
  return [...ids];
}

// Lago's webhooks as decisions (docs/contract.md §9): which subscription or customer an event is
// about, what state its S3 users should end in, and the moment Lago decided it. Pure: no store,
// no gateway; the adapter carries the decision out.
import * as z from 'zod';
import { InvalidInputError } from '../errors.ts';
import { parseInput } from '../lifecycle/requests.ts';
import { billingIdProblem, emailProblem, withRule } from '../ostor/validate.ts';

/** One Lago subscription, as the adapter keys its S3 user. */
export interface LagoSubscription {
  /** Lago's `external_id`: the user's `billingId`, and the `external_subscription_id` of its usage. */
  readonly billingId: string;
  /** `external_customer_id`: whose invoices can suspend this subscription's user. */
  readonly customerId: string;
  /**
   * The S3 user's e-mail as the event names it: `external_id` when it is an address, else the
   * customer's (first) e-mail; undefined when neither is there.
   */
  readonly email: string | undefined;
  readonly planCode: string;
}

export interface LagoInvoice {
  /** Lago's `lago_id` of the invoice. */
  readonly invoiceId: string;
  /** `customer.external_id`. */
  readonly customerId: string;
  /** The customer's (first) e-mail, for subscriptions whose `external_id` is not one. */
  readonly customerEmail: string | undefined;
}

export type LagoDecision =
  | { readonly desired: 'ignore'; readonly reason: string }
  /** `subscription.started`: the user exists and is enabled. */
  | { readonly desired: 'enabled'; readonly at: Date; readonly subscription: LagoSubscription }
  /** `subscription.terminated`: the user is deleted. */
  | { readonly desired: 'terminated'; readonly at: Date; readonly subscription: LagoSubscription }
  /** `invoice.payment_overdue`: every user of the customer's subscriptions is suspended. */
  | { readonly desired: 'suspended'; readonly at: Date; readonly invoice: LagoInvoice }
  /**
   * `invoice.payment_status_updated` with `succeeded`: if this invoice was overdue and no other
   * invoice of the customer still is, the customer's users are enabled again.
   */
  | { readonly desired: 'settled'; readonly at: Date; readonly invoice: LagoInvoice };

export interface LagoTranslationOptions {
  /** Plan codes whose subscriptions are S3 storage; undefined: every subscription. */
  readonly plans?: ReadonlySet<string> | undefined;
}

// Ruby's `iso8601` / `iso8601(3)`: `2026-11-26T12:00:00Z`, `2026-11-26T12:00:00.123Z`.
const dateTime = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time such as 2026-11-26T12:00:00Z' })
  .transform((value) => new Date(value));
const text = (what: string) =>
  z.string({ message: `must be ${what}` }).refine((value) => value.trim() !== '', 'must not be empty');
const billingId = withRule(z.string({ message: 'must be a string' }), billingIdProblem);

// Objects are loose: Lago adds fields with every release, and only these are read.
const Customer = z.looseObject({
  external_id: text('the customer external id'),
  email: z.string({ message: 'must be a string' }).nullish(),
});

const Subscription = z.looseObject({
  external_id: billingId,
  external_customer_id: text('the customer external id'),
  plan_code: text('a plan code'),
  started_at: dateTime.nullish(),
  terminated_at: dateTime.nullish(),
  next_plan_code: z.string({ message: 'must be a string' }).nullish(),
  status: z.string({ message: 'must be a string' }).nullish(),
  customer: Customer,
});

const Invoice = z.looseObject({
  lago_id: text('the invoice id'),
  payment_status: z.string({ message: 'must be a string' }),
  updated_at: dateTime,
  customer: Customer,
});

const Kind = z.looseObject({ webhook_type: z.string({ message: 'must be a string' }) });
const SubscriptionEvent = z.looseObject({ subscription: Subscription });
const InvoiceEvent = z.looseObject({ invoice: Invoice });

type ParsedSubscription = z.infer<typeof Subscription>;

/**
 * `external_id` when it is an address, else the customer's e-mail (Lago allows a comma-separated
 * list, and itself takes the first); undefined when there is none. Checked, and pinned per
 * subscription, by shared/lifecycle/subscription.ts: a later event finds the pinned one.
 */
function emailOf(subscription: ParsedSubscription): string | undefined {
  return emailOfSubscription(subscription.external_id, firstEmail(subscription.customer.email));
}

/** The S3 user's e-mail of a subscription: its `external_id` when that is an address, else the customer's. */
export function emailOfSubscription(
  externalId: string,
  customerEmail: string | undefined,
): string | undefined {
  return emailProblem(externalId) === undefined ? externalId : customerEmail;
}

/** The first address of Lago's comma-separated `email`; undefined when there is none. */
function firstEmail(email: string | null | undefined): string | undefined {
  const first = email?.split(',')[0]?.trim() ?? '';
  return first === '' ? undefined : first;
}

function required(value: Date | null | undefined, field: string): Date {
  if (value === null || value === undefined) throw new InvalidInputError(field, 'is required');
  return value;
}

/**
 * Reads one Lago webhook body (already JSON-parsed). Events the adapter does not act on are
 * `ignore`, whatever else they hold; an event it acts on must carry every field it reads, or an
 * InvalidInputError names the first one missing or malformed.
 */
export function translateLagoWebhook(body: unknown, options: LagoTranslationOptions = {}): LagoDecision {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new InvalidInputError('body', 'must be a JSON object');
  }
  const { webhook_type: type } = parseInput(Kind, body, '');
  switch (type) {
    case 'subscription.started':
    case 'subscription.terminated': {
      const { subscription } = parseInput(SubscriptionEvent, body, '');
      if (options.plans !== undefined && !options.plans.has(subscription.plan_code)) {
        return { desired: 'ignore', reason: `plan ${subscription.plan_code} is not an S3 plan (LAGO_PLANS)` };
      }
      const ref: LagoSubscription = {
        billingId: subscription.external_id,
        customerId: subscription.external_customer_id,
        email: emailOf(subscription),
        planCode: subscription.plan_code,
      };
      if (type === 'subscription.started') {
        return {
          desired: 'enabled',
          at: required(subscription.started_at, 'subscription.started_at'),
          subscription: ref,
        };
      }
      // Lago sends subscription.terminated also for a pending subscription it cancels (a scheduled
      // downgrade called off, a start date never reached): status canceled, no terminated_at. It
      // never started, and the subscription active under the same external_id, if any, goes on.
      if (
        subscription.status !== undefined &&
        subscription.status !== null &&
        subscription.status !== 'terminated'
      ) {
        return {
          desired: 'ignore',
          reason: `the subscription is ${subscription.status}, not terminated: it never started`,
        };
      }
      // An upgrade or downgrade terminates the subscription and starts another under the same
      // external_id at the same moment; the old one then names its successor's plan. Deleting the
      // user there would destroy the customer's data on a plan change.
      const next = subscription.next_plan_code;
      if (next !== null && next !== undefined && (options.plans === undefined || options.plans.has(next))) {
        return {
          desired: 'ignore',
          reason: `replaced by a subscription to plan ${next} under the same external_id`,
        };
      }
      return {
        desired: 'terminated',
        at: required(subscription.terminated_at, 'subscription.terminated_at'),
        subscription: ref,
      };
    }
    case 'invoice.payment_overdue':
    case 'invoice.payment_status_updated': {
      const { invoice } = parseInput(InvoiceEvent, body, '');
      const ref: LagoInvoice = {
        invoiceId: invoice.lago_id,
        customerId: invoice.customer.external_id,
        customerEmail: firstEmail(invoice.customer.email),
      };
      if (type === 'invoice.payment_overdue')
        return { desired: 'suspended', at: invoice.updated_at, invoice: ref };
      if (invoice.payment_status !== 'succeeded') {
        return { desired: 'ignore', reason: `payment_status ${invoice.payment_status} changes nothing` };
      }
      return { desired: 'settled', at: invoice.updated_at, invoice: ref };
    }
    default:
      return { desired: 'ignore', reason: `${type} is not an event the adapter acts on` };
  }
}

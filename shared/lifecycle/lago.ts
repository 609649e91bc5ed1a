// Lago's decisions carried out (docs/contract.md §9). A subscription event drives its own S3 user
// through shared/lifecycle/subscription.ts. Lago has no suspended state: an overdue invoice
// suspends the users of every subscription of its customer, and paying the last overdue one
// enables them again, so the adapter remembers which subscriptions each customer has (learnt when
// they start) and which of the customer's invoices are overdue.
import { hasCode } from '../errors.ts';
import type { LagoDecision, LagoInvoice } from '../lago/events.ts';
import { emailOfSubscription } from '../lago/events.ts';
import type { SubscriptionDependencies, SubscriptionOutcome } from './subscription.ts';
import { applySubscription } from './subscription.ts';

/** An invoice as the customer store keys it. */
export type InvoiceRef = Pick<LagoInvoice, 'invoiceId' | 'customerId'>;

/** What the adapter remembers of Lago's customers. SQLite locally, DynamoDB deployed. */
export interface LagoCustomerStore {
  /** Remembers that the subscription (its `external_id`) belongs to the customer. */
  addSubscription(customerId: string, billingId: string): Promise<void>;
  /** The subscriptions remembered for the customer. */
  subscriptionsOf(customerId: string): Promise<readonly string[]>;
  /**
   * Records the invoice as overdue from `at`, unless a record at least as new is there (a payment
   * at the same moment wins); answers whether it was recorded.
   */
  markOverdue(invoice: InvoiceRef, at: Date): Promise<boolean>;
  /**
   * Records the invoice as paid at `at`, unless a newer record is there. Answers whether it was
   * recorded, whether the invoice was ever recorded overdue, and how many of the customer's
   * invoices are still overdue.
   */
  markPaid(invoice: InvoiceRef, at: Date): Promise<LagoPayment>;
}

export interface LagoPayment {
  readonly recorded: boolean;
  readonly wasOverdue: boolean;
  readonly stillOverdue: number;
}

/** One subscription as Lago lists a customer's active ones. */
export interface LagoListedSubscription {
  readonly billingId: string;
  readonly planCode: string;
}

/** Lago's own list of a customer's subscriptions (its API, with LAGO_API_KEY). */
export interface LagoSubscriptionDirectory {
  activeSubscriptions(customerId: string): Promise<readonly LagoListedSubscription[]>;
}

export interface LagoDependencies extends SubscriptionDependencies {
  readonly customers: LagoCustomerStore;
  /**
   * When set, an invoice also reaches the customer's active subscriptions that Lago lists but the
   * adapter never saw start (they started before it was set up).
   */
  readonly directory?: LagoSubscriptionDirectory | undefined;
  /** LAGO_PLANS: only these plans' subscriptions are S3 users; undefined: every plan. */
  readonly plans?: ReadonlySet<string> | undefined;
  /** LAGO_PURGE_ON_TERMINATE: a terminated subscription's objects are deleted with its user. */
  readonly purgeOnTerminate: boolean;
}

export type LagoOutcome =
  | ({ readonly billingId: string } & SubscriptionOutcome)
  | {
      readonly action: 'customer';
      readonly customerId: string;
      readonly desired: 'suspended' | 'enabled';
      /** What became of each of the customer's subscriptions. */
      readonly subscriptions: readonly ({ readonly billingId: string } & SubscriptionOutcome)[];
    }
  | { readonly action: 'skipped' | 'ignored'; readonly reason: string };

const subscriptionKey = (billingId: string) => `lago:${billingId}`;

export async function applyLagoDecision(
  decision: LagoDecision,
  deps: LagoDependencies,
): Promise<LagoOutcome> {
  switch (decision.desired) {
    case 'ignore':
      return { action: 'ignored', reason: decision.reason };
    case 'enabled':
    case 'terminated': {
      const { subscription } = decision;
      await deps.customers.addSubscription(subscription.customerId, subscription.billingId);
      const outcome = await apply(
        subscription.billingId,
        decision.desired,
        decision.at,
        deps,
        subscription.email,
      );
      return { billingId: subscription.billingId, ...outcome };
    }
    case 'suspended': {
      const { invoice, at } = decision;
      if (!(await deps.customers.markOverdue(invoice, at))) {
        deps.events.warn('older overdue notice skipped: the invoice was paid since', {
          invoice: invoice.invoiceId,
        });
        return { action: 'skipped', reason: 'the invoice was paid after it became overdue' };
      }
      return applyToCustomer(invoice, 'suspended', at, deps);
    }
    case 'settled': {
      const { invoice, at } = decision;
      const payment = await deps.customers.markPaid(invoice, at);
      if (!payment.recorded)
        return { action: 'skipped', reason: 'a newer change of this invoice was applied already' };
      if (!payment.wasOverdue) return { action: 'ignored', reason: 'the invoice was not overdue' };
      if (payment.stillOverdue > 0) {
        deps.events.info('invoice paid; the customer still has overdue invoices', {
          invoice: invoice.invoiceId,
          customer: invoice.customerId,
          stillOverdue: payment.stillOverdue,
        });
        return {
          action: 'ignored',
          reason: `${payment.stillOverdue} other invoice(s) of the customer still overdue`,
        };
      }
      return applyToCustomer(invoice, 'enabled', at, deps);
    }
  }
}

/**
 * Every subscription of the invoice's customer — remembered, or listed by Lago now — except those
 * already terminated.
 */
async function applyToCustomer(
  invoice: LagoInvoice,
  desired: 'suspended' | 'enabled',
  at: Date,
  deps: LagoDependencies,
): Promise<LagoOutcome> {
  const remembered = await deps.customers.subscriptionsOf(invoice.customerId);
  const billingIds = [...remembered];
  if (deps.directory !== undefined) {
    for (const listed of await listedSubscriptions(deps.directory, invoice.customerId, deps)) {
      if (deps.plans !== undefined && !deps.plans.has(listed.planCode)) continue;
      if (billingIds.includes(listed.billingId)) continue;
      await deps.customers.addSubscription(invoice.customerId, listed.billingId);
      billingIds.push(listed.billingId);
    }
  }
  const subscriptions: ({ readonly billingId: string } & SubscriptionOutcome)[] = [];
  for (const billingId of billingIds) {
    const record = await deps.subscriptions.get(subscriptionKey(billingId));
    if (record?.decided === 'terminated') continue;
    const email = emailOfSubscription(billingId, invoice.customerEmail);
    subscriptions.push({ billingId, ...(await apply(billingId, desired, at, deps, email)) });
  }
  if (billingIds.length === 0) {
    deps.events.warn('no subscription known for the customer; nothing done', {
      customer: invoice.customerId,
    });
  }
  return { action: 'customer', customerId: invoice.customerId, desired, subscriptions };
}

/**
 * Lago's list of the customer's active subscriptions. Lago unreachable throws (the webhook is
 * answered 5xx and Lago sends it again); Lago refusing the key does not stop the remembered
 * subscriptions from being acted on: it is logged as an error, and the list is empty.
 */
async function listedSubscriptions(
  directory: LagoSubscriptionDirectory,
  customerId: string,
  deps: LagoDependencies,
): Promise<readonly LagoListedSubscription[]> {
  try {
    return await directory.activeSubscriptions(customerId);
  } catch (error) {
    if (!hasCode(error, 'configuration')) throw error;
    deps.events.error(
      "Lago's subscriptions of the customer could not be listed; only those seen starting are acted on",
      {
        customer: customerId,
        problem: error.message,
      },
    );
    return [];
  }
}

function apply(
  billingId: string,
  desired: 'enabled' | 'suspended' | 'terminated',
  at: Date,
  deps: LagoDependencies,
  email: string | undefined,
): Promise<SubscriptionOutcome> {
  return applySubscription(
    {
      key: subscriptionKey(billingId),
      billingId,
      desired,
      at,
      purge: desired === 'terminated' && deps.purgeOnTerminate,
      // A pinned e-mail wins (shared/lifecycle/subscription.ts); this one is used only the first time.
      email,
      // Lago's payloads carry the customer's e-mail already: there is nothing more to look up.
      lookupEmail: async () => undefined,
    },
    deps,
  );
}

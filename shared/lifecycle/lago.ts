// Lago's decisions carried out (docs/contract.md §9). A subscription event drives its own S3 user
// through shared/lifecycle/subscription.ts. Lago has no suspended state: an overdue invoice
// suspends the users of every subscription of its customer, and paying the last overdue one
// enables them again, so the adapter remembers which subscriptions each customer has (learnt when
// they start) and which of the customer's invoices are overdue.
import type { LagoDecision, LagoInvoice, LagoSubscription } from './lago-events.ts';
import type { SubscriptionDependencies, SubscriptionOutcome } from './subscription.ts';
import { applySubscription } from './subscription.ts';

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
  markOverdue(invoice: LagoInvoice, at: Date): Promise<boolean>;
  /**
   * Records the invoice as paid at `at`, unless a newer record is there. Answers whether it was
   * recorded, whether the invoice was ever recorded overdue, and how many of the customer's
   * invoices are still overdue.
   */
  markPaid(invoice: LagoInvoice, at: Date): Promise<LagoPayment>;
}

export interface LagoPayment {
  readonly recorded: boolean;
  readonly wasOverdue: boolean;
  readonly stillOverdue: number;
}

export interface LagoDependencies extends SubscriptionDependencies {
  readonly customers: LagoCustomerStore;
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
      const outcome = await apply(subscription.billingId, decision.desired, decision.at, deps, subscription);
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

/** Every remembered subscription of the invoice's customer, except those already terminated. */
async function applyToCustomer(
  invoice: LagoInvoice,
  desired: 'suspended' | 'enabled',
  at: Date,
  deps: LagoDependencies,
): Promise<LagoOutcome> {
  const billingIds = await deps.customers.subscriptionsOf(invoice.customerId);
  const subscriptions: ({ readonly billingId: string } & SubscriptionOutcome)[] = [];
  for (const billingId of billingIds) {
    const record = await deps.subscriptions.get(subscriptionKey(billingId));
    if (record?.decided === 'terminated') continue;
    subscriptions.push({ billingId, ...(await apply(billingId, desired, at, deps, undefined)) });
  }
  if (billingIds.length === 0) {
    deps.events.warn('no subscription known for the customer; nothing done', {
      customer: invoice.customerId,
    });
  }
  return { action: 'customer', customerId: invoice.customerId, desired, subscriptions };
}

function apply(
  billingId: string,
  desired: 'enabled' | 'suspended' | 'terminated',
  at: Date,
  deps: LagoDependencies,
  subscription: LagoSubscription | undefined,
): Promise<SubscriptionOutcome> {
  return applySubscription(
    {
      key: subscriptionKey(billingId),
      billingId,
      desired,
      at,
      purge: desired === 'terminated' && deps.purgeOnTerminate,
      email: subscription?.email,
      // Lago's payload carries the customer's e-mail already; an invoice event relies on the one
      // pinned when the subscription started.
      lookupEmail: async () => undefined,
    },
    deps,
  );
}

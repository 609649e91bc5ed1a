// Stripe events to desired states (docs/contract.md §8), from typed `Stripe.Event` fixtures: the
// subscription's status decides, not the event's name; unlisted products and other event types
// ask nothing; the envelope's errors name the field under `body`.
import type Stripe from 'stripe';
import { describe, expect, it } from 'vitest';
import { hasCode } from '../../../shared/errors.ts';
import type { StripeSettings } from '../../../shared/stripe/events.ts';
import { parseStripeEvent, translateStripeEvent } from '../../../shared/stripe/events.ts';
import { invoicePaidEvent, subscription, subscriptionEvent } from '../../e2e/stripe-events.ts';

const settings: StripeSettings = { products: undefined, suspendPastDue: false, purgeOnCancel: false };
const CREATED = 1_767_225_600;

function translate(event: Stripe.Event, overrides: Partial<StripeSettings> = {}) {
  return translateStripeEvent(parseStripeEvent(JSON.parse(JSON.stringify(event))), {
    ...settings,
    ...overrides,
  });
}

const updated = (
  status: Stripe.Subscription.Status,
  extra: { products?: string[]; metadata?: Stripe.Metadata } = {},
) =>
  subscriptionEvent(
    'customer.subscription.updated',
    subscription({ id: 'sub_1', customer: 'cus_1', status, ...extra }),
    CREATED,
  );

describe('translateStripeEvent', () => {
  it.each([
    ['active', 'enabled'],
    ['trialing', 'enabled'],
    ['unpaid', 'suspended'],
    ['paused', 'suspended'],
    ['incomplete_expired', 'suspended'],
    ['canceled', 'terminated'],
  ] as const)('status %s → %s', (status, desired) => {
    expect(translate(updated(status))).toEqual({
      kind: 'apply',
      subscriptionId: 'sub_1',
      customerId: 'cus_1',
      desired,
      at: new Date(CREATED * 1000),
      purge: false,
      metadataEmail: undefined,
      status,
    });
  });

  it.each(['incomplete', 'past_due'] as const)('status %s asks nothing by default', (status) => {
    expect(translate(updated(status)).kind).toBe('ignore');
  });

  it('past_due suspends with STRIPE_SUSPEND_PAST_DUE; purge follows STRIPE_PURGE_ON_CANCEL', () => {
    expect(translate(updated('past_due'), { suspendPastDue: true })).toMatchObject({ desired: 'suspended' });
    expect(translate(updated('canceled'), { purgeOnCancel: true })).toMatchObject({
      desired: 'terminated',
      purge: true,
    });
  });

  it('reads the status, not the name: a "deleted" event terminates, a "resumed" one by its status', () => {
    const deleted = subscriptionEvent(
      'customer.subscription.deleted',
      subscription({ id: 'sub_1', customer: 'cus_1', status: 'canceled' }),
      CREATED,
    );
    const resumedButUnpaid = subscriptionEvent(
      'customer.subscription.resumed',
      subscription({ id: 'sub_1', customer: 'cus_1', status: 'unpaid' }),
      CREATED,
    );
    expect(translate(deleted)).toMatchObject({ desired: 'terminated' });
    expect(translate(resumedButUnpaid)).toMatchObject({ desired: 'suspended' });
  });

  it('takes metadata.s3_email, trimmed', () => {
    expect(translate(updated('active', { metadata: { s3_email: ' s3@example.com ' } }))).toMatchObject({
      metadataEmail: 's3@example.com',
    });
  });

  it('ignores subscriptions without a listed product, and acts on one holding any listed product', () => {
    const products = ['prod_S3Storage'];
    expect(translate(updated('active', { products: ['prod_Other'] }), { products }).kind).toBe('ignore');
    expect(
      translate(updated('active', { products: ['prod_Other', 'prod_S3Storage'] }), { products }).kind,
    ).toBe('apply');
  });

  it('ignores other event types', () => {
    expect(translate(invoicePaidEvent(CREATED))).toEqual({
      kind: 'ignore',
      reason: 'customer.created is not acted on',
    });
  });

  it('refuses an envelope without id or created, naming the field', () => {
    for (const [payload, field] of [
      [{ type: 'x', created: 1, data: { object: {} } }, 'body.id'],
      [{ id: 'evt_1', type: 'x', created: 'yesterday', data: { object: {} } }, 'body.created'],
      [
        { id: 'evt_1', type: 'customer.subscription.updated', created: 1, data: { object: { id: 'sub_1' } } },
        'body.data.object.status',
      ],
    ] as const) {
      let caught: unknown;
      try {
        translateStripeEvent(parseStripeEvent(payload), settings);
      } catch (error) {
        caught = error;
      }
      expect(hasCode(caught, 'invalid_input') && caught.message.startsWith(`${field}:`)).toBe(true);
    }
  });
});

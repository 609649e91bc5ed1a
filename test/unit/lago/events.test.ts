// The Lago translator: each webhook the adapter acts on becomes its decision and its time; every
// other one is ignored; a body missing what a decision needs names the field.
import { describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../../shared/errors.ts';
import { translateLagoWebhook } from '../../../shared/lago/events.ts';
import {
  invoicePaymentOverdue,
  invoicePaymentStatusUpdated,
  ORGANIZATION_ID,
  subscriptionStarted,
  subscriptionTerminated,
} from '../../fixtures/lago-webhooks.ts';

/** JSON-parsed, as the handler hands it over. */
const wire = (payload: unknown): unknown => JSON.parse(JSON.stringify(payload));

function invalid(act: () => unknown): InvalidInputError {
  try {
    act();
  } catch (error) {
    if (error instanceof InvalidInputError) return error;
    throw error;
  }
  throw new Error('expected an InvalidInputError');
}

const acme = { externalId: 'cust-42', email: 'billing@acme.example' };

describe('subscription events', () => {
  it('started: enabled at started_at; the external_id that is an address is the e-mail and the billing id', () => {
    const decision = translateLagoWebhook(
      wire(
        subscriptionStarted({
          externalId: 'alice@example.com',
          customer: acme,
          startedAt: '2026-11-26T12:00:00.123Z',
        }),
      ),
    );
    expect(decision).toEqual({
      desired: 'enabled',
      at: new Date('2026-11-26T12:00:00.123Z'),
      subscription: {
        billingId: 'alice@example.com',
        customerId: 'cust-42',
        email: 'alice@example.com',
        planCode: 's3_storage',
      },
    });
  });

  it("started: an external_id that is not an address takes the customer's e-mail (the first of a list)", () => {
    const decision = translateLagoWebhook(
      wire(
        subscriptionStarted({
          externalId: 'sub_0001',
          customer: { externalId: 'cust-42', email: ' ops@acme.example , finance@acme.example' },
        }),
      ),
    );
    expect(decision).toMatchObject({
      desired: 'enabled',
      subscription: { billingId: 'sub_0001', email: 'ops@acme.example', customerId: 'cust-42' },
    });
  });

  it('terminated: terminated at terminated_at', () => {
    const decision = translateLagoWebhook(
      wire(
        subscriptionTerminated({
          externalId: 'sub_0001',
          customer: acme,
          terminatedAt: '2026-12-01T08:30:00Z',
        }),
      ),
    );
    expect(decision).toMatchObject({
      desired: 'terminated',
      at: new Date('2026-12-01T08:30:00Z'),
      subscription: { billingId: 'sub_0001', email: 'billing@acme.example' },
    });
  });

  it('terminated on a plan change (a successor under the same external_id) is ignored', () => {
    const decision = translateLagoWebhook(
      wire(
        subscriptionTerminated({
          externalId: 'sub_0001',
          customer: acme,
          terminatedAt: '2026-12-01T08:30:00Z',
          nextPlanCode: 's3_premium',
        }),
      ),
    );
    expect(decision.desired).toBe('ignore');
  });

  it('terminated for a pending subscription Lago cancels (status canceled, no terminated_at) is ignored', () => {
    // Lago's TerminateService on a pending subscription: marked canceled, the webhook sent all the same.
    const canceled = wire(
      subscriptionTerminated({
        externalId: 'sub_0001',
        customer: acme,
        terminatedAt: null,
        status: 'canceled',
      }),
    );
    const decision = translateLagoWebhook(canceled);
    expect(decision.desired).toBe('ignore');
  });

  it('with LAGO_PLANS: other plans are ignored, and moving to one of them is a termination', () => {
    const plans = new Set(['s3_storage']);
    const other = subscriptionStarted({ externalId: 'sub_0002', customer: acme, planCode: 'compute' });
    const movedAway = subscriptionTerminated({
      externalId: 'sub_0001',
      customer: acme,
      terminatedAt: '2026-12-01T08:30:00Z',
      nextPlanCode: 'compute',
    });
    expect(translateLagoWebhook(wire(other), { plans }).desired).toBe('ignore');
    expect(translateLagoWebhook(wire(movedAway), { plans }).desired).toBe('terminated');
    expect(translateLagoWebhook(wire(other)).desired).toBe('enabled');
  });

  it('missing or malformed times are named by field', () => {
    const noStart = subscriptionStarted({ externalId: 'sub_1', customer: acme, startedAt: null });
    const noEnd = subscriptionTerminated({ externalId: 'sub_1', customer: acme, terminatedAt: null });
    const badTime = subscriptionStarted({ externalId: 'sub_1', customer: acme, startedAt: 'yesterday' });
    expect(invalid(() => translateLagoWebhook(wire(noStart))).field).toBe('subscription.started_at');
    expect(invalid(() => translateLagoWebhook(wire(noEnd))).field).toBe('subscription.terminated_at');
    expect(invalid(() => translateLagoWebhook(wire(badTime))).message).toMatch(
      /^subscription\.started_at: must be an ISO 8601/,
    );
  });

  it('without an address in external_id or on the customer, the e-mail is left to the pinned one', () => {
    const noEmail = subscriptionStarted({ externalId: 'sub_1', customer: { externalId: 'c', email: null } });
    const blank = subscriptionStarted({
      externalId: 'sub_1',
      customer: { externalId: 'c', email: ' , x@y.example' },
    });
    expect(translateLagoWebhook(wire(noEmail))).toMatchObject({ subscription: { email: undefined } });
    expect(translateLagoWebhook(wire(blank))).toMatchObject({ subscription: { email: undefined } });
  });

  it('an external_id that cannot be a billing id is refused', () => {
    const long = subscriptionStarted({ externalId: 'x'.repeat(256), customer: acme });
    const empty = subscriptionStarted({ externalId: '', customer: acme });
    expect(invalid(() => translateLagoWebhook(wire(long))).field).toBe('subscription.external_id');
    expect(invalid(() => translateLagoWebhook(wire(empty))).field).toBe('subscription.external_id');
  });
});

describe('invoice events', () => {
  it('payment_overdue: the customer is suspended at the invoice updated_at', () => {
    const decision = translateLagoWebhook(
      wire(invoicePaymentOverdue({ invoiceId: 'inv-1', customer: acme, updatedAt: '2026-12-15T00:00:05Z' })),
    );
    expect(decision).toEqual({
      desired: 'suspended',
      at: new Date('2026-12-15T00:00:05Z'),
      invoice: { invoiceId: 'inv-1', customerId: 'cust-42', customerEmail: 'billing@acme.example' },
    });
  });

  it('payment_status_updated: succeeded settles the invoice; pending and failed change nothing', () => {
    const at = '2026-12-16T09:00:00Z';
    const paid = invoicePaymentStatusUpdated({ invoiceId: 'inv-1', customer: acme, updatedAt: at });
    expect(translateLagoWebhook(wire(paid))).toEqual({
      desired: 'settled',
      at: new Date(at),
      invoice: { invoiceId: 'inv-1', customerId: 'cust-42', customerEmail: 'billing@acme.example' },
    });
    for (const paymentStatus of ['pending', 'failed'] as const) {
      const other = invoicePaymentStatusUpdated({
        invoiceId: 'inv-1',
        customer: acme,
        updatedAt: at,
        paymentStatus,
      });
      expect(translateLagoWebhook(wire(other)).desired).toBe('ignore');
    }
  });

  it('an invoice without its customer or updated_at is named by field', () => {
    const body = wire(
      invoicePaymentOverdue({ invoiceId: 'inv-1', customer: acme, updatedAt: '2026-12-15T00:00:05Z' }),
    );
    const withoutCustomer = JSON.parse(JSON.stringify(body));
    delete withoutCustomer.invoice.customer;
    const withoutTime = JSON.parse(JSON.stringify(body));
    withoutTime.invoice.updated_at = null;
    expect(invalid(() => translateLagoWebhook(withoutCustomer)).message).toBe(
      'invoice.customer: is required',
    );
    expect(invalid(() => translateLagoWebhook(withoutTime)).field).toBe('invoice.updated_at');
  });
});

describe('everything else', () => {
  it('other event types are ignored without reading the rest of the body', () => {
    for (const type of ['subscription.updated', 'invoice.created', 'customer.created', 'event.error', 'x']) {
      expect(translateLagoWebhook({ webhook_type: type, organization_id: ORGANIZATION_ID }).desired).toBe(
        'ignore',
      );
    }
  });

  it('a body that is not an object, or has no webhook_type, is refused', () => {
    expect(invalid(() => translateLagoWebhook([])).field).toBe('body');
    expect(invalid(() => translateLagoWebhook('x')).field).toBe('body');
    expect(invalid(() => translateLagoWebhook({})).message).toBe('webhook_type: is required');
  });
});

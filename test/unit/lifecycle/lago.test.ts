// Lago's decisions carried out (shared/lifecycle/lago.ts) against the emulator and the real SQLite
// stores: a customer's overdue invoice reaches the subscriptions Lago lists as well as those seen
// starting, a directory that cannot be read for its key leaves the remembered ones acted on, and
// a Lago that cannot be reached fails the event so that Lago sends it again.
import { randomUUID } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { AppError, ConfigurationError, hasCode } from '../../../shared/errors.ts';
import type { LagoDecision } from '../../../shared/lago/events.ts';
import type { LagoDependencies, LagoListedSubscription } from '../../../shared/lifecycle/lago.ts';
import { applyLagoDecision } from '../../../shared/lifecycle/lago.ts';
import { sqliteLagoCustomers } from '../../../shared/store/lago-customers.ts';
import { SqliteStore } from '../../../shared/store/sqlite.ts';
import { useGatewayPeer } from './gateway-peer.ts';

const peer = useGatewayPeer();
let store: SqliteStore;
const logged: { level: string; message: string }[] = [];

beforeEach(() => {
  store = new SqliteStore(':memory:');
  logged.length = 0;
});

function deps(listing?: () => Promise<readonly LagoListedSubscription[]>): LagoDependencies {
  return {
    gateway: peer.client,
    subscriptions: store.subscriptions,
    stateChanges: store.stateChanges,
    billingIds: store.billingIds,
    locks: store.locks,
    credentials: undefined,
    events: {
      info: (message) => logged.push({ level: 'info', message }),
      warn: (message) => logged.push({ level: 'warn', message }),
      error: (message) => logged.push({ level: 'error', message }),
    },
    customers: sqliteLagoCustomers(store.db),
    directory: listing === undefined ? undefined : { activeSubscriptions: listing },
    plans: new Set(['s3_storage']),
    purgeOnTerminate: false,
  };
}

const at = (minute: number) => new Date(Date.UTC(2026, 11, 1, 0, minute));

function overdue(customerId: string, minute: number): LagoDecision {
  return {
    desired: 'suspended',
    at: at(minute),
    invoice: { invoiceId: randomUUID(), customerId, customerEmail: undefined },
  };
}

async function started(customerId: string, email: string): Promise<void> {
  peer.emulator.state.createUser(email);
  const outcome = await applyLagoDecision(
    {
      desired: 'enabled',
      at: at(0),
      subscription: { billingId: email, customerId, email, planCode: 's3_storage' },
    },
    deps(),
  );
  expect(outcome).toMatchObject({ action: 'enabled', created: false });
}

const stateOf = (email: string) => peer.emulator.state.usersWithEmail(email)[0]?.state;

describe('an overdue invoice', () => {
  it('suspends the subscriptions seen starting and those Lago lists, of the plans in LAGO_PLANS', async () => {
    // Prepare
    const customer = `c-${randomUUID()}`;
    const seen = `seen.${randomUUID().slice(0, 8)}@lago.test`;
    const listed = `listed.${randomUUID().slice(0, 8)}@lago.test`;
    const compute = `compute.${randomUUID().slice(0, 8)}@lago.test`;
    await started(customer, seen);
    peer.emulator.state.createUser(listed);
    peer.emulator.state.createUser(compute);
    // Act
    const outcome = await applyLagoDecision(
      overdue(customer, 10),
      deps(async () => [
        { billingId: seen, planCode: 's3_storage' },
        { billingId: listed, planCode: 's3_storage' },
        { billingId: compute, planCode: 'compute' },
      ]),
    );
    // Assess
    expect(outcome).toMatchObject({ action: 'customer', desired: 'suspended' });
    expect([stateOf(seen), stateOf(listed), stateOf(compute)]).toEqual(['disabled', 'disabled', 'enabled']);
    expect(await sqliteLagoCustomers(store.db).subscriptionsOf(customer)).toEqual([listed, seen].sort());
  });

  it('a key Lago refuses is logged, and the subscriptions seen starting are suspended all the same', async () => {
    const customer = `c-${randomUUID()}`;
    const seen = `seen.${randomUUID().slice(0, 8)}@lago.test`;
    await started(customer, seen);
    const outcome = await applyLagoDecision(
      overdue(customer, 10),
      deps(async () => {
        throw new ConfigurationError('LAGO_API_KEY', 'Lago refused the key (401) listing subscriptions');
      }),
    );
    expect(outcome).toMatchObject({
      action: 'customer',
      subscriptions: [{ billingId: seen, action: 'suspended' }],
    });
    expect(stateOf(seen)).toBe('disabled');
    expect(logged.filter((line) => line.level === 'error').map((line) => line.message)).toEqual([
      "Lago's subscriptions of the customer could not be listed; only those seen starting are acted on",
    ]);
  });

  it('a Lago that cannot be reached fails the event before anything is suspended', async () => {
    const customer = `c-${randomUUID()}`;
    const seen = `seen.${randomUUID().slice(0, 8)}@lago.test`;
    await started(customer, seen);
    const failure = await applyLagoDecision(
      overdue(customer, 10),
      deps(async () => {
        throw new AppError('gateway_unavailable', 'Lago could not be read (subscriptions): no answer');
      }),
    ).catch((error: unknown) => error);
    expect(hasCode(failure, 'gateway_unavailable')).toBe(true);
    expect(stateOf(seen)).toBe('enabled');
  });
});

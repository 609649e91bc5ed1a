// A billing system's subscription, applied to its S3 user: the native adapters (Stripe, then Lago)
// translate their own events into "this subscription wants its user enabled, suspended or
// terminated, as decided at this time", and this module makes the gateway converge on it with the
// lifecycle operations — provision, resume, suspend, terminate — in the order the billing system
// decided, whatever order the events arrive in.

import { ConflictError } from '../errors.ts';
import type { OstorClient } from '../ostor/index.ts';
import { emailProblem } from '../ostor/validate.ts';
import { withCustomerLock } from './customer-lock.ts';
import type {
  BillingIdStore,
  CredentialsDelivery,
  LifecycleEvents,
  LockStore,
  StateChangeStore,
  SubscriptionState,
  SubscriptionStore,
} from './ports.ts';
import { provision } from './provision.ts';
import { terminate } from './terminate.ts';
import { resume, suspend } from './user-state.ts';

export interface SubscriptionDecision {
  /** `<system>:<subscription id>`: what the adapter remembers the subscription by. */
  readonly key: string;
  /** The billing system's id its usage is addressed to (§3 `billingId`). */
  readonly billingId: string;
  readonly desired: SubscriptionState;
  /** When the billing system decided it (orders the decisions of one subscription and one user). */
  readonly at: Date;
  /** Terminate with purge (delete the user's objects first). */
  readonly purge: boolean;
  /** The e-mail the event itself names (e.g. Stripe `metadata.s3_email`), if any. */
  readonly email: string | undefined;
  /** Asks the billing system for the customer's e-mail; called only when none is fixed yet. */
  readonly lookupEmail: () => Promise<string | undefined>;
}

type Gateway = Parameters<typeof provision>[0] &
  Parameters<typeof terminate>[0] &
  Parameters<typeof suspend>[0] &
  Pick<OstorClient, 'findUser'>;

export interface SubscriptionDependencies {
  readonly gateway: Gateway;
  readonly subscriptions: SubscriptionStore;
  readonly stateChanges: StateChangeStore;
  readonly billingIds: BillingIdStore;
  readonly locks?: LockStore;
  /** Where a created user's key pair goes; undefined: no user is created (docs/contract.md §8). */
  readonly credentials: CredentialsDelivery | undefined;
  readonly events: LifecycleEvents;
}

export type SubscriptionOutcome =
  | {
      readonly action: 'enabled';
      readonly userId: string;
      readonly email: string;
      readonly created: boolean;
      /** The user's state afterwards: `disabled` when a newer suspension of the user is recorded. */
      readonly state: 'enabled' | 'disabled';
      readonly credentialsDelivered: number;
    }
  | { readonly action: 'suspended'; readonly userId: string | null; readonly email: string }
  | {
      readonly action: 'terminated';
      readonly userId: string | null;
      readonly email: string;
      readonly state: 'deleted' | 'absent';
      readonly deletedBuckets: readonly string[];
    }
  | {
      /** The user's buckets hold data and purge is off: the user is left suspended. */
      readonly action: 'termination_refused';
      readonly userId: string;
      readonly email: string;
      readonly buckets: readonly string[];
    }
  | { readonly action: 'skipped' | 'ignored'; readonly reason: string; readonly email?: string };

/** One subscription at a time: two events of one subscription never interleave. */
export function applySubscription(
  decision: SubscriptionDecision,
  deps: SubscriptionDependencies,
): Promise<SubscriptionOutcome> {
  return withCustomerLock(deps.locks, `subscription:${decision.key}`, () => applyUnlocked(decision, deps));
}

async function applyUnlocked(
  decision: SubscriptionDecision,
  deps: SubscriptionDependencies,
): Promise<SubscriptionOutcome> {
  const { subscriptions, events } = deps;
  const { key, at } = decision;
  const record = await subscriptions.get(key);
  if (record?.decidedAt !== undefined && at < record.decidedAt) {
    events.warn('older subscription event skipped', {
      subscription: key,
      wanted: decision.desired,
      eventTime: at.toISOString(),
      appliedTime: record.decidedAt.toISOString(),
    });
    return { action: 'skipped', reason: 'a later event of this subscription was applied already' };
  }

  // Fixed once seen: a customer who later edits their billing e-mail keeps the same S3 user.
  const candidate = record?.email ?? decision.email ?? (await decision.lookupEmail());
  if (candidate === undefined) {
    events.warn('subscription has no e-mail for its S3 user; nothing done', { subscription: key });
    return { action: 'ignored', reason: 'no e-mail: neither metadata.s3_email nor the customer has one' };
  }
  const problem = emailProblem(candidate);
  if (problem !== undefined) {
    events.error('subscription e-mail is not usable for an S3 user; nothing done', {
      subscription: key,
      problem,
    });
    return { action: 'ignored', reason: `the subscription's e-mail ${problem}` };
  }
  const email = await subscriptions.pinEmail(key, candidate);

  if (!(await subscriptions.claim(key, at, decision.desired))) {
    return { action: 'skipped', reason: 'a later event of this subscription was applied already', email };
  }
  switch (decision.desired) {
    case 'enabled':
      return enable(decision, email, record?.credentialsOwed === true, deps);
    case 'suspended':
      return disable(decision, email, deps);
    case 'terminated':
      return end(decision, email, deps);
  }
}

async function enable(
  decision: SubscriptionDecision,
  email: string,
  owedBefore: boolean,
  deps: SubscriptionDependencies,
): Promise<SubscriptionOutcome> {
  const { gateway, subscriptions, credentials, events } = deps;
  const existing = await gateway.findUser({ email });
  if (existing === undefined) {
    if (credentials === undefined) {
      events.warn(
        'no S3 user created: CREDENTIALS_WEBHOOK_URL is not set, so its key pair could reach nobody',
        {
          subscription: decision.key,
        },
      );
      return {
        action: 'ignored',
        reason: 'no user for the e-mail, and without CREDENTIALS_WEBHOOK_URL no user is created',
        email,
      };
    }
    // Owed before the user exists: a crash between creating it and delivering its key pair is
    // followed by a delivery on the next event (Stripe's retry), not by a user nobody can reach.
    await subscriptions.setCredentialsOwed(decision.key, true);
  }
  const provisioned = await provision(
    gateway,
    { email, billingId: decision.billingId },
    { events, billingIds: deps.billingIds, ...(deps.locks === undefined ? {} : { locks: deps.locks }) },
  );
  let delivered = 0;
  if (existing === undefined || owedBefore) {
    if (credentials === undefined) {
      events.warn('key pair of a created user still owed: CREDENTIALS_WEBHOOK_URL is not set', {
        subscription: decision.key,
        userId: provisioned.userId,
      });
    } else {
      for (const pair of provisioned.accessKeys) {
        await credentials.deliver({
          email,
          userId: provisioned.userId,
          billingId: decision.billingId,
          accessKeyId: pair.accessKeyId,
          secretAccessKey: pair.secretAccessKey,
          issuedAt: decision.at,
        });
        delivered += 1;
      }
      await subscriptions.setCredentialsOwed(decision.key, false);
      events.info('key pair delivered', { userId: provisioned.userId, keys: delivered });
    }
  }
  const state = await resume(gateway, deps.stateChanges, { email, timestamp: decision.at }, events);
  return {
    action: 'enabled',
    userId: provisioned.userId,
    email,
    created: provisioned.created,
    state: state.state,
    credentialsDelivered: delivered,
  };
}

async function disable(
  decision: SubscriptionDecision,
  email: string,
  deps: SubscriptionDependencies,
): Promise<SubscriptionOutcome> {
  const user = await deps.gateway.findUser({ email });
  if (user === undefined) {
    // Recorded all the same (claim above): an older "active" arriving later is skipped.
    deps.events.info('suspension recorded; the subscription has no S3 user', { subscription: decision.key });
    return { action: 'suspended', userId: null, email };
  }
  await deps.billingIds.set(user.userId, decision.billingId);
  await suspend(deps.gateway, deps.stateChanges, { email, timestamp: decision.at }, deps.events);
  return { action: 'suspended', userId: user.userId, email };
}

async function end(
  decision: SubscriptionDecision,
  email: string,
  deps: SubscriptionDependencies,
): Promise<SubscriptionOutcome> {
  const { gateway, events } = deps;
  const user = await gateway.findUser({ email });
  if (user === undefined)
    return { action: 'terminated', userId: null, email, state: 'absent', deletedBuckets: [] };
  // Its last statistics objects are swept after it is gone, and billed to this customer.
  await deps.billingIds.set(user.userId, decision.billingId);
  // Suspended first: if the termination is refused, the user is left without access.
  await suspend(gateway, deps.stateChanges, { email, timestamp: decision.at }, events);
  try {
    const result = await terminate(gateway, { email, purge: decision.purge }, { events });
    return { action: 'terminated', ...result };
  } catch (error) {
    if (!(error instanceof ConflictError) || error.reason !== 'buckets_not_empty') throw error;
    const buckets = Array.isArray(error.details.buckets) ? error.details.buckets.map(String) : [];
    events.error('termination refused: the buckets hold data and purge is off; the user is left suspended', {
      subscription: decision.key,
      userId: user.userId,
      buckets,
    });
    return { action: 'termination_refused', userId: user.userId, email, buckets };
  }
}

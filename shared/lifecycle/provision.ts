// provision: make sure one user exists for the email and carries the plan. Check-then-create, so
// a repeat (or a user made by hand) is adopted instead of duplicated.
import { ConfigurationError, outcomeUnknown } from '../errors.ts';
import type { AccessKey, OstorClient, UserRef } from '../ostor/index.ts';
import { MalformedResponseError, userIdProblem } from '../ostor/index.ts';
import { withCustomerLock } from './customer-lock.ts';
import type { BillingIdStore, LifecycleEvents, LockStore } from './ports.ts';
import { silentEvents } from './ports.ts';
import type { Plan, ProvisionRequest } from './requests.ts';

export interface ProvisionResult {
  readonly userId: string;
  readonly email: string;
  readonly created: boolean;
  readonly accessKeys: readonly AccessKey[];
}

type Gateway = Pick<
  OstorClient,
  | 'findUser'
  | 'findUsersByEmail'
  | 'getUser'
  | 'deleteUser'
  | 'createUser'
  | 'generateKey'
  | 'setQuota'
  | 'deleteQuota'
  | 'setLimit'
  | 'deleteLimits'
>;

export interface ProvisionOptions {
  readonly events?: LifecycleEvents;
  /** Serialises deliveries for one email (see customer-lock.ts); absent in single-caller tests. */
  readonly locks?: LockStore;
  /** Where `billingId` is remembered; required when the request carries one. */
  readonly billingIds?: BillingIdStore;
}

export function provision(
  gateway: Gateway,
  request: ProvisionRequest,
  options: ProvisionOptions = {},
): Promise<ProvisionResult> {
  const { billingIds } = options;
  if (request.billingId !== undefined && billingIds === undefined) {
    // Refused before any gateway call: a billing id accepted but not kept would bill nobody.
    throw new ConfigurationError('billingIds', 'no store for billing ids is configured');
  }
  return withCustomerLock(options.locks, request.email, () =>
    provisionUnlocked(gateway, request, options.events ?? silentEvents, billingIds),
  );
}

async function provisionUnlocked(
  gateway: Gateway,
  request: ProvisionRequest,
  events: LifecycleEvents,
  billingIds: BillingIdStore | undefined,
): Promise<ProvisionResult> {
  const existing = await gateway.findUser({ email: request.email });
  let userId: string;
  let accessKeys: readonly AccessKey[];
  let created = false;
  if (existing === undefined) {
    // Never retried by the client: a lost answer surfaces as an error, and the billing system's
    // retry then finds and adopts the user instead of creating a second one.
    const fresh = await createOrRecover(gateway, request.email, events);
    refuseUnaddressable(fresh.userId, 'users.create', 'the user was created, without its plan');
    const winner = await settleDuplicates(gateway, request.email, fresh.userId, events);
    if (winner === undefined) {
      userId = fresh.userId;
      accessKeys = fresh.accessKeys;
      created = true;
      events.info('user created', { userId });
    } else {
      userId = winner.userId;
      accessKeys = winner.accessKeys;
    }
  } else {
    refuseUnaddressable(existing.userId, 'users.get', 'nothing was changed');
    userId = existing.userId;
    accessKeys = existing.accessKeys;
    events.info('user adopted', { userId });
  }
  if (accessKeys.length === 0) {
    // An adopted user whose keys were all revoked still needs a way in.
    accessKeys = [await gateway.generateKey({ userId })];
  }
  if (request.billingId !== undefined) await billingIds?.set(userId, request.billingId);
  if (request.plan !== undefined) await applyPlan(gateway, { userId }, request.plan);
  return { userId, email: request.email, created, accessKeys };
}

/**
 * Every later call names the user by its id: one the client would refuse to send is refused here,
 * saying what was already done, rather than as a 400 from the next call (which blamed the caller).
 */
function refuseUnaddressable(userId: string, operation: string, done: string): void {
  const problem = userIdProblem(userId);
  if (problem === undefined) return;
  throw new MalformedResponseError(`the user's id ${problem}; ${done}`, { operation });
}

/**
 * The customer lock keeps our own deliveries from racing, but a user created for the same email
 * at the same moment by someone else (a console, another integration) can still make two. The one
 * to keep is the one every other function reaches by this email — whatever the gateway answers
 * for it — so suspend, rotate-key and terminate act on the user whose keys we hand out. If that is
 * not ours, ours (which owns nothing yet) is deleted. Returns the survivor when it is not ours.
 */
async function settleDuplicates(
  gateway: Gateway,
  email: string,
  ours: string,
  events: LifecycleEvents,
): Promise<{ userId: string; accessKeys: readonly AccessKey[] } | undefined> {
  const same = await gateway.findUsersByEmail(email);
  if (same.length <= 1) return undefined;
  const canonical = await gateway.getUser({ email });
  if (canonical.userId === ours) return undefined;
  events.warn('another user with this email appeared while creating; keeping it', {
    survivor: canonical.userId,
    duplicate: ours,
  });
  await gateway.deleteUser({ userId: ours });
  return { userId: canonical.userId, accessKeys: canonical.accessKeys };
}

/**
 * Create is never repeated blindly, but its answer can be lost after the gateway made the user.
 * Holding the customer lock, having looked first, a user with the email found now is the one this
 * call made: adopt it instead of answering an error.
 */
async function createOrRecover(
  gateway: Gateway,
  email: string,
  events: LifecycleEvents,
): Promise<{ userId: string; accessKeys: readonly AccessKey[] }> {
  try {
    return await gateway.createUser(email);
  } catch (error) {
    if (!outcomeUnknown(error)) throw error;
    const made = await gateway.findUser({ email });
    if (made === undefined) throw error;
    events.warn('created user recovered after a lost answer', { userId: made.userId });
    return { userId: made.userId, accessKeys: made.accessKeys };
  }
}
/** Absent leaves a setting as it is; `null` removes it (a single limit `null` is 0 = unlimited). */
export async function applyPlan(gateway: Gateway, user: UserRef, plan: Plan): Promise<void> {
  if (plan.quotaGb === null) await gateway.deleteQuota(user);
  else if (plan.quotaGb !== undefined) await gateway.setQuota(user, plan.quotaGb);

  if (plan.limits === null) {
    await gateway.deleteLimits(user);
    return;
  }
  if (plan.limits === undefined) return;
  const { ops, bandwidth } = plan.limits;
  if (ops === null) {
    for (const resource of OPS_RESOURCES) await gateway.setLimit(user, { type: 'ops', resource, value: 0 });
  } else if (ops !== undefined) {
    for (const resource of OPS_RESOURCES) {
      const value = ops[resource];
      if (value !== undefined) await gateway.setLimit(user, { type: 'ops', resource, value: value ?? 0 });
    }
  }
  if (bandwidth === null) {
    await gateway.setLimit(user, { type: 'bandwidth', resource: 'out', value: 0 });
  } else if (bandwidth?.out !== undefined) {
    await gateway.setLimit(user, { type: 'bandwidth', resource: 'out', value: bandwidth.out ?? 0 });
  }
}

const OPS_RESOURCES = ['default', 'get', 'put', 'list', 'delete'] as const;

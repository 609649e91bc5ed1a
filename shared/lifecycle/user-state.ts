// suspend / resume: disable or enable a customer's user, idempotently, and in the order the billing
// system decided them rather than the order they arrive in. The gateway may hold several users with
// one email (made by hand, or by an integration that never looked first, such as the vendor's
// sample scripts): every one of them is changed alike, so a suspended customer keeps no way in.
import type { OstorClient } from '../ostor/index.ts';
import type { LifecycleEvents, StateChangeStore, UserState } from './ports.ts';
import { silentEvents } from './ports.ts';
import type { UserStateRequest } from './requests.ts';

export interface UserStateResult {
  /** The user the gateway answers for the email: the one provision hands out and the order is kept for. */
  readonly userId: string;
  readonly email: string;
  readonly state: UserState;
  readonly skipped?: true;
  /** Other users holding the same email, changed alike (present only when there are any). */
  readonly otherUserIds?: readonly string[];
}

type Gateway = Pick<OstorClient, 'getUser' | 'findUsersByEmail' | 'disableUser' | 'enableUser'>;

export function suspend(
  gateway: Gateway,
  store: StateChangeStore,
  request: UserStateRequest,
  events: LifecycleEvents = silentEvents,
): Promise<UserStateResult> {
  return changeState(gateway, store, request, 'disabled', events);
}

export function resume(
  gateway: Gateway,
  store: StateChangeStore,
  request: UserStateRequest,
  events: LifecycleEvents = silentEvents,
): Promise<UserStateResult> {
  return changeState(gateway, store, request, 'enabled', events);
}

async function changeState(
  gateway: Gateway,
  store: StateChangeStore,
  request: UserStateRequest,
  wanted: UserState,
  events: LifecycleEvents,
): Promise<UserStateResult> {
  // Both lookups before anything is recorded or changed: a failure here leaves no trace.
  const [user, sameEmail] = await Promise.all([
    gateway.getUser({ email: request.email }),
    gateway.findUsersByEmail(request.email),
  ]);
  const others = sameEmail.map((other) => other.userId).filter((userId) => userId !== user.userId);
  const userIds = [user.userId, ...others];
  // The order is kept for the user the email reaches; it decides for all of them.
  const claimed = await store.claim({ userId: user.userId, at: request.timestamp, state: wanted });
  if (!claimed) {
    const latest = await store.latest(user.userId);
    events.warn('older state change skipped', {
      userId: user.userId,
      wanted,
      eventTime: request.timestamp.toISOString(),
      appliedTime: latest?.at.toISOString(),
    });
    return { userId: user.userId, email: request.email, state: user.state, skipped: true };
  }
  await apply(gateway, userIds, wanted);
  // A newer event may have been claimed while this one was applied; whatever it wanted must be
  // the state we leave behind, so the gateway converges on the latest decision.
  const latest = await store.latest(user.userId);
  let state = wanted;
  if (latest !== undefined && latest.state !== wanted) {
    await apply(gateway, userIds, latest.state);
    state = latest.state;
  }
  if (others.length === 0) return { userId: user.userId, email: request.email, state };
  events.warn('several users hold this email; all changed alike', {
    userId: user.userId,
    otherUserIds: others,
    state,
  });
  return { userId: user.userId, email: request.email, state, otherUserIds: others };
}

/** One user after the other (the calls are idempotent: a retried delivery repeats them safely). */
async function apply(gateway: Gateway, userIds: readonly string[], state: UserState): Promise<void> {
  for (const userId of userIds) {
    await (state === 'disabled' ? gateway.disableUser({ userId }) : gateway.enableUser({ userId }));
  }
}

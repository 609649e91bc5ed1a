// suspend / resume: disable or enable a user, idempotently, and in the order the billing system
// decided them rather than the order they arrive in.
import type { OstorClient } from '../ostor/index.ts';
import type { LifecycleEvents, StateChangeStore, UserState } from './ports.ts';
import { silentEvents } from './ports.ts';
import type { UserStateRequest } from './requests.ts';

export interface UserStateResult {
  readonly userId: string;
  readonly email: string;
  readonly state: UserState;
  readonly skipped?: true;
}

type Gateway = Pick<OstorClient, 'getUser' | 'disableUser' | 'enableUser'>;

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
  const user = await gateway.getUser({ email: request.email });
  const ref = { userId: user.userId };
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
  await apply(gateway, ref, wanted);
  // A newer event may have been claimed while this one was applied; whatever it wanted must be
  // the state we leave behind, so the gateway converges on the latest decision.
  const latest = await store.latest(user.userId);
  if (latest !== undefined && latest.state !== wanted) {
    await apply(gateway, ref, latest.state);
    return { userId: user.userId, email: request.email, state: latest.state };
  }
  return { userId: user.userId, email: request.email, state: wanted };
}

function apply(gateway: Gateway, ref: { userId: string }, state: UserState): Promise<void> {
  return state === 'disabled' ? gateway.disableUser(ref) : gateway.enableUser(ref);
}

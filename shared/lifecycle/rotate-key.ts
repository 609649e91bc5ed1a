// rotate-key: issue a fresh key pair within the gateway's two-key limit. With two keys the older
// is revoked first; after generating, every other key goes unless keepPrevious keeps the newest
// previous one. A crash between generate and revoke leaves two keys, which the next rotation
// handles like any other two-key user. Every id the run may send back is checked before its first
// change.
import { outcomeUnknown } from '../errors.ts';
import type { OstorClient, User } from '../ostor/index.ts';
import { accessKeyIdProblem, MalformedResponseError, userIdProblem } from '../ostor/index.ts';
import { withCustomerLock } from './customer-lock.ts';
import type { LifecycleEvents, LockStore } from './ports.ts';
import { silentEvents } from './ports.ts';
import type { RotateKeyRequest } from './requests.ts';

export interface RotateKeyResult {
  readonly userId: string;
  readonly email: string;
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly revokedAccessKeyIds: readonly string[];
}

type Gateway = Pick<OstorClient, 'getUser' | 'generateKey' | 'revokeKey'>;

/** The gateway lists a user's keys oldest first; at most two may exist at once. */
export const MAX_KEYS = 2;

export interface RotateKeyOptions {
  readonly events?: LifecycleEvents;
  /** Serialises deliveries for one email (see customer-lock.ts). */
  readonly locks?: LockStore;
}

export function rotateKey(
  gateway: Gateway,
  request: RotateKeyRequest,
  options: RotateKeyOptions = {},
): Promise<RotateKeyResult> {
  return withCustomerLock(options.locks, request.email, () =>
    rotateUnlocked(gateway, request, options.events ?? silentEvents),
  );
}

async function rotateUnlocked(
  gateway: Gateway,
  request: RotateKeyRequest,
  events: LifecycleEvents,
): Promise<RotateKeyResult> {
  const user = await gateway.getUser({ email: request.email });
  refuseUnaddressable(user, request.keepPrevious === true);
  const ref = { userId: user.userId };
  const revoked: string[] = [];
  let remaining = user.accessKeys.map((key) => key.accessKeyId);

  // Make room: keep only the newest key before generating.
  while (remaining.length >= MAX_KEYS) {
    const oldest = remaining[0] as string;
    await gateway.revokeKey(ref, oldest);
    revoked.push(oldest);
    remaining = remaining.slice(1);
  }
  const fresh = await generateOrRecover(gateway, ref, remaining, events);
  events.info('access key generated', { userId: user.userId, accessKeyId: fresh.accessKeyId });

  if (request.keepPrevious !== true) {
    for (const id of remaining) {
      await gateway.revokeKey(ref, id);
      revoked.push(id);
    }
  }
  return {
    userId: user.userId,
    email: request.email,
    accessKeyId: fresh.accessKeyId,
    secretAccessKey: fresh.secretAccessKey,
    revokedAccessKeyIds: revoked,
  };
}

/**
 * A key id (or user id) the client would refuse to send used to be found only when revoking it,
 * after the new key had been generated: a 400 whose new secret nobody received, the old key still
 * in place. Now the run refuses before its first change.
 */
function refuseUnaddressable(user: User, keepPrevious: boolean): void {
  const idProblem = userIdProblem(user.userId);
  // The keys this run revokes: all of them, or with keepPrevious all but the newest.
  const revoked = keepPrevious ? user.accessKeys.slice(0, -1) : user.accessKeys;
  const keyIndex = revoked.findIndex((key) => accessKeyIdProblem(key.accessKeyId) !== undefined);
  const keyProblem = keyIndex < 0 ? undefined : accessKeyIdProblem(revoked[keyIndex]?.accessKeyId);
  if (idProblem === undefined && keyProblem === undefined) return;
  const what =
    idProblem !== undefined
      ? `the user's id ${idProblem}`
      : `access key ${keyIndex + 1} of user ${user.userId}: its id ${keyProblem}`;
  throw new MalformedResponseError(`${what}; nothing was changed`, { operation: 'users.get' });
}

/**
 * genKey is never repeated blindly, but its answer can be lost after the gateway made the key.
 * Then the key is there to be found: the only one that was not there before (the gateway answers
 * secrets on every read). Adopting it keeps the run whole — otherwise the next rotation would see
 * an orphan key the customer never received and, with keepPrevious, might keep it instead of the
 * customer's own.
 */
async function generateOrRecover(
  gateway: Gateway,
  ref: { userId: string },
  before: readonly string[],
  events: LifecycleEvents,
): Promise<{ accessKeyId: string; secretAccessKey: string }> {
  try {
    return await gateway.generateKey(ref);
  } catch (error) {
    if (!outcomeUnknown(error)) throw error;
    const after = await gateway.getUser(ref);
    const made = after.accessKeys.filter((key) => !before.includes(key.accessKeyId));
    if (made.length !== 1 || made[0] === undefined) throw error;
    events.warn('generated key recovered after a lost answer', {
      userId: ref.userId,
      accessKeyId: made[0].accessKeyId,
    });
    return made[0];
  }
}

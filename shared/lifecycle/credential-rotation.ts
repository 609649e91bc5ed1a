// Secrets Manager's four-step rotation of the gateway system user's own key pair (the secret behind
// OSTOR_CREDENTIALS_SECRET_ID), served by the rotate-key function:
//
//   createSecret  make room within the gateway's two-key limit (revoking the one key that is not
//                 AWSCURRENT — never the current one), generate a key pair for the system user and
//                 store it as AWSPENDING under the ClientRequestToken. A rerun finds the stored
//                 version and does nothing; a crash between generating and storing leaves one
//                 orphan key, which the rerun revokes before generating again: never a third key.
//   setSecret     nothing: the gateway already knows the key it generated.
//   testSecret    a read-only call (getUser of the system user) signed WITH the pending key.
//   finishSecret  move AWSCURRENT to the new version (the old one becomes AWSPREVIOUS).
//
// Callers cache the secret for SECRET_MAX_AGE_SECONDS (Powertools `getSecret` maxAge), so the key
// that was AWSCURRENT must keep working for at least that long after finishSecret. It does: nothing
// is revoked at finishSecret. The AWSPREVIOUS key is revoked by the NEXT rotation's createSecret —
// days later on the schedule — and that createSecret refuses (the rotation fails and is retried)
// while the previous key stopped being current less than PREVIOUS_KEY_GRACE_SECONDS ago. At every
// moment exactly one AWSCURRENT works, and the system user holds at most two keys.
import { ConfigurationError, ConflictError } from '../errors.ts';
import type { OstorClient } from '../ostor/index.ts';
import { accessKeyIdProblem, userIdProblem } from '../ostor/validate.ts';
import type { Credentials } from '../signing/index.ts';
import type { LifecycleEvents } from './ports.ts';
import { silentEvents } from './ports.ts';
import { MAX_KEYS } from './rotate-key.ts';

export type RotationStep = 'createSecret' | 'setSecret' | 'testSecret' | 'finishSecret';

export interface RotationRequest {
  /** The secret's ARN, as Secrets Manager sends it. */
  readonly secretId: string;
  /** ClientRequestToken: the id of the version being rotated in. */
  readonly token: string;
  readonly step: RotationStep;
}

/** What the secret holds: the system user's key pair and the user it belongs to. */
export interface GatewayKeyPair {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly userId: string;
}

/** The gateway calls rotation makes, signed with whichever key pair the client was built with. */
export type RotationGateway = Pick<OstorClient, 'getUser' | 'generateKey' | 'revokeKey'> & {
  close?(): Promise<void>;
};

/** A stored version of the secret: its string value and when it was created. */
export interface StoredVersion {
  readonly value: string;
  readonly createdDate: Date | undefined;
}

/** The secret store as the rotation protocol sees it (Secrets Manager: shared/store/secrets-manager.ts). */
export interface SecretVersions {
  /** Whether rotation is on, each version's stages, and when a rotation last completed. */
  describe(secretId: string): Promise<{
    readonly rotationEnabled: boolean;
    readonly versions: Readonly<Record<string, readonly string[]>>;
    readonly lastRotated: Date | undefined;
  }>;
  /** A version's value by stage (and id), or undefined when there is none or it has no value yet. */
  read(
    secretId: string,
    selector: { readonly versionId?: string; readonly stage: string },
  ): Promise<StoredVersion | undefined>;
  /** Stores `value` as version `versionId` under `stage`; the same call again changes nothing. */
  putPending(secretId: string, versionId: string, value: string, stage: string): Promise<void>;
  /** Moves `stage` to `toVersionId`, taking it from `fromVersionId`. */
  moveStage(
    secretId: string,
    stage: string,
    toVersionId: string,
    fromVersionId: string | undefined,
  ): Promise<void>;
}

/**
 * How long a function trusts a fetched secret before asking the store again (every secret, the
 * gateway key pair included). Rotation depends on it: a key stays valid at least this long after
 * its version stopped being current, so it is defined here and the secrets providers read it.
 */
export const SECRET_MAX_AGE_SECONDS = 300;

export interface RotationDependencies {
  readonly secrets: SecretVersions;
  /**
   * A new gateway client signing with `credentials`: the current key to manage keys, the pending key
   * to test it. The step closes it when done.
   */
  readonly gatewayFor: (credentials: Credentials) => RotationGateway;
  /** The secret this function may rotate (OSTOR_CREDENTIALS_SECRET_ID): its ARN or its name. */
  readonly expectedSecretId: string;
  readonly events?: LifecycleEvents;
  readonly now?: () => Date;
  /** How long after a version stops being AWSCURRENT its key must keep working. */
  readonly previousKeyGraceSeconds?: number;
}

export const AWSCURRENT = 'AWSCURRENT';
export const AWSPENDING = 'AWSPENDING';
export const AWSPREVIOUS = 'AWSPREVIOUS';

/**
 * Callers' cache lifetime plus a margin for clock skew and for the seconds between createSecret
 * (when the new version is created) and finishSecret (when it becomes current).
 */
export const PREVIOUS_KEY_GRACE_SECONDS = SECRET_MAX_AGE_SECONDS + 60;

/** A rotation step that cannot go on; Secrets Manager marks the rotation failed and AWSCURRENT is untouched. */
export class CredentialRotationError extends ConflictError {
  constructor(
    reason: string,
    message: string,
    details: Readonly<Record<string, unknown>> = {},
    cause?: unknown,
  ) {
    super(reason, `credential rotation: ${message}`, details, cause === undefined ? {} : { cause });
  }
}

const SECRET_VARIABLE = 'OSTOR_CREDENTIALS_SECRET_ID';

/** Runs one step. Throws when the step failed; every step may be run again with the same request. */
export async function rotateGatewayCredentials(
  request: RotationRequest,
  deps: RotationDependencies,
): Promise<void> {
  if (!isSameSecret(request.secretId, deps.expectedSecretId)) {
    throw new CredentialRotationError('other_secret', `this function rotates ${deps.expectedSecretId} only`, {
      secretId: request.secretId,
    });
  }
  const events = deps.events ?? silentEvents;
  const described = await deps.secrets.describe(request.secretId);
  if (!described.rotationEnabled) {
    throw new CredentialRotationError('rotation_disabled', 'rotation is not enabled on the secret');
  }
  const versions = described.versions;
  const stages = versions[request.token];
  if (stages === undefined) {
    throw new CredentialRotationError('unknown_version', 'the secret has no version with this token', {
      version: request.token,
    });
  }
  if (stages.includes(AWSCURRENT)) {
    events.info('credential rotation: version is already current; nothing to do', {
      step: request.step,
      version: request.token,
    });
    return;
  }
  if (!stages.includes(AWSPENDING)) {
    throw new CredentialRotationError('not_pending', 'the version is not staged as AWSPENDING', {
      version: request.token,
      stages,
    });
  }

  const context: StepContext = {
    request,
    deps,
    events,
    versions,
    lastRotated: described.lastRotated,
  };
  switch (request.step) {
    case 'createSecret':
      return createSecret(context);
    case 'setSecret':
      // The gateway generated the key itself in createSecret: there is nothing to install.
      events.info('credential rotation: setSecret has nothing to do', { version: request.token });
      return;
    case 'testSecret':
      return testSecret(context);
    case 'finishSecret':
      return finishSecret(context);
  }
}

interface StepContext {
  readonly request: RotationRequest;
  readonly deps: RotationDependencies;
  readonly events: LifecycleEvents;
  readonly versions: Readonly<Record<string, readonly string[]>>;
  readonly lastRotated: Date | undefined;
}

async function createSecret({ request, deps, events, lastRotated }: StepContext): Promise<void> {
  // Idempotent on the token: a stored AWSPENDING value means an earlier run got this far.
  if (
    (await deps.secrets.read(request.secretId, { versionId: request.token, stage: AWSPENDING })) !== undefined
  ) {
    events.info('credential rotation: pending version already stored', { version: request.token });
    return;
  }
  const currentVersion = await deps.secrets.read(request.secretId, { stage: AWSCURRENT });
  if (currentVersion === undefined)
    throw new ConfigurationError(SECRET_VARIABLE, 'the secret has no AWSCURRENT value');
  const current = parseKeyPair(currentVersion.value, 'AWSCURRENT');
  const previousVersion = await deps.secrets.read(request.secretId, { stage: AWSPREVIOUS });
  const previous = previousVersion === undefined ? undefined : tryParseKeyPair(previousVersion.value);

  const gateway = deps.gatewayFor(current);
  try {
    const user = await gateway.getUser({ userId: current.userId });
    const keys = user.accessKeys.map((key) => key.accessKeyId);
    if (!keys.includes(current.accessKeyId)) {
      throw new CredentialRotationError(
        'key_not_owned',
        `the AWSCURRENT key is not a key of user ${current.userId}; set "userId" in the secret`,
        { userId: current.userId, accessKeyId: current.accessKeyId },
      );
    }
    // Room for one more: revoke keys other than the current one, oldest first (the gateway lists
    // keys oldest first). The only other key is AWSPREVIOUS's, or an orphan of a crashed run.
    const others = keys.filter((id) => id !== current.accessKeyId);
    const excess = keys.length - (MAX_KEYS - 1);
    for (const accessKeyId of others.slice(0, Math.max(0, excess))) {
      if (accessKeyId === previous?.accessKeyId) {
        checkPreviousKeyGrace(deps, lastRotated, currentVersion.createdDate, accessKeyId);
      }
      await gateway.revokeKey({ userId: current.userId }, accessKeyId);
      events.info('credential rotation: key revoked to make room', {
        userId: current.userId,
        accessKeyId,
        was: accessKeyId === previous?.accessKeyId ? AWSPREVIOUS : 'not in the secret',
      });
    }

    const fresh = await gateway.generateKey({ userId: current.userId });
    events.info('credential rotation: key generated', {
      userId: current.userId,
      accessKeyId: fresh.accessKeyId,
    });
    const pending: GatewayKeyPair = {
      accessKeyId: fresh.accessKeyId,
      secretAccessKey: fresh.secretAccessKey,
      userId: current.userId,
    };
    await deps.secrets.putPending(request.secretId, request.token, JSON.stringify(pending), AWSPENDING);
    events.info('credential rotation: pending version stored', {
      version: request.token,
      accessKeyId: fresh.accessKeyId,
    });
  } finally {
    await gateway.close?.();
  }
}

async function testSecret({ request, deps, events }: StepContext): Promise<void> {
  const stored = await deps.secrets.read(request.secretId, { versionId: request.token, stage: AWSPENDING });
  if (stored === undefined) {
    throw new CredentialRotationError(
      'pending_missing',
      'the AWSPENDING version has no value; run createSecret first',
      {
        version: request.token,
      },
    );
  }
  const pending = parseKeyPair(stored.value, 'AWSPENDING');
  const gateway = deps.gatewayFor(pending);
  try {
    const user = await gateway.getUser({ userId: pending.userId });
    if (!user.accessKeys.some((key) => key.accessKeyId === pending.accessKeyId)) {
      throw new CredentialRotationError('pending_key_missing', 'the gateway does not list the pending key', {
        userId: pending.userId,
        accessKeyId: pending.accessKeyId,
      });
    }
  } catch (error) {
    if (error instanceof CredentialRotationError) throw error;
    throw new CredentialRotationError(
      'pending_key_refused',
      'the gateway did not accept the pending key',
      { userId: pending.userId, accessKeyId: pending.accessKeyId },
      error,
    );
  } finally {
    await gateway.close?.();
  }
  events.info('credential rotation: pending key works', {
    version: request.token,
    accessKeyId: pending.accessKeyId,
  });
}

async function finishSecret({ request, deps, events, versions }: StepContext): Promise<void> {
  const currentVersion = Object.entries(versions).find(([, stages]) => stages.includes(AWSCURRENT))?.[0];
  await deps.secrets.moveStage(request.secretId, AWSCURRENT, request.token, currentVersion);
  // The previous key stays: callers may hold it in their cache. The next createSecret revokes it.
  events.info(
    'credential rotation: new version is current; the previous key stays valid until the next rotation',
    {
      version: request.token,
      previousVersion: currentVersion,
    },
  );
}

/** Refuses to revoke the AWSPREVIOUS key while callers may still hold it in their cache. */
function checkPreviousKeyGrace(
  deps: RotationDependencies,
  lastRotated: Date | undefined,
  currentCreated: Date | undefined,
  accessKeyId: string,
): void {
  // When did the previous version stop being current? No later than the later of the last
  // completed rotation and the current version's creation (a manual put-secret-value).
  const since = Math.max(lastRotated?.getTime() ?? 0, currentCreated?.getTime() ?? 0);
  const grace = deps.previousKeyGraceSeconds ?? PREVIOUS_KEY_GRACE_SECONDS;
  const now = (deps.now ?? (() => new Date()))().getTime();
  const waitMs = since + grace * 1000 - now;
  if (waitMs > 0) {
    throw new CredentialRotationError(
      'previous_key_in_use',
      `the previous key may still be cached by callers; rotate again in ${Math.ceil(waitMs / 1000)} s`,
      { accessKeyId, retryAfterSeconds: Math.ceil(waitMs / 1000) },
    );
  }
}

/**
 * Parses `{"accessKeyId","secretAccessKey","userId"?}`. Without `userId`, the user is read from the
 * access key id: the gateway issues key ids as the owner's 16-hex-digit user id plus a suffix.
 */
export function parseKeyPair(raw: string, label: string): GatewayKeyPair {
  const parsed = tryParseKeyPair(raw);
  if (parsed === undefined) {
    throw new ConfigurationError(
      SECRET_VARIABLE,
      `the ${label} value must be JSON {"accessKeyId","secretAccessKey","userId"} of the gateway system user`,
    );
  }
  return parsed;
}

function tryParseKeyPair(raw: string): GatewayKeyPair | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const { accessKeyId, secretAccessKey, userId } = value as Record<string, unknown>;
  if (accessKeyIdProblem(accessKeyId) !== undefined || typeof accessKeyId !== 'string') return undefined;
  if (typeof secretAccessKey !== 'string' || secretAccessKey === '') return undefined;
  const owner = userId === undefined || userId === '' ? accessKeyId.slice(0, 16) : userId;
  if (userIdProblem(owner) !== undefined || typeof owner !== 'string') return undefined;
  return { accessKeyId, secretAccessKey, userId: owner };
}

/** An ARN matches itself; a configured name matches the ARN of that name (which ends in `-` and 6 characters). */
export function isSameSecret(requested: string, expected: string): boolean {
  if (requested === expected) return true;
  if (expected.startsWith('arn:')) return false;
  const name = /^arn:[^:]+:secretsmanager:[^:]+:\d{12}:secret:(.+)-[A-Za-z0-9]{6}$/.exec(requested)?.[1];
  return name === expected;
}

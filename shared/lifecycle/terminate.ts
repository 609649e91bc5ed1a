// terminate: remove a user and everything it owns. Buckets are judged empty by listing them over
// plain S3 (the admin byte count misses zero-byte objects): no object, no object version or delete
// marker (a versioned bucket lists no objects but still refuses deletion) and no unfinished
// multipart upload. Every step tolerates having been done already, so a run that crashed half-way
// is finished by the next one. Every name the run will send back (the user id, its buckets' and
// accounts' names) is checked before its first change.
import { forEachConcurrently } from '../concurrency.ts';
import { ConflictError, hasCode } from '../errors.ts';
import type { DeleteObjectsResult, OstorClient, User } from '../ostor/index.ts';
import {
  accountNameProblem,
  bucketNameProblem,
  MAX_DELETE_KEYS,
  MalformedResponseError,
  objectKeyProblem,
  userIdProblem,
} from '../ostor/index.ts';
import type { LifecycleEvents } from './ports.ts';
import { silentEvents } from './ports.ts';
import type { TerminateRequest } from './requests.ts';

export interface TerminateResult {
  readonly email: string;
  readonly userId: string | null;
  readonly state: 'deleted' | 'absent';
  readonly deletedBuckets: readonly string[];
}

type Gateway = Pick<
  OstorClient,
  | 'findUser'
  | 'disableUser'
  | 'listUserBuckets'
  | 'isBucketEmpty'
  | 'listObjects'
  | 'listObjectVersions'
  | 'listMultipartUploads'
  | 'deleteObjects'
  | 'deleteObject'
  | 'abortMultipartUpload'
  | 'deleteBucket'
  | 'deleteAccount'
  | 'deleteUser'
>;

export interface TerminateOptions {
  /** Buckets emptied at once during a purge. */
  readonly concurrency?: number;
  readonly events?: LifecycleEvents;
}

export async function terminate(
  gateway: Gateway,
  request: TerminateRequest,
  options: TerminateOptions = {},
): Promise<TerminateResult> {
  const events = options.events ?? silentEvents;
  const user = await gateway.findUser({ email: request.email });
  if (user === undefined) {
    return { email: request.email, userId: null, state: 'absent', deletedBuckets: [] };
  }
  const ref = { userId: user.userId };
  refuseUnaddressableUser(user);
  const buckets = (await gateway.listUserBuckets(ref)).map((bucket) => bucket.name);
  refuseUnaddressableNames(user, buckets);

  if (request.purge !== true) {
    // Decide for every bucket before deleting any, so a refusal changes nothing.
    const verdicts = await Promise.all(
      buckets.map(async (name) => ({
        name,
        empty: await ignoreMissing(bucketHoldsNothing(gateway, name), true),
      })),
    );
    const nonEmpty = verdicts.filter((v) => !v.empty).map((v) => v.name);
    if (nonEmpty.length > 0) {
      throw new ConflictError(
        'buckets_not_empty',
        `data.purge: the user's buckets still hold objects, object versions or unfinished uploads: ${nonEmpty.join(', ')}; send purge: true to delete them`,
        { buckets: nonEmpty },
      );
    }
  } else {
    // Lock the customer out first: a still-active customer writing while we purge could keep a
    // bucket from ever emptying, and a purge that fails half-way must not leave an enabled user
    // with half its data.
    if (buckets.length > 0) await gateway.disableUser(ref);
    await forEachConcurrently(buckets, options.concurrency ?? 4, async (name) => {
      // Current objects first, by key, exactly as for a plain bucket; then whatever versioning left
      // (noncurrent versions and the delete markers the first pass may have added); then uploads.
      const removed = await emptyBucket(gateway, name);
      const versions = await removeVersions(gateway, name);
      const uploads = await abortUploads(gateway, name);
      if (removed + versions + uploads > 0) {
        events.info('bucket emptied', { bucket: name, objects: removed, versions, uploads });
      }
    });
  }

  const deletedBuckets: string[] = [];
  for (const name of buckets) {
    await ignoreMissing(gateway.deleteBucket(name), undefined);
    deletedBuckets.push(name);
  }
  for (const account of user.accounts) {
    await ignoreMissing(gateway.deleteAccount(ref, account.name), undefined);
  }
  await ignoreMissing(gateway.deleteUser(ref), undefined);
  events.info('user deleted', { userId: user.userId, buckets: deletedBuckets.length });
  return { email: request.email, userId: user.userId, state: 'deleted', deletedBuckets };
}

/** A user id the client would refuse to send: found now, not after the user was disabled. */
function refuseUnaddressableUser(user: User): void {
  const problem = userIdProblem(user.userId);
  if (problem === undefined) return;
  throw new MalformedResponseError(`the user's id ${problem}; nothing was changed`, {
    operation: 'users.get',
  });
}

/**
 * Bucket and account names the client would refuse to send (a bucket made under S3's legacy
 * naming rules, with capitals or underscores, say) used to be refused only once the user was
 * disabled, or its buckets already deleted. Now the run refuses before its first change, naming them.
 */
function refuseUnaddressableNames(user: User, buckets: readonly string[]): void {
  const badBuckets = buckets.filter((name) => bucketNameProblem(name) !== undefined);
  const badAccounts = user.accounts
    .map((account) => account.name)
    .filter((name) => accountNameProblem(name) !== undefined);
  if (badBuckets.length === 0 && badAccounts.length === 0) return;
  const named = [
    ...(badBuckets.length > 0 ? [`buckets ${badBuckets.join(', ')}`] : []),
    ...(badAccounts.length > 0 ? [`accounts ${badAccounts.join(', ')}`] : []),
  ].join(' and ');
  throw new ConflictError(
    'unaddressable_names',
    `data.email: the user's ${named} have names this integration cannot send to the gateway; nothing was changed: remove them on the gateway, then send terminate again`,
    { buckets: badBuckets, accounts: badAccounts },
  );
}

/**
 * Whether nothing keeps the bucket from being deleted: ListObjectsV2 finds no object, and there is
 * no object version, delete marker or unfinished multipart upload (a gateway that does not
 * implement those listings answers none).
 */
export async function bucketHoldsNothing(
  gateway: Pick<Gateway, 'isBucketEmpty' | 'listObjectVersions' | 'listMultipartUploads'>,
  bucket: string,
): Promise<boolean> {
  if (!(await gateway.isBucketEmpty(bucket))) return false;
  if ((await gateway.listObjectVersions(bucket, { maxKeys: 1 })).versions.length > 0) return false;
  return (await gateway.listMultipartUploads(bucket, { maxUploads: 1 })).uploads.length === 0;
}

/** Deletes every object of a bucket, page by page; returns how many were deleted. */
export async function emptyBucket(
  gateway: Pick<Gateway, 'listObjects' | 'deleteObjects' | 'deleteObject'>,
  bucket: string,
) {
  let removed = 0;
  let previous: string | undefined;
  // Always list from the start: deleting keys invalidates continuation tokens on some gateways,
  // and a listing that starts over after a crash simply finds fewer keys.
  for (;;) {
    const page = await ignoreMissing(gateway.listObjects(bucket, { maxKeys: 1000 }), undefined);
    const first = page?.objects[0];
    if (page === undefined || first === undefined) return removed;
    previous = notListedAgain(bucket, previous, first.key);
    const keys = page.objects.map((object) => object.key);
    removed += await deleteUnnamable(gateway, bucket, keys);
    const named = keys.filter(canBeNamedInXml);
    if (named.length === 0) continue;
    const result = await gateway.deleteObjects(bucket, named);
    refuseFailures(bucket, result);
    removed += result.deleted.length;
  }
}

/**
 * A key holding a control character XML 1.0 cannot carry (S3 allows any character in a key) cannot
 * be named in a DeleteObjects body: such objects are deleted one by one over their path instead,
 * so a purge never stops half-way at a key it found only after it had begun.
 */
const canBeNamedInXml = (key: string): boolean => objectKeyProblem(key) === undefined;

async function deleteUnnamable(
  gateway: Pick<Gateway, 'deleteObject'>,
  bucket: string,
  entries: readonly (string | { readonly key: string; readonly versionId: string })[],
): Promise<number> {
  let removed = 0;
  for (const entry of entries) {
    const key = typeof entry === 'string' ? entry : entry.key;
    if (canBeNamedInXml(key)) continue;
    await gateway.deleteObject(bucket, key, typeof entry === 'string' ? {} : { versionId: entry.versionId });
    removed += 1;
  }
  return removed;
}

/**
 * Deletes every object version and delete marker of a bucket by version id, up to 1,000 per
 * request, listing from the start each time (as `emptyBucket` does); returns how many.
 */
export async function removeVersions(
  gateway: Pick<Gateway, 'listObjectVersions' | 'deleteObjects' | 'deleteObject'>,
  bucket: string,
): Promise<number> {
  let removed = 0;
  let previous: string | undefined;
  for (;;) {
    const page = await ignoreMissing(
      gateway.listObjectVersions(bucket, { maxKeys: MAX_DELETE_KEYS }),
      undefined,
    );
    const first = page?.versions[0];
    if (page === undefined || first === undefined) return removed;
    // A gateway that reports versions deleted but keeps listing them would loop forever.
    previous = notListedAgain(bucket, previous, `${first.key}\u0000${first.versionId}`);
    const entries = page.versions.map((version) => ({ key: version.key, versionId: version.versionId }));
    removed += await deleteUnnamable(gateway, bucket, entries);
    const named = entries.filter((entry) => canBeNamedInXml(entry.key));
    if (named.length === 0) continue;
    const result = await gateway.deleteObjects(bucket, named);
    refuseFailures(bucket, result);
    removed += named.length;
  }
}

/** Aborts every unfinished multipart upload of a bucket, listing from the start each time; returns how many. */
export async function abortUploads(
  gateway: Pick<Gateway, 'listMultipartUploads' | 'abortMultipartUpload'>,
  bucket: string,
): Promise<number> {
  let aborted = 0;
  let previous: string | undefined;
  for (;;) {
    const page = await ignoreMissing(gateway.listMultipartUploads(bucket, { maxUploads: 1000 }), undefined);
    const first = page?.uploads[0];
    if (page === undefined || first === undefined) return aborted;
    previous = notListedAgain(bucket, previous, `${first.key}\u0000${first.uploadId}`);
    await forEachConcurrently(page.uploads, 8, async (upload) => {
      // Gone already (completed, or aborted by an earlier run): that is what was asked.
      await ignoreMissing(gateway.abortMultipartUpload(bucket, upload.key, upload.uploadId), undefined);
    });
    aborted += page.uploads.length;
  }
}

function notListedAgain(bucket: string, previous: string | undefined, first: string): string {
  if (first === previous) {
    throw new ConflictError(
      'objects_not_deleted',
      `bucket ${bucket}: the gateway still lists what it reported deleted`,
      { bucket },
    );
  }
  return first;
}

function refuseFailures(bucket: string, result: DeleteObjectsResult): void {
  if (result.errors.length === 0) return;
  const first = result.errors[0];
  throw new ConflictError(
    'objects_not_deleted',
    `bucket ${bucket}: ${result.errors.length} objects could not be deleted (${first?.code ?? 'unknown'}: ${first?.key ?? ''})`,
    { bucket, failed: result.errors.length },
  );
}

async function ignoreMissing<T, F>(promise: Promise<T>, fallback: F): Promise<T | F> {
  try {
    return await promise;
  } catch (error) {
    if (hasCode(error, 'not_found')) return fallback;
    throw error;
  }
}

// OstorClient: one method per documented call of the VHI S3 gateway's orchestration API
// (`/?ostor-*`), plus the plain-S3 calls termination needs (listing objects, object versions and
// multipart uploads; deleting objects, versions, uploads and buckets), made as the system user. Every input
// is validated before any request; every query is built by `query.ts`; every answer goes through
// a zod schema into a camelCase domain type.
import type { z } from 'zod';
import { hasCode, InvalidInputError } from '../errors.ts';
import { GatewayError, GatewayNotFoundError, MalformedResponseError } from './errors.ts';
import type { QueryParam } from './query.ts';
import { FLAG, ostorParams, s3Path } from './query.ts';
import type { DeleteEntry, DeleteObjectsResult, ObjectListing, UploadListing, VersionListing } from './s3.ts';
import {
  contentMd5,
  DeleteResultSchema,
  deleteObjectsXml,
  ListMultipartUploadsSchema,
  ListObjectsV2Schema,
  ListObjectVersionsSchema,
  MAX_DELETE_KEYS,
  parseXml,
} from './s3.ts';
import type {
  AccessKey,
  Account,
  BucketInfo,
  CreatedUser,
  Limits,
  Quota,
  UsageList,
  UsageObject,
  User,
  UserSummary,
} from './schemas.ts';
import {
  BucketListSchema,
  CreatedAccountSchema,
  CreatedUserSchema,
  GeneratedKeySchema,
  LimitsSchema,
  parseGatewayJson,
  QuotaOrNoneSchema,
  toUsageObject,
  UsageListSchema,
  UsageObjectSchema,
  UserListSchema,
  UserSchema,
} from './schemas.ts';
import type { GatewayRequest, GatewayResponse, HttpMethod, TransportOptions } from './transport.ts';
import { GatewayTransport } from './transport.ts';
import { readUsageObject } from './usage-object.ts';
import {
  checkAccessKeyId,
  checkAccountName,
  checkBandwidthLimit,
  checkBucketName,
  checkContinuationToken,
  checkEmail,
  checkIntegerInRange,
  checkObjectKey,
  checkObjectPathKey,
  checkOpsLimit,
  checkQuotaSize,
  checkStatisticsObjectName,
  checkUploadId,
  checkUserId,
  checkVersionId,
} from './validate.ts';

export type OstorClientOptions = TransportOptions;

/** A user by email (`emailAddress=`) or by id (`id=`); giving both is refused, as the gateway does. */
export type UserRef = { readonly email: string } | { readonly userId: string };
/** Limits apply to a user or to a bucket. */
export type LimitTarget = UserRef | { readonly bucket: string };
/** Quotas apply to a user, a bucket, or as the default for every user or every bucket. */
export type QuotaTarget = LimitTarget | { readonly default: 'user' | 'bucket' };

export type OpsResource = 'default' | 'get' | 'put' | 'list' | 'delete';
/** Operations per second (decimals allowed) or outgoing KB/s; 0 is unlimited. */
export type LimitSetting =
  | { readonly type: 'ops'; readonly resource: OpsResource; readonly value: number }
  | { readonly type: 'bandwidth'; readonly resource: 'out'; readonly value: number };

export interface KeyOptions {
  /** Operate on this account (project) of the user instead of the user itself. */
  readonly accountName?: string;
}

export interface ListUsageOptions {
  /** Start after this statistics object name (the last one of the previous page). */
  readonly after?: string;
  /** Page size, 1 to 500 (larger pages have been seen to come back as broken JSON). */
  readonly limit?: number;
}

export interface ListObjectsOptions {
  readonly continuationToken?: string;
  readonly startAfter?: string;
  /** 1 to 1000; the gateway's default when absent. */
  readonly maxKeys?: number;
  readonly prefix?: string;
}

export interface ListObjectVersionsOptions {
  /** Start after this key (with `versionIdMarker`: after that version of it). */
  readonly keyMarker?: string;
  /** Only together with `keyMarker`. */
  readonly versionIdMarker?: string;
  /** 1 to 1000; the gateway's default when absent. */
  readonly maxKeys?: number;
  readonly prefix?: string;
}

export interface ListMultipartUploadsOptions {
  /** Start after this key (with `uploadIdMarker`: after that upload of it). */
  readonly keyMarker?: string;
  /** Only together with `keyMarker`. */
  readonly uploadIdMarker?: string;
  /** 1 to 1000; the gateway's default when absent. */
  readonly maxUploads?: number;
  readonly prefix?: string;
}

/**
 * A page of ListObjectVersions or ListMultipartUploads. `unsupported` is set when the gateway does
 * not implement the call: the page is then empty, which is what such a gateway can hold.
 */
export type VersionPage = VersionListing & { readonly unsupported?: true };
export type UploadPage = UploadListing & { readonly unsupported?: true };

export const MAX_USAGE_PAGE = 500;
const OPS_RESOURCES: readonly OpsResource[] = ['default', 'get', 'put', 'list', 'delete'];

/** The typed client of one gateway. Create one per process and `close()` it at shutdown. */
export class OstorClient {
  readonly #transport: GatewayTransport;

  constructor(options: OstorClientOptions) {
    this.#transport = new GatewayTransport(options);
  }

  /** The gateway's origin, for log lines. */
  get endpoint(): string {
    return this.#transport.endpoint.origin;
  }

  // --- users ------------------------------------------------------------------------------

  /**
   * `PUT ?ostor-users&emailAddress=`. Never retried: if the answer is lost the user may exist, and
   * a repeat would create a second one with the same email. Look before creating (findUser).
   */
  async createUser(email: string): Promise<CreatedUser> {
    const params: QueryParam[] = [['emailAddress', checkEmail(email)]];
    return this.#call(
      {
        operation: 'users.create',
        method: 'PUT',
        service: 'users',
        params,
        conflictReason: 'already_exists',
      },
      CreatedUserSchema,
    );
  }

  /** `GET ?ostor-users`: every user, without keys or accounts. */
  async listUsers(): Promise<UserSummary[]> {
    return this.#call(
      { operation: 'users.list', method: 'GET', service: 'users', params: [] },
      UserListSchema,
    );
  }

  /** `GET ?ostor-users&emailAddress=|id=`: the user with its keys (secrets included) and accounts. */
  async getUser(ref: UserRef): Promise<User> {
    const params = [userParam(ref)];
    return this.#call({ operation: 'users.get', method: 'GET', service: 'users', params }, UserSchema);
  }

  /** As getUser, but undefined when the gateway answers 404. */
  async findUser(ref: UserRef): Promise<User | undefined> {
    return orUndefined(this.getUser(ref));
  }

  /**
   * Every user whose email is exactly `email` (the gateway may hold more than one). Compared
   * byte for byte, as the email is sent: no case folding.
   */
  async findUsersByEmail(email: string): Promise<UserSummary[]> {
    checkEmail(email);
    return (await this.listUsers()).filter((user) => user.email === email);
  }

  /** `POST ?ostor-users&...&disable`. */
  async disableUser(ref: UserRef): Promise<void> {
    const params = [userParam(ref), ['disable', FLAG] as const];
    await this.#send({
      operation: 'users.disable',
      method: 'POST',
      service: 'users',
      params,
      idempotent: true,
    });
  }

  /** `POST ?ostor-users&...&enable`. */
  async enableUser(ref: UserRef): Promise<void> {
    const params = [userParam(ref), ['enable', FLAG] as const];
    await this.#send({
      operation: 'users.enable',
      method: 'POST',
      service: 'users',
      params,
      idempotent: true,
    });
  }

  /** `DELETE ?ostor-users&...`. A user that owns buckets cannot be deleted (409, `user_owns_buckets`). */
  async deleteUser(ref: UserRef): Promise<void> {
    const params = [userParam(ref)];
    await this.#send({
      operation: 'users.delete',
      method: 'DELETE',
      service: 'users',
      params,
      idempotent: true,
      goneIsDone: true,
      conflictReason: 'user_owns_buckets',
    });
  }

  /**
   * `POST ?ostor-users&...[&accountName=]&genKey` (VHI 5.4+; older lines used PUT): a new key pair
   * for the user or one of its accounts. At most two pairs may exist (409, `too_many_keys`).
   * Never retried: a repeat after a lost answer would make a second pair.
   */
  async generateKey(ref: UserRef, options: KeyOptions = {}): Promise<AccessKey> {
    const params: QueryParam[] = [userParam(ref), ...accountParam(options), ['genKey', FLAG]];
    return this.#call(
      {
        operation: 'users.generateKey',
        method: 'POST',
        service: 'users',
        params,
        conflictReason: 'too_many_keys',
      },
      GeneratedKeySchema,
    );
  }

  /** `POST ?ostor-users&...[&accountName=]&revokeKey=<id>` (VHI 5.4+; older lines used PUT). */
  async revokeKey(ref: UserRef, accessKeyId: string, options: KeyOptions = {}): Promise<void> {
    const params: QueryParam[] = [
      userParam(ref),
      ...accountParam(options),
      ['revokeKey', checkAccessKeyId(accessKeyId)],
    ];
    await this.#send({
      operation: 'users.revokeKey',
      method: 'POST',
      service: 'users',
      params,
      idempotent: true,
      goneIsDone: true,
    });
  }

  // --- accounts ---------------------------------------------------------------------------

  /** `POST ?ostor-accounts&...&accountName=` (the 5.1 text says PUT, its example POST). Never retried. */
  async createAccount(ref: UserRef, name: string): Promise<Account> {
    const params: QueryParam[] = [userParam(ref), ['accountName', checkAccountName(name, 'name')]];
    return this.#call(
      {
        operation: 'accounts.create',
        method: 'POST',
        service: 'accounts',
        params,
        conflictReason: 'already_exists',
      },
      CreatedAccountSchema,
    );
  }

  /** `DELETE ?ostor-accounts&...&accountName=`. */
  async deleteAccount(ref: UserRef, name: string): Promise<void> {
    const params: QueryParam[] = [userParam(ref), ['accountName', checkAccountName(name, 'name')]];
    await this.#send({
      operation: 'accounts.delete',
      method: 'DELETE',
      service: 'accounts',
      params,
      idempotent: true,
      goneIsDone: true,
    });
  }

  // --- buckets ----------------------------------------------------------------------------

  /** `GET ?ostor-buckets`: every bucket with its size accounting. */
  async listBuckets(): Promise<BucketInfo[]> {
    return this.#call(
      { operation: 'buckets.list', method: 'GET', service: 'buckets', params: [] },
      BucketListSchema,
    );
  }

  /** `GET ?ostor-buckets&emailAddress=|id=`: the user's buckets. */
  async listUserBuckets(ref: UserRef): Promise<BucketInfo[]> {
    const params = [userParam(ref)];
    return this.#call(
      { operation: 'buckets.list', method: 'GET', service: 'buckets', params },
      BucketListSchema,
    );
  }

  /** `GET ?ostor-buckets&bucket=`: one bucket; GatewayNotFoundError when there is none by that name. */
  async getBucket(name: string): Promise<BucketInfo> {
    const params: QueryParam[] = [['bucket', checkBucketName(name)]];
    const buckets = await this.#call(
      { operation: 'buckets.get', method: 'GET', service: 'buckets', params },
      BucketListSchema,
    );
    const bucket = buckets.find((b) => b.name === name);
    if (bucket === undefined) {
      throw new GatewayNotFoundError({ operation: 'buckets.get', gatewayMessage: 'no bucket by that name' });
    }
    return bucket;
  }

  // --- limits -----------------------------------------------------------------------------

  /** `GET ?ostor-limits&emailAddress=|id=|bucket=`. Limits not set read as 0 (unlimited). */
  async getLimits(target: LimitTarget): Promise<Limits> {
    const params = [limitTargetParam(target)];
    return this.#call(
      { operation: 'limits.get', method: 'GET', service: 'limits', params, emptyBody: {} },
      LimitsSchema,
    );
  }

  /** `PUT ?ostor-limits&...&limit-type=&limit-resource=&limit-value=`: sets one limit (0 = unlimited). */
  async setLimit(target: LimitTarget, setting: LimitSetting): Promise<void> {
    const targetParam = limitTargetParam(target);
    let value: string;
    if (setting.type === 'ops') {
      if (!OPS_RESOURCES.includes(setting.resource)) {
        throw new InvalidInputError('resource', `must be one of ${OPS_RESOURCES.join(', ')}`);
      }
      value = formatOps(checkOpsLimit(setting.value));
    } else if (setting.type === 'bandwidth') {
      if (setting.resource !== 'out') throw new InvalidInputError('resource', 'must be out');
      value = String(checkBandwidthLimit(setting.value));
    } else {
      throw new InvalidInputError('type', 'must be ops or bandwidth');
    }
    const params: QueryParam[] = [
      targetParam,
      ['limit-type', setting.type],
      ['limit-resource', setting.resource],
      ['limit-value', value],
    ];
    await this.#send({ operation: 'limits.set', method: 'PUT', service: 'limits', params, idempotent: true });
  }

  /** `DELETE ?ostor-limits&...`: removes every limit of the user or bucket. */
  async deleteLimits(target: LimitTarget): Promise<void> {
    const params = [limitTargetParam(target)];
    await this.#send({
      operation: 'limits.delete',
      method: 'DELETE',
      service: 'limits',
      params,
      idempotent: true,
    });
  }

  // --- quotas -----------------------------------------------------------------------------

  /**
   * `GET ?ostor-quotas&emailAddress=|id=|bucket=|default=`: the quota, or undefined when none is
   * set (an empty body or an empty object).
   */
  async getQuota(target: QuotaTarget): Promise<Quota | undefined> {
    const params = [quotaTargetParam(target)];
    const quota = await this.#call(
      { operation: 'quotas.get', method: 'GET', service: 'quotas', params, emptyBody: null },
      QuotaOrNoneSchema,
    );
    return quota;
  }

  /** `PUT ?ostor-quotas&...&quota-size=<GB>`. */
  async setQuota(target: QuotaTarget, sizeGb: number): Promise<void> {
    const params: QueryParam[] = [quotaTargetParam(target), ['quota-size', String(checkQuotaSize(sizeGb))]];
    await this.#send({ operation: 'quotas.set', method: 'PUT', service: 'quotas', params, idempotent: true });
  }

  /** `DELETE ?ostor-quotas&...`. */
  async deleteQuota(target: QuotaTarget): Promise<void> {
    const params = [quotaTargetParam(target)];
    await this.#send({
      operation: 'quotas.delete',
      method: 'DELETE',
      service: 'quotas',
      params,
      idempotent: true,
    });
  }

  // --- usage statistics -------------------------------------------------------------------

  /** `GET ?ostor-usage[&after=][&limit=]`: one page of statistics object names. */
  async listUsage(options: ListUsageOptions = {}): Promise<UsageList> {
    const params: QueryParam[] = [];
    if (options.after !== undefined) params.push(['after', checkContinuationToken(options.after, 'after')]);
    if (options.limit !== undefined) {
      params.push(['limit', String(checkIntegerInRange(options.limit, 'limit', 1, MAX_USAGE_PAGE))]);
    }
    return this.#call({ operation: 'usage.list', method: 'GET', service: 'usage', params }, UsageListSchema);
  }

  /**
   * Every statistics object name, page after page (`after=` the last name of the previous page).
   * A name is yielded once even if a gateway repeats the `after` name on the next page; a page
   * that brings nothing new while claiming more is a MalformedResponseError, not a loop.
   */
  usageObjectNames(options: { readonly pageSize?: number } = {}): AsyncIterable<string> {
    const pageSize = checkIntegerInRange(options.pageSize ?? MAX_USAGE_PAGE, 'pageSize', 1, MAX_USAGE_PAGE);
    const list = (after: string | undefined) =>
      this.listUsage(after === undefined ? { limit: pageSize } : { after, limit: pageSize });
    return {
      async *[Symbol.asyncIterator]() {
        const seen = new Set<string>();
        let after: string | undefined;
        for (;;) {
          const page = await list(after);
          const fresh = page.names.filter((name) => !seen.has(name));
          for (const name of fresh) {
            seen.add(name);
            yield name;
          }
          if (!page.truncated) return;
          if (fresh.length === 0) {
            throw new MalformedResponseError('a truncated page of statistics objects brought no new names', {
              operation: 'usage.list',
            });
          }
          after = page.names[page.names.length - 1];
        }
      },
    };
  }

  /** `GET ?ostor-usage&obj=<name>`: the statistics object, its 64-bit counters as bigints. */
  async getUsage(name: string): Promise<UsageObject> {
    const params: QueryParam[] = [['obj', checkStatisticsObjectName(name)]];
    const call: OstorCall = { operation: 'usage.get', method: 'GET', service: 'usage', params };
    const response = await this.#send({ ...call, idempotent: true });
    // The ordinary form in one cheap pass; anything else through the schema (usage-object.ts).
    return (
      readUsageObject(name, response.body) ??
      toUsageObject(name, parseJsonBody(call.operation, response, UsageObjectSchema, undefined, false))
    );
  }

  /** `DELETE ?ostor-usage&obj=<name>`: only after its data has been delivered. */
  async deleteUsage(name: string): Promise<void> {
    const params: QueryParam[] = [['obj', checkStatisticsObjectName(name)]];
    await this.#send({
      operation: 'usage.delete',
      method: 'DELETE',
      service: 'usage',
      params,
      idempotent: true,
      goneIsDone: true,
    });
  }

  // --- plain S3, as the system user, path-style ---------------------------------------------

  /** ListObjectsV2: `GET /<bucket>?list-type=2&...` (keys requested URL-encoded, decoded here). */
  async listObjects(bucket: string, options: ListObjectsOptions = {}): Promise<ObjectListing> {
    const params: QueryParam[] = [
      ['list-type', '2'],
      ['encoding-type', 'url'],
    ];
    if (options.continuationToken !== undefined) {
      params.push(['continuation-token', checkContinuationToken(options.continuationToken)]);
    }
    if (options.startAfter !== undefined)
      params.push(['start-after', checkObjectKey(options.startAfter, 'startAfter')]);
    if (options.maxKeys !== undefined) {
      params.push(['max-keys', String(checkIntegerInRange(options.maxKeys, 'maxKeys', 1, 1000))]);
    }
    if (options.prefix !== undefined) {
      if (options.prefix !== '') checkObjectKey(options.prefix, 'prefix');
      params.push(['prefix', options.prefix]);
    }
    const response = await this.#transport.send({
      operation: 's3.listObjects',
      method: 'GET',
      path: s3Path(checkBucketName(bucket)),
      params,
      idempotent: true,
    });
    return parseXmlBody('s3.listObjects', response, ListObjectsV2Schema);
  }

  /** Whether the bucket holds no object at all (zero-byte ones count: the admin byte count misses them). */
  async isBucketEmpty(bucket: string): Promise<boolean> {
    const listing = await this.listObjects(bucket, { maxKeys: 1 });
    return listing.objects.length === 0 && listing.commonPrefixes.length === 0;
  }

  /**
   * ListObjectVersions: `GET /<bucket>?versions&...` (keys requested URL-encoded, decoded here):
   * every object version and delete marker, objects first, then markers. An unversioned bucket
   * lists its objects with version id `null`. A gateway that does not implement the call answers
   * an empty page marked `unsupported` (see `isUnsupportedCall`).
   */
  async listObjectVersions(bucket: string, options: ListObjectVersionsOptions = {}): Promise<VersionPage> {
    const params: QueryParam[] = [
      ['versions', FLAG],
      ['encoding-type', 'url'],
    ];
    if (options.keyMarker !== undefined)
      params.push(['key-marker', checkObjectKey(options.keyMarker, 'keyMarker')]);
    if (options.versionIdMarker !== undefined) {
      if (options.keyMarker === undefined) throw new InvalidInputError('versionIdMarker', 'needs keyMarker');
      params.push(['version-id-marker', checkVersionId(options.versionIdMarker, 'versionIdMarker')]);
    }
    if (options.maxKeys !== undefined) {
      params.push(['max-keys', String(checkIntegerInRange(options.maxKeys, 'maxKeys', 1, 1000))]);
    }
    if (options.prefix !== undefined) {
      if (options.prefix !== '') checkObjectKey(options.prefix, 'prefix');
      params.push(['prefix', options.prefix]);
    }
    const path = s3Path(checkBucketName(bucket));
    const page = await this.#optionalS3Listing('s3.listObjectVersions', path, params, 'ListVersionsResult');
    if (page === undefined) return { versions: [], isTruncated: false, unsupported: true };
    return parseXmlValue('s3.listObjectVersions', page, ListObjectVersionsSchema);
  }

  /**
   * ListMultipartUploads: `GET /<bucket>?uploads&...` (keys requested URL-encoded): the uploads
   * initiated and neither completed nor aborted. A gateway that does not implement the call answers
   * an empty page marked `unsupported`.
   */
  async listMultipartUploads(bucket: string, options: ListMultipartUploadsOptions = {}): Promise<UploadPage> {
    const params: QueryParam[] = [
      ['uploads', FLAG],
      ['encoding-type', 'url'],
    ];
    if (options.keyMarker !== undefined)
      params.push(['key-marker', checkObjectKey(options.keyMarker, 'keyMarker')]);
    if (options.uploadIdMarker !== undefined) {
      if (options.keyMarker === undefined) throw new InvalidInputError('uploadIdMarker', 'needs keyMarker');
      params.push(['upload-id-marker', checkUploadId(options.uploadIdMarker, 'uploadIdMarker')]);
    }
    if (options.maxUploads !== undefined) {
      params.push(['max-uploads', String(checkIntegerInRange(options.maxUploads, 'maxUploads', 1, 1000))]);
    }
    if (options.prefix !== undefined) {
      if (options.prefix !== '') checkObjectKey(options.prefix, 'prefix');
      params.push(['prefix', options.prefix]);
    }
    const path = s3Path(checkBucketName(bucket));
    const page = await this.#optionalS3Listing(
      's3.listMultipartUploads',
      path,
      params,
      'ListMultipartUploadsResult',
    );
    if (page === undefined) return { uploads: [], isTruncated: false, unsupported: true };
    return parseXmlValue('s3.listMultipartUploads', page, ListMultipartUploadsSchema);
  }

  /**
   * AbortMultipartUpload: `DELETE /<bucket>/<key>?uploadId=`. Retried; a 404 (NoSuchUpload) after
   * an attempt that may have been applied counts as done.
   */
  async abortMultipartUpload(bucket: string, key: string, uploadId: string): Promise<void> {
    const path = s3Path(checkBucketName(bucket), checkObjectPathKey(key));
    await this.#transport.send({
      operation: 's3.abortMultipartUpload',
      method: 'DELETE',
      path,
      params: [['uploadId', checkUploadId(uploadId)]],
      idempotent: true,
      goneIsDone: true,
    });
  }

  /**
   * DeleteObject: `DELETE /<bucket>/<key>[?versionId=]`, one object (or one version or delete
   * marker). For the keys DeleteObjects cannot name: XML 1.0 cannot carry most control characters,
   * a path carries any character percent-encoded. Retried; a 404 counts as done.
   */
  async deleteObject(
    bucket: string,
    key: string,
    options: { readonly versionId?: string } = {},
  ): Promise<void> {
    const path = s3Path(checkBucketName(bucket), checkObjectPathKey(key));
    const params: QueryParam[] =
      options.versionId === undefined ? [] : [['versionId', checkVersionId(options.versionId)]];
    await this.#transport.send({
      operation: 's3.deleteObject',
      method: 'DELETE',
      path,
      params,
      idempotent: true,
      goneIsDone: true,
    });
  }

  /**
   * DeleteObjects: `POST /<bucket>?delete` with up to 1,000 entries and its Content-MD5. An entry is
   * a key (in a versioned bucket that adds a delete marker) or `{ key, versionId }`, which removes
   * that version or delete marker for good. Answers which keys were deleted and which failed;
   * repeating it is harmless, so it is retried.
   */
  async deleteObjects(bucket: string, keys: readonly DeleteEntry[]): Promise<DeleteObjectsResult> {
    const path = s3Path(checkBucketName(bucket));
    if (!Array.isArray(keys)) throw new InvalidInputError('keys', 'must be an array');
    if (keys.length > MAX_DELETE_KEYS) {
      throw new InvalidInputError('keys', `must hold at most ${MAX_DELETE_KEYS} keys per call`);
    }
    keys.forEach((entry, i) => {
      if (typeof entry === 'string') {
        checkObjectKey(entry, `keys[${i}]`);
      } else if (typeof entry === 'object' && entry !== null) {
        checkObjectKey(entry.key, `keys[${i}].key`);
        if (entry.versionId !== undefined) checkVersionId(entry.versionId, `keys[${i}].versionId`);
      } else {
        throw new InvalidInputError(`keys[${i}]`, 'must be a key or { key, versionId }');
      }
    });
    if (keys.length === 0) return { deleted: [], errors: [] };
    const body = deleteObjectsXml(keys);
    const response = await this.#transport.send({
      operation: 's3.deleteObjects',
      method: 'POST',
      path,
      params: [['delete', FLAG]],
      headers: { 'content-type': 'application/xml', 'content-md5': contentMd5(body) },
      body,
      idempotent: true,
    });
    return parseXmlBody('s3.deleteObjects', response, DeleteResultSchema);
  }

  /** DeleteBucket: `DELETE /<bucket>`; it must be empty (409, `bucket_not_empty`). */
  async deleteBucket(bucket: string): Promise<void> {
    await this.#transport.send({
      operation: 's3.deleteBucket',
      method: 'DELETE',
      path: s3Path(checkBucketName(bucket)),
      params: [],
      idempotent: true,
      goneIsDone: true,
      conflictReason: 'bucket_not_empty',
    });
  }

  /** Closes the connection pool; pending calls finish first. */
  async close(): Promise<void> {
    await this.#transport.close();
  }

  // --- plumbing ---------------------------------------------------------------------------

  /**
   * A bucket listing through an S3 sub-resource that not every gateway implements. Answers the
   * parsed XML, or undefined when the gateway does not implement it: a 501, a 400 that is not
   * about the signature or credentials, or a 2xx that ignored the sub-resource and answered a plain
   * object listing (`ListBucketResult`).
   */
  async #optionalS3Listing(
    operation: string,
    path: string,
    params: readonly QueryParam[],
    root: string,
  ): Promise<unknown> {
    let response: GatewayResponse;
    try {
      response = await this.#transport.send({ operation, method: 'GET', path, params, idempotent: true });
    } catch (error) {
      if (isUnsupportedCall(error)) return undefined;
      throw error;
    }
    const value = parseXmlText(operation, response);
    if (typeof value === 'object' && value !== null && !(root in value) && 'ListBucketResult' in value) {
      return undefined;
    }
    return value;
  }

  #send(call: OstorCall & { idempotent: boolean }): Promise<GatewayResponse> {
    const { service, emptyBody: _, ...rest } = call;
    return this.#transport.send({ ...rest, params: ostorParams(service, call.params) });
  }

  /** Sends a call whose answer carries data. GETs are idempotent; create and genKey are not. */
  async #call<S extends z.ZodType>(call: OstorCall, schema: S): Promise<z.output<S>> {
    const idempotent = call.method === 'GET';
    const response = await this.#send({ ...call, idempotent });
    return parseJsonBody(call.operation, response, schema, call.emptyBody, !idempotent);
  }
}

interface OstorCall {
  readonly operation: string;
  readonly method: HttpMethod;
  readonly service: 'users' | 'accounts' | 'buckets' | 'limits' | 'quotas' | 'usage';
  readonly params: readonly QueryParam[];
  readonly goneIsDone?: boolean;
  readonly conflictReason?: GatewayRequest['conflictReason'];
  /** What an empty 2xx body stands for; absent means an empty body is malformed. */
  readonly emptyBody?: unknown;
}

function parseJsonBody<S extends z.ZodType>(
  operation: string,
  response: GatewayResponse,
  schema: S,
  emptyBody: unknown,
  mayHaveApplied: boolean,
): z.output<S> {
  // A broken answer to create or genKey: the change happened, but what it made is unknown.
  const context = { operation, status: response.status, ...(mayHaveApplied ? { outcomeUnknown: true } : {}) };
  let value: unknown;
  if (response.body.trim() === '') {
    if (emptyBody === undefined) throw new MalformedResponseError('the body is empty', context);
    value = emptyBody;
  } else {
    try {
      value = parseGatewayJson(response.body);
    } catch {
      // No cause: V8's SyntaxError quotes the text around the bad token, and a user's body holds
      // its secret keys; the error (and the log line that carries it) must not.
      throw new MalformedResponseError(`the body is not JSON (${response.body.length} characters)`, context);
    }
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new MalformedResponseError(describeIssue(parsed.error), context);
  return parsed.data;
}

function parseXmlBody<S extends z.ZodType>(
  operation: string,
  response: GatewayResponse,
  schema: S,
): z.output<S> {
  return parseXmlValue(operation, parseXmlText(operation, response), schema, response.status);
}

function parseXmlText(operation: string, response: GatewayResponse): unknown {
  try {
    return parseXml(response.body);
  } catch {
    // No cause, as for JSON: the parser's message may quote the body.
    throw new MalformedResponseError(`the body is not XML (${response.body.length} characters)`, {
      operation,
      status: response.status,
    });
  }
}

function parseXmlValue<S extends z.ZodType>(
  operation: string,
  value: unknown,
  schema: S,
  status = 200,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new MalformedResponseError(describeIssue(parsed.error), { operation, status });
  return parsed.data;
}

/** 400 codes that are about the request's authentication, not about the call being unknown. */
const AUTH_CODES = /Authorization|Signature|Credential|Token|Skew|Expired|AccessKey/i;

/**
 * Whether a gateway error says the S3 call itself is not implemented. Gateways differ: some answer
 * 501 NotImplemented for a sub-resource they do not know, some 400 (InvalidArgument,
 * InvalidRequest, ...). A 400 about the signature or credentials does not count.
 */
export function isUnsupportedCall(error: unknown): boolean {
  if (!(error instanceof GatewayError)) return false;
  if (error.status === 501) return true;
  return error.status === 400 && !AUTH_CODES.test(error.gatewayCode ?? '');
}

/**
 * The most specific issue's path and message, never the received value (it may be a secret key).
 * For a union (list as array or `{Users}`, ...) the branch that got furthest explains best.
 */
function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'the body does not have the expected shape';
  const [path, message] = deepest(issue, []);
  return `${path.length === 0 ? 'body' : path.join('.')}: ${message}`;
}

function deepest(issue: z.core.$ZodIssue, prefix: readonly PropertyKey[]): [string[], string] {
  const path = [...prefix, ...issue.path].map(String);
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return [path, issue.message];
  let best: [string[], string] = [path, issue.message];
  for (const branch of issue.errors) {
    const first = branch[0];
    if (first === undefined) continue;
    const candidate = deepest(first, path);
    if (candidate[0].length > best[0].length) best = candidate;
  }
  return best;
}

async function orUndefined<T>(promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise;
  } catch (error) {
    if (hasCode(error, 'not_found')) {
      return undefined;
    }
    throw error;
  }
}

/** Renders an ops limit with at most two decimals and never in exponent form. */
function formatOps(value: number): string {
  return String(Math.round(value * 100) / 100);
}

function keysOf(value: object): string[] {
  return Object.keys(value).filter((key) => (value as Record<string, unknown>)[key] !== undefined);
}

function userParam(ref: UserRef): QueryParam {
  if (typeof ref !== 'object' || ref === null)
    throw new InvalidInputError('user', 'must be { email } or { userId }');
  const keys = keysOf(ref);
  if (keys.length === 1 && 'email' in ref) return ['emailAddress', checkEmail(ref.email)];
  if (keys.length === 1 && 'userId' in ref) return ['id', checkUserId(ref.userId)];
  throw new InvalidInputError('user', 'must be exactly one of { email } or { userId }');
}

function limitTargetParam(target: LimitTarget): QueryParam {
  if (typeof target === 'object' && target !== null && 'bucket' in target) {
    if (keysOf(target).length !== 1)
      throw new InvalidInputError('target', 'must name exactly one user or bucket');
    return ['bucket', checkBucketName(target.bucket)];
  }
  return userParam(target);
}

function quotaTargetParam(target: QuotaTarget): QueryParam {
  if (typeof target === 'object' && target !== null && 'default' in target) {
    if (keysOf(target).length !== 1) throw new InvalidInputError('target', 'must name exactly one target');
    if (target.default !== 'user' && target.default !== 'bucket') {
      throw new InvalidInputError('default', 'must be user or bucket');
    }
    return ['default', target.default];
  }
  return limitTargetParam(target);
}

function accountParam(options: KeyOptions): QueryParam[] {
  return options.accountName === undefined ? [] : [['accountName', checkAccountName(options.accountName)]];
}

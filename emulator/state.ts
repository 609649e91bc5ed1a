// The emulated gateway's whole state: users with their accounts and key pairs, buckets with their
// objects and size statistics, limits, quotas and usage statistics objects. Tests read it directly
// and seed it through the methods here, which keep the lookup indexes in step.

import { createHash } from 'node:crypto';
import { conflict, GatewayError, notFound } from './errors.ts';
import { newAccessKeyId, newSecretAccessKey, newUploadId, newUserId, newVersionId } from './ids.ts';
import { seedUsageObjects, type UsageSeedOptions } from './usage-generator.ts';

/** A user or an account holds at most this many key pairs (guide: "same as with Amazon Web Services"). */
export const MAX_KEYS_PER_HOLDER = 2;

export const DEFAULT_OWNER_ID = '0000000000000000';

export type UserStateName = 'enabled' | 'disabled';

export interface AccessKey {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly createdAt: Date;
}

export interface EmulatedAccount {
  readonly name: string;
  readonly keys: AccessKey[];
}

export interface EmulatedUser {
  readonly id: string;
  readonly email: string;
  state: UserStateName;
  /** `'system'` marks a user allowed to call the `?ostor-*` admin API. */
  flags: string[];
  ownerId: string;
  readonly keys: AccessKey[];
  readonly accounts: EmulatedAccount[];
  readonly createdAt: Date;
}

export interface StoredObject {
  readonly body: Uint8Array;
  readonly size: number;
  /** MD5 of the body as 32 hex digits, without the quotes S3 puts around it. */
  readonly etag: string;
  readonly lastModified: Date;
  readonly contentType: string;
}

/** The admin API's `size` block. `lastTs` is in hours since the Unix epoch, `hIntegral` in byte-hours. */
export interface BucketSize {
  current: number;
  hIntegral: bigint;
  hmax: number;
  lastTs: number;
}

/** A bucket's versioning state once set; a bucket that never had it set is unversioned (undefined). */
export type VersioningStatus = 'Enabled' | 'Suspended';

/** The version id S3 gives objects written while versioning is off or suspended. */
export const NULL_VERSION_ID = 'null';

/** One version of a key: an object, or a delete marker (`object` undefined). */
export interface ObjectVersion {
  readonly key: string;
  /** `null` for the null version (written while the bucket was unversioned or suspended). */
  readonly versionId: string;
  readonly object: StoredObject | undefined;
  readonly lastModified: Date;
}

/** An initiated, not yet completed or aborted multipart upload. */
export interface MultipartUpload {
  readonly key: string;
  readonly uploadId: string;
  readonly initiated: Date;
  /** The user who initiated it. */
  readonly initiatorId: string;
}

export interface EmulatedBucket {
  readonly name: string;
  ownerId: string;
  readonly creationDate: Date;
  epoch: number;
  /** Read-only here: add and remove objects with `putObject` / `deleteObject` so sizes and the key order stay right. */
  readonly objects: ReadonlyMap<string, StoredObject>;
  /**
   * Every version of every key, newest first (the first one is the current version, or a delete
   * marker hiding the key). An unversioned bucket holds exactly the null version of each object.
   */
  readonly versions: ReadonlyMap<string, readonly ObjectVersion[]>;
  /** Unfinished multipart uploads by upload id. */
  readonly uploads: ReadonlyMap<string, MultipartUpload>;
  /** Undefined while versioning was never set (unversioned); set it with `setVersioning`. */
  readonly versioning: VersioningStatus | undefined;
  /** Bytes count every stored version (noncurrent ones too, delete markers none), as S3 bills them. */
  readonly size: BucketSize;
}

export interface OpsLimits {
  default: number;
  get: number;
  put: number;
  list: number;
  delete: number;
}

export interface Limits {
  ops: OpsLimits;
  bandwidth: { out: number };
}

export interface Quotas {
  /** Per user id, in whole GB. */
  readonly users: Map<string, number>;
  /** Per bucket name, in whole GB. */
  readonly buckets: Map<string, number>;
  readonly defaults: { user: number | null; bucket: number | null };
}

export interface UsageOps {
  put: number;
  get: number;
  list: number;
  other: number;
}

/** One item of a statistics object, in the gateway's own field names. */
export interface UsageItem {
  key: { bucket: string; epoch: number; user_id: string; tag: string };
  counters: { ops: UsageOps; net_io: { uploaded: number | bigint; downloaded: number | bigint } };
}

/** A statistics object's content exactly as `GET ?ostor-usage&obj=` returns it (bigints become bare JSON numbers). */
export interface UsageObjectContent {
  fmt_version: number;
  service_id: bigint;
  start_ts: number;
  period: number;
  nr_items: number;
  items: UsageItem[];
}

/** A friendlier way to write an item when seeding. */
export interface UsageItemSeed {
  bucket: string;
  userId: string;
  epoch?: number;
  tag?: string;
  ops?: Partial<UsageOps>;
  uploaded?: number | bigint;
  downloaded?: number | bigint;
}

export interface UsageObjectSeed {
  /** Decimal digits (the guide's `8000000000000065`); a bigint keeps values above 2^53 exact. */
  serviceId: bigint | number | string;
  start: Date;
  /** The `period` field of the content, in seconds. */
  period: number;
  items: readonly (UsageItem | UsageItemSeed)[];
  /** The period written in the object's name; defaults to `period`. (The guide's example names 1800 but holds 1390.) */
  namePeriod?: number;
  fmtVersion?: number;
}

export interface CreateUserOptions {
  system?: boolean;
  /** Start without a key pair (the guide shows accounts with none; users can lose theirs by revocation). */
  withoutKey?: boolean;
}

/** Where an access key belongs: to the user itself (`accountName` null) or to one of its accounts. */
export interface KeyHolder {
  readonly user: EmulatedUser;
  readonly accountName: string | null;
  readonly key: AccessKey;
}

const HOUR_MS = 3_600_000;

/** UTF-8 byte order, the order S3 lists keys in (plain `<` compares UTF-16 code units, which differs above U+D7FF). */
export function compareKeys(a: string, b: string): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    const xSurrogate = x >= 0xd800 && x <= 0xdfff;
    const ySurrogate = y >= 0xd800 && y <= 0xdfff;
    if (xSurrogate !== ySurrogate) return xSurrogate ? 1 : -1;
    return x - y;
  }
  return a.length - b.length;
}

/** Index of the first element of sorted `items` greater than `after` (or not less than it with `inclusive`). */
export function lowerBound(
  items: readonly string[],
  bound: string,
  compare: (a: string, b: string) => number,
  inclusive: boolean,
): number {
  let lo = 0;
  let hi = items.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const c = compare(items[mid] as string, bound);
    if (c < 0 || (c === 0 && !inclusive)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const compareNames = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

class BucketRecord implements EmulatedBucket {
  readonly name: string;
  ownerId: string;
  readonly creationDate: Date;
  epoch = 0;
  readonly objects = new Map<string, StoredObject>();
  readonly versions = new Map<string, ObjectVersion[]>();
  readonly uploads = new Map<string, MultipartUpload>();
  versioning: VersioningStatus | undefined = undefined;
  readonly size: BucketSize;
  /** Keys in S3 order; rebuilt on demand after a new key is added or the map changed behind our back. */
  sortedKeys: string[] | null = [];
  /** Keys of `versions` in S3 order, or null when it must be rebuilt. */
  sortedVersionKeys: string[] | null = [];

  constructor(name: string, ownerId: string, creationDate: Date) {
    this.name = name;
    this.ownerId = ownerId;
    this.creationDate = creationDate;
    this.size = { current: 0, hIntegral: 0n, hmax: 0, lastTs: Math.floor(creationDate.getTime() / HOUR_MS) };
  }
}

export function zeroLimits(): Limits {
  return { ops: { default: 0, get: 0, put: 0, list: 0, delete: 0 }, bandwidth: { out: 0 } };
}

function toServiceId(value: bigint | number | string): bigint {
  if (typeof value === 'bigint') {
    if (value < 0n) throw new RangeError('serviceId must not be negative');
    return value;
  }
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0)
      throw new RangeError('serviceId must be a safe non-negative integer');
    return BigInt(value);
  }
  if (!/^\d{1,20}$/.test(value)) throw new RangeError(`serviceId must be decimal digits: ${value}`);
  return BigInt(value);
}

function toUsageItem(item: UsageItem | UsageItemSeed): UsageItem {
  if ('key' in item) return item;
  return {
    key: { bucket: item.bucket, epoch: item.epoch ?? 0, user_id: item.userId, tag: item.tag ?? '' },
    counters: {
      ops: {
        put: item.ops?.put ?? 0,
        get: item.ops?.get ?? 0,
        list: item.ops?.list ?? 0,
        other: item.ops?.other ?? 0,
      },
      net_io: { uploaded: item.uploaded ?? 0, downloaded: item.downloaded ?? 0 },
    },
  };
}

export function usageObjectName(serviceId: bigint, start: Date, period: number): string {
  return `s3-usage-${serviceId}-${start.toISOString()}-${period}`;
}

export class EmulatorState {
  private readonly clock: () => Date;
  private readonly userMap = new Map<string, EmulatedUser>();
  private readonly usersByEmail = new Map<string, string[]>();
  private readonly keyIndex = new Map<string, { userId: string; accountName: string | null }>();
  private readonly bucketMap = new Map<string, BucketRecord>();
  private readonly usageMap = new Map<string, UsageObjectContent | string>();
  private sortedUsageNames: string[] | null = [];

  /** Users by id, in creation order (so "the first user with this email" is the oldest). */
  readonly users: ReadonlyMap<string, EmulatedUser> = this.userMap;
  readonly buckets: ReadonlyMap<string, EmulatedBucket> = this.bucketMap;
  /** Limits that were set, per user id and per bucket name; absent means all zero (unlimited). */
  readonly limits: { readonly users: Map<string, Limits>; readonly buckets: Map<string, Limits> } = {
    users: new Map(),
    buckets: new Map(),
  };
  readonly quotas: Quotas = { users: new Map(), buckets: new Map(), defaults: { user: null, bucket: null } };
  /** Statistics objects by name: structured content, or a string served verbatim (to model a broken object). */
  readonly usage: ReadonlyMap<string, UsageObjectContent | string> = this.usageMap;

  constructor(clock: () => Date = () => new Date()) {
    this.clock = clock;
  }

  now(): Date {
    return this.clock();
  }

  // ---- users ---------------------------------------------------------------------------------

  /** Creates a user with one key pair, like `ostor-s3-admin create-user` (`-S` with `system: true`). An existing email gets a second user. */
  createUser(email: string, options: CreateUserOptions = {}): EmulatedUser {
    let id = newUserId();
    while (this.userMap.has(id)) id = newUserId();
    const user: EmulatedUser = {
      id,
      email,
      state: 'enabled',
      flags: options.system === true ? ['system'] : [],
      ownerId: DEFAULT_OWNER_ID,
      keys: [],
      accounts: [],
      createdAt: this.clock(),
    };
    this.userMap.set(id, user);
    const sameEmail = this.usersByEmail.get(email);
    if (sameEmail === undefined) this.usersByEmail.set(email, [id]);
    else sameEmail.push(id);
    if (options.withoutKey !== true) this.addKey(user, null);
    return user;
  }

  /** The oldest user with this email (the gateway may hold several). */
  findUserByEmail(email: string): EmulatedUser | undefined {
    const ids = this.usersByEmail.get(email);
    if (ids === undefined) return undefined;
    for (const id of ids) {
      const user = this.userMap.get(id);
      if (user !== undefined) return user;
    }
    return undefined;
  }

  usersWithEmail(email: string): EmulatedUser[] {
    const ids = this.usersByEmail.get(email) ?? [];
    return ids.map((id) => this.userMap.get(id)).filter((u): u is EmulatedUser => u !== undefined);
  }

  isSystem(user: EmulatedUser): boolean {
    return user.flags.includes('system');
  }

  /** Deletes a user with its accounts, keys, limits and quota; refuses while it owns buckets. */
  deleteUser(userId: string): void {
    const user = this.requireUser(userId);
    const owned = this.bucketsOwnedBy(userId);
    if (owned.length > 0) {
      throw conflict(
        'UserHasBuckets',
        `User ${user.id} owns ${owned.length} bucket(s) and cannot be deleted until they are deleted`,
      );
    }
    for (const key of user.keys) this.keyIndex.delete(key.accessKeyId);
    for (const account of user.accounts)
      for (const key of account.keys) this.keyIndex.delete(key.accessKeyId);
    this.userMap.delete(userId);
    const sameEmail = this.usersByEmail.get(user.email);
    if (sameEmail !== undefined) {
      const rest = sameEmail.filter((id) => id !== userId);
      if (rest.length === 0) this.usersByEmail.delete(user.email);
      else this.usersByEmail.set(user.email, rest);
    }
    this.limits.users.delete(userId);
    this.quotas.users.delete(userId);
  }

  /** Generates a key pair for the user or one of its accounts; 409 when it already holds two. */
  generateKey(userId: string, accountName: string | null = null): AccessKey {
    const user = this.requireUser(userId);
    return this.addKey(user, accountName);
  }

  /** Revokes a key pair of the user or of one of its accounts; 404 when that holder has no such key. */
  revokeKey(userId: string, accessKeyId: string, accountName: string | null = null): void {
    const user = this.requireUser(userId);
    const keys = this.keysOf(user, accountName);
    const index = keys.findIndex((k) => k.accessKeyId === accessKeyId);
    if (index === -1) {
      throw notFound(
        'NoSuchAccessKey',
        accountName === null
          ? `User ${user.id} has no access key ${accessKeyId}`
          : `Account ${accountName} of user ${user.id} has no access key ${accessKeyId}`,
      );
    }
    keys.splice(index, 1);
    this.keyIndex.delete(accessKeyId);
  }

  createAccount(userId: string, name: string): EmulatedAccount {
    const user = this.requireUser(userId);
    if (user.accounts.some((a) => a.name === name)) {
      throw conflict('AccountAlreadyExists', `User ${user.id} already has an account named ${name}`);
    }
    const account: EmulatedAccount = { name, keys: [] };
    user.accounts.push(account);
    this.addKey(user, name);
    return account;
  }

  deleteAccount(userId: string, name: string): void {
    const user = this.requireUser(userId);
    const index = user.accounts.findIndex((a) => a.name === name);
    const account = user.accounts[index];
    if (account === undefined)
      throw notFound('NoSuchAccount', `User ${user.id} has no account named ${name}`);
    for (const key of account.keys) this.keyIndex.delete(key.accessKeyId);
    user.accounts.splice(index, 1);
  }

  /** Finds the holder of an access key (the user, or the user through one of its accounts). */
  resolveAccessKey(accessKeyId: string): KeyHolder | undefined {
    const entry = this.keyIndex.get(accessKeyId);
    if (entry !== undefined) {
      const user = this.userMap.get(entry.userId);
      const key =
        user === undefined
          ? undefined
          : this.findKeyIn(user, entry.accountName)?.find((k) => k.accessKeyId === accessKeyId);
      if (user !== undefined && key !== undefined) return { user, accountName: entry.accountName, key };
    }
    // Keys pushed straight into a user's array by a test are not indexed: look for them the slow way.
    for (const user of this.userMap.values()) {
      const own = user.keys.find((k) => k.accessKeyId === accessKeyId);
      if (own !== undefined) return { user, accountName: null, key: own };
      for (const account of user.accounts) {
        const key = account.keys.find((k) => k.accessKeyId === accessKeyId);
        if (key !== undefined) return { user, accountName: account.name, key };
      }
    }
    return undefined;
  }

  private findKeyIn(user: EmulatedUser, accountName: string | null): AccessKey[] | undefined {
    if (accountName === null) return user.keys;
    return user.accounts.find((a) => a.name === accountName)?.keys;
  }

  private keysOf(user: EmulatedUser, accountName: string | null): AccessKey[] {
    const keys = this.findKeyIn(user, accountName);
    if (keys === undefined)
      throw notFound('NoSuchAccount', `User ${user.id} has no account named ${accountName}`);
    return keys;
  }

  private addKey(user: EmulatedUser, accountName: string | null): AccessKey {
    const keys = this.keysOf(user, accountName);
    if (keys.length >= MAX_KEYS_PER_HOLDER) {
      throw conflict(
        'TooManyAccessKeys',
        accountName === null
          ? `User ${user.id} already has ${MAX_KEYS_PER_HOLDER} access key pairs`
          : `Account ${accountName} of user ${user.id} already has ${MAX_KEYS_PER_HOLDER} access key pairs`,
      );
    }
    let accessKeyId = newAccessKeyId(user.id);
    while (this.keyIndex.has(accessKeyId)) accessKeyId = newAccessKeyId(user.id);
    const key: AccessKey = { accessKeyId, secretAccessKey: newSecretAccessKey(), createdAt: this.clock() };
    keys.push(key);
    this.keyIndex.set(accessKeyId, { userId: user.id, accountName });
    return key;
  }

  private requireUser(userId: string): EmulatedUser {
    const user = this.userMap.get(userId);
    if (user === undefined) throw notFound('NoSuchUser', `User ${userId} does not exist`);
    return user;
  }

  // ---- buckets and objects -------------------------------------------------------------------

  bucketsOwnedBy(userId: string): EmulatedBucket[] {
    const owned: EmulatedBucket[] = [];
    for (const bucket of this.bucketMap.values()) if (bucket.ownerId === userId) owned.push(bucket);
    return owned;
  }

  createBucket(ownerUserId: string, name: string, options: { creationDate?: Date } = {}): EmulatedBucket {
    this.requireUser(ownerUserId);
    if (this.bucketMap.has(name)) {
      throw conflict('BucketAlreadyExists', 'The requested bucket name is not available');
    }
    const bucket = new BucketRecord(name, ownerUserId, options.creationDate ?? this.clock());
    this.bucketMap.set(name, bucket);
    return bucket;
  }

  /**
   * Deletes an empty bucket with its limits and quota; 404 if absent, 409 BucketNotEmpty while it
   * holds an object, a noncurrent version, a delete marker or an unfinished multipart upload.
   */
  deleteBucket(name: string): void {
    const bucket = this.requireBucket(name);
    if (bucket.objects.size > 0 || bucket.versions.size > 0 || bucket.uploads.size > 0)
      throw conflict('BucketNotEmpty', 'The bucket you tried to delete is not empty');
    this.bucketMap.delete(name);
    this.limits.buckets.delete(name);
    this.quotas.buckets.delete(name);
  }

  /**
   * Stores an object as the key's current version: a new version when versioning is enabled,
   * otherwise it replaces the key's null version (all there is in an unversioned bucket).
   */
  putObject(
    bucketName: string,
    key: string,
    body: Uint8Array | string,
    options: { contentType?: string } = {},
  ): StoredObject & { readonly versionId: string } {
    const bucket = this.requireBucket(bucketName);
    const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
    const object: StoredObject = {
      body: bytes,
      size: bytes.byteLength,
      etag: createHash('md5').update(bytes).digest('hex'),
      lastModified: this.clock(),
      contentType: options.contentType ?? 'application/octet-stream',
    };
    const versionId = bucket.versioning === 'Enabled' ? newVersionId() : NULL_VERSION_ID;
    const freed = this.addVersion(bucket, { key, versionId, object, lastModified: object.lastModified });
    this.setCurrent(bucket, key, object);
    this.changeSize(bucket, object.size - freed);
    return { ...object, versionId };
  }

  /** Removes an object; false when there was none. In a versioned bucket it adds a delete marker instead. */
  deleteObject(bucketName: string, key: string): boolean {
    return this.deleteCurrent(bucketName, key).existed;
  }

  /**
   * DELETE without a version id. Unversioned: the object goes. Enabled: a new delete marker becomes
   * the current version (even when the key has none, as in S3). Suspended: the null version goes and
   * a null delete marker takes its place.
   */
  deleteCurrent(
    bucketName: string,
    key: string,
  ): { existed: boolean; deleteMarkerVersionId: string | undefined } {
    const bucket = this.requireBucket(bucketName);
    const existed = bucket.objects.has(key);
    if (bucket.versioning === undefined) {
      const previous = bucket.objects.get(key);
      if (previous === undefined) return { existed: false, deleteMarkerVersionId: undefined };
      this.setCurrent(bucket, key, undefined);
      this.dropVersionKey(bucket, key);
      this.changeSize(bucket, -previous.size);
      return { existed, deleteMarkerVersionId: undefined };
    }
    const versionId = bucket.versioning === 'Enabled' ? newVersionId() : NULL_VERSION_ID;
    const freed = this.addVersion(bucket, { key, versionId, object: undefined, lastModified: this.clock() });
    this.setCurrent(bucket, key, undefined);
    if (freed !== 0) this.changeSize(bucket, -freed);
    return { existed, deleteMarkerVersionId: versionId };
  }

  /**
   * Removes one version (or delete marker) for good; the next newest becomes current. Answers
   * whether it was there and whether it was a delete marker.
   */
  deleteObjectVersion(
    bucketName: string,
    key: string,
    versionId: string,
  ): { found: boolean; deleteMarker: boolean } {
    const bucket = this.requireBucket(bucketName);
    const history = bucket.versions.get(key);
    const index = history?.findIndex((v) => v.versionId === versionId) ?? -1;
    if (history === undefined || index === -1) return { found: false, deleteMarker: false };
    const [removed] = history.splice(index, 1);
    if (history.length === 0) this.dropVersionKey(bucket, key);
    if (index === 0) this.setCurrent(bucket, key, history[0]?.object);
    if (removed?.object !== undefined) this.changeSize(bucket, -removed.object.size);
    return { found: true, deleteMarker: removed?.object === undefined };
  }

  /** Sets a bucket's versioning (PUT ?versioning). Once set, a bucket never becomes unversioned again. */
  setVersioning(bucketName: string, status: VersioningStatus): void {
    if (status !== 'Enabled' && status !== 'Suspended')
      throw new RangeError(`unknown versioning status: ${status}`);
    this.requireBucket(bucketName).versioning = status;
  }

  /** The bucket's versioned keys in S3 (UTF-8 byte) order. */
  sortedVersionKeys(bucketName: string): readonly string[] {
    const bucket = this.requireBucket(bucketName);
    let sorted = bucket.sortedVersionKeys;
    if (sorted === null || sorted.length !== bucket.versions.size) {
      sorted = [...bucket.versions.keys()].sort(compareKeys);
      bucket.sortedVersionKeys = sorted;
    }
    return sorted;
  }

  // ---- multipart uploads ---------------------------------------------------------------------

  /** Initiates a multipart upload (POST /bucket/key?uploads); its parts are not modelled. */
  createMultipartUpload(bucketName: string, key: string, initiatorId?: string): MultipartUpload {
    const bucket = this.requireBucket(bucketName);
    let uploadId = newUploadId();
    while (bucket.uploads.has(uploadId)) uploadId = newUploadId();
    const upload: MultipartUpload = {
      key,
      uploadId,
      initiated: this.clock(),
      initiatorId: initiatorId ?? bucket.ownerId,
    };
    bucket.uploads.set(uploadId, upload);
    return upload;
  }

  /** Aborts an upload; 404 NoSuchUpload when the bucket has no such upload for that key. */
  abortMultipartUpload(bucketName: string, key: string, uploadId: string): void {
    const bucket = this.requireBucket(bucketName);
    if (bucket.uploads.get(uploadId)?.key !== key) {
      throw notFound(
        'NoSuchUpload',
        'The specified multipart upload does not exist. The upload ID may be invalid, or the upload may have been aborted or completed.',
      );
    }
    bucket.uploads.delete(uploadId);
  }

  /** The bucket's uploads ordered by key, then upload id (the order upload-id-marker pages in). */
  sortedUploads(bucketName: string): MultipartUpload[] {
    const bucket = this.requireBucket(bucketName);
    return [...bucket.uploads.values()].sort(
      (a, b) => compareKeys(a.key, b.key) || compareNames(a.uploadId, b.uploadId),
    );
  }

  /** Puts a version first in its key's history; a null version replaces the previous null one. Answers the bytes that replaced one held. */
  private addVersion(bucket: BucketRecord, version: ObjectVersion): number {
    let history = bucket.versions.get(version.key);
    if (history === undefined) {
      history = [];
      bucket.versions.set(version.key, history);
      bucket.sortedVersionKeys = null;
    }
    let freed = 0;
    if (version.versionId === NULL_VERSION_ID) {
      const index = history.findIndex((v) => v.versionId === NULL_VERSION_ID);
      if (index !== -1) {
        freed = history[index]?.object?.size ?? 0;
        history.splice(index, 1);
      }
    }
    history.unshift(version);
    return freed;
  }

  private dropVersionKey(bucket: BucketRecord, key: string): void {
    bucket.versions.delete(key);
    const sorted = bucket.sortedVersionKeys;
    if (sorted !== null) {
      const index = lowerBound(sorted, key, compareKeys, true);
      if (sorted[index] === key) sorted.splice(index, 1);
      else bucket.sortedVersionKeys = null;
    }
  }

  /** Makes `object` the key's current object, or hides the key (undefined), keeping the key order. */
  private setCurrent(bucket: BucketRecord, key: string, object: StoredObject | undefined): void {
    const had = bucket.objects.has(key);
    if (object !== undefined) {
      bucket.objects.set(key, object);
      if (!had) this.insertKey(bucket, key);
      return;
    }
    if (!had) return;
    bucket.objects.delete(key);
    const sorted = bucket.sortedKeys;
    if (sorted !== null) {
      const index = lowerBound(sorted, key, compareKeys, true);
      if (sorted[index] === key) sorted.splice(index, 1);
      else bucket.sortedKeys = null;
    }
  }

  /** The bucket's keys in S3 (UTF-8 byte) order. */
  sortedKeys(bucketName: string): readonly string[] {
    const bucket = this.requireBucket(bucketName);
    let sorted = bucket.sortedKeys;
    if (sorted === null || sorted.length !== bucket.objects.size) {
      sorted = [...bucket.objects.keys()].sort(compareKeys);
      bucket.sortedKeys = sorted;
    }
    return sorted;
  }

  /** Brings `h_integral` and `last_ts` up to the current hour, as the gateway's accounting does. */
  settleBucketSize(bucket: EmulatedBucket): void {
    const hour = Math.floor(this.clock().getTime() / HOUR_MS);
    const size = bucket.size;
    if (hour > size.lastTs) {
      size.hIntegral += BigInt(size.current) * BigInt(hour - size.lastTs);
      size.lastTs = hour;
    }
  }

  private changeSize(bucket: EmulatedBucket, delta: number): void {
    this.settleBucketSize(bucket);
    bucket.size.current += delta;
    if (bucket.size.current > bucket.size.hmax) bucket.size.hmax = bucket.size.current;
  }

  private insertKey(bucket: BucketRecord, key: string): void {
    const sorted = bucket.sortedKeys;
    if (sorted === null) return;
    const last = sorted[sorted.length - 1];
    if (last === undefined || compareKeys(last, key) < 0) sorted.push(key);
    else sorted.splice(lowerBound(sorted, key, compareKeys, true), 0, key);
  }

  private requireBucket(name: string): BucketRecord {
    const bucket = this.bucketMap.get(name);
    if (bucket === undefined) throw notFound('NoSuchBucket', 'The specified bucket does not exist');
    return bucket;
  }

  // ---- limits and quotas ---------------------------------------------------------------------

  /** The limits that apply (all zero when none were set). */
  limitsOf(target: { userId: string } | { bucket: string }): Limits {
    const stored =
      'userId' in target ? this.limits.users.get(target.userId) : this.limits.buckets.get(target.bucket);
    return stored ?? zeroLimits();
  }

  setLimit(
    target: { userId: string } | { bucket: string },
    type: 'ops' | 'bandwidth',
    resource: keyof OpsLimits | 'out',
    value: number,
  ): void {
    const map = 'userId' in target ? this.limits.users : this.limits.buckets;
    const key = 'userId' in target ? target.userId : target.bucket;
    let limits = map.get(key);
    if (limits === undefined) {
      limits = zeroLimits();
      map.set(key, limits);
    }
    if (type === 'bandwidth') {
      if (resource !== 'out')
        throw new GatewayError(400, 'InvalidArgument', 'bandwidth limits take resource out');
      limits.bandwidth.out = value;
    } else {
      if (resource === 'out')
        throw new GatewayError(400, 'InvalidArgument', 'ops limits take no resource out');
      limits.ops[resource] = value;
    }
  }

  // ---- usage statistics objects --------------------------------------------------------------

  /** Adds (or replaces) a statistics object; returns its name `s3-usage-<serviceId>-<ISO start>-<period>`. */
  addUsageObject(seed: UsageObjectSeed): string {
    const serviceId = toServiceId(seed.serviceId);
    const items = seed.items.map(toUsageItem);
    const name = usageObjectName(serviceId, seed.start, seed.namePeriod ?? seed.period);
    this.storeUsage(name, {
      fmt_version: seed.fmtVersion ?? 1,
      service_id: serviceId,
      start_ts: Math.floor(seed.start.getTime() / 1000),
      period: seed.period,
      nr_items: items.length,
      items,
    });
    return name;
  }

  /** Adds a statistics object whose body is served verbatim (e.g. to model a truncated or drifted object). */
  addRawUsageObject(name: string, body: string): void {
    this.storeUsage(name, body);
  }

  /** Adds many realistic statistics objects (see `seedUsageObjects`); returns their names. */
  seedUsageObjects(options: UsageSeedOptions): string[] {
    return seedUsageObjects(this, options);
  }

  deleteUsageObject(name: string): boolean {
    if (!this.usageMap.delete(name)) return false;
    const sorted = this.sortedUsageNames;
    if (sorted !== null) {
      const index = lowerBound(sorted, name, compareNames, true);
      if (sorted[index] === name) sorted.splice(index, 1);
      else this.sortedUsageNames = null;
    }
    return true;
  }

  /** One page of statistics object names in name order, strictly after `after`. */
  listUsageObjects(after: string | undefined, limit: number): { items: string[]; truncated: boolean } {
    let sorted = this.sortedUsageNames;
    if (sorted === null || sorted.length !== this.usageMap.size) {
      sorted = [...this.usageMap.keys()].sort(compareNames);
      this.sortedUsageNames = sorted;
    }
    const from = after === undefined ? 0 : lowerBound(sorted, after, compareNames, false);
    const items = sorted.slice(from, from + limit);
    return { items, truncated: from + items.length < sorted.length };
  }

  private storeUsage(name: string, content: UsageObjectContent | string): void {
    const isNew = !this.usageMap.has(name);
    this.usageMap.set(name, content);
    if (!isNew) return;
    const sorted = this.sortedUsageNames;
    if (sorted === null) return;
    const last = sorted[sorted.length - 1];
    if (last === undefined || last < name) sorted.push(name);
    else if (sorted.length < 64) sorted.splice(lowerBound(sorted, name, compareNames, true), 0, name);
    // Out-of-order bulk seeding: sort once on the next listing instead of splicing each time.
    else this.sortedUsageNames = null;
  }
}

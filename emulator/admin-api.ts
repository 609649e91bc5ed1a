// The orchestration API (`/?ostor-<service>&...`) as the VHI 5.1 StaaS Integration Guide documents
// it, with the facts from newer Virtuozzo documentation in shared/reference/ostor-api-notes.md.
// The caller is already authenticated and known to be a system user.

import { badRequest, methodNotAllowed, notFound } from './errors.ts';
import type { Params } from './query.ts';
import { type EmulatorBehaviour, emptyReply, jsonReply, type Reply } from './reply.ts';
import type {
  AccessKey,
  EmulatedAccount,
  EmulatedBucket,
  EmulatedUser,
  EmulatorState,
  Limits,
  OpsLimits,
} from './state.ts';

export const ADMIN_SERVICES = [
  'ostor-users',
  'ostor-accounts',
  'ostor-buckets',
  'ostor-limits',
  'ostor-quotas',
  'ostor-usage',
] as const;

export type AdminService = (typeof ADMIN_SERVICES)[number];

export function isAdminService(name: string): name is AdminService {
  return (ADMIN_SERVICES as readonly string[]).includes(name);
}

export interface AdminRequest {
  readonly method: string;
  readonly service: AdminService;
  /** Every parameter, the service first. */
  readonly params: Params;
  readonly state: EmulatorState;
  readonly behaviour: EmulatorBehaviour;
}

export function handleAdmin(request: AdminRequest): Reply {
  request.params.rejectDuplicates();
  switch (request.service) {
    case 'ostor-users':
      return users(request);
    case 'ostor-accounts':
      return accounts(request);
    case 'ostor-buckets':
      return buckets(request);
    case 'ostor-limits':
      return limits(request);
    case 'ostor-quotas':
      return quotas(request);
    case 'ostor-usage':
      return usage(request);
  }
}

// ---- shared pieces -----------------------------------------------------------------------------

type UserTarget = { by: 'emailAddress'; email: string } | { by: 'id'; id: string };

/** `emailAddress=` or `id=` (never both); null when neither is given. */
function userTarget(params: Params): UserTarget | null {
  const email = params.get('emailAddress');
  const id = params.get('id');
  if (email !== undefined && id !== undefined) {
    throw badRequest('Specify either emailAddress or id, not both');
  }
  if (email !== undefined) {
    if (email === '') throw badRequest('Parameter emailAddress must not be empty');
    return { by: 'emailAddress', email };
  }
  if (id !== undefined) {
    if (id === '') throw badRequest('Parameter id must not be empty');
    return { by: 'id', id };
  }
  return null;
}

function findUser(state: EmulatorState, target: UserTarget): EmulatedUser {
  if (target.by === 'emailAddress') {
    const user = state.findUserByEmail(target.email);
    if (user === undefined) {
      throw notFound('NoSuchUser', `The user with email address ${target.email} does not exist`);
    }
    return user;
  }
  const user = state.users.get(target.id);
  if (user === undefined) throw notFound('NoSuchUser', `The user with id ${target.id} does not exist`);
  return user;
}

function requireUser(request: AdminRequest, operation: string): EmulatedUser {
  const target = userTarget(request.params);
  if (target === null) throw badRequest(`${operation} requires emailAddress or id`);
  return findUser(request.state, target);
}

function keysJson(keys: readonly AccessKey[]): { AWSAccessKeyId: string; AWSSecretAccessKey: string }[] {
  return keys.map((k) => ({ AWSAccessKeyId: k.accessKeyId, AWSSecretAccessKey: k.secretAccessKey }));
}

function accountJson(account: EmulatedAccount): unknown {
  return { Name: account.name, AWSAccessKeys: keysJson(account.keys) };
}

function fullUserJson(user: EmulatedUser): unknown {
  return {
    UserEmail: user.email,
    UserId: user.id,
    State: user.state,
    OwnerId: user.ownerId,
    Flags: user.flags,
    AWSAccessKeys: keysJson(user.keys),
    AccountCount: String(user.accounts.length),
    Accounts: user.accounts.map(accountJson),
  };
}

function deleted(request: AdminRequest): Reply {
  return emptyReply(request.behaviour.deleteStatus);
}

function nonEmpty(params: Params, name: string, operation: string): string {
  const value = params.get(name);
  if (value === undefined) throw badRequest(`${operation} requires parameter ${name}`);
  if (value === '') throw badRequest(`Parameter ${name} must not be empty`);
  return value;
}

// ---- ostor-users -------------------------------------------------------------------------------

const USER_TARGET = ['emailAddress', 'id'] as const;

function users(request: AdminRequest): Reply {
  const { params, state } = request;
  switch (request.method) {
    case 'GET': {
      params.allowOnly(['ostor-users', ...USER_TARGET], 'GET ?ostor-users');
      const target = userTarget(params);
      if (target === null) {
        const list = [...state.users.values()].map((u) => ({
          UserEmail: u.email,
          UserId: u.id,
          State: u.state,
          OwnerId: u.ownerId,
        }));
        return jsonReply(request.behaviour.userListFormat === 'wrapped' ? { Users: list } : list);
      }
      return jsonReply(fullUserJson(findUser(state, target)));
    }
    case 'PUT': {
      // Older product lines generated and revoked keys with PUT.
      if (params.has('genKey') || params.has('revokeKey')) return keyOperation(request);
      params.allowOnly(['ostor-users', 'emailAddress'], 'creating a user (PUT ?ostor-users)');
      const email = nonEmpty(params, 'emailAddress', 'Creating a user');
      // The gateway keeps users apart by id, not by email: a second user with the same email is created.
      const user = state.createUser(email);
      return jsonReply({ UserEmail: user.email, UserId: user.id, AWSAccessKeys: keysJson(user.keys) });
    }
    case 'POST': {
      const operations = ['disable', 'enable', 'genKey', 'revokeKey'].filter((name) => params.has(name));
      if (operations.length === 0) {
        throw badRequest('POST ?ostor-users requires one of disable, enable, genKey, revokeKey');
      }
      if (operations.length > 1) throw badRequest(`Only one operation at a time: ${operations.join(', ')}`);
      if (operations[0] === 'genKey' || operations[0] === 'revokeKey') return keyOperation(request);
      const operation = operations[0] === 'disable' ? 'disable' : 'enable';
      params.allowOnly(['ostor-users', ...USER_TARGET, operation], `${operation} (POST ?ostor-users)`);
      params.flag(operation);
      const user = requireUser(request, `${operation}`);
      user.state = operation === 'disable' ? 'disabled' : 'enabled';
      return emptyReply();
    }
    case 'DELETE': {
      params.allowOnly(['ostor-users', ...USER_TARGET], 'DELETE ?ostor-users');
      const user = requireUser(request, 'Deleting a user');
      state.deleteUser(user.id);
      return deleted(request);
    }
    default:
      throw methodNotAllowed(request.method, '?ostor-users');
  }
}

function keyOperation(request: AdminRequest): Reply {
  const { params, state } = request;
  if (params.has('genKey') && params.has('revokeKey'))
    throw badRequest('Only one operation at a time: genKey, revokeKey');
  const accountName = params.get('accountName') ?? null;
  if (accountName === '') throw badRequest('Parameter accountName must not be empty');
  if (params.has('genKey')) {
    params.allowOnly(['ostor-users', ...USER_TARGET, 'accountName', 'genKey'], 'genKey');
    params.flag('genKey');
    const user = requireUser(request, 'genKey');
    const key = state.generateKey(user.id, accountName);
    // The answer names the user and lists only the new pair, for an account key as well.
    return jsonReply({ UserEmail: user.email, UserId: user.id, AWSAccessKeys: keysJson([key]) });
  }
  params.allowOnly(['ostor-users', ...USER_TARGET, 'accountName', 'revokeKey'], 'revokeKey');
  const keyId = nonEmpty(params, 'revokeKey', 'revokeKey');
  const user = requireUser(request, 'revokeKey');
  state.revokeKey(user.id, keyId, accountName);
  return emptyReply();
}

// ---- ostor-accounts ----------------------------------------------------------------------------

function accounts(request: AdminRequest): Reply {
  const { params, state } = request;
  const allowed = ['ostor-accounts', ...USER_TARGET, 'accountName'];
  switch (request.method) {
    // The 5.1 text says PUT, its example and later versions use POST: both create.
    case 'POST':
    case 'PUT': {
      params.allowOnly(allowed, 'creating an account');
      const name = nonEmpty(params, 'accountName', 'Creating an account');
      const user = requireUser(request, 'Creating an account');
      return jsonReply(accountJson(state.createAccount(user.id, name)));
    }
    case 'DELETE': {
      params.allowOnly(allowed, 'deleting an account');
      const name = nonEmpty(params, 'accountName', 'Deleting an account');
      const user = requireUser(request, 'Deleting an account');
      state.deleteAccount(user.id, name);
      return deleted(request);
    }
    default:
      throw methodNotAllowed(request.method, '?ostor-accounts');
  }
}

// ---- ostor-buckets -----------------------------------------------------------------------------

function bucketJson(state: EmulatorState, bucket: EmulatedBucket): unknown {
  state.settleBucketSize(bucket);
  return {
    size: {
      current: bucket.size.current,
      h_integral: bucket.size.hIntegral,
      hmax: bucket.size.hmax,
      last_ts: bucket.size.lastTs,
    },
    epoch: bucket.epoch,
    owner_id: bucket.ownerId,
    name: bucket.name,
    creation_date: bucket.creationDate.toISOString(),
  };
}

function buckets(request: AdminRequest): Reply {
  const { params, state } = request;
  if (request.method !== 'GET') throw methodNotAllowed(request.method, '?ostor-buckets');
  params.allowOnly(['ostor-buckets', ...USER_TARGET, 'bucket'], 'GET ?ostor-buckets');
  const target = userTarget(params);
  const bucketName = params.get('bucket');
  if (bucketName !== undefined) {
    if (target !== null) throw badRequest('Specify either a user or a bucket, not both');
    const bucket = state.buckets.get(bucketName);
    if (bucket === undefined) throw notFound('NoSuchBucket', `The bucket ${bucketName} does not exist`);
    // Same envelope as the listings, with the one bucket.
    return jsonReply({ Buckets: [bucketJson(state, bucket)] });
  }
  const selected =
    target === null ? [...state.buckets.values()] : state.bucketsOwnedBy(findUser(state, target).id);
  return jsonReply({ Buckets: selected.map((b) => bucketJson(state, b)) });
}

// ---- ostor-limits ------------------------------------------------------------------------------

type LimitsTarget = { userId: string } | { bucket: string };

function limitsTarget(request: AdminRequest): LimitsTarget {
  const { params, state } = request;
  const user = userTarget(params);
  const bucket = params.get('bucket');
  if (user !== null && bucket !== undefined) throw badRequest('Specify either a user or a bucket, not both');
  if (user !== null) return { userId: findUser(state, user).id };
  if (bucket === undefined) throw badRequest('?ostor-limits requires emailAddress, id or bucket');
  if (!state.buckets.has(bucket)) throw notFound('NoSuchBucket', `The bucket ${bucket} does not exist`);
  return { bucket };
}

const OPS_RESOURCES: readonly (keyof OpsLimits)[] = ['default', 'get', 'put', 'list', 'delete'];

function limitsJson(limits: Limits): Record<string, string> {
  return {
    'ops:default': limits.ops.default.toFixed(2),
    'ops:get': limits.ops.get.toFixed(2),
    'ops:put': limits.ops.put.toFixed(2),
    'ops:list': limits.ops.list.toFixed(2),
    'ops:delete': limits.ops.delete.toFixed(2),
    'bandwidth:out': String(limits.bandwidth.out),
  };
}

function limits(request: AdminRequest): Reply {
  const { params, state } = request;
  const targetNames = ['ostor-limits', ...USER_TARGET, 'bucket'];
  switch (request.method) {
    case 'GET': {
      params.allowOnly(targetNames, 'GET ?ostor-limits');
      return jsonReply(limitsJson(state.limitsOf(limitsTarget(request))));
    }
    case 'PUT': {
      params.allowOnly([...targetNames, 'limit-type', 'limit-resource', 'limit-value'], 'PUT ?ostor-limits');
      const type = nonEmpty(params, 'limit-type', 'Setting a limit');
      const resource = nonEmpty(params, 'limit-resource', 'Setting a limit');
      const text = nonEmpty(params, 'limit-value', 'Setting a limit');
      const target = limitsTarget(request);
      if (type === 'ops') {
        const opsResource = OPS_RESOURCES.find((r) => r === resource);
        if (opsResource === undefined) {
          throw badRequest(`limit-resource for ops must be one of ${OPS_RESOURCES.join(', ')}: ${resource}`);
        }
        if (!/^\d+(\.\d+)?$/.test(text))
          throw badRequest(`limit-value must be a non-negative number: ${text}`);
        state.setLimit(target, 'ops', opsResource, Number(text));
      } else if (type === 'bandwidth') {
        if (resource !== 'out') throw badRequest(`limit-resource for bandwidth must be out: ${resource}`);
        if (!/^\d+$/.test(text))
          throw badRequest(`limit-value for bandwidth must be a whole number: ${text}`);
        state.setLimit(target, 'bandwidth', 'out', Number(text));
      } else {
        throw badRequest(`limit-type must be ops or bandwidth: ${type}`);
      }
      return emptyReply();
    }
    case 'DELETE': {
      params.allowOnly(targetNames, 'DELETE ?ostor-limits');
      const target = limitsTarget(request);
      if ('userId' in target) state.limits.users.delete(target.userId);
      else state.limits.buckets.delete(target.bucket);
      return deleted(request);
    }
    default:
      throw methodNotAllowed(request.method, '?ostor-limits');
  }
}

// ---- ostor-quotas ------------------------------------------------------------------------------

type QuotaTarget =
  | { kind: 'user'; userId: string }
  | { kind: 'bucket'; bucket: string }
  | { kind: 'default'; of: 'user' | 'bucket' };

function quotaTarget(request: AdminRequest): QuotaTarget {
  const { params, state } = request;
  const user = userTarget(params);
  const bucket = params.get('bucket');
  const byDefault = params.get('default');
  const given = [user !== null, bucket !== undefined, byDefault !== undefined].filter(Boolean).length;
  if (given === 0) throw badRequest('?ostor-quotas requires emailAddress, id, bucket or default');
  if (given > 1) throw badRequest('Specify exactly one of a user, a bucket or default');
  if (user !== null) return { kind: 'user', userId: findUser(state, user).id };
  if (bucket !== undefined) {
    if (!state.buckets.has(bucket)) throw notFound('NoSuchBucket', `The bucket ${bucket} does not exist`);
    return { kind: 'bucket', bucket };
  }
  if (byDefault !== 'user' && byDefault !== 'bucket') {
    throw badRequest(`Parameter default must be user or bucket: ${byDefault ?? ''}`);
  }
  return { kind: 'default', of: byDefault };
}

function quotas(request: AdminRequest): Reply {
  const { params, state } = request;
  const targetNames = ['ostor-quotas', ...USER_TARGET, 'bucket', 'default'];
  const q = state.quotas;
  switch (request.method) {
    case 'GET': {
      params.allowOnly(targetNames, 'GET ?ostor-quotas');
      const target = quotaTarget(request);
      const isUser = target.kind === 'user' || (target.kind === 'default' && target.of === 'user');
      const size =
        target.kind === 'user'
          ? q.users.get(target.userId)
          : target.kind === 'bucket'
            ? q.buckets.get(target.bucket)
            : q.defaults[target.of];
      // No quota set reads as size "0", the gateway's "unlimited".
      return jsonReply({ version: '1', type: isUser ? '0' : '1', size: String(size ?? 0) });
    }
    case 'PUT': {
      params.allowOnly([...targetNames, 'quota-size'], 'PUT ?ostor-quotas');
      const text = nonEmpty(params, 'quota-size', 'Setting a quota');
      if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
        throw badRequest(`quota-size must be a whole number of gigabytes: ${text}`);
      }
      const size = Number(text);
      const target = quotaTarget(request);
      if (target.kind === 'user') q.users.set(target.userId, size);
      else if (target.kind === 'bucket') q.buckets.set(target.bucket, size);
      else q.defaults[target.of] = size;
      return emptyReply();
    }
    case 'DELETE': {
      params.allowOnly(targetNames, 'DELETE ?ostor-quotas');
      const target = quotaTarget(request);
      if (target.kind === 'user') q.users.delete(target.userId);
      else if (target.kind === 'bucket') q.buckets.delete(target.bucket);
      else q.defaults[target.of] = null;
      return deleted(request);
    }
    default:
      throw methodNotAllowed(request.method, '?ostor-quotas');
  }
}

// ---- ostor-usage -------------------------------------------------------------------------------

function usage(request: AdminRequest): Reply {
  const { params, state, behaviour } = request;
  switch (request.method) {
    case 'GET': {
      if (params.has('obj')) {
        params.allowOnly(['ostor-usage', 'obj'], 'GET ?ostor-usage&obj=');
        const name = nonEmpty(params, 'obj', 'Reading a statistics object');
        const content = state.usage.get(name);
        if (content === undefined)
          throw notFound('NoSuchKey', `The statistics object ${name} does not exist`);
        if (typeof content === 'string') {
          return { status: 200, headers: { 'content-type': 'application/json' }, body: content };
        }
        return jsonReply(content);
      }
      params.allowOnly(['ostor-usage', 'after', 'limit'], 'GET ?ostor-usage');
      const limitText = params.get('limit');
      let limit = behaviour.usagePageSize;
      if (limitText !== undefined) {
        if (!/^\d+$/.test(limitText) || Number(limitText) < 1) {
          throw badRequest(`limit must be a positive whole number: ${limitText}`);
        }
        limit = Number(limitText);
      }
      const page = state.listUsageObjects(params.get('after'), limit);
      const reply = jsonReply({ nr_items: page.items.length, truncated: page.truncated, items: page.items });
      const brokenAbove = behaviour.brokenUsageJsonAboveLimit;
      if (
        brokenAbove !== null &&
        limitText !== undefined &&
        limit > brokenAbove &&
        typeof reply.body === 'string'
      ) {
        // The defect seen in the field: a large page comes back cut short.
        reply.body = reply.body.slice(0, Math.max(1, Math.floor(reply.body.length * 0.6)));
      }
      return reply;
    }
    case 'DELETE': {
      params.allowOnly(['ostor-usage', 'obj'], 'DELETE ?ostor-usage');
      const name = nonEmpty(params, 'obj', 'Deleting a statistics object');
      if (!state.deleteUsageObject(name)) {
        throw notFound('NoSuchKey', `The statistics object ${name} does not exist`);
      }
      return deleted(request);
    }
    default:
      throw methodNotAllowed(request.method, '?ostor-usage');
  }
}

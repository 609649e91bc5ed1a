// zod schemas for every gateway answer, tolerant of the documented drift (a user list as a bare
// array or `{Users}`, numbers printed as strings such as "3600.00", `AccountCount` as a string,
// unknown extra fields), each mapped to a camelCase domain type. Types are inferred from them.
import * as z from 'zod';

// Every schema below is wrapped in `z.lazy`: zod builds a schema's object graph when it is
// defined, and each function calls only a few gateway operations (suspend and resume read one
// user; only collect-usage reads usage, only terminate buckets). Built on first parse instead, a
// function never pays at cold start for the schemas it does not use. Parsing is unchanged.

// --- scalars --------------------------------------------------------------------------------

/** A whole number that may arrive as a JSON number or as a string of digits. */
const count = z.lazy(() =>
  z
    .union([z.number(), z.string().trim().regex(/^\d+$/, 'must be digits').transform(Number)])
    .pipe(z.number().int().nonnegative().refine(Number.isSafeInteger, 'must be a safe integer')),
);

/**
 * A 64-bit counter (bytes, byte-hours): kept as a bigint, since `h_integral` already reaches 1e12
 * and grows past 2^53 for a large bucket within a year. `parseGatewayJson` hands integers beyond
 * 2^53 over as bigints, so nothing is rounded on the way.
 */
const u64 = z.lazy(() =>
  z
    .union([
      z.bigint().nonnegative(),
      z.number().int().nonnegative().refine(Number.isSafeInteger, 'must be a safe integer'),
      z.string().trim().regex(/^\d+$/, 'must be digits'),
    ])
    .transform((value) => BigInt(value)),
);

/** A limit value: a number, or a string such as "3600.00" (a trailing unit like `ops/s` is ignored). */
const decimal = z.lazy(() =>
  z
    .union([
      z.number(),
      z
        .string()
        .trim()
        .regex(/^\d+(?:\.\d+)?\s*[A-Za-z/]*$/, 'must be a decimal number')
        .transform((value) => Number.parseFloat(value)),
    ])
    .pipe(z.number().finite().nonnegative()),
);

/** A boolean that some versions print as a string or a number. */
const flagValue = z.lazy(() =>
  z.union([
    z.boolean(),
    z
      .enum(['true', 'false', 'True', 'False', '1', '0'])
      .transform((value) => value.toLowerCase() === 'true' || value === '1'),
    z.literal([0, 1]).transform((value) => value === 1),
  ]),
);

/** An absent or null array is an empty one. */
const list = <T extends z.ZodType>(item: T) =>
  z
    .array(item)
    .nullish()
    .transform((value): z.output<T>[] => value ?? []);

const text = z.string();
const userState = z.lazy(() =>
  z
    .string()
    .transform((value) => value.toLowerCase())
    .pipe(z.enum(['enabled', 'disabled'])),
);

// --- users and accounts ---------------------------------------------------------------------

export const AccessKeySchema = z.lazy(() =>
  z
    .object({ AWSAccessKeyId: z.string().min(1), AWSSecretAccessKey: z.string().min(1) })
    .transform((k) => ({ accessKeyId: k.AWSAccessKeyId, secretAccessKey: k.AWSSecretAccessKey })),
);
export type AccessKey = Readonly<z.output<typeof AccessKeySchema>>;

export const AccountSchema = z.lazy(() =>
  z
    .object({ Name: z.string().min(1), AWSAccessKeys: list(AccessKeySchema) })
    .transform((a) => ({ name: a.Name, accessKeys: a.AWSAccessKeys })),
);
export type Account = Readonly<z.output<typeof AccountSchema>>;

const userSummaryFields = {
  UserEmail: text,
  UserId: z.string().min(1),
  State: userState,
  OwnerId: text,
};

export const UserSummarySchema = z.lazy(() =>
  z.object(userSummaryFields).transform((u) => ({
    userId: u.UserId,
    email: u.UserEmail,
    state: u.State,
    ownerId: u.OwnerId,
  })),
);
export type UserSummary = Readonly<z.output<typeof UserSummarySchema>>;

/** `GET ?ostor-users`: a bare array in 5.x, `{"Users": [...]}` in some versions. */
export const UserListSchema = z.lazy(() =>
  z
    .union([z.array(UserSummarySchema), z.object({ Users: list(UserSummarySchema) })])
    .transform((value) => (Array.isArray(value) ? value : value.Users)),
);

/** `Flags` is an array (`[]`, `["system"]`); tolerated as a comma-separated string too. */
const userFlags = z
  .union([z.array(text), z.string()])
  .nullish()
  .transform((value) =>
    value === null || value === undefined
      ? []
      : Array.isArray(value)
        ? value
        : value
            .split(',')
            .map((flag) => flag.trim())
            .filter((flag) => flag !== ''),
  );

export const UserSchema = z.lazy(() =>
  z
    .object({
      ...userSummaryFields,
      Flags: userFlags,
      AWSAccessKeys: list(AccessKeySchema),
      AccountCount: count.optional(),
      Accounts: list(AccountSchema),
    })
    .transform((u) => ({
      userId: u.UserId,
      email: u.UserEmail,
      state: u.State,
      ownerId: u.OwnerId,
      flags: u.Flags,
      /** Oldest first, as the gateway lists them; secrets are returned on every GET. */
      accessKeys: u.AWSAccessKeys,
      accounts: u.Accounts,
      accountCount: u.AccountCount ?? u.Accounts.length,
    })),
);
export type User = Readonly<z.output<typeof UserSchema>>;

/** `PUT ?ostor-users&emailAddress=`: the new user and its first key pair. */
export const CreatedUserSchema = z.lazy(() =>
  z
    .object({ UserEmail: text, UserId: z.string().min(1), AWSAccessKeys: z.array(AccessKeySchema).min(1) })
    .transform((u) => ({ userId: u.UserId, email: u.UserEmail, accessKeys: u.AWSAccessKeys })),
);
export type CreatedUser = Readonly<z.output<typeof CreatedUserSchema>>;

/**
 * `POST ?ostor-users&genKey`: the user (or `Name` for an account) and the new pair. The guide
 * prints only the new pair; should a version list every pair, the newest is the last one.
 */
export const GeneratedKeySchema = z.lazy(() =>
  z
    .object({ AWSAccessKeys: z.array(AccessKeySchema).min(1) })
    .transform((value) => value.AWSAccessKeys[value.AWSAccessKeys.length - 1] as AccessKey),
);

/** `POST ?ostor-accounts`: the account and its first key pair. */
export const CreatedAccountSchema = AccountSchema;

// --- buckets --------------------------------------------------------------------------------

export const BucketSchema = z.lazy(() =>
  z
    .object({
      name: z.string().min(1),
      epoch: count,
      owner_id: text,
      creation_date: text,
      size: z.object({ current: u64, h_integral: u64, hmax: u64, last_ts: count }),
    })
    .transform((b) => ({
      name: b.name,
      ownerId: b.owner_id,
      epoch: b.epoch,
      /** ISO 8601 as the gateway printed it. */
      createdAt: b.creation_date,
      size: {
        /** Bytes stored now. */
        current: b.size.current,
        /** Byte-hours accumulated. */
        hIntegral: b.size.h_integral,
        /** Largest size seen, bytes. */
        hmax: b.size.hmax,
        /** Hours since the Unix epoch of the last accounting. */
        lastTs: b.size.last_ts,
      },
    })),
);
export type BucketInfo = Readonly<z.output<typeof BucketSchema>>;

/** `GET ?ostor-buckets`: `{"Buckets": [...]}`; tolerated as a bare array. */
export const BucketListSchema = z.lazy(() =>
  z
    .union([z.array(BucketSchema), z.object({ Buckets: list(BucketSchema) })])
    .transform((value) => (Array.isArray(value) ? value : value.Buckets)),
);

// --- limits and quotas ----------------------------------------------------------------------

/** `GET ?ostor-limits`: `"ops:get": "3600.00"`, `"bandwidth:out": "100"`; absent means 0 (unlimited). */
export const LimitsSchema = z.lazy(() =>
  z
    .object({
      'ops:default': decimal.optional(),
      'ops:get': decimal.optional(),
      'ops:put': decimal.optional(),
      'ops:list': decimal.optional(),
      'ops:delete': decimal.optional(),
      'bandwidth:out': decimal.optional(),
    })
    .transform((l) => ({
      /** Operations per second; 0 is unlimited. */
      ops: {
        default: l['ops:default'] ?? 0,
        get: l['ops:get'] ?? 0,
        put: l['ops:put'] ?? 0,
        list: l['ops:list'] ?? 0,
        delete: l['ops:delete'] ?? 0,
      },
      /** Outgoing bandwidth in KB/s; 0 is unlimited. */
      bandwidth: { out: l['bandwidth:out'] ?? 0 },
    })),
);
export type Limits = Readonly<z.output<typeof LimitsSchema>>;

/** `GET ?ostor-quotas`: `{"version": "1", "type": "0" (user) | "1" (bucket), "size": "<GB>"}`. */
export const QuotaSchema = z.lazy(() =>
  z
    .object({
      type: z.union([z.literal(['0', '1', 'user', 'bucket']), z.literal([0, 1])]),
      size: count,
    })
    .transform((q) => ({
      type: q.type === '0' || q.type === 0 || q.type === 'user' ? ('user' as const) : ('bucket' as const),
      sizeGb: q.size,
    })),
);
export type Quota = Readonly<z.output<typeof QuotaSchema>>;

/**
 * A quota, or undefined when none is set: size 0 (the gateway's "unlimited", which is what it
 * answers for a target without a quota), an empty body, `null` or `{}`.
 */
export const QuotaOrNoneSchema = z.lazy(() =>
  z.union([
    QuotaSchema.transform((quota) => (quota.sizeGb === 0 ? undefined : quota)),
    z.null().transform(() => undefined),
    z.strictObject({}).transform(() => undefined),
  ]),
);

// --- usage statistics -----------------------------------------------------------------------

/** `GET ?ostor-usage`: `{"nr_items": 7, "truncated": false, "items": ["s3-usage-...", ...]}`. */
export const UsageListSchema = z.lazy(() =>
  z
    .object({ truncated: flagValue.optional(), items: list(z.string().min(1)) })
    .transform((value) => ({ names: value.items, truncated: value.truncated ?? false })),
);
export type UsageList = Readonly<z.output<typeof UsageListSchema>>;

const UsageItemSchema = z.lazy(() =>
  z
    .object({
      key: z.object({
        bucket: text.nullish(),
        epoch: count.nullish(),
        user_id: text.nullish(),
        tag: text.nullish(),
      }),
      counters: z.object({
        ops: z
          .object({
            put: count.optional(),
            get: count.optional(),
            list: count.optional(),
            other: count.optional(),
          })
          .optional(),
        net_io: z.object({ uploaded: u64.optional(), downloaded: u64.optional() }).optional(),
      }),
    })
    .transform((item) => ({
      /** Empty for gateway-level operations (such as listing buckets) that touch no bucket. */
      bucket: item.key.bucket ?? '',
      epoch: item.key.epoch ?? 0,
      /** Empty for anonymous requests. */
      userId: item.key.user_id ?? '',
      tag: item.key.tag ?? '',
      ops: {
        put: item.counters.ops?.put ?? 0,
        get: item.counters.ops?.get ?? 0,
        list: item.counters.ops?.list ?? 0,
        other: item.counters.ops?.other ?? 0,
      },
      bytes: {
        uploaded: item.counters.net_io?.uploaded ?? 0n,
        downloaded: item.counters.net_io?.downloaded ?? 0n,
      },
    })),
);
export type UsageItem = Readonly<z.output<typeof UsageItemSchema>>;

/**
 * `GET ?ostor-usage&obj=`. `service_id` is close to 2^53 and may pass it: `parseGatewayJson`
 * hands it over as the literal digits of the JSON text, so it is never rounded.
 */
export const UsageObjectSchema = z.lazy(() =>
  z.object({
    fmt_version: count,
    service_id: z
      .union([z.string().regex(/^[0-9A-Fa-f]+$/), z.number().int().nonnegative()])
      .transform(String),
    start_ts: count,
    period: count,
    items: list(UsageItemSchema),
  }),
);

export type UsageObject = Readonly<{
  /** The statistics object's name. */
  name: string;
  fmtVersion: number;
  /** As the gateway printed it (text: it may exceed 2^53). */
  serviceId: string;
  /** Start of the period, Unix seconds. */
  startTs: number;
  /** Length of the period, seconds. */
  period: number;
  items: readonly UsageItem[];
}>;

export function toUsageObject(name: string, raw: z.output<typeof UsageObjectSchema>): UsageObject {
  return {
    name,
    fmtVersion: raw.fmt_version,
    serviceId: raw.service_id,
    startTs: raw.start_ts,
    period: raw.period,
    items: raw.items,
  };
}

// --- JSON -----------------------------------------------------------------------------------

interface ReviverContext {
  readonly source?: string;
}

/**
 * JSON.parse that loses no digits: `service_id` comes back as the literal text of the number, and
 * any other integer beyond 2^53 as a bigint (Node's `JSON.parse` hands the reviver the source text
 * of each primitive). Throws SyntaxError on broken JSON.
 */
export function parseGatewayJson(text: string): unknown {
  return JSON.parse(text, function revive(key: string, value: unknown, context?: ReviverContext) {
    if (typeof value !== 'number') return value;
    const source = context?.source;
    if (source === undefined) return value;
    if (key === 'service_id') return source;
    if (!Number.isSafeInteger(value) && /^\d+$/.test(source)) return BigInt(source);
    return value;
  });
}

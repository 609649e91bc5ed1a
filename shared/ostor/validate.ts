// Validation of every value the client sends to the gateway, run before any request. Each rule is
// written once, as `xxxProblem(value)` (the problem text, or undefined), and used in three forms:
// by itself, as `checkXxx(value, field)` that throws an InvalidInputError naming the field, and
// through `withRule` inside the edge's zod schemas, so the edge refuses exactly what the client would.
import type * as z from 'zod';
import { InvalidInputError } from '../errors.ts';

const MAX_EMAIL_LENGTH = 254;
const MAX_LOCAL_PART_LENGTH = 64;
const MAX_DOMAIN_LENGTH = 253;

// RFC 5322 `atext`: the dot-atom local part, without quoted strings or comments. It includes
// `+ & = % # ? / !` on purpose: they are legal in addresses and the query builder encodes them.
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+$/;
const HOST_LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

const EMAIL_PROBLEM = 'must be a plain local@domain address';

/**
 * A plain `local@domain` address: printable ASCII only (no whitespace, control characters or
 * Unicode look-alikes), a dot-atom local part of at most 64 characters, a domain of at least two
 * valid hostname labels whose last label is not all digits, at most 254 characters in all. The
 * value is never trimmed or case-folded: the gateway receives exactly what was given.
 */
export function emailProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (value.length > MAX_EMAIL_LENGTH) return `must be at most ${MAX_EMAIL_LENGTH} characters`;
  if (!/^[\x21-\x7e]+$/.test(value)) return `${EMAIL_PROBLEM} (no spaces, control or non-ASCII characters)`;
  const at = value.lastIndexOf('@');
  if (at < 0 || value.indexOf('@') !== at) return EMAIL_PROBLEM;
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (local.length === 0 || local.length > MAX_LOCAL_PART_LENGTH) return EMAIL_PROBLEM;
  if (!local.split('.').every((atom) => ATEXT.test(atom))) return EMAIL_PROBLEM;
  if (domainProblem(domain) !== undefined) return EMAIL_PROBLEM;
  return undefined;
}

function domainProblem(domain: string): string | undefined {
  if (domain.length === 0 || domain.length > MAX_DOMAIN_LENGTH) return 'bad length';
  const labels = domain.split('.');
  if (labels.length < 2) return 'needs a dot';
  if (!labels.every((label) => HOST_LABEL.test(label))) return 'bad label';
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 'numeric top-level label';
  return undefined;
}

const BUCKET_CHARS = /^[a-z0-9][a-z0-9.-]*[a-z0-9]$/;
const IPV4_LIKE = /^\d{1,3}(?:\.\d{1,3}){3}$/;
const RESERVED_PREFIXES = ['xn--', 'sthree-'];
const RESERVED_SUFFIXES = ['-s3alias', '--ol-s3'];

/** The S3 bucket-naming rules for general-purpose buckets. */
export function bucketNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length < 3 || value.length > 63) return 'must be 3 to 63 characters long';
  if (!BUCKET_CHARS.test(value)) {
    return 'must hold only lowercase letters, digits, dots and hyphens, and start and end with a letter or digit';
  }
  if (value.includes('..')) return 'must not contain two adjacent dots';
  if (IPV4_LIKE.test(value)) return 'must not be formatted as an IP address';
  const prefix = RESERVED_PREFIXES.find((p) => value.startsWith(p));
  if (prefix !== undefined) return `must not start with the reserved prefix ${prefix}`;
  const suffix = RESERVED_SUFFIXES.find((s) => value.endsWith(s));
  if (suffix !== undefined) return `must not end with the reserved suffix ${suffix}`;
  return undefined;
}

/** The gateway's user ids: 16 lowercase hexadecimal digits (`a14040e0b2ef8b28`). */
export function userIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  return /^[0-9a-f]{16}$/.test(value) ? undefined : 'must be 16 lowercase hexadecimal digits';
}

/**
 * Access key ids as the gateway issues them: the user id followed by a few upper-case letters and
 * digits (`a14040e0b2ef8b28FZZ8`); accepted more broadly as 16 to 128 ASCII letters and digits.
 */
export function accessKeyIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  return /^[A-Za-z0-9]{16,128}$/.test(value) ? undefined : 'must be 16 to 128 ASCII letters and digits';
}

/** Account (project) names: a letter or digit, then letters, digits, `.`, `_` or `-`; 1 to 64 in all. */
export function accountNameProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(value)
    ? undefined
    : 'must be 1 to 64 letters, digits, dots, underscores or hyphens, starting with a letter or digit';
}

/** Upper bound of an operations-per-second limit; keeps the decimal rendering free of exponents. */
export const MAX_OPS_LIMIT = 1_000_000_000;
/** Upper bound of a bandwidth limit in KB/s (a 32-bit signed counter on the gateway side). */
export const MAX_BANDWIDTH_LIMIT = 2_147_483_647;

/** A number whose shortest decimal form (what JSON carried) has at most two digits after the point. */
const HUNDREDTHS = /^\d+(?:\.\d{1,2})?$/;

/**
 * Operations per second: finite, non-negative, at most two decimal places (the gateway stores
 * and prints hundredths: `"3600.00"`), at most 1e9. 0 means unlimited. The decimals are judged on
 * the number's own decimal form, not within a tolerance: 1e-9 would otherwise pass and be sent as
 * "0", which the gateway reads as unlimited.
 */
export function opsLimitProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value)) return 'must be a finite number';
  if (value < 0) return 'must not be negative';
  if (value > MAX_OPS_LIMIT) return `must be at most ${MAX_OPS_LIMIT}`;
  // Below the maximum String() never uses an exponent except for tiny values (1e-7), refused here too.
  if (!HUNDREDTHS.test(String(value))) return 'must have at most two decimal places';
  return undefined;
}

/** Outgoing bandwidth in KB/s, as the gateway takes it: a whole non-negative number. 0 means unlimited. */
export function bandwidthLimitProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be a whole number of KB/s';
  if (value < 0) return 'must not be negative';
  if (value > MAX_BANDWIDTH_LIMIT) return `must be at most ${MAX_BANDWIDTH_LIMIT}`;
  return undefined;
}

/** Quotas are whole gigabytes, non-negative, exactly representable. */
export function quotaSizeProblem(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return 'must be a whole number of GB';
  if (value < 0) return 'must not be negative';
  if (!Number.isSafeInteger(value)) return `must be at most ${Number.MAX_SAFE_INTEGER}`;
  return undefined;
}

/**
 * `s3-usage-<service id>-<ISO 8601 start>-<period seconds>`. The service id is printed in
 * hexadecimal (`800000000000006a`), so hex digits are accepted in either case.
 */
const STATISTICS_OBJECT_NAME =
  /^s3-usage-([0-9A-Fa-f]{1,32})-(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?Z)-(\d{1,12})$/;

export interface StatisticsObjectName {
  readonly name: string;
  /** As printed in the name (text: the id is close to 2^53 and must not be rounded). */
  readonly serviceId: string;
  /** The period start as printed, e.g. `2017-02-01T16:31:54.000Z`. */
  readonly start: string;
  readonly startMs: number;
  readonly periodSeconds: number;
}

export function statisticsObjectNameProblem(value: unknown): string | undefined {
  return parseName(value) === undefined
    ? 'must be a statistics object name such as s3-usage-8000000000000065-2017-02-01T16:31:54.000Z-1800'
    : undefined;
}

/** Splits a statistics object name into its parts, or undefined when it is not one. */
export function parseStatisticsObjectName(value: unknown): StatisticsObjectName | undefined {
  return parseName(value);
}

function parseName(value: unknown): StatisticsObjectName | undefined {
  if (typeof value !== 'string') return undefined;
  const match = STATISTICS_OBJECT_NAME.exec(value);
  if (match === null) return undefined;
  const [, serviceId = '', start = '', period = ''] = match;
  const startMs = Date.parse(start);
  // Date.parse rolls impossible dates over (2017-02-31 becomes 3 March): insist on a round trip.
  if (!Number.isFinite(startMs) || new Date(startMs).toISOString().slice(0, 19) !== start.slice(0, 19)) {
    return undefined;
  }
  return { name: value, serviceId, start, startMs, periodSeconds: Number(period) };
}

const MAX_OBJECT_KEY_BYTES = 1024;
// Characters XML 1.0 cannot carry even as a reference: such a key cannot be named in a
// DeleteObjects body, so it is refused rather than silently altered.
function hasXmlForbiddenCharacter(value: string): boolean {
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    if (
      (unit < 0x20 && unit !== 0x09 && unit !== 0x0a && unit !== 0x0d) ||
      unit === 0xfffe ||
      unit === 0xffff
    ) {
      return true;
    }
  }
  return false;
}

/**
 * An S3 object key in a request path (DeleteObject, AbortMultipartUpload): 1 to 1024 bytes of
 * well-formed UTF-8. The path percent-encodes every other character, control characters included.
 */
export function objectPathKeyProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0) return 'must not be empty';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no lone surrogates)';
  if (Buffer.byteLength(value, 'utf8') > MAX_OBJECT_KEY_BYTES) {
    return `must be at most ${MAX_OBJECT_KEY_BYTES} bytes of UTF-8`;
  }
  return undefined;
}

/** An S3 object key in an XML body or a listing marker: a path key that XML 1.0 can carry as well. */
export function objectKeyProblem(value: unknown): string | undefined {
  const problem = objectPathKeyProblem(value);
  if (problem !== undefined) return problem;
  if (hasXmlForbiddenCharacter(value as string)) {
    return 'must not contain control characters other than tab, CR and LF';
  }
  return undefined;
}

/** Opaque continuation tokens and start-after keys handed back to the gateway. */
export function continuationTokenProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0 || value.length > 4096) return 'must be 1 to 4096 characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode';
  return undefined;
}

/**
 * Object version ids and multipart upload ids: opaque strings the gateway handed out, sent back in
 * a query and (version ids) in a DeleteObjects body, so printable and at most 1024 characters.
 */
export function opaqueIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (value.length === 0 || value.length > 1024) return 'must be 1 to 1024 characters';
  if (!value.isWellFormed()) return 'must be well-formed Unicode';
  for (let i = 0; i < value.length; i += 1) {
    const unit = value.charCodeAt(i);
    if (unit < 0x20 || unit === 0x7f || unit === 0xfffe || unit === 0xffff) {
      return 'must not contain control characters';
    }
  }
  return undefined;
}

/**
 * A billing system's own id for a customer (`billingId` on provision, docs/contract.md §3): what a
 * native usage sink addresses, stored beside the user, never sent to the gateway. 1 to 255
 * characters (code points), well-formed, without control characters.
 */
export function billingIdProblem(value: unknown): string | undefined {
  if (typeof value !== 'string') return 'must be a string';
  if (!value.isWellFormed()) return 'must be well-formed Unicode';
  const length = [...value].length;
  if (length === 0 || length > MAX_BILLING_ID_LENGTH)
    return `must be 1 to ${MAX_BILLING_ID_LENGTH} characters`;
  if (/\p{Cc}/u.test(value)) return 'must not contain control characters';
  return undefined;
}

export const MAX_BILLING_ID_LENGTH = 255;

// --- zod forms -----------------------------------------------------------------------------

/**
 * `base` with `problem` as a refinement: the schema decides the type (and the message for a value
 * of the wrong type), the rule decides everything else. The edge builds its schemas this way, so
 * whatever it accepts the client accepts too, and the two cannot drift apart.
 */
export function withRule<S extends z.ZodType>(base: S, problem: (value: unknown) => string | undefined): S {
  return base.superRefine((value, ctx) => {
    const found = problem(value);
    if (found !== undefined) ctx.addIssue({ code: 'custom', message: found, input: value });
  });
}

// --- throwing forms -------------------------------------------------------------------------

function check<T>(problem: string | undefined, field: string, value: T): T {
  if (problem !== undefined) throw new InvalidInputError(field, problem);
  return value;
}

export const checkEmail = (value: string, field = 'email'): string =>
  check(emailProblem(value), field, value);
export const checkBucketName = (value: string, field = 'bucket'): string =>
  check(bucketNameProblem(value), field, value);
export const checkUserId = (value: string, field = 'userId'): string =>
  check(userIdProblem(value), field, value);
export const checkAccessKeyId = (value: string, field = 'accessKeyId'): string =>
  check(accessKeyIdProblem(value), field, value);
export const checkAccountName = (value: string, field = 'accountName'): string =>
  check(accountNameProblem(value), field, value);
export const checkOpsLimit = (value: number, field = 'value'): number =>
  check(opsLimitProblem(value), field, value);
export const checkBandwidthLimit = (value: number, field = 'value'): number =>
  check(bandwidthLimitProblem(value), field, value);
export const checkQuotaSize = (value: number, field = 'sizeGb'): number =>
  check(quotaSizeProblem(value), field, value);
export const checkStatisticsObjectName = (value: string, field = 'name'): string =>
  check(statisticsObjectNameProblem(value), field, value);
export const checkObjectKey = (value: string, field = 'key'): string =>
  check(objectKeyProblem(value), field, value);
export const checkObjectPathKey = (value: string, field = 'key'): string =>
  check(objectPathKeyProblem(value), field, value);
export const checkContinuationToken = (value: string, field = 'continuationToken'): string =>
  check(continuationTokenProblem(value), field, value);

export const checkVersionId = (value: string, field = 'versionId'): string =>
  check(opaqueIdProblem(value), field, value);
export const checkUploadId = (value: string, field = 'uploadId'): string =>
  check(opaqueIdProblem(value), field, value);

/** A whole number in [min, max] (page sizes and the like). */
export function checkIntegerInRange(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new InvalidInputError(field, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

// Webhook signatures: Standard Webhooks (https://www.standardwebhooks.com) to sign what we send and
// verify what we receive, and Stripe's `Stripe-Signature` header for billing events from Stripe.

import type { KeyObject } from 'node:crypto';
import { createHash, createHmac, createSecretKey, randomBytes, timingSafeEqual } from 'node:crypto';
import { ConfigurationError, InvalidInputError, UnauthorizedError } from '../errors.ts';

/** A Standard Webhooks secret: the decoded key, and a non-secret fingerprint for logs. */
export type WebhookSecret = { readonly key: Uint8Array; readonly id: string };

/** Where signing secrets come from (the environment, or Secrets Manager with a cache). */
export interface WebhookSecretsProvider {
  get(): Promise<readonly WebhookSecret[]>;
  /** Fetches again, bypassing the cache: called once when a signature matches no cached secret. */
  refresh(): Promise<readonly WebhookSecret[]>;
}

export interface WebhookMessage {
  id: string;
  /** Unix seconds. */
  timestamp: number;
  /** The raw body exactly as sent: a string is signed as its UTF-8 bytes. */
  body: string | Uint8Array;
}

// A type alias, not an interface, so that it is assignable to verifyWebhook's header record.
export type WebhookHeaders = {
  'webhook-id': string;
  'webhook-timestamp': string;
  'webhook-signature': string;
};

export interface VerifyWebhookInput {
  /** Lower-case header names. */
  headers: Readonly<Record<string, string | undefined>>;
  /** The raw body bytes as received; never a re-serialised object. */
  body: string | Uint8Array;
  secrets: readonly WebhookSecret[];
  now?: Date;
  /** Accepted distance between webhook-timestamp and `now`, either way. Default 300. */
  toleranceSeconds?: number;
}

export interface VerifyStripeInput {
  /** The `Stripe-Signature` header. */
  header: string | undefined;
  body: string | Uint8Array;
  /** Whole `whsec_...` strings: Stripe uses them, prefix included, as UTF-8 HMAC keys. */
  secrets: readonly string[];
  now?: Date;
  /** Default 300, applied both ways (Stripe's own library only refuses old timestamps). */
  toleranceSeconds?: number;
}

const SECRET_PREFIX = 'whsec_';
const DEFAULT_TOLERANCE_SECONDS = 300;
// The Standard Webhooks spec asks for keys of 24 to 64 bytes.
const MIN_KEY_BYTES = 24;
const MAX_KEY_BYTES = 64;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const UNIX_SECONDS = /^\d{1,15}$/;

/** First 8 hex digits of SHA-256(key): tells secrets apart in logs without revealing them. */
function fingerprint(key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 8);
}

/**
 * Parses `whsec_<base64>` secrets (the prefix is optional, as in the reference library): a string
 * holds them space-separated, a list one per entry. Throws ConfigurationError naming `field` and the
 * entry's position, never its value.
 */
export function parseWebhookSecrets(
  input: string | readonly string[],
  field = 'webhookSecrets',
): WebhookSecret[] {
  const entries = (
    typeof input === 'string' ? input.split(/\s+/) : input.map((entry) => entry.trim())
  ).filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigurationError(field, 'no webhook secret given');
  return entries.map((entry, index) => {
    const encoded = entry.startsWith(SECRET_PREFIX) ? entry.slice(SECRET_PREFIX.length) : entry;
    const where = entries.length === 1 ? 'the secret' : `secret ${index + 1} of ${entries.length}`;
    if (!BASE64.test(encoded)) {
      throw new ConfigurationError(field, `${where} is not 'whsec_' followed by base64`);
    }
    const key = new Uint8Array(Buffer.from(encoded, 'base64'));
    if (key.length < MIN_KEY_BYTES || key.length > MAX_KEY_BYTES) {
      throw new ConfigurationError(
        field,
        `${where} decodes to ${key.length} bytes; Standard Webhooks keys are ${MIN_KEY_BYTES} to ${MAX_KEY_BYTES} bytes`,
      );
    }
    return { key, id: fingerprint(key) };
  });
}

/** A fresh secret: 'whsec_' + base64 of 32 random bytes. */
export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

function toBytes(body: string | Uint8Array): Uint8Array {
  return typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
}

/**
 * Each secret's key imported once: an HMAC over raw key bytes imports them again every time (about
 * 10 µs a signature, one per usage message the sweep sends), over a KeyObject it does not.
 */
const importedKeys = new WeakMap<Uint8Array, KeyObject>();

function standardSignature(key: Uint8Array, id: string, timestamp: string, body: Uint8Array): string {
  let imported = importedKeys.get(key);
  if (imported === undefined) {
    imported = createSecretKey(key);
    importedKeys.set(key, imported);
  }
  return createHmac('sha256', imported).update(`${id}.${timestamp}.`, 'utf8').update(body).digest('base64');
}

function checkMessage(msg: WebhookMessage, secretCount: number): void {
  if (msg.id === '') throw new InvalidInputError('webhook.id', 'must not be empty');
  if (!Number.isSafeInteger(msg.timestamp) || msg.timestamp < 0) {
    throw new InvalidInputError('webhook.timestamp', 'must be a non-negative whole number of seconds');
  }
  if (secretCount === 0) throw new InvalidInputError('webhook.secrets', 'at least one secret is required');
}

/** The `webhook-signature` value: one `v1,<base64>` per secret, space-separated (rotation). */
export function signWebhook(msg: WebhookMessage, secrets: readonly WebhookSecret[]): string {
  checkMessage(msg, secrets.length);
  const body = toBytes(msg.body);
  const timestamp = String(msg.timestamp);
  return secrets.map((secret) => `v1,${standardSignature(secret.key, msg.id, timestamp, body)}`).join(' ');
}

/** The three Standard Webhooks headers for `msg`. */
export function webhookHeaders(msg: WebhookMessage, secrets: readonly WebhookSecret[]): WebhookHeaders {
  return {
    'webhook-id': msg.id,
    'webhook-timestamp': String(msg.timestamp),
    'webhook-signature': signWebhook(msg, secrets),
  };
}

function constantTimeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a, 'utf8');
  const right = Buffer.from(b, 'utf8');
  return left.length === right.length && timingSafeEqual(left, right);
}

function checkTimestamp(text: string, now: Date | undefined, toleranceSeconds: number | undefined): number {
  if (!UNIX_SECONDS.test(text)) {
    throw new UnauthorizedError('invalid_timestamp', 'webhook timestamp is not a whole number of seconds');
  }
  const timestamp = Number(text);
  const nowSeconds = Math.floor((now ?? new Date()).getTime() / 1000);
  const tolerance = toleranceSeconds ?? DEFAULT_TOLERANCE_SECONDS;
  if (timestamp < nowSeconds - tolerance) {
    throw new UnauthorizedError('timestamp_too_old', `webhook timestamp is more than ${tolerance} s old`);
  }
  if (timestamp > nowSeconds + tolerance) {
    throw new UnauthorizedError(
      'timestamp_too_new',
      `webhook timestamp is more than ${tolerance} s in the future`,
    );
  }
  return timestamp;
}

/**
 * Verifies a Standard Webhooks request: accepts when ANY `v1` entry of webhook-signature matches ANY
 * secret (rotation on both ends), ignores other version tags, and refuses timestamps more than
 * `toleranceSeconds` away from `now`. Throws UnauthorizedError with a stable `reason`.
 */
export function verifyWebhook(input: VerifyWebhookInput): { id: string; timestamp: number } {
  const id = input.headers['webhook-id'];
  const timestampText = input.headers['webhook-timestamp'];
  const signatureHeader = input.headers['webhook-signature'];
  if (!id || !timestampText || !signatureHeader) {
    const missing = ['webhook-id', 'webhook-timestamp', 'webhook-signature'].filter(
      (name) => !input.headers[name],
    );
    throw new UnauthorizedError('missing_headers', `missing header(s): ${missing.join(', ')}`);
  }
  const timestamp = checkTimestamp(timestampText, input.now, input.toleranceSeconds);
  if (input.secrets.length === 0) {
    throw new UnauthorizedError('invalid_secret', 'no webhook secret is configured');
  }
  const body = toBytes(input.body);
  // The number, not the header text, is signed (as the reference library does): `0123` signs as `123`.
  const expected = input.secrets.map((secret) => standardSignature(secret.key, id, String(timestamp), body));
  const received = signatureHeader
    .split(' ')
    .filter((entry) => entry.startsWith('v1,'))
    .map((entry) => entry.slice('v1,'.length));
  // Every pair is compared, without stopping at the first match, so the time taken does not tell
  // which secret or which entry matched.
  let matched = false;
  for (const candidate of received) {
    for (const signature of expected) {
      if (constantTimeEqual(candidate, signature)) matched = true;
    }
  }
  if (!matched) throw new UnauthorizedError('no_matching_signature', 'no webhook signature matches');
  return { id, timestamp };
}

function stripeSignature(secret: string, timestamp: string, body: Uint8Array): string {
  return createHmac('sha256', Buffer.from(secret, 'utf8'))
    .update(`${timestamp}.`, 'utf8')
    .update(body)
    .digest('hex');
}

/**
 * A `Stripe-Signature` header (`t=<unix>,v1=<hex>[,v1=<hex>...]`), one v1 per secret: Stripe's own
 * scheme, for tests and local senders.
 */
export function signStripe(
  msg: { timestamp: number; body: string | Uint8Array },
  secrets: readonly string[],
): string {
  if (!Number.isSafeInteger(msg.timestamp) || msg.timestamp < 0) {
    throw new InvalidInputError('stripe.timestamp', 'must be a non-negative whole number of seconds');
  }
  if (secrets.length === 0) throw new InvalidInputError('stripe.secrets', 'at least one secret is required');
  const timestamp = String(msg.timestamp);
  const body = toBytes(msg.body);
  return [
    `t=${timestamp}`,
    ...secrets.map((secret) => `v1=${stripeSignature(secret, timestamp, body)}`),
  ].join(',');
}

/**
 * Verifies Stripe's `Stripe-Signature` header: any v1 entry against any secret (v0 and other schemes
 * ignored), constant-time, timestamp within ±tolerance. Throws UnauthorizedError with a stable `reason`.
 */
export function verifyStripeSignature(input: VerifyStripeInput): { timestamp: number } {
  if (input.header === undefined || input.header.trim() === '') {
    throw new UnauthorizedError('missing_headers', 'missing header: stripe-signature');
  }
  let timestampText: string | undefined;
  const received: string[] = [];
  for (const item of input.header.split(',')) {
    const equals = item.indexOf('=');
    if (equals === -1) continue;
    const name = item.slice(0, equals).trim();
    const value = item.slice(equals + 1).trim();
    if (name === 't') {
      if (timestampText !== undefined) {
        throw new UnauthorizedError('invalid_timestamp', 'stripe-signature carries more than one timestamp');
      }
      timestampText = value;
    } else if (name === 'v1') {
      received.push(value);
    }
  }
  if (timestampText === undefined) {
    throw new UnauthorizedError('invalid_timestamp', 'stripe-signature carries no timestamp');
  }
  const timestamp = checkTimestamp(timestampText, input.now, input.toleranceSeconds);
  const secrets = input.secrets.filter((secret) => secret !== '');
  if (secrets.length === 0) {
    throw new UnauthorizedError('invalid_secret', 'no stripe webhook secret is configured');
  }
  const body = toBytes(input.body);
  const expected = secrets.map((secret) => stripeSignature(secret, String(timestamp), body));
  let matched = false;
  for (const candidate of received) {
    for (const signature of expected) {
      if (constantTimeEqual(candidate, signature)) matched = true;
    }
  }
  if (!matched) throw new UnauthorizedError('no_matching_signature', 'no stripe signature matches');
  return { timestamp };
}

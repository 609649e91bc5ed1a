// The environment, parsed once with zod at cold start. Every variable of docs/contract.md §8 lives
// here; a malformed value becomes one ConfigurationError naming the variable (never its value
// when the variable holds a secret).
import * as z from 'zod';
import { ConfigurationError } from './errors.ts';

const optionalText = z
  .string()
  .transform((value) => value.trim())
  .optional()
  .transform((value) => (value === '' ? undefined : value));

const integer = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^\d+$/, `must be a whole number from ${min} to ${max}`)
    .transform(Number)
    .refine((n) => n >= min && n <= max, `must be a whole number from ${min} to ${max}`);

const url = z
  .string()
  .trim()
  .refine((value) => URL.canParse(value), 'must be an absolute URL such as https://s3.example.com')
  .transform((value) => new URL(value));

/** Where every Stripe API call goes unless STRIPE_API_BASE says otherwise. */
export const STRIPE_API_ORIGIN = 'https://api.stripe.com';

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Variables whose values are secrets: their values never appear in an error. */
const SECRET_VARIABLES = new Set([
  'OSTOR_SECRET_ACCESS_KEY',
  'WEBHOOK_SECRET',
  'USAGE_WEBHOOK_SECRET',
  'STRIPE_WEBHOOK_SECRET',
  'STRIPE_API_KEY',
  'LAGO_WEBHOOK_HMAC_KEY',
  'LAGO_API_KEY',
  // Not secret, but long and multi-line: never echoed either.
  'LAGO_WEBHOOK_PUBLIC_KEY',
]);

/** Comma-separated Stripe product ids (`prod_...`); empty entries are ignored. */
const productList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .refine(
    (ids) => ids.every((id) => /^[A-Za-z0-9_]{1,255}$/.test(id)),
    'must be Stripe product ids separated by commas, such as prod_NWjs8kKbJWmuuc,prod_Q1w2e3',
  )
  .transform((ids) => (ids.length === 0 ? undefined : ids));

/** A Stripe meter's `event_name` (at most 100 characters, Stripe's limit). */
const meterEventName = z
  .string()
  .trim()
  .regex(/^[\x21-\x7e]{1,100}$/, 'must be a meter event name: 1 to 100 printable characters without spaces')
  .optional();

/** Comma-separated Lago plan codes; empty entries are ignored. */
const planList = z
  .string()
  .transform((value) =>
    value
      .split(',')
      .map((entry) => entry.trim())
      .filter((entry) => entry !== ''),
  )
  .refine(
    (codes) => codes.every((code) => /^[\x21-\x7e]{1,255}$/.test(code)),
    'must be Lago plan codes separated by commas, such as s3_storage,s3_premium',
  )
  .transform((codes) => (codes.length === 0 ? undefined : codes));

/** A Lago billable metric's `code`, or the property it aggregates. */
const lagoName = z
  .string()
  .trim()
  .regex(/^[\x21-\x7e]{1,255}$/, 'must be 1 to 255 printable characters without spaces');

export const USAGE_SINKS = ['webhook', 'stripe', 'lago'] as const;
export type UsageSinkKind = (typeof USAGE_SINKS)[number];

const EnvSchema = z.object({
  OSTOR_GATEWAY_URL: url.optional(),
  OSTOR_ALLOW_INSECURE_HTTP: flag.default(false),
  OSTOR_ACCESS_KEY_ID: optionalText,
  OSTOR_SECRET_ACCESS_KEY: optionalText,
  OSTOR_CREDENTIALS_SECRET_ID: optionalText,
  OSTOR_SIGNATURE_VERSION: z
    .enum(['2', '4'], { message: 'must be 2 or 4' })
    .default('2')
    .transform((v) => (v === '4' ? 4 : 2) as 2 | 4),
  OSTOR_REGION: z
    .string()
    .trim()
    .regex(/^[a-z0-9-]{1,64}$/, 'must be a region name such as us-east-1')
    .default('us-east-1'),
  OSTOR_TIMEOUT_MS: integer(50, 120_000).default(10_000),
  WEBHOOK_SECRET: optionalText,
  WEBHOOK_SECRET_ID: optionalText,
  USAGE_WEBHOOK_URL: url.optional(),
  USAGE_WEBHOOK_SECRET: optionalText,
  USAGE_WEBHOOK_SECRET_ID: optionalText,
  USAGE_SWEEP_INTERVAL_SECONDS: integer(0, 31 * 24 * 3600).default(900),
  USAGE_GRACE_SECONDS: integer(0, 24 * 3600).default(300),
  USAGE_SINK: z.enum(USAGE_SINKS, { message: 'must be webhook, stripe or lago' }).default('webhook'),
  CREDENTIALS_WEBHOOK_URL: url.optional(),
  STRIPE_WEBHOOK_SECRET: optionalText,
  STRIPE_WEBHOOK_SECRET_ID: optionalText,
  STRIPE_API_KEY: optionalText,
  STRIPE_API_KEY_ID: optionalText,
  STRIPE_API_BASE: url.default(new URL(STRIPE_API_ORIGIN)),
  STRIPE_PRODUCTS: productList.optional(),
  STRIPE_SUSPEND_PAST_DUE: flag.default(false),
  STRIPE_PURGE_ON_CANCEL: flag.default(false),
  STRIPE_METER_DOWNLOADED_BYTES: meterEventName,
  STRIPE_METER_UPLOADED_BYTES: meterEventName,
  STRIPE_METER_REQUESTS: meterEventName,
  STRIPE_METER_STORAGE: meterEventName,
  LAGO_WEBHOOK_HMAC_KEY: optionalText,
  LAGO_WEBHOOK_HMAC_KEY_ID: optionalText,
  LAGO_WEBHOOK_PUBLIC_KEY: optionalText,
  LAGO_WEBHOOK_PUBLIC_KEY_ID: optionalText,
  LAGO_API_URL: url.optional(),
  LAGO_API_KEY: optionalText,
  LAGO_API_KEY_ID: optionalText,
  LAGO_PLANS: planList.optional(),
  LAGO_PURGE_ON_TERMINATE: flag.default(false),
  LAGO_METRIC_DOWNLOADED_BYTES: lagoName.optional(),
  LAGO_METRIC_UPLOADED_BYTES: lagoName.optional(),
  LAGO_METRIC_REQUESTS: lagoName.optional(),
  LAGO_METRIC_STORAGE: lagoName.optional(),
  LAGO_FIELD_NAME: lagoName.default('value'),
  DATA_DIR: z.string().trim().min(1, 'must not be empty').default('./.data'),
  HOST: z.string().trim().min(1, 'must not be empty').default('127.0.0.1'),
  PORT: integer(0, 65535).default(3000),
  IDEMPOTENCY_TABLE_NAME: optionalText,
  USAGE_LEDGER_TABLE_NAME: optionalText,
});

export type Env = z.infer<typeof EnvSchema>;

export interface GatewayConfig {
  /** Unset only for a local run, where the embedded emulator takes its place. */
  readonly url: URL | undefined;
  readonly allowInsecureHttp: boolean;
  readonly signatureVersion: 2 | 4;
  readonly region: string;
  /** How long one gateway request may wait for the answer's headers, and then its body. */
  readonly timeoutMs: number;
  readonly credentials:
    | { readonly kind: 'static'; readonly accessKeyId: string; readonly secretAccessKey: string }
    | { readonly kind: 'secrets-manager'; readonly secretId: string }
    | undefined;
}

/** The Stripe adapter's settings (docs/contract.md §8): `POST /stripe` and the `stripe` usage sink. */
export interface StripeConfig {
  /** `whsec_...` endpoint signing secret(s), space-separated during rotation. */
  readonly webhookSecrets: string | undefined;
  readonly webhookSecretId: string | undefined;
  /** A secret (`sk_...`) or restricted (`rk_...`) key. */
  readonly apiKey: string | undefined;
  readonly apiKeyId: string | undefined;
  /** Every Stripe API call goes here (customers and meter events alike). */
  readonly apiBase: URL;
  /** Subscriptions holding none of these products are ignored; undefined: every subscription. */
  readonly products: readonly string[] | undefined;
  readonly suspendPastDue: boolean;
  readonly purgeOnCancel: boolean;
  /** Meter event names, each metric sent only when its name is set. */
  readonly meters: {
    readonly downloadedBytes: string | undefined;
    readonly uploadedBytes: string | undefined;
    readonly requests: string | undefined;
    readonly storage: string | undefined;
  };
}

/** The Lago adapter's settings (docs/contract.md §9): `POST /lago` and the `lago` usage sink. */
export interface LagoConfig {
  /** Organisation HMAC key(s), whitespace-separated during rotation. */
  readonly webhookHmacKeys: string | undefined;
  readonly webhookHmacKeyId: string | undefined;
  /** RSA public key(s) for JWT-signed webhooks: PEM, or base64 of it as Lago serves it. */
  readonly webhookPublicKeys: string | undefined;
  /** A Secrets Manager secret holding the same (several while Lago changes its key). */
  readonly webhookPublicKeyId: string | undefined;
  /** LAGO_API_URL: the API's base URL without /api/v1; also the `iss` of Lago's JWTs. */
  readonly apiUrl: URL | undefined;
  readonly apiKey: string | undefined;
  readonly apiKeyId: string | undefined;
  /** Subscriptions to other plans are ignored; undefined: every subscription. */
  readonly plans: readonly string[] | undefined;
  readonly purgeOnTerminate: boolean;
  /** Billable metric codes, each metric sent only when its code is set. */
  readonly metrics: {
    readonly downloadedBytes: string | undefined;
    readonly uploadedBytes: string | undefined;
    readonly requests: string | undefined;
    readonly storage: string | undefined;
  };
  /** The event property each billable metric aggregates. */
  readonly fieldName: string;
}

export interface Config {
  readonly gateway: GatewayConfig;
  readonly webhook: { readonly secrets: string | undefined; readonly secretId: string | undefined };
  readonly usage: {
    readonly webhookUrl: URL | undefined;
    readonly secrets: string | undefined;
    readonly secretId: string | undefined;
    readonly sweepIntervalSeconds: number;
    readonly graceSeconds: number;
    /** Where usage goes (docs/contract.md §6). */
    readonly sink: UsageSinkKind;
  };
  /** Where key pairs of users an adapter creates are delivered; undefined: adapters create no users. */
  readonly credentialsWebhookUrl: URL | undefined;
  readonly stripe: StripeConfig;
  readonly lago: LagoConfig;
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly tables: { readonly idempotency: string | undefined; readonly ledger: string | undefined };
}

/**
 * Parses the environment. Throws a ConfigurationError naming the first bad variable; the caller
 * (cold start, `npm start`) turns it into one line and stops.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const variable = String(issue?.path[0] ?? 'environment');
    const received = env[variable];
    const shown =
      received === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(received)})`;
    throw new ConfigurationError(variable, `${issue?.message ?? 'is invalid'}${shown}`);
  }
  const e = parsed.data;

  if ((e.OSTOR_ACCESS_KEY_ID === undefined) !== (e.OSTOR_SECRET_ACCESS_KEY === undefined)) {
    const missing = e.OSTOR_ACCESS_KEY_ID === undefined ? 'OSTOR_ACCESS_KEY_ID' : 'OSTOR_SECRET_ACCESS_KEY';
    throw new ConfigurationError(missing, 'must be set together with its pair');
  }
  if (e.OSTOR_GATEWAY_URL !== undefined) checkGatewayUrl(e.OSTOR_GATEWAY_URL, e.OSTOR_ALLOW_INSECURE_HTTP);
  if (e.USAGE_WEBHOOK_URL !== undefined) checkWebUrl('USAGE_WEBHOOK_URL', e.USAGE_WEBHOOK_URL);
  if (e.CREDENTIALS_WEBHOOK_URL !== undefined) {
    checkWebUrl('CREDENTIALS_WEBHOOK_URL', e.CREDENTIALS_WEBHOOK_URL);
    if (e.USAGE_WEBHOOK_SECRET === undefined && e.USAGE_WEBHOOK_SECRET_ID === undefined) {
      throw new ConfigurationError(
        'USAGE_WEBHOOK_SECRET',
        'is required with CREDENTIALS_WEBHOOK_URL (or USAGE_WEBHOOK_SECRET_ID): key pairs are never sent unsigned',
      );
    }
  }
  checkStripe(e);
  checkLago(e);

  const credentials: GatewayConfig['credentials'] =
    e.OSTOR_ACCESS_KEY_ID !== undefined && e.OSTOR_SECRET_ACCESS_KEY !== undefined
      ? { kind: 'static', accessKeyId: e.OSTOR_ACCESS_KEY_ID, secretAccessKey: e.OSTOR_SECRET_ACCESS_KEY }
      : e.OSTOR_CREDENTIALS_SECRET_ID !== undefined
        ? { kind: 'secrets-manager', secretId: e.OSTOR_CREDENTIALS_SECRET_ID }
        : undefined;

  return {
    gateway: {
      url: e.OSTOR_GATEWAY_URL,
      allowInsecureHttp: e.OSTOR_ALLOW_INSECURE_HTTP,
      signatureVersion: e.OSTOR_SIGNATURE_VERSION,
      region: e.OSTOR_REGION,
      timeoutMs: e.OSTOR_TIMEOUT_MS,
      credentials,
    },
    webhook: { secrets: e.WEBHOOK_SECRET, secretId: e.WEBHOOK_SECRET_ID },
    usage: {
      webhookUrl: e.USAGE_WEBHOOK_URL,
      secrets: e.USAGE_WEBHOOK_SECRET,
      secretId: e.USAGE_WEBHOOK_SECRET_ID,
      sweepIntervalSeconds: e.USAGE_SWEEP_INTERVAL_SECONDS,
      graceSeconds: e.USAGE_GRACE_SECONDS,
      sink: e.USAGE_SINK,
    },
    credentialsWebhookUrl: e.CREDENTIALS_WEBHOOK_URL,
    stripe: {
      webhookSecrets: e.STRIPE_WEBHOOK_SECRET,
      webhookSecretId: e.STRIPE_WEBHOOK_SECRET_ID,
      apiKey: e.STRIPE_API_KEY,
      apiKeyId: e.STRIPE_API_KEY_ID,
      apiBase: e.STRIPE_API_BASE,
      products: e.STRIPE_PRODUCTS,
      suspendPastDue: e.STRIPE_SUSPEND_PAST_DUE,
      purgeOnCancel: e.STRIPE_PURGE_ON_CANCEL,
      meters: {
        downloadedBytes: e.STRIPE_METER_DOWNLOADED_BYTES,
        uploadedBytes: e.STRIPE_METER_UPLOADED_BYTES,
        requests: e.STRIPE_METER_REQUESTS,
        storage: e.STRIPE_METER_STORAGE,
      },
    },
    lago: {
      webhookHmacKeys: e.LAGO_WEBHOOK_HMAC_KEY,
      webhookHmacKeyId: e.LAGO_WEBHOOK_HMAC_KEY_ID,
      webhookPublicKeys: e.LAGO_WEBHOOK_PUBLIC_KEY,
      webhookPublicKeyId: e.LAGO_WEBHOOK_PUBLIC_KEY_ID,
      apiUrl: e.LAGO_API_URL,
      apiKey: e.LAGO_API_KEY,
      apiKeyId: e.LAGO_API_KEY_ID,
      plans: e.LAGO_PLANS,
      purgeOnTerminate: e.LAGO_PURGE_ON_TERMINATE,
      metrics: {
        downloadedBytes: e.LAGO_METRIC_DOWNLOADED_BYTES,
        uploadedBytes: e.LAGO_METRIC_UPLOADED_BYTES,
        requests: e.LAGO_METRIC_REQUESTS,
        storage: e.LAGO_METRIC_STORAGE,
      },
      fieldName: e.LAGO_FIELD_NAME,
    },
    dataDir: e.DATA_DIR,
    host: e.HOST,
    port: e.PORT,
    tables: { idempotency: e.IDEMPOTENCY_TABLE_NAME, ledger: e.USAGE_LEDGER_TABLE_NAME },
  };
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

/**
 * The Stripe settings that can be judged without a network: the shape of the secrets (named by
 * position, never shown), the API base, and what USAGE_SINK=stripe cannot work without.
 */
function checkStripe(e: Env): void {
  if (e.STRIPE_WEBHOOK_SECRET !== undefined)
    stripeWebhookSecrets(e.STRIPE_WEBHOOK_SECRET, 'STRIPE_WEBHOOK_SECRET');
  if (e.STRIPE_API_KEY !== undefined) stripeApiKey(e.STRIPE_API_KEY, 'STRIPE_API_KEY');
  checkApiUrl('STRIPE_API_BASE', e.STRIPE_API_BASE);
  if (e.USAGE_SINK === 'stripe') {
    if (e.STRIPE_API_KEY === undefined && e.STRIPE_API_KEY_ID === undefined) {
      throw new ConfigurationError(
        'STRIPE_API_KEY',
        'is required with USAGE_SINK=stripe (or STRIPE_API_KEY_ID): meter events are sent with it',
      );
    }
    const meters = [
      e.STRIPE_METER_DOWNLOADED_BYTES,
      e.STRIPE_METER_UPLOADED_BYTES,
      e.STRIPE_METER_REQUESTS,
      e.STRIPE_METER_STORAGE,
    ];
    if (meters.every((name) => name === undefined)) {
      throw new ConfigurationError(
        'STRIPE_METER_DOWNLOADED_BYTES',
        'USAGE_SINK=stripe needs at least one STRIPE_METER_* event name; without one usage would be acknowledged and billed nowhere',
      );
    }
  }
}

/**
 * The Lago settings that can be judged without a network: the keys' shape (named by position,
 * never shown), the API URL, and what USAGE_SINK=lago cannot work without.
 */
function checkLago(e: Env): void {
  // The keys' shape only: they are read in full (shared/signing/lago.ts) where POST /lago is built,
  // so the other functions' bundles do not carry the parser; npm start builds it at start-up.
  if (e.LAGO_WEBHOOK_HMAC_KEY !== undefined && /\p{Cc}/u.test(e.LAGO_WEBHOOK_HMAC_KEY.replace(/\s/g, ''))) {
    throw new ConfigurationError('LAGO_WEBHOOK_HMAC_KEY', 'contains control characters');
  }
  const publicKey = e.LAGO_WEBHOOK_PUBLIC_KEY?.replaceAll('\\n', '').replace(/\s/g, '');
  if (
    publicKey !== undefined &&
    !publicKey.includes('-----BEGIN') &&
    !publicKey.startsWith('LS0tLS1CRUdJTi')
  ) {
    throw new ConfigurationError(
      'LAGO_WEBHOOK_PUBLIC_KEY',
      'must be PEM public keys or base64 of them, as Lago serves them',
    );
  }
  if (e.LAGO_API_KEY !== undefined) lagoApiKey(e.LAGO_API_KEY, 'LAGO_API_KEY');
  const api = e.LAGO_API_URL;
  if (api !== undefined) {
    checkApiUrl('LAGO_API_URL', api);
    if (/\/api\/v1\/?$/.test(api.pathname)) {
      throw new ConfigurationError('LAGO_API_URL', "is the base URL without /api/v1, as Lago's own setting");
    }
  }
  if (e.USAGE_SINK !== 'lago') return;
  if (api === undefined) {
    throw new ConfigurationError('LAGO_API_URL', 'is required with USAGE_SINK=lago: events are posted there');
  }
  if (e.LAGO_API_KEY === undefined && e.LAGO_API_KEY_ID === undefined) {
    throw new ConfigurationError(
      'LAGO_API_KEY',
      'is required with USAGE_SINK=lago (or LAGO_API_KEY_ID): events are sent with it',
    );
  }
  const codes = [
    e.LAGO_METRIC_DOWNLOADED_BYTES,
    e.LAGO_METRIC_UPLOADED_BYTES,
    e.LAGO_METRIC_REQUESTS,
    e.LAGO_METRIC_STORAGE,
  ];
  if (codes.every((code) => code === undefined)) {
    throw new ConfigurationError(
      'LAGO_METRIC_DOWNLOADED_BYTES',
      'USAGE_SINK=lago needs at least one LAGO_METRIC_* code; without one usage would be acknowledged and billed nowhere',
    );
  }
}

/** A Lago API key (a UUID-like token shown under Developers > API keys). */
export function lagoApiKey(value: string, variable: string): string {
  const key = value.trim();
  if (!/^[\x21-\x7e]{8,256}$/.test(key)) {
    throw new ConfigurationError(
      variable,
      'is not a Lago API key (8 or more printable characters, no spaces)',
    );
  }
  return key;
}

/** `whsec_...` values, space-separated during rotation: Stripe signs with the whole string. */
export function stripeWebhookSecrets(value: string, variable: string): string[] {
  const entries = value.split(/\s+/).filter((entry) => entry !== '');
  if (entries.length === 0) throw new ConfigurationError(variable, 'no webhook secret given');
  for (const [index, entry] of entries.entries()) {
    if (!/^whsec_[A-Za-z0-9+/=_-]{8,}$/.test(entry)) {
      const where = entries.length === 1 ? 'the secret' : `secret ${index + 1} of ${entries.length}`;
      throw new ConfigurationError(variable, `${where} is not a Stripe endpoint secret (whsec_...)`);
    }
  }
  return entries;
}

/** A secret (`sk_...`) or restricted (`rk_...`) Stripe key, test or live. */
export function stripeApiKey(value: string, variable: string): string {
  const key = value.trim();
  if (!/^(sk|rk)_(test|live)_[A-Za-z0-9]{8,}$/.test(key)) {
    throw new ConfigurationError(variable, 'is not a Stripe secret or restricted key (sk_... or rk_...)');
  }
  return key;
}

/** https, or http only towards this machine or with an explicit opt-in; nothing but an origin. */
export function checkGatewayUrl(
  value: URL,
  allowInsecureHttp: boolean,
  variable = 'OSTOR_GATEWAY_URL',
): void {
  if (value.protocol !== 'https:' && value.protocol !== 'http:') {
    throw new ConfigurationError(variable, `must use https (got ${value.protocol.replace(':', '')})`);
  }
  if (value.protocol === 'http:' && !allowInsecureHttp && !LOOPBACK.test(value.hostname)) {
    throw new ConfigurationError(
      variable,
      'must use https; plain http is allowed only for a loopback host or with OSTOR_ALLOW_INSECURE_HTTP=true',
    );
  }
  checkWebUrl(variable, value);
}

/** A billing system's API: https, or plain http to a loopback host (a local fake); no credentials in it. */
function checkApiUrl(variable: string, value: URL): void {
  if (value.protocol !== 'https:' && !(value.protocol === 'http:' && LOOPBACK.test(value.hostname))) {
    throw new ConfigurationError(variable, 'must use https (plain http only for a loopback host)');
  }
  checkWebUrl(variable, value);
}

function checkWebUrl(variable: string, value: URL): void {
  if (value.protocol !== 'https:' && value.protocol !== 'http:') {
    throw new ConfigurationError(variable, 'must be an http(s) URL');
  }
  if (value.username !== '' || value.password !== '') {
    throw new ConfigurationError(variable, 'must not carry credentials; use the matching secret variable');
  }
  if (
    variable === 'OSTOR_GATEWAY_URL' &&
    ((value.pathname !== '/' && value.pathname !== '') || value.search !== '')
  ) {
    throw new ConfigurationError(variable, 'must be the gateway origin only, without a path or query');
  }
}

// The stack's settings: read from CDK context (`-c key=value`, cdk.json) or stack props, checked at
// synth time, with defaults that let `npm run synth` work on a fresh clone. A bad value stops synth
// with one line naming the setting; a missing required URL becomes a placeholder and a warning.

/** Every setting, as a context key or a `config` prop of the stack. */
export const CONFIG_KEYS = [
  'gatewayUrl',
  'signatureVersion',
  'gatewayRegion',
  'usageWebhookUrl',
  'usageSchedule',
  'usageGraceSeconds',
  'gatewayCredentialsSecretArn',
  'webhookSecretArn',
  'usageWebhookSecretArn',
  'credentialRotationDays',
  'logRetentionDays',
  'alarmEmail',
  'apiRateLimit',
  'apiBurstLimit',
  'usageSink',
  'credentialsWebhookUrl',
  'stripeWebhookSecretArn',
  'stripeApiKeySecretArn',
  'stripeProducts',
  'stripeSuspendPastDue',
  'stripePurgeOnCancel',
  'stripeMeterDownloadedBytes',
  'stripeMeterUploadedBytes',
  'stripeMeterRequests',
  'stripeMeterStorage',
  'lagoWebhookHmacKeySecretArn',
  'lagoApiKeySecretArn',
  'lagoApiUrl',
  'lagoWebhookPublicKey',
  'lagoPlans',
  'lagoPurgeOnTerminate',
  'lagoMetricDownloadedBytes',
  'lagoMetricUploadedBytes',
  'lagoMetricRequests',
  'lagoMetricStorage',
  'lagoFieldName',
] as const;
export type ConfigKey = (typeof CONFIG_KEYS)[number];

/** Raw settings: strings from `-c`, strings or numbers from cdk.json or props. */
export type StackConfigInput = { readonly [K in ConfigKey]?: string | number | undefined };

export interface StackConfig {
  /** The VHI S3 gateway's https origin (OSTOR_GATEWAY_URL). */
  readonly gatewayUrl: string;
  /** 2 or 4 (OSTOR_SIGNATURE_VERSION). */
  readonly signatureVersion: 2 | 4;
  /** Region in the Signature V4 scope (OSTOR_REGION). */
  readonly gatewayRegion: string;
  /** Where usage messages are POSTed (USAGE_WEBHOOK_URL). */
  readonly usageWebhookUrl: string;
  /** EventBridge Scheduler expression of the usage sweep: `rate(...)` or `cron(...)`. */
  readonly usageSchedule: string;
  /** USAGE_GRACE_SECONDS. */
  readonly usageGraceSeconds: number;
  /** Complete ARNs of existing secrets to use instead of creating them. */
  readonly gatewayCredentialsSecretArn: string | undefined;
  readonly webhookSecretArn: string | undefined;
  readonly usageWebhookSecretArn: string | undefined;
  /** Days between rotations of the gateway credentials; 0 turns rotation off. */
  readonly credentialRotationDays: number;
  /** CloudWatch Logs retention of every function's log group. */
  readonly logRetentionDays: number;
  /** Subscribed to the alarm topic when given. */
  readonly alarmEmail: string | undefined;
  /** Steady requests per second the HTTP API passes to the functions, all routes together. */
  readonly apiRateLimit: number;
  /** Requests the HTTP API passes in a burst above the steady rate. */
  readonly apiBurstLimit: number;
  /** Where usage goes (USAGE_SINK): the usage webhook, or Stripe's meters. */
  readonly usageSink: 'webhook' | 'stripe' | 'lago';
  /** Where the key pairs of users an adapter creates go (CREDENTIALS_WEBHOOK_URL); unset: none is created. */
  readonly credentialsWebhookUrl: string | undefined;
  /** The Stripe adapter (POST /stripe) and sink: existing secrets by ARN, and the STRIPE_* settings. */
  readonly stripe: {
    readonly webhookSecretArn: string | undefined;
    readonly apiKeySecretArn: string | undefined;
    /** STRIPE_PRODUCTS; undefined: every subscription. */
    readonly products: string | undefined;
    readonly suspendPastDue: boolean;
    readonly purgeOnCancel: boolean;
    /** STRIPE_METER_* event names, by environment variable; unset ones left out. */
    readonly meters: Readonly<Record<string, string>>;
  };
  /** The Lago adapter (POST /lago) and sink: existing secrets by ARN, and the LAGO_* settings. */
  readonly lago: {
    readonly webhookHmacKeySecretArn: string | undefined;
    readonly apiKeySecretArn: string | undefined;
    /** LAGO_API_URL; undefined: no Lago API calls (the sink needs it). */
    readonly apiUrl: string | undefined;
    /** LAGO_WEBHOOK_PUBLIC_KEY, for JWT-signed webhooks (not a secret). */
    readonly webhookPublicKey: string | undefined;
    /** LAGO_PLANS; undefined: every subscription. */
    readonly plans: string | undefined;
    readonly purgeOnTerminate: boolean;
    /** LAGO_METRIC_* codes and LAGO_FIELD_NAME, by environment variable; unset ones left out. */
    readonly metrics: Readonly<Record<string, string>>;
  };
  /** Settings that fell back to a placeholder; each is reported as a synth warning. */
  readonly placeholders: readonly { readonly key: ConfigKey; readonly message: string }[];
}

/** Never resolvable (RFC 2606 `.invalid`): a stack deployed without the setting fails visibly, not quietly. */
export const PLACEHOLDER_GATEWAY_URL = 'https://gateway.invalid';
export const PLACEHOLDER_USAGE_WEBHOOK_URL = 'https://billing.invalid/usage';

export const DEFAULTS = {
  signatureVersion: 2,
  gatewayRegion: 'us-east-1',
  usageSchedule: 'rate(15 minutes)',
  usageGraceSeconds: 300,
  credentialRotationDays: 30,
  logRetentionDays: 90,
  apiRateLimit: 50,
  apiBurstLimit: 100,
} as const;

/** The retention periods CloudWatch Logs accepts. */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

export class StackConfigError extends Error {
  readonly key: string;
  constructor(key: string, problem: string) {
    super(`stack configuration: ${key}: ${problem} (set it with -c ${key}=... or the stack's config prop)`);
    this.name = 'StackConfigError';
    this.key = key;
  }
}

/** Reads every setting from a construct's context (`node.tryGetContext`). */
export function configFromContext(tryGetContext: (key: string) => unknown): StackConfigInput {
  const input: Record<string, string | number | undefined> = {};
  for (const key of CONFIG_KEYS) {
    const value = tryGetContext(key);
    if (value === undefined || value === null) continue;
    // cdk.json may say true/false for the flags; -c says "true"/"false".
    if (typeof value === 'boolean') {
      input[key] = String(value);
      continue;
    }
    if (typeof value !== 'string' && typeof value !== 'number') {
      throw new StackConfigError(key, `must be a string or a number (got ${JSON.stringify(value)})`);
    }
    input[key] = value;
  }
  return input;
}

/** Context keys that differ from a setting only in case are almost certainly typos: refuse them. */
export function checkContextKeys(keys: Iterable<string>): void {
  for (const key of keys) {
    const meant = CONFIG_KEYS.find((known) => known.toLowerCase() === key.toLowerCase());
    if (meant !== undefined && meant !== key) {
      throw new StackConfigError(key, `unknown setting; did you mean ${meant}?`);
    }
  }
}

export function resolveStackConfig(input: StackConfigInput): StackConfig {
  const placeholders: { key: ConfigKey; message: string }[] = [];
  const text = (key: ConfigKey): string | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    const trimmed = String(value).trim();
    return trimmed === '' ? undefined : trimmed;
  };

  const gatewayInput = text('gatewayUrl');
  let gatewayUrl = PLACEHOLDER_GATEWAY_URL;
  if (gatewayInput === undefined) {
    placeholders.push({
      key: 'gatewayUrl',
      message: `gatewayUrl is not set: the functions point at ${PLACEHOLDER_GATEWAY_URL} and every gateway call will fail. Deploy with -c gatewayUrl=https://<your VHI S3 gateway>.`,
    });
  } else {
    gatewayUrl = httpsUrl('gatewayUrl', gatewayInput, { originOnly: true });
  }

  const usageInput = text('usageWebhookUrl');
  let usageWebhookUrl = PLACEHOLDER_USAGE_WEBHOOK_URL;
  if (usageInput === undefined && (text('usageSink') === 'stripe' || text('usageSink') === 'lago')) {
    // Usage goes to Stripe or Lago: the webhook URL is not used, and not missed.
  } else if (usageInput === undefined) {
    placeholders.push({
      key: 'usageWebhookUrl',
      message: `usageWebhookUrl is not set: usage goes to ${PLACEHOLDER_USAGE_WEBHOOK_URL}, every delivery fails and statistics objects stay on the gateway. Deploy with -c usageWebhookUrl=https://<billing system endpoint>.`,
    });
  } else {
    usageWebhookUrl = httpsUrl('usageWebhookUrl', usageInput, { originOnly: false });
  }

  const signature = text('signatureVersion') ?? String(DEFAULTS.signatureVersion);
  if (signature !== '2' && signature !== '4') {
    throw new StackConfigError('signatureVersion', `must be 2 or 4 (got ${JSON.stringify(signature)})`);
  }

  const gatewayRegion = text('gatewayRegion') ?? DEFAULTS.gatewayRegion;
  if (!/^[a-z0-9-]{1,64}$/.test(gatewayRegion)) {
    throw new StackConfigError(
      'gatewayRegion',
      `must be a region name such as us-east-1 (got ${JSON.stringify(gatewayRegion)})`,
    );
  }

  const usageSchedule = text('usageSchedule') ?? DEFAULTS.usageSchedule;
  checkScheduleExpression(usageSchedule);

  const logRetentionDays = integer(
    'logRetentionDays',
    text('logRetentionDays'),
    DEFAULTS.logRetentionDays,
    1,
    3653,
  );
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    throw new StackConfigError(
      'logRetentionDays',
      `must be one of ${LOG_RETENTION_DAYS.join(', ')} (got ${logRetentionDays})`,
    );
  }

  const alarmEmail = text('alarmEmail');
  if (alarmEmail !== undefined && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(alarmEmail)) {
    throw new StackConfigError('alarmEmail', `must be an email address (got ${JSON.stringify(alarmEmail)})`);
  }

  const usageSink = text('usageSink') ?? 'webhook';
  if (usageSink !== 'webhook' && usageSink !== 'stripe' && usageSink !== 'lago') {
    throw new StackConfigError(
      'usageSink',
      `must be webhook, stripe or lago (got ${JSON.stringify(usageSink)})`,
    );
  }
  const stripe = stripeSettings(text, usageSink);
  const lago = lagoSettings(text, usageSink);
  const credentialsInput = text('credentialsWebhookUrl');
  const credentialsWebhookUrl =
    credentialsInput === undefined
      ? undefined
      : httpsUrl('credentialsWebhookUrl', credentialsInput, { originOnly: false });

  const apiRateLimit = integer('apiRateLimit', text('apiRateLimit'), DEFAULTS.apiRateLimit, 1, 10_000);
  const apiBurstLimit = integer('apiBurstLimit', text('apiBurstLimit'), DEFAULTS.apiBurstLimit, 1, 5_000);

  return {
    gatewayUrl,
    signatureVersion: signature === '4' ? 4 : 2,
    gatewayRegion,
    usageWebhookUrl,
    usageSchedule,
    usageGraceSeconds: integer(
      'usageGraceSeconds',
      text('usageGraceSeconds'),
      DEFAULTS.usageGraceSeconds,
      0,
      86_400,
    ),
    gatewayCredentialsSecretArn: secretArn(
      'gatewayCredentialsSecretArn',
      text('gatewayCredentialsSecretArn'),
    ),
    webhookSecretArn: secretArn('webhookSecretArn', text('webhookSecretArn')),
    usageWebhookSecretArn: secretArn('usageWebhookSecretArn', text('usageWebhookSecretArn')),
    // Secrets Manager accepts 4 hours to 1000 days; whole days keep the schedule readable.
    credentialRotationDays: integer(
      'credentialRotationDays',
      text('credentialRotationDays'),
      DEFAULTS.credentialRotationDays,
      0,
      1000,
    ),
    logRetentionDays,
    alarmEmail,
    apiRateLimit,
    apiBurstLimit,
    usageSink,
    credentialsWebhookUrl,
    stripe,
    lago,
    placeholders,
  };
}

/** The LAGO_* environment variables each `lagoMetric*` / `lagoFieldName` setting becomes. */
export const LAGO_METRIC_KEYS = {
  lagoMetricDownloadedBytes: 'LAGO_METRIC_DOWNLOADED_BYTES',
  lagoMetricUploadedBytes: 'LAGO_METRIC_UPLOADED_BYTES',
  lagoMetricRequests: 'LAGO_METRIC_REQUESTS',
  lagoMetricStorage: 'LAGO_METRIC_STORAGE',
} as const;

function lagoSettings(text: (key: ConfigKey) => string | undefined, usageSink: string): StackConfig['lago'] {
  const plans = text('lagoPlans');
  if (
    plans !== undefined &&
    !/^\s*[\x21-\x2b\x2d-\x7e]+(\s*,\s*[\x21-\x2b\x2d-\x7e]+)*\s*,?\s*$/.test(plans)
  ) {
    throw new StackConfigError(
      'lagoPlans',
      `must be Lago plan codes separated by commas, such as s3_storage,s3_premium (got ${JSON.stringify(plans)})`,
    );
  }
  const metrics: Record<string, string> = {};
  for (const [key, variable] of [
    ...Object.entries(LAGO_METRIC_KEYS),
    ['lagoFieldName', 'LAGO_FIELD_NAME'],
  ] as [ConfigKey, string][]) {
    const name = text(key);
    if (name === undefined) continue;
    if (!/^[\x21-\x7e]{1,255}$/.test(name)) {
      throw new StackConfigError(
        key,
        `must be 1 to 255 printable characters without spaces (got ${JSON.stringify(name)})`,
      );
    }
    metrics[variable] = name;
  }
  const apiInput = text('lagoApiUrl');
  const apiUrl = apiInput === undefined ? undefined : httpsUrl('lagoApiUrl', apiInput, { originOnly: false });
  if (apiUrl !== undefined && /\/api\/v1\/?$/.test(new URL(apiUrl).pathname)) {
    throw new StackConfigError(
      'lagoApiUrl',
      "is Lago's API base URL without /api/v1, as Lago's own LAGO_API_URL",
    );
  }
  if (usageSink === 'lago') {
    if (apiUrl === undefined) {
      throw new StackConfigError('usageSink', 'lago needs lagoApiUrl: the events are posted there');
    }
    if (Object.keys(metrics).every((variable) => variable === 'LAGO_FIELD_NAME')) {
      throw new StackConfigError(
        'usageSink',
        'lago needs at least one lagoMetric* code (lagoMetricDownloadedBytes, ...); without one usage would be acknowledged and billed nowhere',
      );
    }
  }
  const publicKey = text('lagoWebhookPublicKey');
  if (publicKey !== undefined && !/^(-----BEGIN|LS0tLS1CRUdJTi)/.test(publicKey.replace(/\s|\\n/g, ''))) {
    throw new StackConfigError(
      'lagoWebhookPublicKey',
      'must be the public key Lago serves (base64 of a PEM, as GET /api/v1/webhooks/json_public_key answers it) or the PEM itself',
    );
  }
  return {
    webhookHmacKeySecretArn: secretArn('lagoWebhookHmacKeySecretArn', text('lagoWebhookHmacKeySecretArn')),
    apiKeySecretArn: secretArn('lagoApiKeySecretArn', text('lagoApiKeySecretArn')),
    apiUrl,
    webhookPublicKey: publicKey,
    plans,
    purgeOnTerminate: flag('lagoPurgeOnTerminate', text('lagoPurgeOnTerminate')),
    metrics,
  };
}

/** The STRIPE_* environment variables each `stripeMeter*` setting becomes. */
export const STRIPE_METER_KEYS = {
  stripeMeterDownloadedBytes: 'STRIPE_METER_DOWNLOADED_BYTES',
  stripeMeterUploadedBytes: 'STRIPE_METER_UPLOADED_BYTES',
  stripeMeterRequests: 'STRIPE_METER_REQUESTS',
  stripeMeterStorage: 'STRIPE_METER_STORAGE',
} as const;

function stripeSettings(
  text: (key: ConfigKey) => string | undefined,
  usageSink: string,
): StackConfig['stripe'] {
  const products = text('stripeProducts');
  if (products !== undefined && !/^\s*[A-Za-z0-9_]+(\s*,\s*[A-Za-z0-9_]+)*\s*,?\s*$/.test(products)) {
    throw new StackConfigError(
      'stripeProducts',
      `must be Stripe product ids separated by commas, such as prod_NWjs8kKbJWmuuc,prod_Q1w2e3 (got ${JSON.stringify(products)})`,
    );
  }
  const meters: Record<string, string> = {};
  for (const [key, variable] of Object.entries(STRIPE_METER_KEYS) as [ConfigKey, string][]) {
    const name = text(key);
    if (name === undefined) continue;
    if (!/^[\x21-\x7e]{1,100}$/.test(name)) {
      throw new StackConfigError(
        key,
        `must be a meter event name: 1 to 100 printable characters without spaces (got ${JSON.stringify(name)})`,
      );
    }
    meters[variable] = name;
  }
  if (usageSink === 'stripe' && Object.keys(meters).length === 0) {
    throw new StackConfigError(
      'usageSink',
      'stripe needs at least one stripeMeter* event name (stripeMeterDownloadedBytes, ...); without one usage would be acknowledged and billed nowhere',
    );
  }
  return {
    webhookSecretArn: secretArn('stripeWebhookSecretArn', text('stripeWebhookSecretArn')),
    apiKeySecretArn: secretArn('stripeApiKeySecretArn', text('stripeApiKeySecretArn')),
    products,
    suspendPastDue: flag('stripeSuspendPastDue', text('stripeSuspendPastDue')),
    purgeOnCancel: flag('stripePurgeOnCancel', text('stripePurgeOnCancel')),
    meters,
  };
}

function flag(key: ConfigKey, value: string | undefined): boolean {
  if (value === undefined || value === 'false') return false;
  if (value === 'true') return true;
  throw new StackConfigError(key, `must be true or false (got ${JSON.stringify(value)})`);
}

function httpsUrl(key: ConfigKey, value: string, options: { originOnly: boolean }): string {
  if (!URL.canParse(value)) {
    throw new StackConfigError(key, `must be an absolute https URL (got ${JSON.stringify(value)})`);
  }
  const url = new URL(value);
  // Plain http would carry signed admin calls (and the key pairs the gateway returns) in clear text.
  if (url.protocol !== 'https:') {
    throw new StackConfigError(key, `must use https (got ${url.protocol.replace(':', '')})`);
  }
  if (url.username !== '' || url.password !== '') {
    throw new StackConfigError(key, 'must not carry credentials: they belong in Secrets Manager');
  }
  if (url.hostname.endsWith('.invalid')) {
    throw new StackConfigError(key, 'is the placeholder; set the real URL');
  }
  if (options.originOnly) {
    if ((url.pathname !== '/' && url.pathname !== '') || url.search !== '' || url.hash !== '') {
      throw new StackConfigError(
        key,
        `must be the gateway origin only, without a path or query (got ${JSON.stringify(value)})`,
      );
    }
    return url.origin;
  }
  if (url.hash !== '') throw new StackConfigError(key, 'must not have a #fragment');
  return url.toString();
}

function integer(
  key: ConfigKey,
  value: string | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new StackConfigError(
      key,
      `must be a whole number from ${min} to ${max} (got ${JSON.stringify(value)})`,
    );
  }
  return Number(value);
}

/** Complete ARNs only: a partial one would need an `-??????` wildcard in every IAM policy. */
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;

function secretArn(key: ConfigKey, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!SECRET_ARN.test(value)) {
    throw new StackConfigError(
      key,
      `must be the complete ARN of a secret, ending in the 6-character suffix (aws secretsmanager describe-secret --query ARN); got ${JSON.stringify(value)}`,
    );
  }
  return value;
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\(\S+ \S+ \S+ \S+ \S+ \S+\)$/;

function checkScheduleExpression(value: string): void {
  const rate = RATE.exec(value);
  if (rate !== null) {
    const amount = Number(rate[1]);
    const unit = rate[2] ?? '';
    if (amount < 1) throw new StackConfigError('usageSchedule', 'a rate must be at least 1');
    // Scheduler refuses "rate(1 minutes)" and "rate(5 minute)".
    const singular = unit.replace(/s$/, '');
    const expected = amount === 1 ? `rate(1 ${singular})` : `rate(${amount} ${singular}s)`;
    if (value !== expected)
      throw new StackConfigError('usageSchedule', `write ${expected} (got ${JSON.stringify(value)})`);
    return;
  }
  if (CRON.test(value)) return;
  throw new StackConfigError(
    'usageSchedule',
    `must be an EventBridge Scheduler expression such as rate(15 minutes) or cron(0/15 * * * ? *) (got ${JSON.stringify(value)})`,
  );
}

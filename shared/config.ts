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

const flag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'must be true or false' })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

/** Variables whose values are secrets: their values never appear in an error. */
const SECRET_VARIABLES = new Set(['OSTOR_SECRET_ACCESS_KEY', 'WEBHOOK_SECRET', 'USAGE_WEBHOOK_SECRET']);

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

export interface Config {
  readonly gateway: GatewayConfig;
  readonly webhook: { readonly secrets: string | undefined; readonly secretId: string | undefined };
  readonly usage: {
    readonly webhookUrl: URL | undefined;
    readonly secrets: string | undefined;
    readonly secretId: string | undefined;
    readonly sweepIntervalSeconds: number;
    readonly graceSeconds: number;
  };
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
    },
    dataDir: e.DATA_DIR,
    host: e.HOST,
    port: e.PORT,
    tables: { idempotency: e.IDEMPOTENCY_TABLE_NAME, ledger: e.USAGE_LEDGER_TABLE_NAME },
  };
}

const LOOPBACK = /^(localhost|127(?:\.\d{1,3}){3}|\[::1\])$/i;

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

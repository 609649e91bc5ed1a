// Secrets: from Secrets Manager when deployed (cached by Powertools parameters, refreshed on
// demand so a rotated value is picked up), or from the environment on a local run.
import { getSecret } from '@aws-lambda-powertools/parameters/secrets';
import * as z from 'zod';
import { ConfigurationError } from '../errors.ts';
import { SECRET_MAX_AGE_SECONDS } from '../lifecycle/credential-rotation.ts';
import type { Credentials, WebhookSecretsProvider } from '../signing/index.ts';
import { parseWebhookSecrets } from '../signing/index.ts';

export type { WebhookSecretsProvider } from '../signing/index.ts';
export { SECRET_MAX_AGE_SECONDS };

/**
 * Forced refetches (after a signature matched no cached secret, or the gateway refused the cached
 * key) happen at most this often: the HTTP API is public, and unsigned junk must not be able
 * to drive Secrets Manager calls (cost, throttling of real deliveries).
 */
export const REFRESH_INTERVAL_MS = 30_000;

function rateLimited<T>(
  get: () => Promise<T>,
  refresh: () => Promise<T>,
): { get(): Promise<T>; refresh(): Promise<T> } {
  let last = Number.NEGATIVE_INFINITY;
  return {
    get,
    refresh: () => {
      const now = Date.now();
      if (now - last < REFRESH_INTERVAL_MS) return get();
      last = now;
      return refresh();
    },
  };
}

export interface CredentialsProvider {
  get(): Promise<Credentials>;
  /** Fetches again, bypassing the cache: called once after the gateway refuses the cached key. */
  refresh(): Promise<Credentials>;
}

const GatewayCredentialsSecret = z.object({
  accessKeyId: z.string().min(1),
  secretAccessKey: z.string().min(1),
});

export function staticCredentials(credentials: Credentials): CredentialsProvider {
  return { get: async () => credentials, refresh: async () => credentials };
}

export function secretsManagerCredentials(secretId: string): CredentialsProvider {
  const fetch = async (forceFetch: boolean): Promise<Credentials> => {
    const raw = await getSecret(secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
    return parseCredentialsSecret(raw, 'OSTOR_CREDENTIALS_SECRET_ID');
  };
  return rateLimited(
    () => fetch(false),
    () => fetch(true),
  );
}

export function parseCredentialsSecret(raw: unknown, variable: string): Credentials {
  let value: unknown = raw;
  if (typeof raw === 'string') {
    try {
      value = JSON.parse(raw);
    } catch {
      throw new ConfigurationError(variable, 'the secret must be JSON {"accessKeyId","secretAccessKey"}');
    }
  }
  const parsed = GatewayCredentialsSecret.safeParse(value);
  if (!parsed.success) {
    throw new ConfigurationError(variable, 'the secret must be JSON {"accessKeyId","secretAccessKey"}');
  }
  return parsed.data;
}

/** Inbound or outbound webhook secrets: `whsec_...` values separated by spaces during rotation. */
export function webhookSecrets(source: {
  value: string | undefined;
  secretId: string | undefined;
  variable: string;
}): WebhookSecretsProvider | undefined {
  if (source.value !== undefined) {
    const parsed = parseWebhookSecrets(source.value, source.variable);
    return { get: async () => parsed, refresh: async () => parsed };
  }
  const secretId = source.secretId;
  if (secretId === undefined) return undefined;
  const fetch = async (forceFetch: boolean) => {
    const raw = await getSecret(secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
    if (typeof raw !== 'string')
      throw new ConfigurationError(`${source.variable}_ID`, 'the secret must be a string');
    return parseWebhookSecrets(raw, `${source.variable}_ID`);
  };
  return rateLimited(
    () => fetch(false),
    () => fetch(true),
  );
}

/**
 * A secret given as text: from the environment (`value`), or from Secrets Manager (`secretId`,
 * named `<variable>_ID` in errors), each value checked by `parse` (whose errors never show it).
 * Undefined when neither is set.
 */
export function textSecret<T>(source: {
  value: string | undefined;
  secretId: string | undefined;
  variable: string;
  parse: (raw: string, variable: string) => T;
}): { get(): Promise<T>; refresh(): Promise<T> } | undefined {
  if (source.value !== undefined) {
    const parsed = source.parse(source.value, source.variable);
    return { get: async () => parsed, refresh: async () => parsed };
  }
  const secretId = source.secretId;
  if (secretId === undefined) return undefined;
  const variable = `${source.variable}_ID`;
  const fetch = async (forceFetch: boolean) => {
    const raw = await getSecret(secretId, { maxAge: SECRET_MAX_AGE_SECONDS, forceFetch });
    if (typeof raw !== 'string') throw new ConfigurationError(variable, 'the secret must be a string');
    return source.parse(raw, variable);
  };
  return rateLimited(
    () => fetch(false),
    () => fetch(true),
  );
}

// What `POST /lago` needs besides the lifecycle's stores (docs/contract.md §9), built from Config
// beside the composition root (only the lago function's bundle carries it): the keys that verify
// `X-Lago-Signature` (the organisation's HMAC key(s) from the environment or Secrets Manager, the
// RSA public key(s) of JWTs), the adapter's settings and its customer store.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.ts';
import { lagoApiKey } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import { LagoApi } from '../lago/api.ts';
import type { LagoTranslationOptions } from '../lago/events.ts';
import type { LagoCustomerStore, LagoSubscriptionDirectory } from '../lifecycle/lago.ts';
import type { CredentialsDelivery, SubscriptionStore } from '../lifecycle/ports.ts';
import type { LagoHmacKey, LagoPublicKey } from '../signing/lago.ts';
import { parseLagoHmacKeys, parseLagoPublicKeys } from '../signing/lago.ts';
import { dynamoLagoCustomers, sqliteLagoCustomers } from '../store/lago-customers.ts';
import type { Runtime } from './runtime.ts';
import { credentialsDelivery, localStore } from './runtime.ts';
import { textSecret } from './secrets.ts';

export interface LagoServices {
  readonly settings: LagoTranslationOptions & { readonly purgeOnTerminate: boolean };
  /** The organisation's HMAC keys; none when only JWTs are verified. */
  readonly hmacKeys: { get(): Promise<readonly LagoHmacKey[]>; refresh(): Promise<readonly LagoHmacKey[]> };
  /** The RSA public keys of Lago's JWTs; none when only HMAC is verified. */
  readonly publicKeys: {
    get(): Promise<readonly LagoPublicKey[]>;
    refresh(): Promise<readonly LagoPublicKey[]>;
  };
  /** LAGO_API_URL: a JWT's `iss` must name it, when it is set. */
  readonly issuer: string | undefined;
  readonly customers: LagoCustomerStore;
  readonly subscriptions: SubscriptionStore;
  /** Undefined without CREDENTIALS_WEBHOOK_URL: then no user is created. */
  readonly credentials: CredentialsDelivery | undefined;
  /** Lago's list of a customer's subscriptions; undefined without LAGO_API_URL and a key. */
  readonly directory: LagoSubscriptionDirectory | undefined;
}

const built = new WeakMap<Runtime, LagoServices>();

/** The runtime's Lago services, built on first use; refused without any Lago webhook key. */
export function lagoServices(runtime: Runtime): LagoServices {
  let services = built.get(runtime);
  if (services === undefined) {
    const { config } = runtime;
    const table = config.tables.idempotency;
    let customers: LagoCustomerStore | undefined;
    services = buildLagoServices(
      config,
      {
        customers: () => {
          customers ??=
            table === undefined
              ? sqliteLagoCustomers(localStore(config.dataDir).db)
              : dynamoLagoCustomers(new DynamoDBClient({}), table);
          return customers;
        },
        subscriptions: () => runtime.subscriptions,
      },
      credentialsDelivery(config),
    );
    built.set(runtime, services);
  }
  return services;
}

export interface LagoStores {
  readonly customers: () => LagoCustomerStore;
  readonly subscriptions: () => SubscriptionStore;
}

export function buildLagoServices(
  config: Config,
  stores: LagoStores,
  credentials: CredentialsDelivery | undefined,
): LagoServices {
  const lago = config.lago;
  const hmac = textSecret({
    value: lago.webhookHmacKeys,
    secretId: lago.webhookHmacKeyId,
    variable: 'LAGO_WEBHOOK_HMAC_KEY',
    parse: parseLagoHmacKeys,
  });
  const publicKeys = textSecret({
    value: lago.webhookPublicKeys,
    secretId: lago.webhookPublicKeyId,
    variable: 'LAGO_WEBHOOK_PUBLIC_KEY',
    parse: parseLagoPublicKeys,
  });
  if (hmac === undefined && publicKeys === undefined) {
    throw new ConfigurationError(
      'LAGO_WEBHOOK_HMAC_KEY',
      "is not set (nor LAGO_WEBHOOK_HMAC_KEY_ID, LAGO_WEBHOOK_PUBLIC_KEY or LAGO_WEBHOOK_PUBLIC_KEY_ID): POST /lago cannot verify Lago's signature",
    );
  }
  const none: readonly LagoHmacKey[] = [];
  const noKeys: readonly LagoPublicKey[] = [];
  const apiKey = textSecret({
    value: lago.apiKey,
    secretId: lago.apiKeyId,
    variable: 'LAGO_API_KEY',
    parse: lagoApiKey,
  });
  const directory =
    lago.apiUrl === undefined || apiKey === undefined
      ? undefined
      : new LagoApi({ apiUrl: lago.apiUrl, apiKey });
  return {
    settings: {
      plans: lago.plans === undefined ? undefined : new Set(lago.plans),
      purgeOnTerminate: lago.purgeOnTerminate,
    },
    hmacKeys: hmac ?? { get: async () => none, refresh: async () => none },
    publicKeys: publicKeys ?? { get: async () => noKeys, refresh: async () => noKeys },
    issuer: lago.apiUrl?.toString(),
    get customers() {
      return stores.customers();
    },
    get subscriptions() {
      return stores.subscriptions();
    },
    credentials,
    directory,
  };
}

// The composition root: the only modules that read `Config` to build adapters are this one and
// the builders beside it for what a single function needs (usage.ts for collect-usage,
// stripe-services.ts for stripe), kept apart so the other functions' bundles do not carry them.
// Module-scope singletons of a function — the gateway client, the stores, the secrets, credential
// rotation's clients — built once per cold start (or once per local server), each on first use.
// Handlers hand the domain functions the ports they need from here.
import { join } from 'node:path';
import { DynamoDBPersistenceLayer } from '@aws-lambda-powertools/idempotency/dynamodb';
import type { BasePersistenceLayer } from '@aws-lambda-powertools/idempotency/persistence';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { Config } from '../config.ts';
import { loadConfig } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import type { RotationGateway, SecretVersions } from '../lifecycle/credential-rotation.ts';
import type {
  BillingIdStore,
  CredentialsDelivery,
  LockStore,
  StateChangeStore,
  SubscriptionStore,
} from '../lifecycle/ports.ts';
import type { CredentialsSource } from '../ostor/index.ts';
import { OstorClient } from '../ostor/index.ts';
import type { Credentials } from '../signing/index.ts';
import {
  dynamoBillingIdStore,
  dynamoLockStore,
  dynamoMeterReceipts,
  dynamoStateChangeStore,
  dynamoSubscriptionStore,
} from '../store/dynamodb.ts';
import { secretsManagerVersions } from '../store/secrets-manager.ts';
import { SqliteStore } from '../store/sqlite.ts';
import type { MeterReceipts } from '../usage/stripe-sink.ts';
import { WebhookSink } from '../usage/webhook-sink.ts';
import { webhookCredentialsDelivery } from './credentials.ts';
import type { CredentialsProvider, WebhookSecretsProvider } from './secrets.ts';
import { secretsManagerCredentials, staticCredentials, webhookSecrets } from './secrets.ts';

/** What credential rotation needs (rotate-key's Secrets Manager steps). */
export interface RotationServices {
  readonly secrets: SecretVersions;
  /** A gateway client signing with `credentials`, with the configured timeouts. */
  readonly gatewayFor: (credentials: Credentials) => RotationGateway;
  /** The secret this function may rotate (OSTOR_CREDENTIALS_SECRET_ID). */
  readonly expectedSecretId: string;
}

export interface Runtime {
  readonly config: Config;
  readonly gateway: OstorClient;
  readonly credentials: CredentialsProvider;
  readonly stateChanges: StateChangeStore;
  readonly locks: LockStore;
  /** Each user's billing id (`billingId` on provision), read by native usage sinks. */
  readonly billingIds: BillingIdStore;
  readonly idempotencyStore: BasePersistenceLayer;
  /** Inbound webhook secrets; undefined only when neither WEBHOOK_SECRET nor WEBHOOK_SECRET_ID is set. */
  readonly webhookSecrets: WebhookSecretsProvider | undefined;
  /** The billing adapters' subscriptions (shared/lifecycle/subscription.ts). */
  readonly subscriptions: SubscriptionStore;
  /** The Stripe sink's record of the meter events Stripe acknowledged. */
  readonly meterReceipts: MeterReceipts;
  /** Credential rotation's clients; refused unless the credentials are in Secrets Manager. */
  rotation(): RotationServices;
}

export function createRuntime(config: Config): Runtime {
  const gatewayConfig = config.gateway;
  if (gatewayConfig.url === undefined) {
    throw new ConfigurationError(
      'OSTOR_GATEWAY_URL',
      'is required (npm start sets it to the embedded emulator)',
    );
  }
  const source = gatewayConfig.credentials;
  if (source === undefined) {
    throw new ConfigurationError(
      'OSTOR_CREDENTIALS_SECRET_ID',
      'is required, or OSTOR_ACCESS_KEY_ID and OSTOR_SECRET_ACCESS_KEY on a local run',
    );
  }
  const credentials =
    source.kind === 'static'
      ? staticCredentials({ accessKeyId: source.accessKeyId, secretAccessKey: source.secretAccessKey })
      : secretsManagerCredentials(source.secretId);
  const endpoint = gatewayConfig.url.toString();
  const gatewayWith = (signer: CredentialsSource) =>
    new OstorClient({
      endpoint,
      credentials: signer,
      signatureVersion: gatewayConfig.signatureVersion,
      region: gatewayConfig.region,
      allowInsecureHttp: gatewayConfig.allowInsecureHttp,
      timeouts: { headersMs: gatewayConfig.timeoutMs, bodyMs: gatewayConfig.timeoutMs },
    });
  const gateway = gatewayWith(credentials);
  let rotation: RotationServices | undefined;

  // The stores are opened on first use: a function that never needs one (collect-usage has no
  // webhook URL when deployed) neither opens a SQLite file on Lambda's read-only disk nor needs a
  // table it has no access to.
  const table = config.tables.idempotency;
  let stores:
    | {
        stateChanges: StateChangeStore;
        locks: LockStore;
        billingIds: BillingIdStore;
        subscriptions: SubscriptionStore;
        meterReceipts: MeterReceipts;
        idempotencyStore: BasePersistenceLayer;
      }
    | undefined;
  const openStores = () => {
    if (stores !== undefined) return stores;
    if (table !== undefined) {
      const dynamo = new DynamoDBClient({});
      stores = {
        stateChanges: dynamoStateChangeStore(dynamo, table),
        locks: dynamoLockStore(dynamo, table),
        billingIds: dynamoBillingIdStore(dynamo, table),
        subscriptions: dynamoSubscriptionStore(dynamo, table),
        meterReceipts: dynamoMeterReceipts(dynamo, table),
        idempotencyStore: new DynamoDBPersistenceLayer({ tableName: table, awsSdkV3Client: dynamo }),
      };
    } else {
      const local = localStore(config.dataDir);
      stores = {
        stateChanges: local.stateChanges,
        locks: local.locks,
        billingIds: local.billingIds,
        subscriptions: local.subscriptions,
        meterReceipts: local.meterReceipts,
        idempotencyStore: local.idempotency,
      };
    }
    return stores;
  };
  return {
    config,
    gateway,
    credentials,
    get stateChanges() {
      return openStores().stateChanges;
    },
    get locks() {
      return openStores().locks;
    },
    get billingIds() {
      return openStores().billingIds;
    },
    get subscriptions() {
      return openStores().subscriptions;
    },
    get meterReceipts() {
      return openStores().meterReceipts;
    },
    get idempotencyStore() {
      return openStores().idempotencyStore;
    },
    webhookSecrets: webhookSecrets({
      value: config.webhook.secrets,
      secretId: config.webhook.secretId,
      variable: 'WEBHOOK_SECRET',
    }),
    rotation() {
      if (rotation !== undefined) return rotation;
      if (source.kind !== 'secrets-manager') {
        throw new ConfigurationError(
          'OSTOR_CREDENTIALS_SECRET_ID',
          'rotation needs the credentials in Secrets Manager',
        );
      }
      rotation = {
        secrets: secretsManagerVersions(new SecretsManagerClient({})),
        gatewayFor: gatewayWith,
        expectedSecretId: source.secretId,
      };
      return rotation;
    },
  };
}

/**
 * Where the billing adapters deliver a created user's key pair (CREDENTIALS_WEBHOOK_URL, signed with
 * the usage secret); undefined without the URL: then they create no users.
 */
export function credentialsDelivery(config: Config): CredentialsDelivery | undefined {
  const url = config.credentialsWebhookUrl;
  if (url === undefined) return undefined;
  const signing = webhookSecrets({
    value: config.usage.secrets,
    secretId: config.usage.secretId,
    variable: 'USAGE_WEBHOOK_SECRET',
  });
  // loadConfig refuses CREDENTIALS_WEBHOOK_URL without a usage secret; kept as a guard.
  if (signing === undefined) throw new ConfigurationError('USAGE_WEBHOOK_SECRET', 'is required');
  return webhookCredentialsDelivery(new WebhookSink({ url, secrets: signing }));
}

const localStores = new Map<string, SqliteStore>();

/** One SQLite file per data folder, shared by every function of the local server. */
export function localStore(dataDir: string): SqliteStore {
  const file = join(dataDir, 'state.sqlite');
  let store = localStores.get(file);
  if (store === undefined) {
    store = new SqliteStore(file);
    localStores.set(file, store);
  }
  return store;
}

let current: Runtime | undefined;

/** The process's runtime, created from the environment on first use. */
export function getRuntime(): Runtime {
  current ??= createRuntime(loadConfig());
  return current;
}

/** Replaces the process's runtime (tests, and the local server after it has set the environment). */
export function setRuntime(runtime: Runtime | undefined): void {
  current = runtime;
}

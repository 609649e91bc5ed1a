// The usage adapters of the composition root: the ledger and the sink that the configuration asks
// for (SQLite and usage.ndjson in DATA_DIR locally; DynamoDB and the billing webhook deployed; or
// Stripe's meters with USAGE_SINK=stripe, Lago's events with USAGE_SINK=lago), built once per
// runtime, and `collect-usage` wired to them. Apart from runtime.ts so that only collect-usage's
// bundle carries the sweep.
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.ts';
import { lagoApiKey } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import type { BillingIdStore, LifecycleEvents } from '../lifecycle/ports.ts';
import { DynamoUsageLedger } from '../store/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../store/ledger-sqlite.ts';
import { meterEventApi } from '../stripe/api.ts';
import { collectUsage } from '../usage/collect.ts';
import { NdjsonSink } from '../usage/file-sink.ts';
import type { LagoMetricCodes } from '../usage/lago-sink.ts';
import { LagoSink } from '../usage/lago-sink.ts';
import type { UsageLedger } from '../usage/ledger.ts';
import type { UsageSink } from '../usage/sink.ts';
import type { MeterReceipts, StripeMeterNames } from '../usage/stripe-sink.ts';
import { StripeSink } from '../usage/stripe-sink.ts';
import { formatSweepSummary } from '../usage/summary.ts';
import type { UsageSweepReport, UsageSweepResult } from '../usage/sweep.ts';
import { WebhookSink } from '../usage/webhook-sink.ts';
import type { Runtime } from './runtime.ts';
import { textSecret, webhookSecrets } from './secrets.ts';
import { stripeApi } from './stripe-client.ts';

export const LEDGER_FILE = 'usage-ledger.sqlite';
export const NDJSON_FILE = 'usage.ndjson';

export interface UsageServices {
  readonly ledger: UsageLedger;
  readonly sink: UsageSink;
  /** Housekeeping before each sweep. */
  readonly beforeSweep?: () => void;
  /** Where a finished sweep's summary table goes, when there is one to print (usage.ndjson mode). */
  readonly summarize?: (report: UsageSweepReport, print: (text: string) => void) => void;
}

/** What a native sink reads besides the configuration (the runtime's stores). */
export interface NativeSinkStores {
  readonly billingIds: BillingIdStore;
  readonly meterReceipts: MeterReceipts;
}

const built = new WeakMap<Runtime, UsageServices>();

/** The runtime's usage ledger and sink, built on first use; refused when misconfigured. */
export function usageServicesOf(runtime: Runtime): UsageServices {
  let services = built.get(runtime);
  if (services === undefined) {
    services = buildUsageServices(runtime.config, () => ({
      billingIds: runtime.billingIds,
      meterReceipts: runtime.meterReceipts,
    }));
    built.set(runtime, services);
  }
  return services;
}

/**
 * Deployed, collect-usage is bundled with the one sink the stack configures: infra/bundling.ts
 * defines `process.env.VHI_BUNDLED_USAGE_SINK` as that sink's name, so each other sink's branch
 * below is constant-false and its code (~6 KB a native sink) is left out of the bundle, which must
 * stay under 800 KB. Read inline in each test: esbuild folds the literal there, not through a
 * variable. Undefined (a local run, the tests): every sink is there.
 */
function checkBundledSink(config: Config): void {
  const bundled = process.env.VHI_BUNDLED_USAGE_SINK;
  if (bundled !== undefined && bundled !== config.usage.sink) {
    throw new ConfigurationError(
      'USAGE_SINK',
      `is ${config.usage.sink}, but this collect-usage was bundled for ${bundled}: deploy it with the stack setting usageSink=${config.usage.sink}`,
    );
  }
}

/** Builds the ledger and the sink `config` asks for; a usage URL without a signing secret is refused. */
export function buildUsageServices(config: Config, stores?: () => NativeSinkStores): UsageServices {
  checkBundledSink(config);
  const ledgerTable = config.tables.ledger;
  let ledger: UsageLedger;
  let housekeeping: { beforeSweep?: () => void } = {};
  if (ledgerTable !== undefined) {
    // Entries expire by the table's TTL.
    ledger = new DynamoUsageLedger({ client: new DynamoDBClient({}), tableName: ledgerTable });
  } else {
    const sqlite = new SqliteUsageLedger(join(config.dataDir, LEDGER_FILE));
    ledger = sqlite;
    housekeeping = { beforeSweep: () => sqlite.prune(Date.now()) };
  }

  if (
    config.usage.sink === 'stripe' &&
    (process.env.VHI_BUNDLED_USAGE_SINK === undefined || process.env.VHI_BUNDLED_USAGE_SINK === 'stripe')
  ) {
    const api = stripeApi(config);
    if (api === undefined || stores === undefined) {
      throw new ConfigurationError(
        'STRIPE_API_KEY',
        'is required with USAGE_SINK=stripe (or STRIPE_API_KEY_ID)',
      );
    }
    const sink = new StripeSink({
      api: meterEventApi(api),
      meters: meterNames(config),
      billingIds: (userId) => stores().billingIds.get(userId),
      receipts: {
        acknowledged: (messageId) => stores().meterReceipts.acknowledged(messageId),
        record: (messageId, identifiers) => stores().meterReceipts.record(messageId, identifiers),
      },
    });
    return { ledger, sink, ...housekeeping };
  }

  if (
    config.usage.sink === 'lago' &&
    (process.env.VHI_BUNDLED_USAGE_SINK === undefined || process.env.VHI_BUNDLED_USAGE_SINK === 'lago')
  ) {
    const apiUrl = config.lago.apiUrl;
    const apiKey = textSecret({
      value: config.lago.apiKey,
      secretId: config.lago.apiKeyId,
      variable: 'LAGO_API_KEY',
      parse: lagoApiKey,
    });
    // loadConfig refuses USAGE_SINK=lago without these; kept as a guard.
    if (apiUrl === undefined)
      throw new ConfigurationError('LAGO_API_URL', 'is required with USAGE_SINK=lago');
    if (apiKey === undefined || stores === undefined) {
      throw new ConfigurationError('LAGO_API_KEY', 'is required with USAGE_SINK=lago (or LAGO_API_KEY_ID)');
    }
    const sink = new LagoSink({
      apiUrl,
      apiKey,
      billingIds: (userId) => stores().billingIds.get(userId),
      codes: lagoCodes(config),
      fieldName: config.lago.fieldName,
    });
    return { ledger, sink, ...housekeeping };
  }

  // Bundled for a native sink, the webhook and file sinks are left out too (checkBundledSink made
  // sure the configuration asks for the bundled one, built above).
  if (process.env.VHI_BUNDLED_USAGE_SINK === undefined || process.env.VHI_BUNDLED_USAGE_SINK === 'webhook') {
    return webhookOrFileServices(config, ledger, housekeeping);
  }
  throw new ConfigurationError(
    'USAGE_SINK',
    `this collect-usage was bundled for ${process.env.VHI_BUNDLED_USAGE_SINK}`,
  );
}

/** USAGE_SINK=webhook: the usage webhook, or usage.ndjson without a URL. */
function webhookOrFileServices(
  config: Config,
  ledger: UsageLedger,
  housekeeping: { beforeSweep?: () => void },
): UsageServices {
  const url = config.usage.webhookUrl;
  if (url === undefined) {
    const sink = new NdjsonSink(join(config.dataDir, NDJSON_FILE));
    return {
      ledger,
      sink,
      ...housekeeping,
      summarize: (report, print) => print(formatSweepSummary(report, new Date(), sink.target)),
    };
  }
  const secrets = webhookSecrets({
    value: config.usage.secrets,
    secretId: config.usage.secretId,
    variable: 'USAGE_WEBHOOK_SECRET',
  });
  if (secrets === undefined) {
    throw new ConfigurationError(
      'USAGE_WEBHOOK_SECRET',
      'is required with USAGE_WEBHOOK_URL (or USAGE_WEBHOOK_SECRET_ID): usage is never sent unsigned',
    );
  }
  return { ledger, sink: new WebhookSink({ url, secrets }), ...housekeeping };
}

/** The configured LAGO_METRIC_* codes, by metric (unset ones left out). */
function lagoCodes(config: Config): LagoMetricCodes {
  const { downloadedBytes, uploadedBytes, requests, storage } = config.lago.metrics;
  const codes: Partial<Record<keyof LagoMetricCodes, string>> = {};
  if (downloadedBytes !== undefined) codes.downloaded_bytes = downloadedBytes;
  if (uploadedBytes !== undefined) codes.uploaded_bytes = uploadedBytes;
  if (requests !== undefined) codes.requests = requests;
  if (storage !== undefined) codes.storage = storage;
  return codes;
}

/** The configured STRIPE_METER_* names, by metric (unset ones left out). */
function meterNames(config: Config): StripeMeterNames {
  const { downloadedBytes, uploadedBytes, requests, storage } = config.stripe.meters;
  const names: Partial<Record<keyof StripeMeterNames, string>> = {};
  if (downloadedBytes !== undefined) names.downloaded_bytes = downloadedBytes;
  if (uploadedBytes !== undefined) names.uploaded_bytes = uploadedBytes;
  if (requests !== undefined) names.requests = requests;
  if (storage !== undefined) names.storage = storage;
  return names;
}

export interface CollectUsageRun {
  readonly events: LifecycleEvents;
  /** The invocation's time left: the sweep's budget. */
  readonly remainingMs?: () => number;
  /** Where the local summary table goes (usage.ndjson mode only). Default: stdout. */
  readonly print?: (text: string) => void;
}

/** One sweep over the runtime's gateway and usage services. */
export async function runCollectUsage(runtime: Runtime, run: CollectUsageRun): Promise<UsageSweepResult> {
  const services = usageServicesOf(runtime);
  const { summarize } = services;
  const print = run.print ?? ((text: string) => process.stdout.write(text));
  return collectUsage(
    {
      gateway: runtime.gateway,
      ledger: services.ledger,
      sink: services.sink,
      events: run.events,
      ...(services.beforeSweep === undefined ? {} : { beforeSweep: services.beforeSweep }),
      ...(summarize === undefined ? {} : { onReport: (report) => summarize(report, print) }),
    },
    {
      graceSeconds: runtime.config.usage.graceSeconds,
      ...(run.remainingMs === undefined ? {} : { remainingMs: run.remainingMs }),
    },
  );
}

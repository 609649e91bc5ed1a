// The usage adapters of the composition root: the ledger and the sink that the configuration asks
// for (SQLite and usage.ndjson in DATA_DIR locally; DynamoDB and the billing webhook deployed),
// and `collect-usage` wired to them.
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Config } from '../config.ts';
import { ConfigurationError } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import type { OstorClient } from '../ostor/index.ts';
import { collectUsage } from '../usage/collect.ts';
import { NdjsonSink } from '../usage/file-sink.ts';
import type { UsageLedger } from '../usage/ledger.ts';
import { DynamoUsageLedger } from '../usage/ledger-dynamodb.ts';
import { SqliteUsageLedger } from '../usage/ledger-sqlite.ts';
import type { UsageSink } from '../usage/sink.ts';
import { formatSweepSummary } from '../usage/summary.ts';
import type { UsageSweepReport, UsageSweepResult } from '../usage/sweep.ts';
import { WebhookSink } from '../usage/webhook-sink.ts';
import { webhookSecrets } from './secrets.ts';

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

/** Builds the ledger and the sink `config` asks for; a usage URL without a signing secret is refused. */
export function buildUsageServices(config: Config): UsageServices {
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

export interface CollectUsageRun {
  readonly events: LifecycleEvents;
  /** The invocation's time left: the sweep's budget. */
  readonly remainingMs?: () => number;
  /** Where the local summary table goes (usage.ndjson mode only). Default: stdout. */
  readonly print?: (text: string) => void;
}

/** One sweep over the runtime's gateway and usage services. */
export async function runCollectUsage(
  runtime: { readonly config: Config; readonly gateway: OstorClient; usage(): UsageServices },
  run: CollectUsageRun,
): Promise<UsageSweepResult> {
  const services = runtime.usage();
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

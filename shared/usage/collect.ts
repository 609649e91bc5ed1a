// `collect-usage` as the handler calls it: the sweep wired to the process's runtime. The ledger and
// the sink are built on first use and kept for the life of the runtime (module-scope singletons,
// as the gateway client is): SQLite and usage.ndjson in DATA_DIR locally, DynamoDB and the billing
// webhook when deployed.
import { join } from 'node:path';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { Context } from 'aws-lambda';
import { ConfigurationError } from '../errors.ts';
import type { LifecycleEvents } from '../lifecycle/ports.ts';
import type { Runtime } from '../runtime/runtime.ts';
import { webhookSecrets } from '../runtime/secrets.ts';
import { NdjsonSink } from './file-sink.ts';
import type { UsageLedger } from './ledger.ts';
import { DynamoUsageLedger } from './ledger-dynamodb.ts';
import { SqliteUsageLedger } from './ledger-sqlite.ts';
import type { UsageSink } from './sink.ts';
import { formatSweepSummary } from './summary.ts';
import type { UsageEvents, UsageSweepResult } from './sweep.ts';
import { sweepUsage } from './sweep.ts';
import { WebhookSink } from './webhook-sink.ts';

export const LEDGER_FILE = 'usage-ledger.sqlite';
/**
 * The lease margin of a local sweep. A holder whose process is gone loses its lease at once
 * (ledger-sqlite.ts), and a live one still running past its deadline renews it (sweep.ts); this
 * margin is for the rest — a holder whose liveness cannot be judged (another machine sharing
 * DATA_DIR), or a process whose event loop stalls past a renewal — which a local run, unlike
 * Lambda, never cuts off at its deadline.
 */
export const LOCAL_LEASE_MARGIN_MS = 30_000;
export const NDJSON_FILE = 'usage.ndjson';

export interface UsageServices {
  readonly ledger: UsageLedger;
  readonly sink: UsageSink;
}

const services = new WeakMap<Runtime, UsageServices>();

/** The ledger and sink for `runtime`'s configuration, built once. */
export function usageServices(runtime: Runtime): UsageServices {
  let built = services.get(runtime);
  if (built === undefined) {
    built = buildServices(runtime);
    services.set(runtime, built);
  }
  return built;
}

function buildServices(runtime: Runtime): UsageServices {
  const { config } = runtime;
  let sink: UsageSink;
  const url = config.usage.webhookUrl;
  if (url !== undefined) {
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
    sink = new WebhookSink({ url, secrets });
  } else {
    sink = new NdjsonSink(join(config.dataDir, NDJSON_FILE));
  }
  const table = config.tables.ledger;
  const ledger: UsageLedger =
    table !== undefined
      ? new DynamoUsageLedger({ client: new DynamoDBClient({}), tableName: table })
      : new SqliteUsageLedger(join(config.dataDir, LEDGER_FILE));
  return { ledger, sink };
}

export interface CollectUsageOptions {
  readonly events: LifecycleEvents;
  /** The invocation's context: its remaining time is the sweep's budget. */
  readonly lambdaContext?: Pick<Context, 'getRemainingTimeInMillis'> & Partial<Context>;
  /** Where the local summary table goes (usage.ndjson mode only). Default: stdout. */
  readonly print?: (text: string) => void;
  /** Replaces the services built from the runtime (tests). */
  readonly services?: UsageServices;
}

/** One sweep with the runtime's gateway and configuration; answers the contract's result. */
export async function collectUsage(
  runtime: Runtime,
  options: CollectUsageOptions,
): Promise<UsageSweepResult> {
  const { ledger, sink } = options.services ?? usageServices(runtime);
  const context = options.lambdaContext;
  const events: UsageEvents = options.events;
  if (ledger instanceof SqliteUsageLedger) ledger.prune(Date.now());
  const report = await sweepUsage(
    { gateway: runtime.gateway, ledger, sink, events },
    {
      graceSeconds: runtime.config.usage.graceSeconds,
      ...(context === undefined ? {} : { remainingMs: () => context.getRemainingTimeInMillis() }),
      ...(context?.awsRequestId === undefined ? {} : { owner: context.awsRequestId }),
      ...(ledger instanceof SqliteUsageLedger ? { leaseMarginMs: LOCAL_LEASE_MARGIN_MS } : {}),
    },
  );
  if (sink.kind === 'file') {
    const print = options.print ?? ((text: string) => process.stdout.write(text));
    print(formatSweepSummary(report, new Date(), sink.target));
  }
  return report.result;
}

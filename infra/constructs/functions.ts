// The Lambda functions — the six lifecycle functions and the billing adapters' (`stripe`, `lago`): bundled
// by the local esbuild with infra/bundling.ts, nodejs24.x on arm64, each with its own role, log
// group and environment, reading only its own secrets and tables.
import { join } from 'node:path';
import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsDestination } from 'aws-cdk-lib/aws-lambda-destinations';
import { type BundlingOptions, LogLevel, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { IQueue } from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { AdapterFunctionName, DeployedFunctionName, FunctionName } from '../bundling.ts';
import { BUNDLING, definesOf, entryOf, FUNCTION_NAMES, nodeOptionsOf, PROJECT_ROOT } from '../bundling.ts';
import type { StackConfig } from '../config.ts';
import { Secrets, secretArnOf } from './secrets.ts';
import { TABLE_ACTIONS, type Tables } from './tables.ts';

/**
 * Memory and time per function. Measured (`npm run bench -- bundles`): every bundle is 740-760 KB,
 * its cold import takes ~65 ms over bare Node on one full core with ~70 MiB resident, and a whole
 * cold start of provision (import and first delivery) ~160 ms over bare Node. Lambda gives CPU in
 * proportion to memory (1,769 MB = one vCPU), so memory buys cold-start time more than room:
 * - webhooks, 512 MB: ~0.3 vCPU keeps a cold start around half a second; the work itself is a few
 *   small gateway calls, far below 512 MB. A few webhooks a day cost nothing either way.
 * - 30 s for provision, suspend, resume and rotate-key: a handful of calls; every gateway call
 *   gives up (504) 2 s before the function's time runs out (shared/deadline.ts), so a hung gateway
 *   is answered honestly rather than cut off; billing systems stop waiting at 15–30 s and
 *   redeliver, which the idempotency record and convergent operations make safe.
 * - terminate, 300 s: `purge` lists and deletes every object, then every object version and
 *   delete marker, 1,000 per request, and aborts unfinished multipart uploads; a run cut off is
 *   finished by the next delivery.
 * - collect-usage, 1,024 MB and 600 s: it parses statistics objects of several MB and aggregates
 *   them; the sweep sizes its work to the remaining time, and 10 minutes ends well before the next
 *   15-minute tick (its lease covers the rest).
 */
export const FUNCTION_SETTINGS: Readonly<
  Record<
    FunctionName,
    { readonly description: string; readonly memorySize: number; readonly timeout: Duration }
  >
> = {
  provision: {
    description: 'Creates or adopts a customer storage user on the VHI S3 gateway and applies its plan',
    memorySize: 512,
    timeout: Duration.seconds(30),
  },
  suspend: {
    description: 'Disables a customer storage user (unpaid invoice), in billing-decision order',
    memorySize: 512,
    timeout: Duration.seconds(30),
  },
  resume: {
    description: 'Enables a customer storage user again, in billing-decision order',
    memorySize: 512,
    timeout: Duration.seconds(30),
  },
  terminate: {
    description: 'Deletes a customer storage user with its buckets (purge: their objects too)',
    memorySize: 512,
    timeout: Duration.seconds(300),
  },
  'rotate-key': {
    description:
      'Rotates a customer key pair; also the Secrets Manager rotation function of the gateway credentials',
    memorySize: 512,
    timeout: Duration.seconds(30),
  },
  'collect-usage': {
    description: 'Sweeps the gateway usage statistics and stored bytes into signed usage webhooks',
    memorySize: 1024,
    timeout: Duration.seconds(600),
  },
};

/**
 * The billing adapters' functions. stripe, 512 MB like the webhooks; 300 s like terminate, since
 * a cancelled subscription with STRIPE_PURGE_ON_CANCEL empties buckets (the HTTP API answers Stripe
 * after 29 s; Stripe's retry then finds the delivery in progress or done).
 */
export const ADAPTER_SETTINGS: Readonly<
  Partial<
    Record<
      AdapterFunctionName,
      { readonly description: string; readonly memorySize: number; readonly timeout: Duration }
    >
  >
> & {
  readonly stripe: { readonly description: string; readonly memorySize: number; readonly timeout: Duration };
  readonly lago: { readonly description: string; readonly memorySize: number; readonly timeout: Duration };
} = {
  stripe: {
    description:
      "Applies Stripe's subscription events to the customer storage users (create, enable, suspend, terminate)",
    memorySize: 512,
    timeout: Duration.seconds(300),
  },
  // lago as stripe: a terminated subscription with LAGO_PURGE_ON_TERMINATE empties buckets, and an
  // overdue invoice suspends every subscription of its customer.
  lago: {
    description:
      "Applies Lago's subscription and invoice webhooks to the customer storage users (create, enable, suspend, terminate)",
    memorySize: 512,
    timeout: Duration.seconds(300),
  },
};

/** NodejsFunction's form of the shared bundling options (with a function's compile-time constants). */
export function nodejsBundling(define: Record<string, string> = {}): BundlingOptions {
  return {
    ...(Object.keys(define).length === 0 ? {} : { define }),
    target: BUNDLING.target,
    format: OutputFormat.ESM,
    minify: BUNDLING.minify,
    sourceMap: BUNDLING.sourceMap,
    sourcesContent: BUNDLING.sourcesContent,
    mainFields: [...BUNDLING.mainFields],
    externalModules: [...BUNDLING.externalModules],
    banner: BUNDLING.banner,
    // Warnings and errors only: the size listing of every bundle is `npm run bench -- bundles`' job.
    logLevel: LogLevel.WARNING,
    // No Docker anywhere: the esbuild devDependency bundles on this machine.
    forceDockerBundling: false,
  };
}

export interface FunctionsProps {
  readonly config: StackConfig;
  readonly tables: Tables;
  readonly secrets: Secrets;
  /** On-failure destination of asynchronous invocations. */
  readonly failedInvocations: IQueue;
  readonly logRetention: RetentionDays;
  /** How long an asynchronous collect-usage event may wait (one schedule interval: after that a newer tick exists). */
  readonly usageEventMaxAge: Duration;
}

export class Functions extends Construct {
  readonly functions: ReadonlyMap<DeployedFunctionName, NodejsFunction>;
  readonly logGroups: ReadonlyMap<DeployedFunctionName, LogGroup>;
  readonly #functions = new Map<DeployedFunctionName, NodejsFunction>();
  readonly #logGroups = new Map<DeployedFunctionName, LogGroup>();
  readonly #props: FunctionsProps;

  constructor(scope: Construct, id: string, props: FunctionsProps) {
    super(scope, id);
    this.#props = props;
    this.functions = this.#functions;
    this.logGroups = this.#logGroups;
    const { config, tables, secrets } = props;

    const gateway = {
      OSTOR_GATEWAY_URL: config.gatewayUrl,
      OSTOR_SIGNATURE_VERSION: String(config.signatureVersion),
      OSTOR_REGION: config.gatewayRegion,
      OSTOR_CREDENTIALS_SECRET_ID: secretArnOf(secrets.gatewayCredentials),
      // Webhook-ids are remembered here by every function (collect-usage too, for sweeps asked for
      // over HTTP); the name also makes the runtime pick its DynamoDB adapters, not SQLite.
      IDEMPOTENCY_TABLE_NAME: tables.idempotency.tableName,
    };
    const toStripe = config.usageSink === 'stripe';
    const toLago = config.usageSink === 'lago';

    for (const name of FUNCTION_NAMES) {
      const isSweep = name === 'collect-usage';
      // Every function takes signed webhooks through the HTTP API (collect-usage too: a billing
      // system may ask for a sweep before invoicing); the sweep also writes usage out: to the usage
      // webhook, or with usageSink=stripe to Stripe's meters.
      const environment: Record<string, string> = {
        ...gateway,
        WEBHOOK_SECRET_ID: secretArnOf(secrets.webhook),
        ...(isSweep
          ? {
              USAGE_LEDGER_TABLE_NAME: tables.usageLedger.tableName,
              USAGE_GRACE_SECONDS: String(config.usageGraceSeconds),
              ...(toStripe
                ? {
                    USAGE_SINK: 'stripe',
                    STRIPE_API_KEY_ID: secretArnOf(secrets.stripeApiKey),
                    ...config.stripe.meters,
                  }
                : toLago
                  ? {
                      USAGE_SINK: 'lago',
                      // resolveStackConfig refuses usageSink=lago without lagoApiUrl.
                      LAGO_API_URL: config.lago.apiUrl ?? '',
                      LAGO_API_KEY_ID: secretArnOf(secrets.lagoApiKey),
                      ...config.lago.metrics,
                    }
                  : {
                      USAGE_WEBHOOK_URL: config.usageWebhookUrl,
                      USAGE_WEBHOOK_SECRET_ID: secretArnOf(secrets.usageWebhook),
                    }),
            }
          : {}),
      };
      const fn = this.#create(name, FUNCTION_SETTINGS[name], environment, {
        // Two at most: the scheduled sweep and one asked for over HTTP. The lease lets one of them
        // sweep and the other answer at once who holds it; more would only wait for the lease.
        ...(isSweep ? { reservedConcurrentExecutions: 2 } : {}),
        maxEventAge: isSweep ? props.usageEventMaxAge : Duration.hours(6),
      });
      Secrets.grantRead(secrets.webhook, fn);
      if (isSweep) {
        Secrets.grantRead(
          toStripe ? secrets.stripeApiKey : toLago ? secrets.lagoApiKey : secrets.usageWebhook,
          fn,
        );
        tables.usageLedger.grant(fn, ...TABLE_ACTIONS);
      }
    }

    // POST /stripe: Stripe's signature, its API for customers' e-mails, and — only when users may be
    // created — the usage secret that signs their key pairs on the way to CREDENTIALS_WEBHOOK_URL.
    const credentials = config.credentialsWebhookUrl;
    const stripe = this.#create(
      'stripe',
      ADAPTER_SETTINGS.stripe,
      {
        ...gateway,
        STRIPE_WEBHOOK_SECRET_ID: secretArnOf(secrets.stripeWebhook),
        STRIPE_API_KEY_ID: secretArnOf(secrets.stripeApiKey),
        STRIPE_SUSPEND_PAST_DUE: String(config.stripe.suspendPastDue),
        STRIPE_PURGE_ON_CANCEL: String(config.stripe.purgeOnCancel),
        ...(config.stripe.products === undefined ? {} : { STRIPE_PRODUCTS: config.stripe.products }),
        ...(credentials === undefined
          ? {}
          : {
              CREDENTIALS_WEBHOOK_URL: credentials,
              USAGE_WEBHOOK_SECRET_ID: secretArnOf(secrets.usageWebhook),
            }),
      },
      { maxEventAge: Duration.hours(6) },
    );
    Secrets.grantRead(secrets.stripeWebhook, stripe);
    Secrets.grantRead(secrets.stripeApiKey, stripe);
    if (credentials !== undefined) Secrets.grantRead(secrets.usageWebhook, stripe);

    // POST /lago: Lago's HMAC token (or, for JWTs, its public key, not a secret), its API key only
    // when LAGO_API_URL is set (a customer's subscriptions for overdue invoices), and the usage
    // secret only when users may be created.
    const lagoApi = config.lago.apiUrl;
    const lago = this.#create(
      'lago',
      ADAPTER_SETTINGS.lago,
      {
        ...gateway,
        LAGO_WEBHOOK_HMAC_KEY_ID: secretArnOf(secrets.lagoWebhookHmacKey),
        LAGO_PURGE_ON_TERMINATE: String(config.lago.purgeOnTerminate),
        ...(config.lago.plans === undefined ? {} : { LAGO_PLANS: config.lago.plans }),
        ...(config.lago.webhookPublicKey === undefined
          ? {}
          : { LAGO_WEBHOOK_PUBLIC_KEY: config.lago.webhookPublicKey }),
        ...(lagoApi === undefined
          ? {}
          : { LAGO_API_URL: lagoApi, LAGO_API_KEY_ID: secretArnOf(secrets.lagoApiKey) }),
        ...(credentials === undefined
          ? {}
          : {
              CREDENTIALS_WEBHOOK_URL: credentials,
              USAGE_WEBHOOK_SECRET_ID: secretArnOf(secrets.usageWebhook),
            }),
      },
      { maxEventAge: Duration.hours(6) },
    );
    Secrets.grantRead(secrets.lagoWebhookHmacKey, lago);
    if (lagoApi !== undefined) Secrets.grantRead(secrets.lagoApiKey, lago);
    if (credentials !== undefined) Secrets.grantRead(secrets.usageWebhook, lago);
  }

  /** One function with its own role and log group, the gateway secret and the idempotency table. */
  #create(
    name: DeployedFunctionName,
    settings: { readonly description: string; readonly memorySize: number; readonly timeout: Duration },
    environment: Record<string, string>,
    extra: { reservedConcurrentExecutions?: number; maxEventAge: Duration },
  ): NodejsFunction {
    const props = this.#props;
    const label = pascal(name);
    const logGroup = new LogGroup(this, `${label}Logs`, {
      retention: props.logRetention,
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // One role per function, writing only to its own log group (no AWSLambdaBasicExecutionRole,
    // which allows every log group of the account).
    const role = new Role(this, `${label}Role`, {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      description: `Execution role of the ${name} function`,
    });
    role.addToPolicy(
      new PolicyStatement({
        actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
        resources: [logGroup.logGroupArn],
      }),
    );

    const nodeOptions = nodeOptionsOf(name);
    const fn = new NodejsFunction(this, label, {
      entry: entryOf(name),
      handler: 'handler',
      description: settings.description,
      runtime: Runtime.NODEJS_24_X,
      architecture: Architecture.ARM_64,
      memorySize: settings.memorySize,
      timeout: settings.timeout,
      role,
      logGroup,
      environment: nodeOptions === undefined ? environment : { ...environment, NODE_OPTIONS: nodeOptions },
      projectRoot: PROJECT_ROOT,
      depsLockFilePath: join(PROJECT_ROOT, 'package-lock.json'),
      bundling: nodejsBundling(definesOf(name, props.config.usageSink)),
      ...(extra.reservedConcurrentExecutions === undefined
        ? {}
        : { reservedConcurrentExecutions: extra.reservedConcurrentExecutions }),
      // Asynchronous invocations (the schedule; `aws lambda invoke --invocation-type Event`) are
      // not retried by Lambda: a lifecycle event invoked by hand is repeated by a human, and the
      // sweep's retry is the next tick. A failure is kept in the queue and alarmed.
      onFailure: new SqsDestination(props.failedInvocations),
      retryAttempts: 0,
      maxEventAge: extra.maxEventAge,
    });
    Secrets.grantRead(props.secrets.gatewayCredentials, fn);
    props.tables.grantIdempotency(fn);
    this.#functions.set(name, fn);
    this.#logGroups.set(name, logGroup);
    return fn;
  }

  get(name: DeployedFunctionName): NodejsFunction {
    const fn = this.#functions.get(name);
    if (fn === undefined) throw new Error(`no function ${name}`);
    return fn;
  }

  logGroupOf(name: DeployedFunctionName): LogGroup {
    const group = this.#logGroups.get(name);
    if (group === undefined) throw new Error(`no log group for ${name}`);
    return group;
  }
}

/** `rotate-key` → `RotateKey`: construct ids and output names. */
export function pascal(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

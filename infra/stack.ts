// The deployable system: tables, secrets, the six functions and the billing adapters' (Stripe,
// Lago), the HTTP API in front of them, the usage schedule, the gateway key rotation and the
// alarms, one construct per concern. Env-agnostic and
// lookup-free, so it synthesizes offline.
import { Annotations, CfnOutput, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import type { RetentionDays } from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { StackConfig, StackConfigInput } from './config.ts';
import { checkContextKeys, configFromContext, resolveStackConfig } from './config.ts';
import { Functions, pascal } from './constructs/functions.ts';
import { HttpApiFrontDoor } from './constructs/http-api.ts';
import { Operations } from './constructs/operations.ts';
import { Secrets } from './constructs/secrets.ts';
import { Tables } from './constructs/tables.ts';
import { scheduleInterval, UsageSchedule } from './constructs/usage-schedule.ts';

export interface VhiS3BillingStackProps extends StackProps {
  /** Settings; each overrides the context value of the same name (infra/config.ts). */
  readonly config?: StackConfigInput;
}

export class VhiS3BillingStack extends Stack {
  readonly config: StackConfig;
  readonly tables: Tables;
  readonly secrets: Secrets;
  readonly functions: Functions;
  readonly operations: Operations;
  readonly httpApi: HttpApiFrontDoor;
  readonly usageSchedule: UsageSchedule;

  constructor(scope: Construct, id: string, props: VhiS3BillingStackProps = {}) {
    const { config: configProps, ...stackProps } = props;
    super(scope, id, {
      description:
        'VHI S3 billing: lifecycle webhooks and usage collection for a Virtuozzo Hybrid Infrastructure S3 gateway',
      ...stackProps,
    });
    checkContextKeys(Object.keys(this.node.getAllContext()));
    const config = resolveStackConfig({
      ...configFromContext((key) => this.node.tryGetContext(key)),
      ...configProps,
    });
    this.config = config;
    for (const placeholder of config.placeholders) {
      Annotations.of(this).addWarningV2(`vhi-s3-billing:${placeholder.key}`, placeholder.message);
    }

    this.tables = new Tables(this, 'Tables');
    this.secrets = new Secrets(this, 'Secrets', { config });
    this.operations = new Operations(this, 'Operations', { alarmEmail: config.alarmEmail });
    const usageInterval = scheduleInterval(config.usageSchedule);
    this.functions = new Functions(this, 'Functions', {
      config,
      tables: this.tables,
      secrets: this.secrets,
      failedInvocations: this.operations.failedInvocations,
      logRetention: config.logRetentionDays as RetentionDays,
      usageEventMaxAge: usageInterval,
    });
    this.httpApi = new HttpApiFrontDoor(this, 'HttpApi', {
      functions: this.functions,
      rateLimit: config.apiRateLimit,
      burstLimit: config.apiBurstLimit,
      logRetention: config.logRetentionDays as RetentionDays,
    });
    this.usageSchedule = new UsageSchedule(this, 'UsageSchedule', {
      fn: this.functions.get('collect-usage'),
      expression: config.usageSchedule,
      maxEventAge: usageInterval,
    });

    if (config.credentialRotationDays > 0) {
      this.secrets.rotateGatewayCredentials(this.functions.get('rotate-key'), config.credentialRotationDays);
    } else if (config.gatewayCredentialsSecretArn === undefined) {
      Validations.of(this.secrets.gatewayCredentials).acknowledge({
        id: 'AwsSolutions-SMG4',
        reason: 'Rotation of the gateway credentials was turned off on purpose (credentialRotationDays=0).',
      });
    }

    for (const [name, fn] of this.functions.functions) this.operations.watchFunction(pascal(name), name, fn);
    this.operations.watchTerminationsRefused('Stripe', 'stripe');
    this.operations.watchMeterErrorReports('Stripe', 'stripe');
    this.operations.watchTerminationsRefused('Lago', 'lago');
    this.operations.watchQueue(
      'UsageScheduleDeadLetters',
      this.usageSchedule.deadLetters,
      'the scheduler could not start collect-usage',
    );
    this.operations.watchUsage(this.functions.logGroupOf('collect-usage'));

    for (const name of this.functions.functions.keys()) {
      new CfnOutput(this, `${pascal(name)}FunctionName`, {
        value: this.functions.get(name).functionName,
        description: `For aws lambda invoke --function-name (direct invocation of ${name})`,
      });
      new CfnOutput(this, `${pascal(name)}LogGroup`, {
        value: this.functions.logGroupOf(name).logGroupName,
        description: `For aws logs tail (the ${name} function's own log group)`,
      });
    }
    new CfnOutput(this, 'BaseUrl', {
      value: this.httpApi.baseUrl,
      description:
        'The billing system POSTs signed webhooks to <BaseUrl>provision, suspend, resume, terminate, rotate-key and collect-usage; Stripe to <BaseUrl>stripe; Lago to <BaseUrl>lago; GET <BaseUrl>healthz',
    });
    new CfnOutput(this, 'ApiAccessLogGroup', {
      value: this.httpApi.accessLogs.logGroupName,
      description: 'For aws logs tail (one JSON line per HTTP request: route, status, latency)',
    });
    new CfnOutput(this, 'GatewayCredentialsSecretArn', {
      value: this.secrets.gatewayCredentials.secretArn,
      description: 'Put the gateway system user key pair here: {"accessKeyId","secretAccessKey","userId"}',
    });
    new CfnOutput(this, 'WebhookSecretArn', {
      value: this.secrets.webhook.secretArn,
      description: 'Inbound webhook signing secret (share with the billing system)',
    });
    new CfnOutput(this, 'UsageWebhookSecretArn', {
      value: this.secrets.usageWebhook.secretArn,
      description: 'Usage webhook signing secret (share with the billing system)',
    });
    new CfnOutput(this, 'StripeWebhookSecretArn', {
      value: this.secrets.stripeWebhook.secretArn,
      description: "Put the Stripe endpoint's signing secret (whsec_...) here",
    });
    new CfnOutput(this, 'StripeApiKeySecretArn', {
      value: this.secrets.stripeApiKey.secretArn,
      description: 'Put a Stripe restricted key (rk_...: Customers read, Billing meter events write) here',
    });
    new CfnOutput(this, 'LagoWebhookHmacKeySecretArn', {
      value: this.secrets.lagoWebhookHmacKey.secretArn,
      description: "Put Lago's HMAC signature token (Developers > Webhooks) here",
    });
    new CfnOutput(this, 'LagoApiKeySecretArn', {
      value: this.secrets.lagoApiKey.secretArn,
      description: 'Put a Lago API key (Developers > API keys) here',
    });
    new CfnOutput(this, 'AlarmTopicArn', {
      value: this.operations.alarmTopic.topicArn,
      description: 'Subscribe to receive the alarms',
    });
    new CfnOutput(this, 'FailedInvocationsQueueUrl', {
      value: this.operations.failedInvocations.queueUrl,
      description: 'Failed asynchronous invocations of every function',
    });
  }
}

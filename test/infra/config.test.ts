// The stack's configuration: defaults that synthesize offline with warnings for the placeholders,
// every setting from context or props, a clear error for each bad value, imported secrets, and an
// environment the functions' own config parser accepts.
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { describe, expect, it } from 'vitest';
import { DEPLOYED_FUNCTION_NAMES } from '../../infra/bundling.ts';
import {
  PLACEHOLDER_GATEWAY_URL,
  PLACEHOLDER_USAGE_WEBHOOK_URL,
  resolveStackConfig,
  StackConfigError,
} from '../../infra/config.ts';
import { loadConfig } from '../../shared/config.ts';
import { idOf, resourcesOf, synthesize } from './synth.ts';

const GATEWAY_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/gateway-Ab12Cd';
const WEBHOOK_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/webhook-Ef34Gh';
const USAGE_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/usage-Ij56Kl';
const STRIPE_WEBHOOK_ARN =
  'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/stripe-endpoint-Mn78Op';
const STRIPE_KEY_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/stripe-key-Qr90St';
const LAGO_HMAC_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/lago-hmac-Uv12Wx';
const LAGO_KEY_ARN = 'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/lago-key-Yz34Ab';

const REAL = {
  gatewayUrl: 'https://s3.example.com',
  usageWebhookUrl: 'https://billing.example.com/hooks/usage',
};

/** A function's environment variables in the template, by logical id. */
function environmentOf(template: Template, logicalId: string): Record<string, unknown> {
  const environment = resourcesOf(template, 'AWS::Lambda::Function')[logicalId]?.Properties.Environment as
    | { Variables: Record<string, unknown> }
    | undefined;
  return environment?.Variables ?? {};
}

describe('resolveStackConfig', () => {
  it('has a default for everything, placeholders for the two URLs', () => {
    const config = resolveStackConfig({});
    expect(config).toEqual({
      gatewayUrl: PLACEHOLDER_GATEWAY_URL,
      signatureVersion: 2,
      gatewayRegion: 'us-east-1',
      usageWebhookUrl: PLACEHOLDER_USAGE_WEBHOOK_URL,
      usageSchedule: 'rate(15 minutes)',
      usageGraceSeconds: 300,
      gatewayCredentialsSecretArn: undefined,
      webhookSecretArn: undefined,
      usageWebhookSecretArn: undefined,
      credentialRotationDays: 30,
      logRetentionDays: 90,
      alarmEmail: undefined,
      apiRateLimit: 50,
      apiBurstLimit: 100,
      usageSink: 'webhook',
      credentialsWebhookUrl: undefined,
      stripe: {
        webhookSecretArn: undefined,
        apiKeySecretArn: undefined,
        products: undefined,
        suspendPastDue: false,
        purgeOnCancel: false,
        meters: {},
      },
      lago: {
        webhookHmacKeySecretArn: undefined,
        apiKeySecretArn: undefined,
        apiUrl: undefined,
        webhookPublicKey: undefined,
        plans: undefined,
        purgeOnTerminate: false,
        metrics: {},
      },
      placeholders: [
        { key: 'gatewayUrl', message: expect.stringContaining('-c gatewayUrl=') },
        { key: 'usageWebhookUrl', message: expect.stringContaining('-c usageWebhookUrl=') },
      ],
    });
  });

  it('reads every setting, as strings from -c or numbers from cdk.json', () => {
    const config = resolveStackConfig({
      gatewayUrl: 'https://s3.example.com/',
      signatureVersion: 4,
      gatewayRegion: 'eu-central-1',
      usageWebhookUrl: 'https://billing.example.com/usage?tenant=7',
      usageSchedule: 'cron(0/10 * * * ? *)',
      usageGraceSeconds: '600',
      gatewayCredentialsSecretArn: GATEWAY_ARN,
      credentialRotationDays: '7',
      logRetentionDays: 365,
      alarmEmail: 'ops@example.com',
      apiRateLimit: '20',
      apiBurstLimit: 40,
    });
    expect(config).toMatchObject({
      gatewayUrl: 'https://s3.example.com',
      signatureVersion: 4,
      gatewayRegion: 'eu-central-1',
      usageWebhookUrl: 'https://billing.example.com/usage?tenant=7',
      usageSchedule: 'cron(0/10 * * * ? *)',
      usageGraceSeconds: 600,
      gatewayCredentialsSecretArn: GATEWAY_ARN,
      credentialRotationDays: 7,
      logRetentionDays: 365,
      alarmEmail: 'ops@example.com',
      apiRateLimit: 20,
      apiBurstLimit: 40,
      placeholders: [],
    });
  });

  it('reads the Stripe settings; usageSink=stripe needs no usage webhook URL', () => {
    const config = resolveStackConfig({
      gatewayUrl: 'https://s3.example.com',
      usageSink: 'stripe',
      credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      stripeWebhookSecretArn: WEBHOOK_ARN,
      stripeApiKeySecretArn: USAGE_ARN,
      stripeProducts: 'prod_NWjs8kKbJWmuuc, prod_Q1w2e3',
      stripeSuspendPastDue: 'true',
      stripePurgeOnCancel: 'false',
      stripeMeterDownloadedBytes: 's3_egress',
      stripeMeterStorage: 's3_storage',
    });
    expect(config).toMatchObject({
      usageSink: 'stripe',
      credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      stripe: {
        webhookSecretArn: WEBHOOK_ARN,
        apiKeySecretArn: USAGE_ARN,
        products: 'prod_NWjs8kKbJWmuuc, prod_Q1w2e3',
        suspendPastDue: true,
        purgeOnCancel: false,
        meters: { STRIPE_METER_DOWNLOADED_BYTES: 's3_egress', STRIPE_METER_STORAGE: 's3_storage' },
      },
      placeholders: [],
    });
  });

  it.each([
    ['gatewayUrl', 'http://s3.example.com', /gatewayUrl: must use https \(got http\)/],
    ['gatewayUrl', 's3.example.com', /gatewayUrl: must be an absolute https URL/],
    ['gatewayUrl', 'https://s3.example.com/admin', /gatewayUrl: must be the gateway origin only/],
    ['gatewayUrl', 'https://key:secret@s3.example.com', /gatewayUrl: must not carry credentials/],
    ['gatewayUrl', PLACEHOLDER_GATEWAY_URL, /gatewayUrl: is the placeholder/],
    ['usageWebhookUrl', 'ftp://billing.example.com', /usageWebhookUrl: must use https/],
    ['signatureVersion', '3', /signatureVersion: must be 2 or 4 \(got "3"\)/],
    ['gatewayRegion', 'EU Central', /gatewayRegion: must be a region name/],
    ['usageSchedule', 'every 15 minutes', /usageSchedule: must be an EventBridge Scheduler expression/],
    ['usageSchedule', 'rate(1 minutes)', /usageSchedule: write rate\(1 minute\)/],
    ['usageSchedule', 'rate(5 minute)', /usageSchedule: write rate\(5 minutes\)/],
    ['usageGraceSeconds', '-5', /usageGraceSeconds: must be a whole number from 0 to 86400/],
    [
      'gatewayCredentialsSecretArn',
      'arn:aws:secretsmanager:eu-central-1:123456789012:secret:vhi/gateway',
      /complete ARN/,
    ],
    ['webhookSecretArn', 'vhi/webhook', /webhookSecretArn: must be the complete ARN/],
    ['credentialRotationDays', '1001', /credentialRotationDays: must be a whole number from 0 to 1000/],
    ['logRetentionDays', '10', /logRetentionDays: must be one of 1, 3, 5/],
    ['alarmEmail', 'ops', /alarmEmail: must be an email address/],
    ['apiRateLimit', '0.5', /apiRateLimit: must be a whole number from 1 to 10000/],
    ['apiBurstLimit', '0', /apiBurstLimit: must be a whole number from 1 to 5000/],
    ['usageSink', 'ndjson', /usageSink: must be webhook, stripe or lago/],
    ['usageSink', 'stripe', /usageSink: stripe needs at least one stripeMeter\* event name/],
    ['credentialsWebhookUrl', 'http://portal.example.com/keys', /credentialsWebhookUrl: must use https/],
    ['stripeWebhookSecretArn', 'whsec_abc', /stripeWebhookSecretArn: must be the complete ARN/],
    ['stripeApiKeySecretArn', 'rk_live_abc', /stripeApiKeySecretArn: must be the complete ARN/],
    ['stripeProducts', 'prod 1; prod 2', /stripeProducts: must be Stripe product ids separated by commas/],
    ['stripeSuspendPastDue', 'yes', /stripeSuspendPastDue: must be true or false/],
    ['stripeMeterRequests', 's3 requests', /stripeMeterRequests: must be a meter event name/],
  ])('refuses %s=%s with a message naming it', (key, value, message) => {
    const attempt = () => resolveStackConfig({ [key]: value });
    expect(attempt).toThrow(StackConfigError);
    expect(attempt).toThrow(message);
    expect(attempt).toThrow(new RegExp(`-c ${key}=`));
  });
});

describe('the stack’s configuration', () => {
  it('synthesizes with no context at all, warning about each placeholder', () => {
    const { annotations } = synthesize();
    annotations.hasWarning('/VhiS3Billing', Match.stringLikeRegexp('gatewayUrl is not set'));
    annotations.hasWarning('/VhiS3Billing', Match.stringLikeRegexp('usageWebhookUrl is not set'));
  });

  it('has no warning at all once the URLs are given (so `cdk deploy --strict` passes)', () => {
    const { annotations } = synthesize({ context: REAL });
    expect(annotations.findWarning('*', Match.anyValue())).toEqual([]);
    expect(annotations.findError('*', Match.anyValue())).toEqual([]);
  });

  it('stops synth on a bad context value, naming the setting', () => {
    expect(() => synthesize({ context: { gatewayUrl: 'http://s3.example.com' } })).toThrow(
      /stack configuration: gatewayUrl: must use https/,
    );
  });

  it('stops synth on a context key that is a setting spelt in another case', () => {
    expect(() => synthesize({ context: { gatewayURL: 'https://s3.example.com' } })).toThrow(
      /gatewayURL: unknown setting; did you mean gatewayUrl\?/,
    );
  });

  it('lets stack props override context', () => {
    const { template } = synthesize({
      context: { ...REAL, signatureVersion: '2' },
      config: { gatewayUrl: 'https://other.example.com', signatureVersion: 4 },
    });
    template.hasResourceProperties('AWS::Lambda::Function', {
      Environment: {
        Variables: Match.objectLike({
          OSTOR_GATEWAY_URL: 'https://other.example.com',
          OSTOR_SIGNATURE_VERSION: '4',
        }),
      },
    });
  });

  it('applies the settings to the functions, the schedule, the log groups and the alarm topic', () => {
    const { stack, template } = synthesize({
      context: {
        ...REAL,
        signatureVersion: '4',
        gatewayRegion: 'eu-central-1',
        usageSchedule: 'rate(1 hour)',
        usageGraceSeconds: '900',
        logRetentionDays: '365',
        alarmEmail: 'ops@example.com',
      },
    });
    const collect = idOf(stack, stack.functions.get('collect-usage'));
    expect(resourcesOf(template, 'AWS::Lambda::Function')[collect]?.Properties.Environment).toEqual({
      Variables: expect.objectContaining({
        OSTOR_GATEWAY_URL: 'https://s3.example.com',
        OSTOR_SIGNATURE_VERSION: '4',
        OSTOR_REGION: 'eu-central-1',
        USAGE_WEBHOOK_URL: 'https://billing.example.com/hooks/usage',
        USAGE_GRACE_SECONDS: '900',
      }),
    });
    template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(1 hour)',
      Target: { RetryPolicy: { MaximumEventAgeInSeconds: 3600 } },
    });
    template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
      FunctionName: { Ref: collect },
      MaximumEventAgeInSeconds: 3600,
    });
    for (const group of Object.values(resourcesOf(template, 'AWS::Logs::LogGroup'))) {
      expect(group.Properties.RetentionInDays).toBe(365);
    }
    template.hasResourceProperties('AWS::SNS::Subscription', {
      Protocol: 'email',
      Endpoint: 'ops@example.com',
    });
  });

  it('uses existing secrets by ARN: nothing created, every reference exact', () => {
    const { app, stack, template } = synthesize({
      context: {
        ...REAL,
        gatewayCredentialsSecretArn: GATEWAY_ARN,
        webhookSecretArn: WEBHOOK_ARN,
        usageWebhookSecretArn: USAGE_ARN,
        stripeWebhookSecretArn: STRIPE_WEBHOOK_ARN,
        stripeApiKeySecretArn: STRIPE_KEY_ARN,
        lagoWebhookHmacKeySecretArn: LAGO_HMAC_ARN,
        lagoApiKeySecretArn: LAGO_KEY_ARN,
        lagoApiUrl: 'https://api.getlago.com',
      },
    });
    template.resourceCountIs('AWS::SecretsManager::Secret', 0);
    expect(environmentOf(template, idOf(stack, stack.functions.get('lago')))).toMatchObject({
      LAGO_WEBHOOK_HMAC_KEY_ID: LAGO_HMAC_ARN,
      LAGO_API_KEY_ID: LAGO_KEY_ARN,
      LAGO_API_URL: 'https://api.getlago.com/',
    });
    expect(environmentOf(template, idOf(stack, stack.functions.get('stripe')))).toMatchObject({
      STRIPE_WEBHOOK_SECRET_ID: STRIPE_WEBHOOK_ARN,
      STRIPE_API_KEY_ID: STRIPE_KEY_ARN,
    });
    const environments = Object.values(resourcesOf(template, 'AWS::Lambda::Function')).map(
      (fn) => (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables,
    );
    for (const variables of environments) expect(variables.OSTOR_CREDENTIALS_SECRET_ID).toBe(GATEWAY_ARN);
    expect(environments.filter((variables) => variables.WEBHOOK_SECRET_ID === WEBHOOK_ARN)).toHaveLength(6);
    expect(environments.filter((variables) => variables.USAGE_WEBHOOK_SECRET_ID === USAGE_ARN)).toHaveLength(
      1,
    );
    template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', { SecretId: GATEWAY_ARN });
    template.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          { Action: 'secretsmanager:GetSecretValue', Effect: 'Allow', Resource: USAGE_ARN },
        ]),
      },
    });
    expect(stack.resolve(stack.secrets.gatewayCredentials.secretArn)).toBe(GATEWAY_ARN);
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });

  it('turns rotation off with credentialRotationDays=0, acknowledging the finding', () => {
    const { app, template } = synthesize({ context: { ...REAL, credentialRotationDays: '0' } });
    template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 0);
    template.resourcePropertiesCountIs(
      'AWS::Lambda::Permission',
      { Principal: 'secretsmanager.amazonaws.com' },
      0,
    );
    expect(JSON.stringify(template.toJSON())).not.toContain('secretsmanager:PutSecretValue');
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });

  it('gives every function an environment that shared/config.ts accepts, with the deployed adapters', () => {
    const { template } = synthesize({ context: REAL });
    for (const fn of Object.values(resourcesOf(template, 'AWS::Lambda::Function'))) {
      const variables = (fn.Properties.Environment as { Variables: Record<string, unknown> }).Variables;
      // References resolve at deploy time to an ARN or a table name.
      const env = Object.fromEntries(
        Object.entries(variables).map(([name, value]) => [
          name,
          typeof value === 'string'
            ? value
            : name.endsWith('_SECRET_ID') || name.endsWith('_KEY_ID')
              ? GATEWAY_ARN
              : 'VhiS3Billing-Table-1A2B3C',
        ]),
      );
      const config = loadConfig(env);
      expect(config.gateway.url?.origin).toBe('https://s3.example.com');
      expect(config.gateway.credentials).toEqual({ kind: 'secrets-manager', secretId: GATEWAY_ARN });
      expect(config.tables.idempotency).toBe('VhiS3Billing-Table-1A2B3C');
      if (variables.USAGE_WEBHOOK_URL !== undefined) {
        expect(config.usage.webhookUrl?.href).toBe(REAL.usageWebhookUrl);
        expect(config.usage.secretId).toBe(GATEWAY_ARN);
        expect(config.tables.ledger).toBe('VhiS3Billing-Table-1A2B3C');
      } else if (variables.STRIPE_WEBHOOK_SECRET_ID !== undefined) {
        expect(config.stripe.webhookSecretId).toBe(GATEWAY_ARN);
        expect(config.stripe.apiBase.origin).toBe('https://api.stripe.com');
      } else if (variables.LAGO_WEBHOOK_HMAC_KEY_ID !== undefined) {
        expect(config.lago.webhookHmacKeyId).toBe(GATEWAY_ARN);
        expect(config.lago.purgeOnTerminate).toBe(false);
      } else {
        expect(config.webhook.secretId).toBe(GATEWAY_ARN);
      }
    }
    expect(DEPLOYED_FUNCTION_NAMES).toHaveLength(
      Object.keys(resourcesOf(template, 'AWS::Lambda::Function')).length,
    );
  });

  it('with usageSink=stripe, collect-usage sends to Stripe with the API key, not the usage webhook; the environment parses', () => {
    const { stack, template, app } = synthesize({
      context: {
        gatewayUrl: REAL.gatewayUrl,
        usageSink: 'stripe',
        stripeMeterDownloadedBytes: 's3_egress',
        stripeMeterRequests: 's3_requests',
        credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      },
    });
    const variablesOf = (name: 'collect-usage' | 'stripe') =>
      environmentOf(template, idOf(stack, stack.functions.get(name)));
    const keyArn = stack.resolve(stack.secrets.stripeApiKey.secretArn);
    const usageSecret = stack.resolve(stack.secrets.usageWebhook.secretArn);
    expect(variablesOf('collect-usage')).toMatchObject({
      USAGE_SINK: 'stripe',
      STRIPE_API_KEY_ID: keyArn,
      STRIPE_METER_DOWNLOADED_BYTES: 's3_egress',
      STRIPE_METER_REQUESTS: 's3_requests',
    });
    expect(variablesOf('collect-usage').USAGE_WEBHOOK_URL).toBeUndefined();
    expect(variablesOf('collect-usage').USAGE_WEBHOOK_SECRET_ID).toBeUndefined();
    expect(variablesOf('stripe')).toMatchObject({
      CREDENTIALS_WEBHOOK_URL: 'https://portal.example.com/hooks/s3-keys',
      USAGE_WEBHOOK_SECRET_ID: usageSecret,
    });
    const placeholder = (name: 'collect-usage' | 'stripe') =>
      Object.fromEntries(
        Object.entries(variablesOf(name)).map(([key, value]) => [
          key,
          typeof value === 'string' ? value : 'x-arn',
        ]),
      );
    expect(loadConfig(placeholder('collect-usage')).usage.sink).toBe('stripe');
    expect(loadConfig(placeholder('stripe')).credentialsWebhookUrl?.origin).toBe(
      'https://portal.example.com',
    );
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });

  it('with usageSink=lago, collect-usage sends to Lago with the API key, the lago function gets its settings; the environments parse', () => {
    const { stack, template, app } = synthesize({
      context: {
        gatewayUrl: REAL.gatewayUrl,
        usageSink: 'lago',
        lagoApiUrl: 'https://lago.example.com',
        lagoMetricDownloadedBytes: 's3_downloaded_bytes',
        lagoMetricStorage: 's3_storage_gb_hours',
        lagoFieldName: 'amount',
        lagoPlans: 's3_storage,s3_premium',
        lagoPurgeOnTerminate: 'true',
        credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      },
    });
    const variablesOf = (name: 'collect-usage' | 'lago') =>
      environmentOf(template, idOf(stack, stack.functions.get(name)));
    const keyArn = stack.resolve(stack.secrets.lagoApiKey.secretArn);
    expect(variablesOf('collect-usage')).toMatchObject({
      USAGE_SINK: 'lago',
      LAGO_API_URL: 'https://lago.example.com/',
      LAGO_API_KEY_ID: keyArn,
      LAGO_METRIC_DOWNLOADED_BYTES: 's3_downloaded_bytes',
      LAGO_METRIC_STORAGE: 's3_storage_gb_hours',
      LAGO_FIELD_NAME: 'amount',
    });
    expect(variablesOf('collect-usage').USAGE_WEBHOOK_URL).toBeUndefined();
    expect(variablesOf('lago')).toMatchObject({
      LAGO_API_URL: 'https://lago.example.com/',
      LAGO_API_KEY_ID: keyArn,
      LAGO_PLANS: 's3_storage,s3_premium',
      LAGO_PURGE_ON_TERMINATE: 'true',
      CREDENTIALS_WEBHOOK_URL: 'https://portal.example.com/hooks/s3-keys',
    });
    const parsed = (name: 'collect-usage' | 'lago') =>
      loadConfig(
        Object.fromEntries(
          Object.entries(variablesOf(name)).map(([key, value]) => [
            key,
            typeof value === 'string' ? value : 'x-arn',
          ]),
        ),
      );
    expect(parsed('collect-usage').usage.sink).toBe('lago');
    expect(parsed('collect-usage').lago.metrics.storage).toBe('s3_storage_gb_hours');
    expect(parsed('lago').lago.plans).toEqual(['s3_storage', 's3_premium']);
    expect(new AwsSolutionsChecks(app).validateScope(app).violations).toEqual([]);
  });

  it('refuses usageSink=lago without lagoApiUrl or a lagoMetric* code, and a lagoApiUrl ending in /api/v1', () => {
    expect(() => resolveStackConfig({ usageSink: 'lago', lagoMetricRequests: 'r' })).toThrow(/lagoApiUrl/);
    expect(() => resolveStackConfig({ usageSink: 'lago', lagoApiUrl: 'https://lago.example.com' })).toThrow(
      /lagoMetric/,
    );
    expect(() => resolveStackConfig({ lagoApiUrl: 'https://lago.example.com/api/v1' })).toThrow(
      /without \/api\/v1/,
    );
    expect(() => resolveStackConfig({ lagoWebhookPublicKey: 'not a key' })).toThrow(/lagoWebhookPublicKey/);
    expect(() => resolveStackConfig({ lagoPurgeOnTerminate: 'yes' })).toThrow(/lagoPurgeOnTerminate/);
  });
});

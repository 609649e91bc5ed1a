// The stack as synthesized with real bundling (once, for the whole file): the six functions, the
// Stripe adapter's, and their bundles, the HTTP API in front of them, the usage schedule, the secrets and the gateway key rotation,
// the tables, and operations (destinations, log groups, alarms).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Match } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BUNDLING,
  type DeployedFunctionName,
  FUNCTION_NAMES,
  type FunctionName,
  PROJECT_ROOT,
  RUNTIME_PROVIDED_MODULES,
  SWEEP_NODE_OPTIONS,
} from '../../infra/bundling.ts';
import { nodejsBundling, pascal } from '../../infra/constructs/functions.ts';
import {
  METER_ERROR_REPORT_MESSAGE,
  METER_ERROR_REPORTS_METRIC,
  METRICS_NAMESPACE,
  TERMINATIONS_REFUSED_METRIC,
} from '../../infra/constructs/operations.ts';
import { classifyInvocation } from '../../shared/runtime/invocation.ts';
import {
  METER_ERROR_REPORT_MESSAGE as HANDLER_METER_ERROR_REPORT_MESSAGE,
  METER_ERROR_REPORTS_METRIC as HANDLER_METER_ERROR_REPORTS_METRIC,
} from '../../shared/runtime/stripe-handler.ts';
import { idOf, resourcesOf, type Synthesized, synthesize } from './synth.ts';

/** What each function is given, as the README and the functions' sizing note state it. */
const SIZES: Record<FunctionName, { memory: number; timeout: number }> = {
  provision: { memory: 512, timeout: 30 },
  suspend: { memory: 512, timeout: 30 },
  resume: { memory: 512, timeout: 30 },
  terminate: { memory: 512, timeout: 300 },
  'rotate-key': { memory: 512, timeout: 30 },
  'collect-usage': { memory: 1024, timeout: 600 },
};

let synth: Synthesized;
let outdir: string;

beforeAll(() => {
  // Inside the project, so a bundle imported below finds @aws-sdk in node_modules as on Lambda.
  outdir = mkdtempSync(join(PROJECT_ROOT, 'node_modules', '.cdk-test-'));
  synth = synthesize({ bundle: true, outdir });
  synth.app.synth();
}, 120_000);

afterAll(() => {
  rmSync(outdir, { recursive: true, force: true });
});

const fnId = (name: DeployedFunctionName) => idOf(synth.stack, synth.stack.functions.get(name));
/** Every function built: the six and the adapters'. */
const deployed = () => [...synth.stack.functions.functions.keys()];

function functionProps(name: DeployedFunctionName): Record<string, unknown> {
  const resource = resourcesOf(synth.template, 'AWS::Lambda::Function')[fnId(name)];
  if (resource?.Properties === undefined) throw new Error(`no function ${name}`);
  return resource.Properties;
}

function bundleDir(name: DeployedFunctionName): string {
  const code = functionProps(name).Code as { S3Key: string };
  return join(outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
}

describe('functions', () => {
  it('are six NodejsFunctions on nodejs24.x, arm64, with the chosen memory and timeouts', () => {
    // The six, and the Stripe and Lago adapters' (below).
    synth.template.resourceCountIs('AWS::Lambda::Function', 8);
    expect(deployed().sort()).toEqual([...FUNCTION_NAMES, 'stripe', 'lago'].sort());
    for (const name of FUNCTION_NAMES) {
      expect(functionProps(name)).toMatchObject({
        Runtime: 'nodejs24.x',
        Architectures: ['arm64'],
        Handler: 'index.handler',
        MemorySize: SIZES[name].memory,
        Timeout: SIZES[name].timeout,
      });
      // Only the sweep has NODE_OPTIONS (its memory flags); no function pays for --enable-source-maps.
      const variables = (functionProps(name).Environment as { Variables: Record<string, string> }).Variables;
      expect(variables.NODE_OPTIONS).toBe(name === 'collect-usage' ? SWEEP_NODE_OPTIONS : undefined);
    }
    expect(SWEEP_NODE_OPTIONS).toBe('--max-semi-space-size=4 --max-old-space-size=256');
  });

  it('include the Stripe adapter: 512 MB, 300 s (a purge on cancel), no NODE_OPTIONS', () => {
    expect(functionProps('stripe')).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
    });
    const variables = (functionProps('stripe').Environment as { Variables: Record<string, string> })
      .Variables;
    expect(variables.NODE_OPTIONS).toBeUndefined();
    expect(variables).toMatchObject({ STRIPE_SUSPEND_PAST_DUE: 'false', STRIPE_PURGE_ON_CANCEL: 'false' });
    // No CREDENTIALS_WEBHOOK_URL by default: the adapter creates no users, and needs no usage secret.
    expect(variables.CREDENTIALS_WEBHOOK_URL).toBeUndefined();
    expect(variables.STRIPE_PRODUCTS).toBeUndefined();
    expect(variables.WEBHOOK_SECRET_ID).toBeUndefined();
  });

  const ref = (secret: { secretArn: string }) => synth.stack.resolve(secret.secretArn);

  it('include the Lago adapter: 512 MB, 300 s (a purge on termination), the HMAC key by secret, no API key without lagoApiUrl', () => {
    expect(functionProps('lago')).toMatchObject({
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
      Handler: 'index.handler',
      MemorySize: 512,
      Timeout: 300,
    });
    const variables = (functionProps('lago').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(variables.NODE_OPTIONS).toBeUndefined();
    expect(variables).toMatchObject({ LAGO_PURGE_ON_TERMINATE: 'false' });
    expect(variables.LAGO_WEBHOOK_HMAC_KEY_ID).toEqual(ref(synth.stack.secrets.lagoWebhookHmacKey));
    for (const unset of [
      'LAGO_API_URL',
      'LAGO_API_KEY_ID',
      'LAGO_PLANS',
      'LAGO_WEBHOOK_PUBLIC_KEY',
      'CREDENTIALS_WEBHOOK_URL',
    ]) {
      expect(variables[unset]).toBeUndefined();
    }
    expect(variables.WEBHOOK_SECRET_ID).toBeUndefined();
  });

  it('reserve a concurrency of 2 for collect-usage (the schedule and one HTTP caller) only', () => {
    expect(functionProps('collect-usage').ReservedConcurrentExecutions).toBe(2);
    for (const name of FUNCTION_NAMES.filter((name) => name !== 'collect-usage'))
      expect(functionProps(name).ReservedConcurrentExecutions).toBeUndefined();
  });

  it('each log to their own log group, kept for the configured retention', () => {
    // Eight function log groups and the HTTP API's access log.
    synth.template.resourceCountIs('AWS::Logs::LogGroup', 9);
    for (const name of deployed()) {
      const group = idOf(synth.stack, synth.stack.functions.logGroupOf(name));
      expect(functionProps(name).LoggingConfig).toEqual({ LogGroup: { Ref: group } });
      expect(resourcesOf(synth.template, 'AWS::Logs::LogGroup')[group]).toMatchObject({
        Properties: { RetentionInDays: 90 },
        DeletionPolicy: 'Retain',
      });
    }
  });

  it('send failed asynchronous invocations to the failure queue, without retries', () => {
    const queue = idOf(synth.stack, synth.stack.operations.failedInvocations);
    synth.template.resourceCountIs('AWS::Lambda::EventInvokeConfig', 8);
    for (const name of deployed()) {
      synth.template.hasResourceProperties('AWS::Lambda::EventInvokeConfig', {
        FunctionName: { Ref: fnId(name) },
        Qualifier: '$LATEST',
        MaximumRetryAttempts: 0,
        MaximumEventAgeInSeconds: name === 'collect-usage' ? 900 : 6 * 3600,
        DestinationConfig: { OnFailure: { Destination: { 'Fn::GetAtt': [queue, 'Arn'] } } },
      });
    }
  });

  it('pass the stack’s bundling options to NodejsFunction unchanged (the benchmark uses the same module)', () => {
    expect(nodejsBundling()).toMatchObject({
      target: BUNDLING.target,
      format: 'esm',
      minify: true,
      sourceMap: true,
      sourcesContent: false,
      mainFields: ['module', 'main'],
      externalModules: [...RUNTIME_PROVIDED_MODULES, '*/llhttp/llhttp-wasm.js'],
      banner: BUNDLING.banner,
      forceDockerBundling: false,
    });
  });
});

describe('bundles', () => {
  it('are minified ESM with the require banner, a linked source map, and the AWS SDK inside', () => {
    for (const name of deployed()) {
      const dir = bundleDir(name);
      const code = readFileSync(join(dir, 'index.mjs'), 'utf8');
      expect(code.startsWith(BUNDLING.banner)).toBe(true);
      expect(code.trimEnd().endsWith('//# sourceMappingURL=index.mjs.map')).toBe(true);
      // The SDK clients are bundled: nothing is imported from a package at load time, and the only
      // packages left outside are the credential providers, behind dynamic imports.
      expect(code).not.toMatch(/from\s*"@/);
      const dynamic = [...code.matchAll(/import\("(@[^"]+)"\)/g)].map((match) => match[1]);
      expect(dynamic.length).toBeGreaterThan(0);
      for (const path of dynamic) expect(RUNTIME_PROVIDED_MODULES).toContain(path);
      // undici's non-SIMD WebAssembly parser is left out; its SIMD build is inside.
      expect(code).toContain('"../llhttp/llhttp-wasm.js"');
      expect(statSync(join(dir, 'index.mjs')).size).toBeLessThanOrEqual(800 * 1024);
      // collect-usage carries the configured usage sink only (usageSink webhook here).
      if (name === 'collect-usage') {
        expect(code).not.toContain('/v1/billing/meter_events');
        expect(code).not.toContain('/api/v1/events/batch');
      }
      // Minified: the project's own function names are gone.
      expect(code).not.toContain('createLifecycleHandler');
      const map = JSON.parse(readFileSync(join(dir, 'index.mjs.map'), 'utf8')) as {
        sourcesContent?: unknown;
      };
      expect(map.sourcesContent).toBeUndefined();
      expect(existsSync(join(dir, 'node_modules'))).toBe(false);
    }
  });

  it('load on Node 24 with the functions’ own NODE_OPTIONS, and export the handler', () => {
    const file = pathToFileURL(join(bundleDir('collect-usage'), 'index.mjs')).href;
    const result = spawnSync(
      process.execPath,
      [
        ...SWEEP_NODE_OPTIONS.split(' '),
        '--input-type=module',
        '-e',
        `const m = await import(${JSON.stringify(file)}); console.log(typeof m.handler)`,
      ],
      { encoding: 'utf8' },
    );
    expect(result.stderr).toBe('');
    expect(result.stdout.trim()).toBe('function');
  });
});

describe('the HTTP API', () => {
  const api = () => idOf(synth.stack, synth.stack.httpApi.api);
  const routes = () => Object.values(resourcesOf(synth.template, 'AWS::ApiGatewayV2::Route'));
  const integrations = () => resourcesOf(synth.template, 'AWS::ApiGatewayV2::Integration');

  /** The function a route's integration invokes, by logical id. */
  function functionOfRoute(routeKey: string): string | undefined {
    const route = routes().find((r) => r.Properties.RouteKey === routeKey);
    const target = route?.Properties.Target as { 'Fn::Join': [string, unknown[]] } | undefined;
    const integrationRef = target?.['Fn::Join'][1][1] as { Ref: string } | undefined;
    const integration = integrations()[integrationRef?.Ref ?? ''];
    const uri = integration?.Properties.IntegrationUri as { 'Fn::GetAtt': [string, string] } | undefined;
    return uri?.['Fn::GetAtt'][0];
  }

  it('is one API with no Function URLs: the billing system has one base URL, printed as BaseUrl', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Api', 1);
    synth.template.resourceCountIs('AWS::Lambda::Url', 0);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Api', { ProtocolType: 'HTTP' });
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.BaseUrl?.Value).toEqual({
      'Fn::Join': [
        '',
        [
          'https://',
          { Ref: api() },
          '.execute-api.',
          { Ref: 'AWS::Region' },
          '.',
          { Ref: 'AWS::URLSuffix' },
          '/',
        ],
      ],
    });
  });

  it('routes POST /<function> to each of the six functions and /stripe, in payload format 2.0, and GET /healthz to provision', () => {
    expect(
      routes()
        .map((route) => route.Properties.RouteKey)
        .sort(),
    ).toEqual(
      [
        'POST /provision',
        'POST /suspend',
        'POST /resume',
        'POST /terminate',
        'POST /rotate-key',
        'POST /collect-usage',
        'POST /stripe',
        'POST /lago',
        'GET /healthz',
      ].sort(),
    );
    for (const name of deployed()) expect(functionOfRoute(`POST /${name}`)).toBe(fnId(name));
    expect(functionOfRoute('GET /healthz')).toBe(fnId('provision'));
    for (const integration of Object.values(integrations())) {
      expect(integration.Properties).toMatchObject({
        IntegrationType: 'AWS_PROXY',
        PayloadFormatVersion: '2.0',
      });
      // An HTTP API waits at most 29 s for an integration.
      expect(integration.Properties.TimeoutInMillis as number).toBeLessThanOrEqual(29_000);
    }
    // Each route reaches its function through a permission for API Gateway, scoped to this API.
    for (const name of deployed()) {
      synth.template.hasResourceProperties('AWS::Lambda::Permission', {
        FunctionName: { 'Fn::GetAtt': [fnId(name), 'Arn'] },
        Action: 'lambda:InvokeFunction',
        Principal: 'apigateway.amazonaws.com',
        SourceArn: Match.objectLike({ 'Fn::Join': ['', Match.arrayWith([{ Ref: api() }, `/*/*/${name}`])] }),
      });
    }
  });

  it('throttles the stage (50 a second, bursts of 100) and collect-usage harder (1 a second, bursts of 2)', () => {
    synth.template.resourceCountIs('AWS::ApiGatewayV2::Stage', 1);
    synth.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      ApiId: { Ref: api() },
      StageName: '$default',
      AutoDeploy: true,
      DefaultRouteSettings: { ThrottlingRateLimit: 50, ThrottlingBurstLimit: 100 },
      RouteSettings: {
        'POST /collect-usage': { ThrottlingRateLimit: 1, ThrottlingBurstLimit: 2 },
      },
    });
  });

  it('takes other throttling limits from the settings', () => {
    const other = synthesize({ config: { apiRateLimit: 5, apiBurstLimit: 7 } });
    other.template.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 5, ThrottlingBurstLimit: 7 },
    });
  });

  it('writes one JSON access-log line per request, without headers, to a retained log group', () => {
    const group = idOf(synth.stack, synth.stack.httpApi.accessLogs);
    expect(resourcesOf(synth.template, 'AWS::Logs::LogGroup')[group]).toMatchObject({
      Properties: { RetentionInDays: 90 },
      DeletionPolicy: 'Retain',
    });
    const stage = Object.values(resourcesOf(synth.template, 'AWS::ApiGatewayV2::Stage'))[0];
    const settings = stage?.Properties.AccessLogSettings as { DestinationArn: unknown; Format: string };
    expect(settings.DestinationArn).toEqual({ 'Fn::GetAtt': [group, 'Arn'] });
    const format = JSON.parse(settings.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      route: '$context.routeKey',
      status: '$context.status',
      integrationError: '$context.integrationErrorMessage',
    });
    expect(settings.Format).not.toMatch(/header|requestBody/i);
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    expect(outputs.ApiAccessLogGroup?.Value).toEqual({ Ref: group });
  });
});

describe('the usage schedule', () => {
  it('starts collect-usage every 15 minutes, flexible window off, with retries and a dead-letter queue', () => {
    const dlq = idOf(synth.stack, synth.stack.usageSchedule.deadLetters);
    synth.template.resourceCountIs('AWS::Scheduler::Schedule', 1);
    synth.template.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'rate(15 minutes)',
      FlexibleTimeWindow: { Mode: 'OFF' },
      State: 'ENABLED',
      Target: {
        Arn: { 'Fn::GetAtt': [fnId('collect-usage'), 'Arn'] },
        RetryPolicy: { MaximumRetryAttempts: 3, MaximumEventAgeInSeconds: 900 },
        DeadLetterConfig: { Arn: { 'Fn::GetAtt': [dlq, 'Arn'] } },
      },
    });
  });

  it('sends an event the functions classify as a scheduled run, with the tick’s own time', () => {
    const schedule = Object.values(resourcesOf(synth.template, 'AWS::Scheduler::Schedule'))[0];
    const input = ((schedule?.Properties.Target ?? {}) as { Input: string }).Input.replace(
      '<aws.scheduler.execution-id>',
      'exec-1',
    )
      .replace('<aws.scheduler.scheduled-time>', '2026-11-26T12:15:00Z')
      .replace('<aws.scheduler.schedule-arn>', 'arn:aws:scheduler:us-east-1:123456789012:schedule/default/x');
    expect(classifyInvocation(JSON.parse(input))).toEqual({
      kind: 'schedule',
      time: new Date('2026-11-26T12:15:00Z'),
      id: 'exec-1',
    });
  });
});

describe('secrets', () => {
  it('creates the seven secrets, kept on stack deletion; the signing secrets generated as base64 keys', () => {
    synth.template.resourceCountIs('AWS::SecretsManager::Secret', 7);
    const secrets = resourcesOf(synth.template, 'AWS::SecretsManager::Secret');
    for (const resource of Object.values(secrets)) expect(resource.DeletionPolicy).toBe('Retain');
    const gateway = secrets[idOf(synth.stack, synth.stack.secrets.gatewayCredentials)];
    expect(JSON.parse(gateway?.Properties.SecretString as string)).toEqual({
      accessKeyId: '',
      secretAccessKey: '',
      userId: '',
    });
    for (const secret of [synth.stack.secrets.webhook, synth.stack.secrets.usageWebhook]) {
      expect(secrets[idOf(synth.stack, secret)]?.Properties.GenerateSecretString).toEqual({
        PasswordLength: 44,
        ExcludePunctuation: true,
        IncludeSpace: false,
      });
    }
    // Stripe issues its own two: a placeholder the functions refuse until the operator pastes them in.
    // So do Lago and Stripe their two each: a placeholder the functions refuse until the operator
    // pastes them in (an HMAC key must be at least 16 characters, an API key at least 8).
    for (const secret of [
      synth.stack.secrets.stripeWebhook,
      synth.stack.secrets.stripeApiKey,
      synth.stack.secrets.lagoWebhookHmacKey,
      synth.stack.secrets.lagoApiKey,
    ]) {
      expect(secrets[idOf(synth.stack, secret)]?.Properties.SecretString).toBe('unset');
    }
  });

  it('rotates the gateway credentials every 30 days through rotate-key, invocable for that secret only', () => {
    const secret = idOf(synth.stack, synth.stack.secrets.gatewayCredentials);
    synth.template.resourceCountIs('AWS::SecretsManager::RotationSchedule', 1);
    synth.template.hasResourceProperties('AWS::SecretsManager::RotationSchedule', {
      SecretId: { Ref: secret },
      RotationLambdaARN: { 'Fn::GetAtt': [fnId('rotate-key'), 'Arn'] },
      RotationRules: { AutomaticallyAfterDays: 30 },
      RotateImmediatelyOnUpdate: false,
    });
    synth.template.hasResourceProperties('AWS::Lambda::Permission', {
      FunctionName: { 'Fn::GetAtt': [fnId('rotate-key'), 'Arn'] },
      Action: 'lambda:InvokeFunction',
      Principal: 'secretsmanager.amazonaws.com',
      SourceArn: { Ref: secret },
      SourceAccount: { Ref: 'AWS::AccountId' },
    });
    synth.template.resourcePropertiesCountIs(
      'AWS::Lambda::Permission',
      { Principal: 'secretsmanager.amazonaws.com' },
      1,
    );
  });

  it('gives each function the ids of its own secrets only', () => {
    const ref = (secret: { secretArn: string }) => synth.stack.resolve(secret.secretArn);
    for (const name of FUNCTION_NAMES) {
      const variables = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.OSTOR_CREDENTIALS_SECRET_ID).toEqual(ref(synth.stack.secrets.gatewayCredentials));
      // Every function verifies webhooks (a sweep can be asked for over HTTP); only the sweep signs usage.
      expect(variables.WEBHOOK_SECRET_ID).toEqual(ref(synth.stack.secrets.webhook));
      expect(variables.USAGE_WEBHOOK_SECRET_ID).toEqual(
        name === 'collect-usage' ? ref(synth.stack.secrets.usageWebhook) : undefined,
      );
      expect(variables.STRIPE_WEBHOOK_SECRET_ID).toBeUndefined();
      expect(variables.STRIPE_API_KEY_ID).toBeUndefined();
      expect(variables.LAGO_WEBHOOK_HMAC_KEY_ID).toBeUndefined();
      expect(variables.LAGO_API_KEY_ID).toBeUndefined();
    }
    const stripe = (functionProps('stripe').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(stripe.OSTOR_CREDENTIALS_SECRET_ID).toEqual(ref(synth.stack.secrets.gatewayCredentials));
    expect(stripe.STRIPE_WEBHOOK_SECRET_ID).toEqual(ref(synth.stack.secrets.stripeWebhook));
    expect(stripe.STRIPE_API_KEY_ID).toEqual(ref(synth.stack.secrets.stripeApiKey));
    expect(stripe.LAGO_WEBHOOK_HMAC_KEY_ID).toBeUndefined();
    const lago = (functionProps('lago').Environment as { Variables: Record<string, unknown> }).Variables;
    expect(lago.OSTOR_CREDENTIALS_SECRET_ID).toEqual(ref(synth.stack.secrets.gatewayCredentials));
    expect(lago.LAGO_WEBHOOK_HMAC_KEY_ID).toEqual(ref(synth.stack.secrets.lagoWebhookHmacKey));
    expect(lago.STRIPE_WEBHOOK_SECRET_ID).toBeUndefined();
  });
});

describe('tables', () => {
  it('are on-demand, with point-in-time recovery, TTL, deletion protection, and retained', () => {
    synth.template.resourceCountIs('AWS::DynamoDB::Table', 2);
    const cases = [
      { table: synth.stack.tables.idempotency, ttl: 'expiration' },
      { table: synth.stack.tables.usageLedger, ttl: 'expiresAt' },
    ];
    for (const { table, ttl } of cases) {
      expect(resourcesOf(synth.template, 'AWS::DynamoDB::Table')[idOf(synth.stack, table)]).toMatchObject({
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: {
          KeySchema: [{ AttributeName: 'id', KeyType: 'HASH' }],
          AttributeDefinitions: [{ AttributeName: 'id', AttributeType: 'S' }],
          BillingMode: 'PAY_PER_REQUEST',
          PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
          TimeToLiveSpecification: { AttributeName: ttl, Enabled: true },
          DeletionProtectionEnabled: true,
        },
      });
    }
  });

  it('encrypt the idempotency records with a key of their own, rotated yearly and kept with the table', () => {
    const key = idOf(synth.stack, synth.stack.tables.idempotencyKey);
    const tables = resourcesOf(synth.template, 'AWS::DynamoDB::Table');
    expect(tables[idOf(synth.stack, synth.stack.tables.idempotency)]?.Properties?.SSESpecification).toEqual({
      SSEEnabled: true,
      SSEType: 'KMS',
      KMSMasterKeyId: { 'Fn::GetAtt': [key, 'Arn'] },
    });
    // The ledger holds no secret: the AWS-owned key (SSE "disabled" is CloudFormation's word for it), no KMS calls.
    expect(tables[idOf(synth.stack, synth.stack.tables.usageLedger)]?.Properties?.SSESpecification).toEqual({
      SSEEnabled: false,
    });
    synth.template.resourceCountIs('AWS::KMS::Key', 1);
    expect(resourcesOf(synth.template, 'AWS::KMS::Key')[key]).toMatchObject({
      DeletionPolicy: 'Retain',
      UpdateReplacePolicy: 'Retain',
      Properties: { EnableKeyRotation: true },
    });
  });

  it('are named to the functions that use them', () => {
    const idempotency = synth.stack.resolve(synth.stack.tables.idempotency.tableName);
    const ledger = synth.stack.resolve(synth.stack.tables.usageLedger.tableName);
    for (const name of deployed()) {
      const variables = (functionProps(name).Environment as { Variables: Record<string, unknown> }).Variables;
      expect(variables.IDEMPOTENCY_TABLE_NAME).toEqual(idempotency);
      expect(variables.USAGE_LEDGER_TABLE_NAME).toEqual(name === 'collect-usage' ? ledger : undefined);
    }
  });
});

describe('operations', () => {
  it('alarm on errors, throttles and answered faults of every function', () => {
    for (const name of deployed()) {
      for (const metric of ['Errors', 'Throttles']) {
        synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
          Namespace: 'AWS/Lambda',
          MetricName: metric,
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: fnId(name) } }],
          Threshold: 1,
          ComparisonOperator: 'GreaterThanOrEqualToThreshold',
          TreatMissingData: 'notBreaching',
        });
      }
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: 'events',
        Dimensions: Match.arrayWith([
          { Name: 'outcome', Value: 'fault' },
          { Name: 'service', Value: name },
        ]),
        Statistic: 'Sum',
      });
    }
  });

  it('alarm on the depth of both dead-letter queues', () => {
    for (const queue of [synth.stack.operations.failedInvocations, synth.stack.usageSchedule.deadLetters]) {
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/SQS',
        MetricName: 'ApproximateNumberOfMessagesVisible',
        Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [idOf(synth.stack, queue), 'QueueName'] } }],
        Threshold: 1,
      });
    }
  });

  it('count failed usage deliveries and duplicate emails from the sweep’s summary line and alarm on them', () => {
    const group = idOf(synth.stack, synth.stack.functions.logGroupOf('collect-usage'));
    synth.template.resourceCountIs('AWS::Logs::MetricFilter', 3);
    for (const [metric, value, statistic] of [
      ['usageFailed', '$.failed', 'Sum'],
      ['usageStorageFailed', '$.storage.failed', 'Sum'],
      ['duplicateEmails', '$.duplicateEmails', 'Maximum'],
    ]) {
      synth.template.hasResourceProperties('AWS::Logs::MetricFilter', {
        LogGroupName: { Ref: group },
        FilterPattern: '{ $.message = "usage sweep finished" }',
        MetricTransformations: [
          { MetricNamespace: METRICS_NAMESPACE, MetricName: metric, MetricValue: value, DefaultValue: 0 },
        ],
      });
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: metric,
        Statistic: statistic,
        Period: 3600,
        Threshold: 1,
      });
    }
  });

  it.each(['stripe', 'lago'])(
    'alarm on a termination the %s adapter was refused (the user left suspended)',
    (service) => {
      synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: METRICS_NAMESPACE,
        MetricName: TERMINATIONS_REFUSED_METRIC,
        Dimensions: [{ Name: 'service', Value: service }],
        Statistic: 'Sum',
        Period: 3600,
        Threshold: 1,
        AlarmDescription: Match.stringLikeRegexp('termination refused'),
      });
    },
  );

  it('alarm on a meter error report from Stripe (meter events dropped after a 200), beside its other alarm', () => {
    synth.template.hasResourceProperties('AWS::CloudWatch::Alarm', {
      Namespace: METRICS_NAMESPACE,
      MetricName: METER_ERROR_REPORTS_METRIC,
      Dimensions: [{ Name: 'service', Value: 'stripe' }],
      Statistic: 'Sum',
      Period: 3600,
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'notBreaching',
      AlarmDescription: Match.stringLikeRegexp(METER_ERROR_REPORT_MESSAGE),
    });
    // The handler emits under the names the alarm watches.
    expect(METER_ERROR_REPORTS_METRIC).toBe(HANDLER_METER_ERROR_REPORTS_METRIC);
    expect(METER_ERROR_REPORT_MESSAGE).toBe(HANDLER_METER_ERROR_REPORT_MESSAGE);
  });

  it('notify the alarm topic on alarm and on recovery', () => {
    const topic = idOf(synth.stack, synth.stack.operations.alarmTopic);
    const alarms = resourcesOf(synth.template, 'AWS::CloudWatch::Alarm');
    // Per function errors, throttles, faults; two dead-letter depths; three from the sweep summary;
    // Stripe's and Lago's refused terminations; Stripe's meter error reports.
    expect(Object.keys(alarms)).toHaveLength(8 * 3 + 2 + 3 + 2 + 1);
    for (const alarm of Object.values(alarms)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.AlarmDescription).toEqual(expect.any(String));
    }
  });

  it('print each function’s log group, the one it writes to (not /aws/lambda/<name>)', () => {
    const outputs = synth.template.toJSON().Outputs as Record<string, { Value: unknown }>;
    for (const name of deployed()) {
      const group = idOf(synth.stack, synth.stack.functions.logGroupOf(name));
      expect(outputs[`${pascal(name)}LogGroup`]?.Value).toEqual({ Ref: group });
      expect(functionProps(name).LoggingConfig).toEqual({ LogGroup: { Ref: group } });
    }
  });

  it('print what an operator needs as outputs', () => {
    expect(Object.keys(synth.template.toJSON().Outputs as object).sort()).toEqual(
      [
        'BaseUrl',
        'ApiAccessLogGroup',
        ...deployed().map((name) => `${pascal(name)}FunctionName`),
        ...deployed().map((name) => `${pascal(name)}LogGroup`),
        'AlarmTopicArn',
        'FailedInvocationsQueueUrl',
        'GatewayCredentialsSecretArn',
        'UsageWebhookSecretArn',
        'WebhookSecretArn',
        'StripeWebhookSecretArn',
        'StripeApiKeySecretArn',
        'LagoWebhookHmacKeySecretArn',
        'LagoApiKeySecretArn',
      ].sort(),
    );
  });
});

// Least privilege and cdk-nag: no wildcard actions or data resources, each function reaches only its
// own secrets and table, and AwsSolutionsChecks finds nothing that is not acknowledged with a reason.
import { App, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeployedFunctionName } from '../../infra/bundling.ts';
import { TABLE_KEY_ACTIONS } from '../../infra/constructs/tables.ts';
import { VhiS3BillingStack } from '../../infra/stack.ts';
import { idOf, resourcesOf, type Synthesized, synthesize } from './synth.ts';

interface Statement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Condition?: unknown;
}

let synth: Synthesized;

beforeAll(() => {
  synth = synthesize();
});

const list = <T>(value: T | T[]): T[] => (Array.isArray(value) ? value : [value]);

function statementsOfRole(roleId: string): Statement[] {
  return Object.values(resourcesOf(synth.template, 'AWS::IAM::Policy'))
    .filter((policy) =>
      list(policy.Properties.Roles as unknown[]).some(
        (role) => JSON.stringify(role) === JSON.stringify({ Ref: roleId }),
      ),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
}

/** Every function built: the six and the adapters'. */
const deployed = () => [...synth.stack.functions.functions.keys()];

function statementsOf(name: DeployedFunctionName): Statement[] {
  const fn = synth.stack.functions.get(name);
  return statementsOfRole(idOf(synth.stack, fn.role as Role));
}

/** Every string inside a value (intrinsics included), to look for `*`. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (typeof value === 'object' && value !== null) return Object.values(value).flatMap(strings);
  return [];
}

/** Resources an action is allowed on, for one function. */
function resourcesFor(name: DeployedFunctionName, action: string): string[] {
  return statementsOf(name)
    .filter((statement) => list(statement.Action).includes(action))
    .flatMap((statement) => list(statement.Resource).map((resource) => JSON.stringify(resource)));
}

const ref = (value: string) => JSON.stringify(synth.stack.resolve(value));

describe('IAM', () => {
  it('has no wildcard action and no wildcard resource in any policy', () => {
    const policies = resourcesOf(synth.template, 'AWS::IAM::Policy');
    expect(Object.keys(policies).length).toBeGreaterThanOrEqual(7);
    for (const policy of Object.values(policies)) {
      for (const statement of (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement) {
        expect(statement.Effect).toBe('Allow');
        for (const action of list(statement.Action)) expect(action).not.toContain('*');
        for (const text of strings(statement.Resource)) expect(text).not.toContain('*');
      }
    }
  });

  it('gives every function a role of its own, without managed policies, that writes only its own log group', () => {
    const roles = new Set<string>();
    for (const name of deployed()) {
      const role = synth.stack.functions.get(name).role as Role;
      const roleId = idOf(synth.stack, role);
      roles.add(roleId);
      const resource = resourcesOf(synth.template, 'AWS::IAM::Role')[roleId];
      expect(resource?.Properties.ManagedPolicyArns).toBeUndefined();
      expect(resource?.Properties.AssumeRolePolicyDocument).toEqual({
        Version: '2012-10-17',
        Statement: [
          { Action: 'sts:AssumeRole', Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' } },
        ],
      });
      const group = idOf(synth.stack, synth.stack.functions.logGroupOf(name));
      expect(resourcesFor(name, 'logs:PutLogEvents')).toEqual([
        JSON.stringify({ 'Fn::GetAtt': [group, 'Arn'] }),
      ]);
    }
    expect(roles.size).toBe(8);
  });

  it('lets each function read only its own secrets', () => {
    const { gatewayCredentials, webhook, usageWebhook, stripeWebhook, stripeApiKey, lagoWebhookHmacKey } =
      synth.stack.secrets;
    for (const name of deployed()) {
      const expected =
        name === 'collect-usage'
          ? [ref(gatewayCredentials.secretArn), ref(webhook.secretArn), ref(usageWebhook.secretArn)]
          : name === 'stripe'
            ? // Stripe's own secrets; no Standard Webhooks secret, and no usage secret without CREDENTIALS_WEBHOOK_URL.
              [ref(gatewayCredentials.secretArn), ref(stripeWebhook.secretArn), ref(stripeApiKey.secretArn)]
            : name === 'lago'
              ? // Lago's HMAC token only: no API key without lagoApiUrl, no usage secret without CREDENTIALS_WEBHOOK_URL.
                [ref(gatewayCredentials.secretArn), ref(lagoWebhookHmacKey.secretArn)]
              : [ref(gatewayCredentials.secretArn), ref(webhook.secretArn)];
      const read = resourcesFor(name, 'secretsmanager:GetSecretValue');
      // rotate-key also reads the gateway secret as the rotation function (same secret).
      expect([...new Set(read)].sort()).toEqual(expected.sort());
    }
  });

  it('lets only rotate-key write the gateway secret, with exactly the rotation actions', () => {
    const gateway = ref(synth.stack.secrets.gatewayCredentials.secretArn);
    for (const name of deployed()) {
      for (const action of [
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
        'secretsmanager:DescribeSecret',
      ]) {
        expect(resourcesFor(name, action)).toEqual(name === 'rotate-key' ? [gateway] : []);
      }
    }
    const actions = statementsOf('rotate-key').flatMap((statement) => list(statement.Action));
    expect(actions.filter((action) => action.startsWith('secretsmanager:')).sort()).toEqual(
      [
        'secretsmanager:DescribeSecret',
        'secretsmanager:GetSecretValue',
        'secretsmanager:GetSecretValue',
        'secretsmanager:GetSecretValue',
        'secretsmanager:PutSecretValue',
        'secretsmanager:UpdateSecretVersionStage',
      ].sort(),
    );
    expect(actions).not.toContain('secretsmanager:GetRandomPassword');
  });

  it('lets each function use only its own tables, item by item', () => {
    const idempotency = JSON.stringify({
      'Fn::GetAtt': [idOf(synth.stack, synth.stack.tables.idempotency), 'Arn'],
    });
    const ledger = JSON.stringify({
      'Fn::GetAtt': [idOf(synth.stack, synth.stack.tables.usageLedger), 'Arn'],
    });
    for (const name of deployed()) {
      const dynamo = statementsOf(name).filter((statement) =>
        list(statement.Action).some((a) => a.startsWith('dynamodb:')),
      );
      // Every function remembers webhook-ids; only the sweep keeps the usage ledger.
      const expected = name === 'collect-usage' ? [idempotency, ledger] : [idempotency];
      expect(dynamo).toHaveLength(expected.length);
      for (const statement of dynamo) {
        expect(list(statement.Action).sort()).toEqual(
          ['dynamodb:DeleteItem', 'dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'].sort(),
        );
      }
      expect(
        dynamo
          .flatMap((statement) => list(statement.Resource).map((resource) => JSON.stringify(resource)))
          .sort(),
      ).toEqual(expected.sort());
    }
  });

  it('lets the functions use the idempotency table’s key through DynamoDB only, and nothing else any key', () => {
    const key = JSON.stringify({
      'Fn::GetAtt': [idOf(synth.stack, synth.stack.tables.idempotencyKey), 'Arn'],
    });
    for (const name of deployed()) {
      const kms = statementsOf(name).filter((statement) =>
        list(statement.Action).some((a) => a.startsWith('kms:')),
      );
      expect(kms).toHaveLength(1);
      expect(list(kms[0]?.Action ?? []).sort()).toEqual([...TABLE_KEY_ACTIONS].sort());
      expect(list(kms[0]?.Resource).map((resource) => JSON.stringify(resource))).toEqual([key]);
      expect(kms[0]?.Condition).toEqual({
        StringEquals: {
          'kms:ViaService': { 'Fn::Join': ['', ['dynamodb.', { Ref: 'AWS::Region' }, '.amazonaws.com']] },
        },
      });
    }
  });

  it('lets the scheduler invoke collect-usage only, and only from this account’s default schedule group', () => {
    const roleId = idOf(synth.stack, synth.stack.usageSchedule.node.findChild('SchedulerRole'));
    const statements = statementsOfRole(roleId);
    expect(statements.map((statement) => [statement.Action, statement.Resource])).toEqual([
      [
        'lambda:InvokeFunction',
        { 'Fn::GetAtt': [idOf(synth.stack, synth.stack.functions.get('collect-usage')), 'Arn'] },
      ],
      [
        'sqs:SendMessage',
        { 'Fn::GetAtt': [idOf(synth.stack, synth.stack.usageSchedule.deadLetters), 'Arn'] },
      ],
    ]);
    const trust = resourcesOf(synth.template, 'AWS::IAM::Role')[roleId]?.Properties
      ?.AssumeRolePolicyDocument as {
      Statement: Statement[];
    };
    expect(trust.Statement[0]?.Condition).toEqual({
      StringEquals: {
        'aws:SourceAccount': { Ref: 'AWS::AccountId' },
        'aws:SourceArn': expect.objectContaining({ 'Fn::Join': expect.any(Array) }),
      },
    });
    expect(JSON.stringify(trust.Statement[0]?.Condition)).toContain(':schedule-group/default');
  });

  it('opens the functions to the world only through this HTTP API, route by route', () => {
    const api = idOf(synth.stack, synth.stack.httpApi.api);
    const permissions = Object.values(resourcesOf(synth.template, 'AWS::Lambda::Permission'));
    for (const permission of permissions) {
      const p = permission.Properties ?? {};
      expect(p.Principal).not.toBe('*');
      if (p.Principal === 'secretsmanager.amazonaws.com') {
        expect(p.SourceArn).toEqual(expect.anything());
        continue;
      }
      expect(p.Principal).toBe('apigateway.amazonaws.com');
      expect(p.Action).toBe('lambda:InvokeFunction');
      // execute-api:/<api>/<stage>/<method>/<path>: this API, one path, never the whole account's APIs.
      const join = (p.SourceArn as { 'Fn::Join': [string, unknown[]] })['Fn::Join'][1];
      expect(join).toContainEqual({ Ref: api });
      expect(String(join.at(-1))).toMatch(
        /^\/\*\/\*\/(provision|suspend|resume|terminate|rotate-key|collect-usage|stripe|lago|healthz)$/,
      );
    }
    expect(
      permissions.filter((permission) => permission.Properties?.Principal === 'apigateway.amazonaws.com'),
    ).toHaveLength(9);
  });

  it('with usageSink=stripe and CREDENTIALS_WEBHOOK_URL: the sweep reads the Stripe key instead of the usage secret, the stripe function the usage secret too', () => {
    // Prepare
    const other = synthesize({
      config: {
        usageSink: 'stripe',
        stripeMeterRequests: 's3_requests',
        credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      },
    });
    const readable = (name: DeployedFunctionName) => {
      const role = idOf(other.stack, other.stack.functions.get(name).role as Role);
      const statements = Object.values(resourcesOf(other.template, 'AWS::IAM::Policy'))
        .filter((policy) =>
          list(policy.Properties.Roles as unknown[]).some(
            (r) => JSON.stringify(r) === JSON.stringify({ Ref: role }),
          ),
        )
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      return [
        ...new Set(
          statements
            .filter((statement) => list(statement.Action).includes('secretsmanager:GetSecretValue'))
            .flatMap((statement) => list(statement.Resource).map((resource) => JSON.stringify(resource))),
        ),
      ].sort();
    };
    const { gatewayCredentials, webhook, usageWebhook, stripeWebhook, stripeApiKey } = other.stack.secrets;
    const arn = (secret: { secretArn: string }) => JSON.stringify(other.stack.resolve(secret.secretArn));
    // Act + Assess
    expect(readable('collect-usage')).toEqual(
      [arn(gatewayCredentials), arn(webhook), arn(stripeApiKey)].sort(),
    );
    expect(readable('stripe')).toEqual(
      [arn(gatewayCredentials), arn(stripeWebhook), arn(stripeApiKey), arn(usageWebhook)].sort(),
    );
    expect(new AwsSolutionsChecks(other.app).validateScope(other.app).violations).toEqual([]);
  });

  it('with usageSink=lago, lagoApiUrl and CREDENTIALS_WEBHOOK_URL: the sweep and the lago function read the Lago API key, the lago function the usage secret too', () => {
    // Prepare
    const other = synthesize({
      config: {
        usageSink: 'lago',
        lagoApiUrl: 'https://api.getlago.com',
        lagoMetricRequests: 's3_requests',
        lagoPlans: 's3_storage',
        credentialsWebhookUrl: 'https://portal.example.com/hooks/s3-keys',
      },
    });
    const readable = (name: DeployedFunctionName) => {
      const role = idOf(other.stack, other.stack.functions.get(name).role as Role);
      const statements = Object.values(resourcesOf(other.template, 'AWS::IAM::Policy'))
        .filter((policy) =>
          list(policy.Properties.Roles as unknown[]).some(
            (r) => JSON.stringify(r) === JSON.stringify({ Ref: role }),
          ),
        )
        .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Statement[] }).Statement);
      return [
        ...new Set(
          statements
            .filter((statement) => list(statement.Action).includes('secretsmanager:GetSecretValue'))
            .flatMap((statement) => list(statement.Resource).map((resource) => JSON.stringify(resource))),
        ),
      ].sort();
    };
    const { gatewayCredentials, webhook, usageWebhook, lagoWebhookHmacKey, lagoApiKey } = other.stack.secrets;
    const arn = (secret: { secretArn: string }) => JSON.stringify(other.stack.resolve(secret.secretArn));
    // Act + Assess
    expect(readable('collect-usage')).toEqual(
      [arn(gatewayCredentials), arn(webhook), arn(lagoApiKey)].sort(),
    );
    expect(readable('lago')).toEqual(
      [arn(gatewayCredentials), arn(lagoWebhookHmacKey), arn(lagoApiKey), arn(usageWebhook)].sort(),
    );
    expect(readable('stripe')).not.toContain(arn(lagoApiKey));
    expect(new AwsSolutionsChecks(other.app).validateScope(other.app).violations).toEqual([]);
  });
});

describe('cdk-nag AwsSolutionsChecks', () => {
  it('finds nothing unacknowledged', () => {
    const report = new AwsSolutionsChecks(synth.app).validateScope(synth.app);
    expect(report.violations).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('acknowledges exactly these findings, each with its reason', () => {
    const acknowledged: { path: string; rule: string; reason: string }[] = [];
    for (const construct of synth.stack.node.findAll()) {
      for (const entry of construct.node.metadata) {
        if (entry.type !== Validations.ACKNOWLEDGED_RULES_METADATA_KEY) continue;
        for (const [rule, reason] of Object.entries(entry.data as Record<string, string>)) {
          acknowledged.push({
            path: construct.node.path.replace(`${synth.stack.stackName}/`, ''),
            rule,
            reason,
          });
        }
      }
    }
    expect(acknowledged.map(({ path, rule }) => `${path} ${rule}`).sort()).toEqual(
      [
        'HttpApi/Api Annotation::AwsSolutions-APIG4',
        'Operations/AlarmTopic Annotation::AwsSolutions-SNS2',
        'Operations/FailedInvocations Annotation::AwsSolutions-SQS3',
        'Secrets/UsageWebhookSecret Annotation::AwsSolutions-SMG4',
        'Secrets/WebhookSecret Annotation::AwsSolutions-SMG4',
        'Secrets/StripeWebhookSecret Annotation::AwsSolutions-SMG4',
        'Secrets/StripeApiKey Annotation::AwsSolutions-SMG4',
        'Secrets/LagoWebhookHmacKey Annotation::AwsSolutions-SMG4',
        'Secrets/LagoApiKey Annotation::AwsSolutions-SMG4',
        'UsageSchedule/DeadLetters Annotation::AwsSolutions-SQS3',
      ].sort(),
    );
    for (const { reason } of acknowledged) expect(reason.length).toBeGreaterThan(80);
  });

  it('stops synthesis, as `npm run synth` runs it, on a finding nobody acknowledged', () => {
    // Prepare: the stack plus one wildcard policy
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new VhiS3BillingStack(app, 'WithFinding');
    const role = new Role(stack, 'Careless', { assumedBy: new ServicePrincipal('lambda.amazonaws.com') });
    role.addToPolicy(new PolicyStatement({ actions: ['dynamodb:*'], resources: ['*'] }));
    Validations.of(app).addPlugins(new AwsSolutionsChecks(app));

    // Act + Assess
    expect(() => app.synth()).toThrow(/AwsSolutions-IAM5\[Action::dynamodb:\*\]/);
  });
});

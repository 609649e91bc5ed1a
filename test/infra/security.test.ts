// Least privilege and cdk-nag: no wildcard actions or data resources, each function reaches only its
// own secrets and table, and AwsSolutionsChecks finds nothing that is not acknowledged with a reason.
import { App, Validations } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { beforeAll, describe, expect, it } from 'vitest';
import { FUNCTION_NAMES, type FunctionName } from '../../infra/bundling.ts';
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

function statementsOf(name: FunctionName): Statement[] {
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
function resourcesFor(name: FunctionName, action: string): string[] {
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
    for (const name of FUNCTION_NAMES) {
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
    expect(roles.size).toBe(6);
  });

  it('lets each function read only its own secrets', () => {
    const { gatewayCredentials, webhook, usageWebhook } = synth.stack.secrets;
    for (const name of FUNCTION_NAMES) {
      const expected =
        name === 'collect-usage'
          ? [ref(gatewayCredentials.secretArn), ref(webhook.secretArn), ref(usageWebhook.secretArn)]
          : [ref(gatewayCredentials.secretArn), ref(webhook.secretArn)];
      const read = resourcesFor(name, 'secretsmanager:GetSecretValue');
      // rotate-key also reads the gateway secret as the rotation function (same secret).
      expect([...new Set(read)].sort()).toEqual(expected.sort());
    }
  });

  it('lets only rotate-key write the gateway secret, with exactly the rotation actions', () => {
    const gateway = ref(synth.stack.secrets.gatewayCredentials.secretArn);
    for (const name of FUNCTION_NAMES) {
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
    for (const name of FUNCTION_NAMES) {
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
    for (const name of FUNCTION_NAMES) {
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
        /^\/\*\/\*\/(provision|suspend|resume|terminate|rotate-key|collect-usage|healthz)$/,
      );
    }
    expect(
      permissions.filter((permission) => permission.Properties?.Principal === 'apigateway.amazonaws.com'),
    ).toHaveLength(7);
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

// Secrets Manager: the gateway system user's key pair, the inbound webhook signing secret, the
// usage webhook signing secret, Stripe's endpoint secret and API key, and Lago's HMAC signature
// token and API key — created here, or
// existing ones imported by complete ARN — and the rotation of the gateway key pair through the
// rotate-key function.
import { RemovalPolicy, SecretValue, Stack, Validations } from 'aws-cdk-lib';
import { type IGrantable, PolicyStatement, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { CfnRotationSchedule, type ISecret, Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { Construct } from 'constructs';
import type { StackConfig } from '../config.ts';

/** What the functions call (Powertools `getSecret`); DescribeSecret and the rest are not needed to read. */
export const READ_SECRET_ACTIONS = ['secretsmanager:GetSecretValue'];
/** The four rotation steps (shared/lifecycle/credential-rotation.ts) need exactly these, on one secret. */
export const ROTATION_ACTIONS = [
  'secretsmanager:DescribeSecret',
  'secretsmanager:GetSecretValue',
  'secretsmanager:PutSecretValue',
  'secretsmanager:UpdateSecretVersionStage',
];

/**
 * What a created gateway secret holds until the operator sets it: not a secret, and not a usable
 * key pair — the functions refuse it with "the secret must be JSON {accessKeyId, secretAccessKey}".
 * Never change it (nor the signing secrets' generator settings): CloudFormation would write the new
 * template value over the key pair the operator stored and the rotation maintains.
 */
const UNSET_GATEWAY_CREDENTIALS = JSON.stringify({ accessKeyId: '', secretAccessKey: '', userId: '' });

/**
 * What a created Stripe secret holds until the operator pastes Stripe's value in: the functions
 * refuse it naming the variable (STRIPE_WEBHOOK_SECRET_ID / STRIPE_API_KEY_ID). Never change it,
 * for the same reason as above.
 */
const UNSET_STRIPE_SECRET = 'unset';

/**
 * A created or an imported secret. (With exactOptionalPropertyTypes, aws-cdk-lib's `Secret` class is
 * not assignable to its own `ISecret` interface: `encryptionKey?: IKey | undefined`.)
 */
export type AnySecret = ISecret | Secret;

export interface SecretsProps {
  readonly config: StackConfig;
}

export class Secrets extends Construct {
  readonly gatewayCredentials: AnySecret;
  readonly webhook: AnySecret;
  readonly usageWebhook: AnySecret;
  /** The Stripe endpoint's `whsec_...` signing secret(s), as Stripe's dashboard shows them. */
  readonly stripeWebhook: AnySecret;
  /** A Stripe restricted (`rk_...`) or secret (`sk_...`) key. */
  readonly stripeApiKey: AnySecret;
  /** Lago's HMAC signature token (Developers > Webhooks), two separated by a space while rotating. */
  readonly lagoWebhookHmacKey: AnySecret;
  /** A Lago API key (Developers > API keys). */
  readonly lagoApiKey: AnySecret;

  constructor(scope: Construct, id: string, props: SecretsProps) {
    super(scope, id);
    const { config } = props;

    this.gatewayCredentials =
      config.gatewayCredentialsSecretArn !== undefined
        ? Secret.fromSecretCompleteArn(this, 'GatewayCredentials', config.gatewayCredentialsSecretArn)
        : new Secret(this, 'GatewayCredentials', {
            description:
              'VHI S3 gateway system user key pair: JSON {"accessKeyId","secretAccessKey","userId"}. Set it after the first deploy; rotated by the rotate-key function.',
            secretStringValue: SecretValue.unsafePlainText(UNSET_GATEWAY_CREDENTIALS),
            removalPolicy: RemovalPolicy.RETAIN,
          });

    this.webhook = signingSecret(
      this,
      'WebhookSecret',
      config.webhookSecretArn,
      'Inbound webhook signing secret(s) (Standard Webhooks, base64 with or without whsec_; several separated by spaces while rotating). Generated at first deploy; give it to the billing system or replace it with the billing system’s.',
    );
    this.usageWebhook = signingSecret(
      this,
      'UsageWebhookSecret',
      config.usageWebhookSecretArn,
      'Usage webhook signing secret(s) (Standard Webhooks, base64 with or without whsec_; with several, each message carries one signature per secret). Generated at first deploy; give it to the billing system.',
    );
    this.stripeWebhook = stripeSecret(
      this,
      'StripeWebhookSecret',
      config.stripe.webhookSecretArn,
      "Stripe endpoint signing secret(s) for POST /stripe: the whsec_... value Stripe's dashboard shows for the endpoint (two separated by a space while rolling it). Set it after the first deploy.",
    );
    this.stripeApiKey = stripeSecret(
      this,
      'StripeApiKey',
      config.stripe.apiKeySecretArn,
      'Stripe restricted key (rk_...; Customers: Read, Billing meter events: Write) for customer e-mails and usage meter events. Set it after the first deploy.',
    );
    this.lagoWebhookHmacKey = issuedSecret(
      this,
      'LagoWebhookHmacKey',
      config.lago.webhookHmacKeySecretArn,
      "Lago's HMAC signature token for POST /lago (Developers > Webhooks > HMAC signature token; old and new separated by a space while rotating). Set it after the first deploy.",
      'Lago',
    );
    this.lagoApiKey = issuedSecret(
      this,
      'LagoApiKey',
      config.lago.apiKeySecretArn,
      'Lago API key (Developers > API keys) for usage events and for listing a customer’s subscriptions. Set it after the first deploy.',
      'Lago',
    );
  }

  /**
   * Rotates the gateway key pair every `days` days through `fn`, which serves Secrets Manager's
   * four-step protocol. Written out rather than `addRotationSchedule`, whose grants include
   * `secretsmanager:GetRandomPassword` on `*` (unused here) and an invoke permission open to any
   * secret: this one may be invoked for this secret only.
   */
  rotateGatewayCredentials(fn: IFunction, days: number): CfnRotationSchedule {
    const stack = Stack.of(this);
    const secretArn = secretArnOf(this.gatewayCredentials);
    fn.addPermission('SecretsManagerRotation', {
      principal: new ServicePrincipal('secretsmanager.amazonaws.com'),
      action: 'lambda:InvokeFunction',
      sourceArn: secretArn,
      sourceAccount: stack.account,
    });
    fn.addToRolePolicy(new PolicyStatement({ actions: ROTATION_ACTIONS, resources: [secretArn] }));
    const schedule = new CfnRotationSchedule(this, 'GatewayCredentialsRotation', {
      secretId: secretArn,
      rotationLambdaArn: fn.functionArn,
      rotationRules: { automaticallyAfterDays: days },
      // A freshly created secret holds the unset placeholder until the operator sets it: rotating
      // it at deploy time would fail. The first rotation comes `days` after deployment.
      rotateImmediatelyOnUpdate: false,
    });
    // The permission and the role policy must exist before Secrets Manager first calls the function.
    schedule.node.addDependency(fn);
    return schedule;
  }

  /** Lets `grantee` read `secret`'s value, and nothing else of it. */
  static grantRead(secret: AnySecret, grantee: IGrantable): void {
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({ actions: READ_SECRET_ACTIONS, resources: [secretArnOf(secret)] }),
    );
  }
}

/** The complete ARN: a created secret's Ref, or the imported complete ARN (never an `-??????` pattern). */
export function secretArnOf(secret: AnySecret): string {
  return secret.secretFullArn ?? secret.secretArn;
}

function signingSecret(
  scope: Construct,
  id: string,
  arn: string | undefined,
  description: string,
): AnySecret {
  if (arn !== undefined) return Secret.fromSecretCompleteArn(scope, id, arn);
  const secret = new Secret(scope, id, {
    description,
    // 44 characters of [A-Za-z0-9] are valid base64 for 33 random bytes: a Standard Webhooks key
    // (24 to 64 bytes) that shared/signing accepts as it is, or with `whsec_` in front.
    generateSecretString: { passwordLength: 44, excludePunctuation: true, includeSpace: false },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'A webhook signing secret is shared with the billing system, so it is rotated by hand in step with it: the secret then holds the old and the new value separated by a space until the billing system has switched (docs/contract.md §8). A rotation Lambda cannot change the other side.',
  });
  return secret;
}

/** A secret whose value Stripe issues: created with a placeholder the operator replaces, or imported. */
function stripeSecret(scope: Construct, id: string, arn: string | undefined, description: string): AnySecret {
  return issuedSecret(scope, id, arn, description, 'Stripe');
}

/**
 * A secret whose value a billing system issues: created with a placeholder the operator replaces (the
 * functions refuse it, naming the variable), or imported.
 */
function issuedSecret(
  scope: Construct,
  id: string,
  arn: string | undefined,
  description: string,
  issuer: 'Stripe' | 'Lago',
): AnySecret {
  if (arn !== undefined) return Secret.fromSecretCompleteArn(scope, id, arn);
  const secret = new Secret(scope, id, {
    description,
    secretStringValue: SecretValue.unsafePlainText(UNSET_STRIPE_SECRET),
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      issuer === 'Stripe'
        ? "Stripe issues this value (an endpoint's signing secret, an API key); it is rolled in Stripe's dashboard and pasted here (two endpoint secrets separated by a space while Stripe signs with both). A rotation Lambda cannot make Stripe issue a new one."
        : "Lago issues this value (the organisation's HMAC signature token, an API key); it is changed in Lago and pasted here (two HMAC tokens separated by a space during the change). A rotation Lambda cannot make Lago issue a new one.",
  });
  return secret;
}

// DynamoDB tables: idempotency records (with the suspend/resume order under `user-state#...`) and the
// usage ledger (with the sweep's lease under `lease#collect-usage`). On-demand, point-in-time
// recovery, TTL, kept when the stack is deleted: they are the billing trail.
import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { type IGrantable, PolicyStatement } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { Construct } from 'constructs';

/** Powertools' DynamoDBPersistenceLayer defaults (shared/runtime/runtime.ts passes only the table name). */
export const IDEMPOTENCY_KEY = 'id';
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';
/** shared/store/ledger-dynamodb.ts: partition key `id`, TTL on `expiresAt` (Unix seconds). */
export const LEDGER_KEY = 'id';
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** The item-level actions the functions use (Powertools idempotency, the state store, the ledger). */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

/**
 * What a function needs of the idempotency table's key, through DynamoDB only: the actions of CDK's
 * `grantReadWriteData` with its `kms:ReEncrypt*` and `kms:GenerateDataKey*` spelt out (no wildcards).
 */
export const TABLE_KEY_ACTIONS = [
  'kms:Decrypt',
  'kms:DescribeKey',
  'kms:Encrypt',
  'kms:GenerateDataKey',
  'kms:GenerateDataKeyWithoutPlaintext',
  'kms:ReEncryptFrom',
  'kms:ReEncryptTo',
];

export class Tables extends Construct {
  readonly idempotency: Table;
  /**
   * The idempotency table's own key. The stored answer of a provision or rotate-key delivery holds
   * the customer's secret key for 25 hours: with this key, reading the table takes kms:Decrypt on
   * it as well, which broad read-only roles (ReadOnlyAccess reads every table) do not have.
   */
  readonly idempotencyKey: Key;
  readonly usageLedger: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.idempotencyKey = new Key(this, 'IdempotencyKey', {
      description: 'Encrypts the VHI billing idempotency records (stored answers hold customer secret keys)',
      enableKeyRotation: true,
      // Kept with the table it encrypts: a retained table without its key could never be read again.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    this.idempotency = billingTable(this, 'Idempotency', IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE, {
      encryption: TableEncryption.CUSTOMER_MANAGED,
      encryptionKey: this.idempotencyKey,
    });
    // The ledger holds usage figures and message ids, nothing secret.
    this.usageLedger = billingTable(this, 'UsageLedger', LEDGER_KEY, LEDGER_TTL_ATTRIBUTE, {
      encryption: TableEncryption.DEFAULT,
    });
  }

  /** Item access to the idempotency table, and use of its key through DynamoDB only. */
  grantIdempotency(grantee: IGrantable): void {
    this.idempotency.grant(grantee, ...TABLE_ACTIONS);
    grantee.grantPrincipal.addToPrincipalPolicy(
      new PolicyStatement({
        actions: TABLE_KEY_ACTIONS,
        resources: [this.idempotencyKey.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(this).region}.amazonaws.com` } },
      }),
    );
  }
}

type Encryption =
  | { encryption: TableEncryption.DEFAULT }
  | { encryption: TableEncryption.CUSTOMER_MANAGED; encryptionKey: Key };

function billingTable(scope: Construct, id: string, key: string, ttl: string, encryption: Encryption): Table {
  return new Table(scope, id, {
    partitionKey: { name: key, type: AttributeType.STRING },
    // A few webhooks a day and a sweep every 15 minutes: far below any provisioned minimum.
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: ttl,
    ...encryption,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
  });
}

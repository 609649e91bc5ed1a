// DynamoDB tables: idempotency records (with the suspend/resume order under `user-state#...`) and the
// usage ledger (with the sweep's lease under `lease#collect-usage`). On-demand, point-in-time
// recovery, TTL, kept when the stack is deleted: they are the billing trail.
import { RemovalPolicy } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table, TableEncryption } from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/** Powertools' DynamoDBPersistenceLayer defaults (shared/runtime/runtime.ts passes only the table name). */
export const IDEMPOTENCY_KEY = 'id';
export const IDEMPOTENCY_TTL_ATTRIBUTE = 'expiration';
/** shared/usage/ledger-dynamodb.ts: partition key `id`, TTL on `expiresAt` (Unix seconds). */
export const LEDGER_KEY = 'id';
export const LEDGER_TTL_ATTRIBUTE = 'expiresAt';

/** The item-level actions the functions use (Powertools idempotency, the state store, the ledger). */
export const TABLE_ACTIONS = [
  'dynamodb:GetItem',
  'dynamodb:PutItem',
  'dynamodb:UpdateItem',
  'dynamodb:DeleteItem',
];

export class Tables extends Construct {
  readonly idempotency: Table;
  readonly usageLedger: Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.idempotency = billingTable(this, 'Idempotency', IDEMPOTENCY_KEY, IDEMPOTENCY_TTL_ATTRIBUTE);
    this.usageLedger = billingTable(this, 'UsageLedger', LEDGER_KEY, LEDGER_TTL_ATTRIBUTE);
  }
}

function billingTable(scope: Construct, id: string, key: string, ttl: string): Table {
  return new Table(scope, id, {
    partitionKey: { name: key, type: AttributeType.STRING },
    // A few webhooks a day and a sweep every 15 minutes: far below any provisioned minimum.
    billingMode: BillingMode.PAY_PER_REQUEST,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    timeToLiveAttribute: ttl,
    // Encrypted at rest with the AWS-owned key: no KMS calls to pay for or to grant.
    encryption: TableEncryption.DEFAULT,
    removalPolicy: RemovalPolicy.RETAIN,
    deletionProtection: true,
  });
}
